"""The sizing estimate reached from chat: a cluster's numbers read from the conversation, and answers that show
what they cost, each scaled figure cited to the corpus section that publishes it."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.domain.conversation import Kind, Turn
from assistant.domain.sizing import ClusterSize
from assistant.domain.vocabulary import Mode
from assistant.service import Service
from assistant.understanding.cluster_numbers import cluster_numbers


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("a 12-node cluster, roughly 2.5k meshed pods", {"nodes": 12, "pods": 2500}),
        ("300 worker nodes with 9,000 replicas across 3 AZs", {"nodes": 300, "pods": 9000, "zones": 3}),
        ("peak load is 40k rps and a quarter... no, 25% of calls are grpc", {"requests_per_second": 40_000}),
        ("grpc carries 60 percent of requests", {"grpc_share": 0.6}),
        ("header routing in 7 namespaces", {"l7_scopes": 7}),
        ("4 services need L7 retries; 2 million requests per second", {"l7_scopes": 4, "requests_per_second": 2e6}),
        ("we upgraded to Istio 1.24 last week", {}),
        ("12 namespaces, none with special needs", {}),  # namespaces are L7 scopes only with L7 named
    ],
)
def test_a_clusters_numbers_in_a_users_words(text: str, numbers: dict[str, float]) -> None:
    found = cluster_numbers(text.lower())
    assert {k: v for k, v in found.items() if k in numbers} == numbers
    assert set(found) - set(numbers) <= {"grpc_share"}  # nothing else is read from it


def ask(service: Service, question: str, *earlier: str) -> Any:
    history: list[Turn] = []
    for said in earlier:
        history += [Turn(role="user", content=said), Turn(role="assistant", content=service.ask(said, history).text)]
    return service.ask(question, history)


def test_numbers_stated_over_several_turns_make_one_cluster(service: Service) -> None:
    first = ask(service, "We're a logistics company and our cluster has 30 nodes.")
    assert first.requirements.cluster is None and first.estimate is None  # no pod count yet
    later = ask(service, "How much would ambient cost us then?", "Our cluster has 30 nodes.", "We run 800 pods.")
    assert later.requirements.cluster == ClusterSize(nodes=30, pods=800)


def test_a_cost_question_with_the_clusters_numbers_opens_with_the_cited_estimate(service: Service) -> None:
    answer = ask(service, "With 25 nodes, 900 pods and 4k rps, how much CPU and memory would sidecars take?")
    expected = service.estimate(nodes=25, pods=900, requests_per_second=4000)
    assert answer.estimate == expected and not answer.refused
    assert answer.text.startswith("**Estimated data-plane cost for your cluster** (25 nodes, 900 meshed pods")
    sidecar = expected.of(Mode.SIDECAR)
    assert f"| Sidecar | {sidecar.cpu_text()} | {sidecar.memory_text()} |" in answer.text
    figure = sidecar.components[0]
    cited = next(c for c in answer.citations if f"{figure.figure} [{c.n}]" in answer.text)
    assert (cited.doc_id, cited.section) == (figure.source.doc, figure.source.section)
    assert cited.source_url.startswith("https://") and cited.chunk_id in answer.grounds
    assert service.check_answer(answer) == []


def test_a_recommendation_for_a_sized_cluster_ends_with_the_estimate_of_its_ranking(service: Service) -> None:
    answer = ask(service, "Which data plane fits us? 60 nodes, 2,000 pods, 5 namespaces need L7, 20k rps.")
    assert answer.kind is Kind.RECOMMEND and answer.recommendation is not None
    assert (
        answer.recommendation.estimate
        == answer.estimate
        == service.estimate(nodes=60, pods=2000, l7_scopes=5, requests_per_second=20_000)
    )
    section = answer.text.split("**Estimated data-plane cost for your cluster**")[1]
    rows = [line.split("|")[1].strip() for line in section.splitlines() if line.startswith("| ") and "Mode" not in line]
    assert rows == [place.mode.label for place in answer.recommendation.ranking]
    assert service.check_answer(answer) == []


def test_without_numbers_or_a_cost_question_no_estimate_is_shown(service: Service) -> None:
    assert ask(service, "How much memory does a sidecar use?").estimate is None
    sized = ("Our cluster has 30 nodes and 800 pods.",)
    assert ask(service, "What is a waypoint?", *sized).estimate is None
