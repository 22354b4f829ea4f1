"""The fixed vocabulary: the four modes, the rated dimensions, priority levels and requirement facts."""

from __future__ import annotations

from enum import StrEnum


class Mode(StrEnum):
    """The four data-plane models, in the fixed order used for display and final tie-breaks."""

    SIDECAR = "sidecar"
    AMBIENT = "ambient"
    CILIUM = "cilium"
    GRPC = "grpc"

    @property
    def label(self) -> str:
        return MODE_LABELS[self]


MODE_LABELS: dict[Mode, str] = {
    Mode.SIDECAR: "Sidecar",
    Mode.AMBIENT: "Ambient",
    Mode.CILIUM: "Cilium",
    Mode.GRPC: "Proxyless gRPC",
}


class Dimension(StrEnum):
    """What each mode is rated on (1-5) in corpus/ratings.yaml."""

    SECURITY = "security"
    RESOURCE_EFFICIENCY = "resource_efficiency"
    MANAGEABILITY = "manageability"
    PERFORMANCE = "performance"
    MATURITY = "maturity"
    NETWORK_EFFICIENCY = "network_efficiency"


class Priority(StrEnum):
    """What a user can say matters to them; each weighs one dimension."""

    SECURITY = "security"
    RESOURCES = "resources"
    PERFORMANCE = "performance"
    SIMPLICITY = "simplicity"
    MATURITY = "maturity"
    NETWORK = "network"

    @property
    def dimension(self) -> Dimension:
        return PRIORITY_DIMENSIONS[self]


PRIORITY_DIMENSIONS: dict[Priority, Dimension] = {
    Priority.SECURITY: Dimension.SECURITY,
    Priority.RESOURCES: Dimension.RESOURCE_EFFICIENCY,
    Priority.PERFORMANCE: Dimension.PERFORMANCE,
    Priority.SIMPLICITY: Dimension.MANAGEABILITY,
    Priority.MATURITY: Dimension.MATURITY,
    Priority.NETWORK: Dimension.NETWORK_EFFICIENCY,
}
DIMENSION_PRIORITIES: dict[Dimension, Priority] = {
    dimension: priority for priority, dimension in PRIORITY_DIMENSIONS.items()
}

PRIORITY_PHRASES: dict[Priority, str] = {
    Priority.SECURITY: "security",
    Priority.RESOURCES: "resource constraints",
    Priority.PERFORMANCE: "performance (latency)",
    Priority.SIMPLICITY: "operational simplicity",
    Priority.MATURITY: "maturity",
    Priority.NETWORK: "network overhead and cross-zone cost",
}


class Level(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


LEVEL_ORDER: tuple[Level, ...] = (Level.LOW, Level.MEDIUM, Level.HIGH)


class GrpcUse(StrEnum):
    """How many of the services speak gRPC."""

    NONE = "none"
    SOME = "some"
    ALL = "all"


class Fact(StrEnum):
    """Context facts a user can state about their platform."""

    GRPC = "grpc"
    CILIUM = "cilium"
    VMS = "vms"
    MULTICLUSTER = "multicluster"
    ENVOYFILTER = "envoyfilter"
    REGULATED = "regulated"
    NO_RESTARTS = "no_restarts"


# What a fact value means, phrased for "If ..., X would lead" (keys: fact, value as rule text).
FACT_STATEMENTS: dict[tuple[Fact, str], str] = {
    (Fact.GRPC, "all"): "all your services spoke gRPC",
    (Fact.GRPC, "some"): "only some of your services spoke gRPC",
    (Fact.GRPC, "none"): "none of your services spoke gRPC",
    (Fact.CILIUM, "true"): "you already ran Cilium as your CNI",
    (Fact.CILIUM, "false"): "you did not run Cilium",
    (Fact.VMS, "true"): "you also ran workloads on VMs outside Kubernetes",
    (Fact.VMS, "false"): "you had no VM workloads",
    (Fact.MULTICLUSTER, "true"): "you needed one mesh across several clusters",
    (Fact.MULTICLUSTER, "false"): "you ran a single cluster",
    (Fact.ENVOYFILTER, "true"): "you relied on EnvoyFilter or Lua customisation",
    (Fact.ENVOYFILTER, "false"): "you did not rely on EnvoyFilter",
    (Fact.REGULATED, "true"): "you were regulated (finance, healthcare or strict audits)",
    (Fact.REGULATED, "false"): "you had no regulatory constraints",
    (Fact.NO_RESTARTS, "true"): "you could not restart pods to enrol or upgrade them",
    (Fact.NO_RESTARTS, "false"): "you could restart pods to enrol and upgrade them",
}

# What the rule layer assumes for a fact nobody stated.
FACT_ASSUMPTIONS: dict[Fact, str] = {
    Fact.GRPC: "not every service speaks gRPC",
    Fact.CILIUM: "Cilium is not your CNI yet",
    Fact.VMS: "no workloads run on VMs",
    Fact.MULTICLUSTER: "a single cluster",
    Fact.ENVOYFILTER: "no reliance on EnvoyFilter",
    Fact.REGULATED: "no regulatory constraints",
    Fact.NO_RESTARTS: "pods can be restarted to enrol and upgrade",
}

# A fact as a decision driver: "<label>: <value>".
FACT_LABELS: dict[Fact, str] = {
    Fact.GRPC: "Services that speak gRPC",
    Fact.CILIUM: "Cilium already runs as the CNI",
    Fact.VMS: "Workloads on VMs outside Kubernetes",
    Fact.MULTICLUSTER: "One mesh across several clusters",
    Fact.ENVOYFILTER: "Relies on EnvoyFilter or Lua",
    Fact.REGULATED: "Regulated (finance, healthcare or strict audits)",
    Fact.NO_RESTARTS: "Pods cannot be restarted to enrol or upgrade",
}

MODE_SUMMARIES: dict[Mode, str] = {
    Mode.SIDECAR: "An Envoy proxy in every pod handles L4 and L7 (Istio's classic mode).",
    Mode.AMBIENT: "A shared per-node ztunnel handles L4; optional waypoint proxies add L7 (Istio ambient).",
    Mode.CILIUM: "eBPF in the kernel handles L4; one shared Envoy per node handles L7 (Cilium service mesh).",
    Mode.GRPC: "No proxy: gRPC libraries in the application are configured over xDS (Istio proxyless gRPC).",
}
