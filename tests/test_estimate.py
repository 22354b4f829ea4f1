"""The sizing estimate: a worked example traced to its figures, properties over random clusters, and the figures
checked against the corpus sections they cite."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.corpus import load_documents, load_sizing
from assistant.domain.requirements import parse_cluster
from assistant.domain.sizing import ClusterSize, Estimate, SizingFigures
from assistant.domain.vocabulary import Mode
from assistant.errors import InvalidRequirementError
from assistant.estimate import estimate
from tests.conftest import CORPUS

FIGURES: SizingFigures = load_sizing(CORPUS / "sizing.yaml")
S, A, C, G = Mode


def part(found: Estimate, mode: Mode, component: str) -> tuple[float | None, float | None, int]:
    item = next(p for p in found.of(mode).components if p.component == component)
    return item.cpu_millicores, item.memory_mb, item.copies


def test_the_worked_example_traces_every_number_to_its_figure() -> None:
    """40 nodes, 1,200 pods, 5 L7 namespaces, 10,000 requests per second over 3 zones (the README's example)."""
    cluster = ClusterSize(nodes=40, pods=1200, l7_scopes=5, requests_per_second=10_000, zones=3)
    found = estimate(cluster, FIGURES)
    # 0.20 vCPU per 1,000 rps x 10,000 rps x 2 sidecars per request; 60 MB x 1,200 pods
    assert part(found, S, "sidecar_envoy") == (4000.0, 72_000.0, 1200)
    # 0.06 vCPU per 1,000 rps x 10,000 rps x 2 ztunnels per request; 12 MB x 40 nodes
    assert part(found, A, "ztunnel") == (1200.0, 480.0, 40)
    # 0.25 vCPU per 1,000 rps x 10,000 rps x 1 waypoint per request; 60 MB x 5 scopes x 3 zones
    assert part(found, A, "waypoint") == (2500.0, 900.0, 15)
    # under 1 mCPU (counted as 1) and 25 MiB (26.2144 MB) per pod, whatever the load
    assert part(found, G, "grpc_agent") == (1200.0, 31_457.28, 1200)
    assert (found.of(A).cpu_millicores, found.of(A).memory_mb) == (3700.0, 1380.0)
    assert found.of(S).complete and found.of(A).complete
    sidecar = found.of(S).components[0]
    assert "Istio 1.24" in sidecar.figure and "1000 HTTP requests per second" in sidecar.figure
    assert "Equinix M3 Large" in sidecar.figure  # the set-up
    assert sidecar.source.url == "https://istio.io/latest/docs/ops/deployment/performance-and-scalability/"
    assert "times 10,000 requests per second, times 2" in sidecar.basis


def test_a_mode_without_published_figures_says_so_and_is_never_guessed() -> None:
    found = estimate(ClusterSize(nodes=10, pods=100, requests_per_second=500), FIGURES)
    cilium = found.of(C)
    assert (cilium.cpu_millicores, cilium.memory_mb, cilium.complete) == (None, None, False)
    assert all(p.cpu_millicores is None and p.memory_mb is None for p in cilium.components)
    assert all(p.figure.startswith("no published figure") for p in cilium.components)
    assert [n for n in cilium.notes if "no published figure" in n] == [
        "cilium-agent (eBPF, L3/L4): no published figure, so it is not counted.",
        "per-node Envoy (L7): no published figure, so it is not counted.",
    ]
    grpc = found.of(G)  # the agent is published, the library's in-process cost is not
    assert grpc.cpu_millicores == 100.0 and not grpc.complete
    assert any(n.startswith("gRPC xDS library (in the application): no published figure") for n in grpc.notes)


@pytest.mark.parametrize(
    ("share", "note"),
    [
        (None, "with no gRPC share stated, every meshed pod is counted"),
        (0.3, "30% of your requests. The other 70% would need another data plane"),
        (0.0, "0% of your requests. The other 100% would need another data plane"),
    ],
)
def test_the_grpc_share_says_what_proxyless_grpc_leaves_unmeshed(share: float | None, note: str) -> None:
    found = estimate(ClusterSize(nodes=3, pods=30, grpc_share=share), FIGURES)
    assert any(note in n for n in found.of(G).notes)


def test_all_grpc_traffic_leaves_nothing_unmeshed() -> None:
    found = estimate(ClusterSize(nodes=3, pods=30, grpc_share=1.0), FIGURES)
    assert not any("gRPC traffic only" in n for n in found.of(G).notes)


def test_the_assumptions_are_written_out() -> None:
    found = estimate(ClusterSize(nodes=6, pods=60, l7_scopes=2, zones=3), FIGURES)
    text = " ".join(found.assumptions)
    assert "in proportion to the requests it carries" in text and "idle CPU is not counted" in text
    assert "one replica in each of your 3 zones" in text
    assert "1 MiB = 1.048576 MB" in text


def test_every_figure_is_written_in_the_corpus_section_it_cites() -> None:
    sections = {(d.id, s.path): s for d in load_documents(CORPUS) for s in d.sections}
    for name, component in FIGURES.components.items():
        refs = [component.source] + ([component.path.source] if component.path else [])
        for ref in refs:
            section = sections[(ref.doc, ref.section)]
            assert ref.url in section.source_urls, (name, ref)
        text = sections[(component.source.doc, component.source.section)].text
        for quantity in (component.cpu, component.memory):
            if quantity is not None:
                assert re.search(rf"{quantity.value:g}0* {quantity.unit}", text), (name, quantity)
        if component.published:
            assert component.version.split(",")[0] in text, name
        else:  # the section says the figure is missing, or left out of what was measured
            assert re.search(r"\b(no official|exclude)", text, re.IGNORECASE), name


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"nodes": 0, "pods": 10}, "nodes: Input should be greater than or equal to 1"),
        ({"nodes": 3}, "pods: Field required"),
        ({"nodes": 3, "pods": 10, "grpc_share": 1.5}, "grpc_share: Input should be less than or equal to 1"),
        ({"nodes": 2, "pods": 10, "zones": 3}, "zones (3) cannot exceed nodes (2)"),
        ({"nodes": 2, "pods": 10, "requests_per_second": -1}, "requests_per_second: Input should be greater"),
        ({"nodes": 2, "pods": 10, "services": 4}, "unknown cluster number 'services'"),
    ],
)
def test_bad_numbers_are_named(data: dict[str, Any], problem: str) -> None:
    with pytest.raises(InvalidRequirementError, match=re.escape(problem)):
        parse_cluster(data)


# Properties over random clusters ------------------------------------------------------------------------------

clusters = st.builds(
    ClusterSize,
    nodes=st.integers(3, 5_000),
    pods=st.integers(1, 200_000),
    l7_scopes=st.integers(0, 500),
    requests_per_second=st.floats(0, 1e6, allow_nan=False),
    grpc_share=st.none() | st.floats(0, 1, allow_nan=False),
    zones=st.none() | st.integers(1, 3),
)


def figures_of(found: Estimate) -> list[float]:
    return [
        value
        for mode in found.modes
        for item in [mode, *mode.components]
        for value in (item.cpu_millicores, item.memory_mb)
        if value is not None
    ]


def grown(cluster: ClusterSize, **more: Any) -> ClusterSize:
    return cluster.model_copy(update={name: getattr(cluster, name) + value for name, value in more.items()})


@settings(max_examples=150, deadline=None)
@given(clusters)
def test_never_negative_and_deterministic(cluster: ClusterSize) -> None:
    found = estimate(cluster, FIGURES)
    assert all(value >= 0 for value in figures_of(found))
    assert estimate(cluster, FIGURES) == found
    assert [m.mode for m in found.modes] == list(Mode)


@settings(max_examples=150, deadline=None)
@given(clusters, st.sampled_from(["nodes", "pods", "requests_per_second"]), st.integers(1, 10_000))
def test_more_pods_nodes_or_load_never_cost_less(cluster: ClusterSize, grow: str, by: int) -> None:
    before, after = estimate(cluster, FIGURES), estimate(grown(cluster, **{grow: by}), FIGURES)
    for old, new in zip(before.modes, after.modes, strict=True):
        for old_item, new_item in zip([old, *old.components], [new, *new.components], strict=True):
            for attribute in ("cpu_millicores", "memory_mb"):
                was, now = getattr(old_item, attribute), getattr(new_item, attribute)
                assert (was is None) == (now is None)
                assert was is None or now >= was, (grow, old_item, new_item)


@settings(max_examples=100, deadline=None)
@given(clusters)
def test_zero_l7_scopes_means_no_waypoints(cluster: ClusterSize) -> None:
    found = estimate(cluster.model_copy(update={"l7_scopes": 0}), FIGURES)
    assert part(found, A, "waypoint") == (0.0, 0.0, 0)
    assert any(n.startswith("No L7 scope stated, so no waypoint") for n in found.of(A).notes)
