"""Sizing: a cluster's numbers in, each mode's estimated data-plane CPU and memory out, every figure sourced.

`SizingFigures` is corpus/sizing.yaml, loaded by `assistant.corpus.load_sizing`: one published per-proxy figure
per data-plane component (or none, when nobody publishes one), with the release, load and setup it was measured
under. `assistant.estimate` turns a `ClusterSize` and those figures into an `Estimate`. Plain data, no I/O.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from assistant.domain.ratings import SourceRef
from assistant.domain.vocabulary import Mode

ComponentId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
MIB_IN_MB = 1.048576  # 1 MiB = 2^20 bytes = 1.048576 MB


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClusterSize(Strict):
    """A cluster's numbers, as the platform team states them."""

    nodes: int = Field(ge=1, le=100_000, description="Nodes that run meshed workloads.")
    pods: int = Field(ge=1, le=10_000_000, description="Meshed pods (every replica counts).")
    l7_scopes: int = Field(
        0, ge=0, le=100_000, description="Namespaces or services that need L7 features (a waypoint each in ambient)."
    )
    requests_per_second: float = Field(0.0, ge=0, le=1e9, description="Requests per second across the mesh.")
    grpc_share: float | None = Field(None, ge=0, le=1, description="Share of those requests that are gRPC (0-1).")
    zones: int | None = Field(None, ge=1, le=100, description="Availability zones the nodes are spread over.")

    @model_validator(mode="after")
    def _zones_have_nodes(self) -> ClusterSize:
        if self.zones is not None and self.zones > self.nodes:
            raise ValueError(f"zones ({self.zones}) cannot exceed nodes ({self.nodes}): every zone needs a node")
        return self

    def describe(self) -> str:
        """ "40 nodes, 1,200 meshed pods, 5 L7 scopes, 10,000 requests per second (30% gRPC), 3 zones"."""
        share = f" ({self.grpc_share:.0%} gRPC)" if self.grpc_share is not None else ""
        parts = [
            _count(self.nodes, "node"),
            _count(self.pods, "meshed pod"),
            _count(self.l7_scopes, "L7 scope"),
            f"{self.requests_per_second:,g} requests per second{share}",
        ]
        return ", ".join(parts + ([_count(self.zones, "zone")] if self.zones is not None else []))


class Per(StrEnum):
    """What one copy of a component is deployed for."""

    POD = "pod"
    NODE = "node"
    WAYPOINT = "waypoint"  # one per L7 scope and zone

    @property
    def label(self) -> str:
        return {Per.POD: "per pod", Per.NODE: "per node", Per.WAYPOINT: "per waypoint replica"}[self]


class Scaling(StrEnum):
    """How a component's CPU follows the cluster: with the requests it carries, or with its copies alone."""

    REQUESTS = "requests"  # CPU in proportion to the requests through it; memory per copy
    INSTANCE = "instance"  # off the request path: CPU and memory per copy


class Quantity(Strict):
    value: float = Field(gt=0)
    unit: Literal["vCPU", "mCPU", "MB", "MiB"]
    bound: Literal["about", "under"] = Field(
        "about", description="'under': the source gives an upper bound ('less than 1 mCPU'), counted as the bound."
    )

    def text(self) -> str:
        number = f"{self.value:g}" if self.unit != "vCPU" else f"{self.value:.2f}"
        return f"{'under' if self.bound == 'under' else 'about'} {number} {self.unit}"

    @property
    def millicores(self) -> float:
        return self.value * 1000 if self.unit == "vCPU" else self.value

    @property
    def megabytes(self) -> float:
        return self.value * MIB_IN_MB if self.unit == "MiB" else self.value


class RequestPath(Strict):
    """How many copies of a component one request passes through (the client's and the server's sidecar: 2)."""

    proxies: int = Field(ge=1, le=4)
    note: str = Field(min_length=10)
    source: SourceRef


class Component(Strict):
    """One data-plane component of a mode and its published figure (cpu and memory are None when unpublished)."""

    mode: Mode
    label: str = Field(min_length=3)
    per: Per
    scaling: Scaling
    cpu: Quantity | None = None
    memory: Quantity | None = None
    load_rps: float | None = Field(None, gt=0, description="Requests per second per copy the CPU figure is for.")
    path: RequestPath | None = None
    version: str = Field("", description="The release measured, e.g. 'Istio 1.24' (with a published figure).")
    load: str = Field("", description="The load the figure was measured at, in words.")
    setup: str = Field("", description="The test set-up, in words.")
    note: str = Field("", description="What the figure leaves out, or why there is none.")
    source: SourceRef
    read: date = Field(description="When the source was read.")

    @model_validator(mode="after")
    def _scaling_has_its_inputs(self) -> Component:
        if self.cpu is not None and self.cpu.unit not in ("vCPU", "mCPU"):
            raise ValueError("cpu must be in vCPU or mCPU")
        if self.memory is not None and self.memory.unit not in ("MB", "MiB"):
            raise ValueError("memory must be in MB or MiB")
        if self.scaling is Scaling.REQUESTS and self.cpu is not None and (self.load_rps is None or self.path is None):
            raise ValueError("a CPU figure that scales with requests needs load_rps and path")
        if self.published and not (len(self.version) > 1 and len(self.load) > 4 and len(self.setup) > 4):
            raise ValueError("a published figure needs its version, load and setup")
        if not self.published and len(self.note) < 10:
            raise ValueError("a component without a published figure needs a note saying so")
        return self

    @property
    def published(self) -> bool:
        return self.cpu is not None or self.memory is not None

    def figure_text(self) -> str:
        """ "about 0.20 vCPU and about 60 MB per pod (Istio 1.24; 1000 requests per second ...; set-up ...)", or
        "no published figure: <why>"."""
        if not self.published:
            return f"no published figure: {self.note.rstrip('.')}"
        amounts = " and ".join(q.text() for q in (self.cpu, self.memory) if q is not None)
        return f"{amounts} {self.per.label} ({self.version}; {self.load}; {self.setup})"


class SizingFigures(Strict):
    as_of: date
    components: dict[ComponentId, Component] = Field(min_length=1)

    @model_validator(mode="after")
    def _every_mode(self) -> SizingFigures:
        missing = [m.value for m in Mode if not any(c.mode is m for c in self.components.values())]
        if missing:
            raise ValueError(f"no component for modes: {', '.join(missing)}")
        return self

    def of(self, mode: Mode) -> dict[str, Component]:
        return {name: c for name, c in self.components.items() if c.mode is mode}


class ComponentEstimate(Strict):
    component: str
    label: str
    per: Per
    copies: int = Field(ge=0)
    cpu_millicores: float | None = Field(None, ge=0, description="None: no published figure.")
    memory_mb: float | None = Field(None, ge=0, description="None: no published figure.")
    basis: str = Field(description="How the numbers were reached from the figure, in words.")
    figure: str = Field(description="The published figure with its release, load and set-up.")
    source: SourceRef
    path_source: SourceRef | None = Field(None, description="Where the copies a request passes are stated.")
    read: date


class ModeEstimate(Strict):
    mode: Mode
    cpu_millicores: float | None = Field(None, ge=0, description="Sum of the published figures; None when none.")
    memory_mb: float | None = Field(None, ge=0, description="Sum of the published figures; None when none.")
    complete: bool = Field(description="Every component of the mode has a published figure.")
    components: list[ComponentEstimate]
    notes: list[str] = Field(default_factory=list, description="What the totals leave out, and coverage limits.")

    def cpu_text(self) -> str:
        """ "4.00 vCPU", or "no published figure"."""
        return format_cpu(self.cpu_millicores) if self.cpu_millicores is not None else NO_FIGURE

    def memory_text(self) -> str:
        """ "72.0 GB", or "no published figure"."""
        return format_memory(self.memory_mb) if self.memory_mb is not None else NO_FIGURE


class Estimate(Strict):
    cluster: ClusterSize
    modes: list[ModeEstimate]
    assumptions: list[str]
    as_of: date = Field(description="When the figures were last checked against their sources.")

    def of(self, mode: Mode) -> ModeEstimate:
        return next(estimate for estimate in self.modes if estimate.mode is mode)


NO_FIGURE = "no published figure"


def format_cpu(millicores: float) -> str:
    """ "4.00 vCPU" from 1,000 millicores up, else "250 mCPU" (three significant digits)."""
    return f"{millicores / 1000:,.2f} vCPU" if millicores >= 1000 else f"{millicores:.3g} mCPU"


def format_memory(megabytes: float) -> str:
    """ "72.0 GB" from 1,000 MB up, else "480 MB" (three significant digits)."""
    return f"{megabytes / 1000:,.1f} GB" if megabytes >= 1000 else f"{megabytes:.3g} MB"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")
