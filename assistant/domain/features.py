"""The feature and status matrix: which feature works in which mode, since when, and where that is written.

Loaded from corpus/features.yaml by `assistant.corpus.load_features`; plain validated data, no I/O. A user who
needs a feature turns its row into a constraint in the rule layer (hard or soft, as the row says).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from assistant.domain.vocabulary import Fact, Mode

FeatureId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class FeatureStatus(StrEnum):
    SUPPORTED = "supported"
    PARTIAL = "partial"
    EXPERIMENTAL = "experimental"
    DEPRECATED = "deprecated"
    NOT_SUPPORTED = "not_supported"
    NOT_APPLICABLE = "not_applicable"  # the feature has no meaning there (no proxy to exit, say): no constraint
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


# What a status means for someone who needs the feature: it meets the need, partly meets it, or misses it.
MEETS = frozenset({FeatureStatus.SUPPORTED, FeatureStatus.NOT_APPLICABLE})
MISSES = frozenset({FeatureStatus.NOT_SUPPORTED, FeatureStatus.DEPRECATED})


class FeatureGroup(StrEnum):
    SECURITY = "security"
    TRAFFIC = "traffic"
    RESILIENCE = "resilience"
    OBSERVABILITY = "observability"
    EXTENSIBILITY = "extensibility"
    GATEWAYS = "gateways"
    TOPOLOGY = "topology"
    PLATFORM = "platform"
    OPERATIONS = "operations"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeatureCell(Strict):
    """One mode's status for one feature, with the release it holds since and the source that says so."""

    status: FeatureStatus
    since: str = Field(min_length=2, description="The release since which the status holds, e.g. 'Istio 1.24'.")
    since_date: date
    note: str = Field(min_length=5)
    source: Annotated[str, Field(pattern=r"^https?://\S+$")]
    read: date = Field(description="When the source was read.")


class Feature(Strict):
    label: str = Field(min_length=3)
    group: FeatureGroup
    aliases: tuple[Annotated[str, Field(min_length=2, pattern=r"^[^A-Z]+$")], ...] = Field(min_length=1)
    need: Literal["hard", "soft"] = Field(description="A mode that lacks a needed feature is excluded or penalised.")
    fact: Fact | None = Field(
        None, description="The requirement fact that states this need; its capability rule judges it, not this row."
    )
    modes: dict[Mode, FeatureCell]

    @model_validator(mode="after")
    def _every_mode(self) -> Feature:
        missing = [m.value for m in Mode if m not in self.modes]
        if missing:
            raise ValueError(f"missing modes: {', '.join(missing)}")
        return self

    def differs(self) -> bool:
        return len({cell.status for cell in self.modes.values()}) > 1


class FeatureMatrix(Strict):
    as_of: date
    features: dict[FeatureId, Feature] = Field(min_length=1)

    @model_validator(mode="after")
    def _aliases_unique(self) -> FeatureMatrix:
        owner: dict[str, str] = {}
        for name, feature in self.features.items():
            for alias in feature.aliases:
                if alias in owner and owner[alias] != name:
                    raise ValueError(f"alias {alias!r} names both {owner[alias]} and {name}")
                owner[alias] = name
        return self

    def cell(self, feature: str, mode: Mode) -> FeatureCell:
        return self.features[feature].modes[mode]


def feature_ref(feature: str, mode: Mode) -> str:
    """The stable id of a matrix cell, shared by the rule layer's reasons and the indexed cell chunk."""
    return f"feature:{feature}:{mode.value}"


def feature_cell_text(feature: Feature, mode: Mode) -> str:
    """A cell in words: "<feature> with <Mode> mode: <status> since <release> (<date>). <note>"."""
    cell = feature.modes[mode]
    when = f"since {cell.since} ({cell.since_date.isoformat()})"
    return f"{feature.label} with {mode.label} mode: {cell.status.label} {when}. {cell.note}"
