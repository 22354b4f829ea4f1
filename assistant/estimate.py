"""A cluster's numbers in, each mode's data-plane CPU and memory out: pure functions over the sizing figures.

Each component's copies follow what it is deployed for (a sidecar per pod, a ztunnel per node, a waypoint per L7
scope and zone). A proxy on the request path costs CPU in proportion to the requests it carries (its published
figure over the load it was measured at); memory is paid per copy. A component with no published figure is
reported as such and left out of its mode's totals, which then say what they leave out.
"""

from __future__ import annotations

from assistant.domain.sizing import (
    ClusterSize,
    Component,
    ComponentEstimate,
    Estimate,
    ModeEstimate,
    Per,
    Scaling,
    SizingFigures,
)
from assistant.domain.vocabulary import Mode


def estimate(cluster: ClusterSize, figures: SizingFigures) -> Estimate:
    """Every mode's estimated data-plane CPU and memory for `cluster`, with how each number was reached."""
    return Estimate(
        cluster=cluster,
        modes=[_mode(mode, cluster, figures) for mode in Mode],
        assumptions=_assumptions(cluster),
        as_of=figures.as_of,
    )


def _copies(per: Per, cluster: ClusterSize) -> int:
    """How many copies of a component the cluster runs: one per pod, per node, or per L7 scope and zone."""
    if per is Per.POD:
        return cluster.pods
    if per is Per.NODE:
        return cluster.nodes
    return cluster.l7_scopes * (cluster.zones or 1)


def _mode(mode: Mode, cluster: ClusterSize, figures: SizingFigures) -> ModeEstimate:
    parts = [_component(name, component, cluster) for name, component in figures.of(mode).items()]
    cpus = [part.cpu_millicores for part in parts if part.cpu_millicores is not None]
    memories = [part.memory_mb for part in parts if part.memory_mb is not None]
    notes = [f"{part.label}: {missing}, so it is not counted." for part in parts if (missing := _missing(part))]
    return ModeEstimate(
        mode=mode,
        cpu_millicores=round(sum(cpus), 3) if cpus else None,
        memory_mb=round(sum(memories), 3) if memories else None,
        complete=len(cpus) == len(memories) == len(parts),
        components=parts,
        notes=notes + _coverage(mode, cluster),
    )


def _missing(part: ComponentEstimate) -> str:
    """ "no published figure", "no published CPU figure", "no published memory figure", or ""."""
    missing = [what for what, value in (("CPU", part.cpu_millicores), ("memory", part.memory_mb)) if value is None]
    return "no published figure" if len(missing) == 2 else "".join(f"no published {what} figure" for what in missing)


def _component(name: str, component: Component, cluster: ClusterSize) -> ComponentEstimate:
    count = _copies(component.per, cluster)
    cpu = memory = None
    basis = [f"{count:,} {'copy' if count == 1 else 'copies'} ({component.per.label})"]
    if component.cpu is not None:
        figure = component.cpu.text()
        if component.scaling is Scaling.REQUESTS and component.load_rps and component.path:
            carried = cluster.requests_per_second * component.path.proxies if count else 0.0
            cpu = component.cpu.millicores * carried / component.load_rps
            basis.append(
                f"CPU: {figure} per {component.load_rps:,g} requests per second through one copy, times "
                f"{cluster.requests_per_second:,g} requests per second, times {component.path.proxies} "
                f"({component.path.note})"
            )
        else:
            cpu = component.cpu.millicores * count
            basis.append(f"CPU: {figure} per copy, whatever the load")
    if component.memory is not None:
        memory = component.memory.megabytes * count
        basis.append(f"memory: {component.memory.text()} per copy")
    return ComponentEstimate(
        component=name,
        label=component.label,
        per=component.per,
        copies=count,
        cpu_millicores=None if cpu is None else round(cpu, 3),
        memory_mb=None if memory is None else round(memory, 3),
        basis="; ".join(basis) + ".",
        figure=component.figure_text(),
        source=component.source,
        path_source=component.path.source if component.path is not None and cpu is not None else None,
        read=component.read,
    )


def _coverage(mode: Mode, cluster: ClusterSize) -> list[str]:
    """What a mode's totals do not cover for this cluster."""
    if mode is Mode.AMBIENT and cluster.l7_scopes == 0:
        return ["No L7 scope stated, so no waypoint is counted: ambient then gives L4 only (mTLS and L4 policy)."]
    if mode is Mode.GRPC:
        share = cluster.grpc_share
        if share is None:
            return [
                "Proxyless gRPC meshes gRPC traffic only; with no gRPC share stated, every meshed pod is counted "
                "as a gRPC application with its agent."
            ]
        if share < 1:
            return [
                f"Proxyless gRPC meshes gRPC traffic only: {share:.0%} of your requests. The other {1 - share:.0%} "
                "would need another data plane beside it, which is not counted here."
            ]
    return []


def _assumptions(cluster: ClusterSize) -> list[str]:
    zones = cluster.zones or 1
    where = f"one replica in each of your {zones} zones" if zones > 1 else "one replica (no zones stated)"
    return [
        "A proxy on the request path uses CPU in proportion to the requests it carries: its published figure, "
        "divided by the load it was measured at, times your requests per second, times the copies each request "
        "passes. No source publishes an idle cost, so idle CPU is not counted.",
        "Memory is paid once per copy and does not grow with load: each source gives one memory figure per proxy "
        "at its test load.",
        "Every request is counted as traffic between two meshed pods on different nodes, so it passes the "
        "client's and the server's proxy; requests between pods on one node pass a single ztunnel, so the "
        "ztunnel CPU is an upper bound.",
        f"Each L7 scope gets a waypoint with {where}, and every request is counted as passing one waypoint: an "
        "upper bound when only some services need L7.",
        "MiB are converted to MB (1 MiB = 1.048576 MB), and a figure published as an upper bound ('under 1 mCPU') "
        "is counted at that bound.",
        "The figures come from different releases and test set-ups (each is cited with its own), so compare "
        "orders of magnitude rather than small differences.",
    ]
