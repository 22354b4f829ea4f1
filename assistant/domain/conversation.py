"""A conversation: turns in, and what a question was understood to ask."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.domain.requirements import Requirements
from assistant.domain.vocabulary import Dimension, Mode

MAX_TURN_CHARS = 20_000


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["user", "assistant"]
    content: str = Field(max_length=MAX_TURN_CHARS)


class Intent(StrEnum):
    """The four-valued summary of a `Kind` that the public Answer has always carried."""

    RECOMMEND = "recommend"
    COMPARE = "compare"
    EXPLAIN = "explain"
    OUT_OF_SCOPE = "out_of_scope"


class Kind(StrEnum):
    """Every kind of answer the product gives; each has one handler in the responder."""

    RECOMMEND = "recommend"  # which mode fits us
    COMPARE = "compare"  # two or more modes side by side
    RANK = "rank"  # the modes ordered on one dimension: "which is cheapest?"
    POLAR = "polar"  # yes or no: a capability, a status, "should we ...?"
    DEFINITION = "definition"  # what is X
    DIFFERENCE = "difference"  # X vs Y, two components or terms
    OVERVIEW = "overview"  # tell me about X
    TRADEOFFS = "tradeoffs"  # pros and cons
    FIGURE = "figure"  # how much, how fast
    DATE = "date"  # when, which release
    PROCEDURE = "procedure"  # how to do it, the steps
    WHY = "why"  # the reason behind a fact or a rating
    WHY_NOT = "why_not"  # why a mode was not picked
    WHAT_IF = "what_if"  # one requirement changed: the ranking again
    CHANGES = "changes"  # what changed in a period
    HELP = "help"
    OUT_OF_SCOPE = "out_of_scope"
    INJECTION = "injection"

    @property
    def intent(self) -> Intent:
        """The four-valued intent of the public Answer: recommend, why-not and what-if recommend; comparisons and
        rankings compare; out-of-scope and injections are out of scope; every other kind explains."""
        if self in (Kind.RECOMMEND, Kind.WHY_NOT, Kind.WHAT_IF):
            return Intent.RECOMMEND
        if self in (Kind.COMPARE, Kind.RANK):
            return Intent.COMPARE
        if self in (Kind.OUT_OF_SCOPE, Kind.INJECTION):
            return Intent.OUT_OF_SCOPE
        return Intent.EXPLAIN


class Aspect(StrEnum):
    """What a question about one mode asks for besides a topic: its weak points or its strong points."""

    WEAKNESSES = "weaknesses"
    STRENGTHS = "strengths"


@dataclass(frozen=True)
class Outcome:
    """What an earlier answer established, as structure (never read back from its text): the kind it was, the
    modes it was about and the order it put them in, best first (a recommendation's ranking, a ranking's order)."""

    kind: Kind
    modes: tuple[Mode, ...]
    ranking: tuple[Mode, ...]
    requirements: Requirements
    dimensions: tuple[Dimension, ...] = ()
    components: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reading:
    """What the question asks, after the conversation so far is taken into account: one typed value.

    `kind` decides the handler; everything else is what that handler needs. `reference` records what words
    such as "the runner-up" or "that one" resolved to, and `previous` the outcome of the answer before."""

    kind: Kind
    modes: tuple[Mode, ...]  # the modes the question is about (references resolved)
    dimensions: tuple[Dimension, ...]  # the rated dimensions it asks about
    requirements: Requirements  # accumulated over the user's turns
    stated_now: Requirements  # what the current turn itself states
    resolved_question: str  # the question with follow-up references made explicit (used for retrieval)
    components: tuple[str, ...] = ()  # parts it names: "ztunnel", "waypoint", "HBONE", ...
    features: tuple[str, ...] = ()  # rows of the feature matrix it names
    sides: tuple[str, ...] = ()  # what a difference question sets side by side: ("ztunnel", "a waypoint")
    topic: tuple[str, ...] = ()  # what an overview asks about beyond modes as wholes: "ambient multicluster"
    focus: Mode | None = None  # "why not ambient?", "should we use sidecars?": the mode the user asks about
    aspects: tuple[Aspect, ...] = ()  # "what are the downsides of ambient?": its weak points
    lowest: bool = False  # a superlative at the bad end ("which is least secure?"): the lowest rated is the answer
    reference: tuple[str, Mode] | None = None  # ("the runner-up", Mode.AMBIENT)
    previous: Outcome | None = None  # the answer before, when the question follows up on it
    confidence: float = 1.0  # of the kind
    signals: tuple[str, ...] = field(default=())  # which cues decided (for debugging and tests)

    @property
    def intent(self) -> Intent:
        return Intent.COMPARE if self.weighs_modes else self.kind.intent

    @property
    def weighs_modes(self) -> bool:
        """Trade-offs weighed between modes (several, or all when none is named), not one side of one product's
        ("the downsides of Istio": its two modes' weak points)."""
        return self.kind is Kind.TRADEOFFS and len(self.modes) != 1 and len(self.aspects) != 1

    @property
    def followup(self) -> bool:
        return self.previous is not None
