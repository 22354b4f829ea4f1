"""What a user needs: priority levels and context facts. Anything not stated is None (medium / unknown)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from assistant.domain.sizing import ClusterSize
from assistant.domain.vocabulary import LEVEL_ORDER, Fact, GrpcUse, Level, Priority
from assistant.errors import InvalidRequirementError


class Requirements(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    security: Level | None = None
    resources: Level | None = None
    performance: Level | None = None
    simplicity: Level | None = None
    maturity: Level | None = None
    network: Level | None = None
    grpc: GrpcUse | None = None
    cilium: StrictBool | None = None  # true or false, never 0, 1 or "yes"
    vms: StrictBool | None = None
    multicluster: StrictBool | None = None
    envoyfilter: StrictBool | None = None
    regulated: StrictBool | None = None
    no_restarts: StrictBool | None = None
    needs: tuple[str, ...] = Field(
        (), description="Features of the feature matrix (GET /v1/features) the platform needs, by id."
    )
    cluster: ClusterSize | None = Field(
        None, description="The cluster's numbers: with them, a recommendation carries the sizing estimate."
    )

    def level(self, priority: Priority) -> Level | None:
        value: Level | None = getattr(self, priority.value)
        return value

    def fact(self, fact: Fact) -> str:
        """The fact's value as rule text: none|some|all|true|false, or "unknown" when not stated."""
        value = getattr(self, fact.value)
        if value is None:
            return "unknown"
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value.value)

    def stated(self) -> dict[str, Any]:
        stated = self.model_dump(mode="json", exclude_none=True)
        if not self.needs:
            del stated["needs"]
        return stated

    def merged(self, newer: Requirements) -> Requirements:
        """These requirements updated with everything `newer` states."""
        update = {name: getattr(newer, name) for name in newer.stated()}
        if newer.needs:  # needs add up over a conversation
            update["needs"] = tuple(dict.fromkeys([*self.needs, *newer.needs]))
        return self.model_copy(update=update)

    def apply(self, change: Change) -> Requirements:
        after: str | bool = change.after
        if change.kind == "fact" and change.after in ("true", "false"):  # a flipped yes-or-no fact
            after = change.after == "true"
        return Requirements.model_validate({**self.stated(), change.name: after})


class Change(BaseModel):
    """One step away from a set of requirements: a priority moved one level, or a fact flipped."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["priority", "fact"]
    name: str
    before: str
    after: str


def parse_requirements(data: Mapping[str, Any]) -> Requirements:
    """Requirements from user input, with a message that names the bad field and the accepted values."""
    hint = f"Levels are {', '.join(LEVEL_ORDER)}; grpc is one of {', '.join(GrpcUse)}; facts are true or false."
    return _validated(Requirements, data, noun="requirement", hint=hint)


def parse_cluster(data: Mapping[str, Any]) -> ClusterSize:
    """A cluster's numbers from user input, with a message that names the bad number."""
    hint = "nodes and pods are whole numbers from 1; grpc_share is between 0 and 1; zones cannot exceed nodes."
    return _validated(ClusterSize, data, noun="cluster number", hint=hint)


Model = TypeVar("Model", Requirements, ClusterSize)


def _validated(model: type[Model], data: Mapping[str, Any], *, noun: str, hint: str) -> Model:
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or noun
            if error["type"] == "extra_forbidden":
                known = ", ".join(model.model_fields)
                problems.append(f"unknown {noun} {field!r} (known: {known})")
            else:
                problems.append(f"{field}: {error['msg']}")
        raise InvalidRequirementError("; ".join(problems), hint=hint) from exc


def level_steps(level: Level | None) -> list[Level]:
    """The levels one step away (an unstated priority counts as medium)."""
    index = LEVEL_ORDER.index(level or Level.MEDIUM)
    return [LEVEL_ORDER[i] for i in (index + 1, index - 1) if 0 <= i < len(LEVEL_ORDER)]
