"""What the rule layer returns: every mode ranked or excluded, with reasons that point at their sources."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from assistant.domain.requirements import Change, Requirements
from assistant.domain.sizing import Estimate
from assistant.domain.vocabulary import Dimension, Level, Mode


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Reason(Frozen):
    """A sentence about a mode and the id of the rating or capability it comes from (a citable chunk)."""

    text: str
    ref: str = Field(description="rating:<mode>:<dimension>, capability:<name>:<mode> or feature:<name>:<mode>")


class Contribution(Frozen):
    dimension: Dimension
    level: Level
    weight: float
    rating: int
    points: float


class RankedMode(Frozen):
    mode: Mode
    rank: int
    score: float = Field(ge=0, le=1, description="Points as a share of the best possible for these priorities.")
    points: float
    contributions: list[Contribution]
    adjustment: float = Field(description="Bonuses minus penalties from the capability rules.")
    reasons: list[Reason]
    caveats: list[Reason]


class ExcludedMode(Frozen):
    mode: Mode
    reason: Reason


class Counterfactual(Frozen):
    """The smallest single change to the requirements that puts `mode` first."""

    change: Change
    mode: Mode
    text: str


class Recommendation(Frozen):
    requirements: Requirements
    effective: dict[str, str] = Field(description="Every priority level and fact value the ranking used.")
    ranking: list[RankedMode]
    excluded: list[ExcludedMode]
    assumptions: list[str]
    counterfactuals: list[Counterfactual]
    margin: float = Field(description="Score lead of the first mode over the second (0 when fewer than two).")
    estimate: Estimate | None = Field(
        None, description="Each mode's data-plane cost, when the requirements state a cluster."
    )

    @property
    def top(self) -> Mode | None:
        return self.ranking[0].mode if self.ranking else None

    def refs(self) -> set[str]:
        """Every rating and capability id this recommendation's reasons and caveats rely on."""
        refs = {reason.ref for ranked in self.ranking for reason in [*ranked.reasons, *ranked.caveats]}
        return refs | {excluded.reason.ref for excluded in self.excluded}


class Profile(Frozen):
    """One mode's strong and weak points, from its ratings, standing caveats and capability facts."""

    mode: Mode
    strengths: list[Reason]
    weaknesses: list[Reason]

    def refs(self) -> set[str]:
        """Every rating and capability id these points rely on."""
        return {reason.ref for reason in [*self.strengths, *self.weaknesses]}
