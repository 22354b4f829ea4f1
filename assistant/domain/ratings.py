"""The ratings table: scores with rationales, capability facts and the rules that turn facts into constraints.

Loaded from corpus/ratings.yaml by `assistant.corpus.load_ratings`; plain validated data, no I/O.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from assistant.domain.features import FeatureMatrix
from assistant.domain.supersessions import Supersessions
from assistant.domain.vocabulary import Dimension, Fact, Level, Mode, Priority

Url = Annotated[str, Field(pattern=r"^https?://\S+$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceRef(Strict):
    """Where a rating or fact comes from: the public URL and the corpus section that explains it."""

    url: Url
    doc: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    section: str = Field(min_length=1)


class Rating(Strict):
    score: int = Field(ge=1, le=5)
    rationale: str = Field(min_length=10)
    source: SourceRef


class DimensionInfo(Strict):
    label: str
    priority: Priority
    description: str


class Status(StrEnum):
    SUPPORTED = "supported"
    PARTIAL = "partial"
    UNSUPPORTED = "unsupported"
    UNKNOWN = "unknown"


class CapabilityFact(Strict):
    status: Status
    note: str = Field(min_length=5)
    date: date
    source: SourceRef


class Capability(Strict):
    label: str
    modes: dict[Mode, CapabilityFact]


class Strength(StrEnum):
    HARD = "hard"  # a mode lacking the capability is excluded
    SOFT = "soft"  # a mode lacking it is penalised and caveated
    PREFER = "prefer"  # a mode having it earns a bonus


FACT_VALUES: dict[Fact, tuple[str, ...]] = {
    Fact.GRPC: ("none", "some", "all", "unknown"),
    **{fact: ("true", "false", "unknown") for fact in Fact if fact is not Fact.GRPC},
}


def _as_text(raw: object) -> object:
    """YAML reads `true` as a boolean; rules compare fact values as text."""
    return tuple(str(v).lower() for v in raw) if isinstance(raw, list | tuple) else raw


FactValues = Annotated[tuple[str, ...], BeforeValidator(_as_text), Field(min_length=1)]


def _check_values(values: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
    fact = info.data.get("fact")
    allowed = FACT_VALUES[fact] if isinstance(fact, Fact) else values
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ValueError(f"{unknown} are not values of fact {fact} ({', '.join(allowed)})")
    return values


class Rule(Strict):
    """When a requirement fact has one of `values`, modes are judged on `capability`."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    fact: Fact
    values: FactValues
    capability: str
    wanted: Literal[Status.SUPPORTED, Status.UNSUPPORTED] = Status.SUPPORTED
    strength: Strength
    fit: str = Field(min_length=5, description="Why a mode with the wanted status fits, as a clause.")
    miss: str = Field(min_length=5, description="Why a mode without it does not, as a clause.")

    _known_values = field_validator("values")(_check_values)


class Implication(Strict):
    """A fact that sets a priority the user did not state (e.g. regulated -> security high)."""

    fact: Fact
    values: FactValues
    priority: Priority
    level: Level

    _known_values = field_validator("values")(_check_values)


class StandingCaveat(Strict):
    """A caveat that always applies to a mode, pointing at the rating it comes from."""

    text: str = Field(min_length=10)
    dimension: Dimension


class Scoring(Strict):
    weights: dict[Level, float]
    penalty_missing: float = Field(ge=0, description="A soft rule the mode does not meet.")
    penalty_partial: float = Field(ge=0, description="A rule the mode meets only partly.")
    penalty_unknown: float = Field(ge=0, description="A rule the sources say nothing about for the mode.")
    bonus_prefer: float = Field(ge=0, description="A prefer rule the mode meets.")

    @model_validator(mode="after")
    def _weights_complete_and_ordered(self) -> Scoring:
        missing = [level.value for level in Level if level not in self.weights]
        if missing:
            raise ValueError(f"weights missing levels: {', '.join(missing)}")
        if not 0 < self.weights[Level.LOW] < self.weights[Level.MEDIUM] < self.weights[Level.HIGH]:
            raise ValueError("weights must satisfy 0 < low < medium < high")
        return self


class Ratings(Strict):
    as_of: date
    modes: tuple[Mode, ...]
    dimensions: dict[Dimension, DimensionInfo]
    ratings: dict[Mode, dict[Dimension, Rating]]
    capabilities: dict[str, Capability]
    rules: tuple[Rule, ...]
    implications: tuple[Implication, ...] = ()
    caveats: dict[Mode, tuple[StandingCaveat, ...]] = Field(default_factory=dict)
    scoring: Scoring
    features: FeatureMatrix | None = Field(None, description="corpus/features.yaml, beside the ratings.")
    supersessions: Supersessions | None = Field(None, description="corpus/supersessions.yaml, beside the ratings.")

    @model_validator(mode="after")
    def _complete(self) -> Ratings:
        missing_modes = [m.value for m in Mode if m not in self.modes]
        if missing_modes:
            raise ValueError(f"modes must list all four modes; missing: {', '.join(missing_modes)}")
        missing_dims = [d.value for d in Dimension if d not in self.dimensions]
        if missing_dims:
            raise ValueError(f"dimensions missing: {', '.join(missing_dims)}")
        for mode in Mode:
            if mode not in self.ratings:
                raise ValueError(f"ratings: mode {mode.value} is missing")
            absent = [d.value for d in Dimension if d not in self.ratings[mode]]
            if absent:
                raise ValueError(f"ratings.{mode.value}: missing dimensions {', '.join(absent)}")
        for name, capability in self.capabilities.items():
            absent = [m.value for m in Mode if m not in capability.modes]
            if absent:
                raise ValueError(f"capabilities.{name}: missing modes {', '.join(absent)}")
        for rule in self.rules:
            if rule.capability not in self.capabilities:
                raise ValueError(f"rule {rule.id}: unknown capability {rule.capability!r}")
        return self

    def rating(self, mode: Mode, dimension: Dimension) -> Rating:
        return self.ratings[mode][dimension]


def rating_ref(mode: Mode, dimension: Dimension) -> str:
    """The stable id of a rating, shared by the rule layer's reasons and the indexed rating chunk."""
    return f"rating:{mode.value}:{dimension.value}"


def capability_ref(capability: str, mode: Mode) -> str:
    return f"capability:{capability}:{mode.value}"
