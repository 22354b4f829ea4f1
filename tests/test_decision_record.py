"""The decision record: MADR's sections, drawn from the rule layer's output, deterministic, every [n] a source URL."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from assistant.corpus import load_ratings, load_sizing
from assistant.decision_record import CorpusVersion, citable_sources, decision_record
from assistant.domain.requirements import Requirements
from assistant.estimate import estimate
from assistant.rules import recommend
from tests.conftest import CORPUS

RATINGS = load_ratings(CORPUS / "ratings.yaml")
FIGURES = load_sizing(CORPUS / "sizing.yaml")
VERSION = CorpusVersion(fingerprint="0123456789abcdef", as_of=date(2026, 12, 5))
MADR = [
    "## Context and Problem Statement",
    "## Decision Drivers",
    "## Considered Options",
    "## Decision Outcome",
    "### Consequences",
    "### What would change this",
    "## Pros and Cons of the Options",
    "## More Information",
]
SOURCE_LINE = re.compile(r"^\* \[(\d+)\] \[[^\]]+\]\((https://\S+)\) \(.+\)$", re.MULTILINE)


def record(**stated: Any) -> str:
    requirements = Requirements.model_validate(stated)
    result = recommend(requirements, RATINGS)
    if requirements.cluster is not None:
        result = result.model_copy(update={"estimate": estimate(requirements.cluster, FIGURES)})
    return decision_record(result, RATINGS, VERSION)


def check_citations(text: str) -> dict[int, str]:
    """Every [n] in the body is a numbered source with an https URL, and every source is cited."""
    body, _, sources = text.partition("## More Information")
    urls = {int(n): url for n, url in SOURCE_LINE.findall(sources)}
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", body)}
    assert cited and cited == set(urls) == set(range(1, len(urls) + 1))
    return urls


def test_a_bank_gets_every_madr_section_in_order_with_its_drivers_and_counterfactual() -> None:
    text = record(security="high", regulated=True)
    assert text.startswith("---\nstatus: proposed\ndate: 2026-12-05\n---\n\n# Use Sidecar as the service-mesh")
    positions = [text.index(heading) for heading in MADR]
    assert positions == sorted(positions)
    assert "* Security: high (stated)" in text
    assert "* Resource constraints: medium (not stated)" in text
    assert "* Regulated (finance, healthcare or strict audits): yes" in text
    assert 'Chosen option: "Sidecar", because it ranks first' in text
    assert "* If security mattered less (medium instead of high), Ambient would lead." in text
    assert "corpus version 0123456789abcdef" in text
    consequences = text[text.index("### Consequences") : text.index("### What would change this")]
    assert "* Good, because Sidecar is rated 5/5 for security, which you weigh high" in consequences
    assert "* Bad, because Sidecar is rated only 1/5 for resource efficiency" in consequences
    urls = check_citations(text)
    assert urls[1] == "https://istio.io/latest/docs/overview/dataplane-modes/"  # the security rating, cited first


def test_the_same_requirements_give_the_same_document() -> None:
    assert record(resources="high", grpc="none") == record(grpc="none", resources="high")


def test_excluded_modes_are_considered_with_the_reason_and_its_source() -> None:
    text = record(resources="high", grpc="none")
    assert "* Proxyless gRPC (excluded)" in text
    section = text[text.index("### Proxyless gRPC (excluded)") :]
    assert re.match(r"### Proxyless gRPC \(excluded\)\n\n\* Bad, because .+ \[\d+\]\n", section)
    check_citations(text)


def test_when_every_mode_is_excluded_no_option_is_chosen() -> None:
    text = record(vms=True, no_restarts=True)
    assert "# No data plane meets every hard need" in text
    assert "No option is chosen" in text and "### Consequences" not in text
    assert text.count("(excluded)") == 8  # listed as options, then with their reasons
    check_citations(text)


def test_cluster_numbers_add_the_estimate_with_its_figures_cited() -> None:
    cluster = {"nodes": 40, "pods": 1200, "l7_scopes": 5, "requests_per_second": 10_000, "zones": 3}
    text = record(resources="high", cluster=cluster)
    assert "The cluster: 40 nodes, 1,200 meshed pods, 5 L7 scopes, 10,000 requests per second, 3 zones." in text
    assert "| Sidecar | 4.00 vCPU | 72.0 GB | nothing |" in text
    assert "| Ambient | 3.70 vCPU | 1.4 GB | nothing |" in text
    assert "| Cilium | no published figure | no published figure |" in text
    assert "* Neutral: no published figure, so no estimate for this cluster" in text  # Cilium's option
    assert "* Neutral: estimated at 4.00 vCPU and 72.0 GB for this cluster" in text
    assert "Assumptions:\n\n* A proxy on the request path uses CPU in proportion" in text
    urls = check_citations(text)
    assert "https://istio.io/latest/blog/2021/proxyless-grpc/" in urls.values()  # the grpc-agent figure
    assert "https://docs.cilium.io/en/stable/security/network/proxy/envoy/" in urls.values()  # no figure, cited


def test_every_id_the_rule_layer_cites_has_a_public_url() -> None:
    sources = citable_sources(RATINGS)
    matrix = RATINGS.features
    assert matrix is not None
    cells = 4 * (len(RATINGS.dimensions) + len(RATINGS.capabilities) + len(matrix.features))
    assert len(sources) == cells
    assert all(source.url.startswith("https://") for source in sources.values())
