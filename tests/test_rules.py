"""The rule layer: table-driven scenarios, one per rule, and properties over random requirements."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.corpus import load_ratings
from assistant.domain.ratings import Ratings
from assistant.domain.requirements import Change, Requirements, parse_requirements
from assistant.domain.vocabulary import Dimension, GrpcUse, Level, Mode, Priority
from assistant.errors import InvalidRequirementError
from assistant.rules import candidate_changes, leader, profile, recommend
from tests.conftest import CORPUS

RATINGS: Ratings = load_ratings(CORPUS / "ratings.yaml")
S, A, C, G = Mode


def top(**requirements: Any) -> Mode | None:
    return recommend(Requirements(**requirements), RATINGS).top


# The issue's table: exactly this first place.
@pytest.mark.parametrize(
    ("requirements", "first"),
    [
        ({"security": "high", "regulated": True}, S),
        ({"resources": "high", "grpc": "all"}, G),
        ({"resources": "high", "grpc": "none"}, A),
        ({"performance": "high", "grpc": "all"}, G),
        ({"performance": "high", "grpc": "none"}, A),
        ({"simplicity": "high"}, A),
        ({"cilium": True}, C),
        ({"maturity": "high"}, S),
        ({"vms": True}, S),
        ({"envoyfilter": True}, S),
        ({"no_restarts": True}, A),
        ({"security": "high", "grpc": "all"}, S),
    ],
)
def test_issue_scenarios(requirements: dict[str, Any], first: Mode) -> None:
    assert top(**requirements) == first


def test_resources_high_with_grpc_none_excludes_grpc() -> None:
    result = recommend(Requirements(resources=Level.HIGH, grpc=GrpcUse.NONE), RATINGS)
    assert [e.mode for e in result.excluded] == [G]
    assert result.excluded[0].reason.ref == "capability:non_grpc_traffic:grpc"


# One scenario per rule and mechanism of our own.
@pytest.mark.parametrize(
    ("requirements", "first", "excluded"),
    [
        ({}, A, []),  # nothing stated: Istio's advice for new users
        ({"regulated": True}, S, []),  # implication: regulated weighs security high
        ({"regulated": True, "security": "low"}, A, []),  # a stated level beats the implication
        ({"vms": True}, S, [A, C, G]),  # hard rule; grpc's VM support is undocumented: excluded too
        ({"envoyfilter": True}, S, [A, G]),  # hard rule; cilium only partly: kept
        ({"no_restarts": True}, A, [S, G]),
        ({"grpc": "none"}, A, [G]),
        ({"grpc": "some", "performance": "high"}, A, []),  # soft rule: grpc penalised below ambient
        ({"grpc": "all", "performance": "high"}, G, []),
        ({"multicluster": True, "security": "high"}, S, []),  # ambient only partly supports multicluster
        ({"cilium": True, "security": "high"}, S, []),  # the Cilium bonus does not beat a high priority
        ({"cilium": True, "simplicity": "high"}, A, []),
        ({"cilium": False}, A, []),
        ({"network": "high", "grpc": "none"}, A, [G]),  # cilium's adoption cost outweighs its network edge
        ({"network": "high", "grpc": "none", "cilium": True}, C, [G]),
        ({"vms": True, "envoyfilter": True}, S, [A, C, G]),
        ({"vms": True, "no_restarts": True}, None, [S, A, C, G]),
    ],
)
def test_rule_scenarios(requirements: dict[str, Any], first: Mode | None, excluded: list[Mode]) -> None:
    result = recommend(Requirements(**requirements), RATINGS)
    assert result.top == first
    assert [e.mode for e in result.excluded] == excluded


def test_reasons_and_caveats_point_at_ratings_and_capabilities_that_exist() -> None:
    for requirements in [
        Requirements(),
        Requirements(security=Level.HIGH, regulated=True),
        Requirements(vms=True, grpc=GrpcUse.SOME),
    ]:
        result = recommend(requirements, RATINGS)
        for ref in result.refs():
            kind, first, second = ref.split(":")
            if kind == "rating":
                assert RATINGS.rating(Mode(first), Dimension(second))
            else:
                assert kind == "capability" and Mode(second) in RATINGS.capabilities[first].modes


def test_reasons_follow_high_priorities_and_stated_facts() -> None:
    result = recommend(Requirements(security=Level.HIGH, regulated=True), RATINGS)
    sidecar = result.ranking[0]
    assert sidecar.reasons[0].ref == "rating:sidecar:security" and "which you weigh high" in sidecar.reasons[0].text
    assert any(r.ref == "capability:per_workload_keys:sidecar" for r in sidecar.reasons)
    cilium = next(r for r in result.ranking if r.mode is C)
    security_caveats = [c for c in cilium.caveats if c.ref == "rating:cilium:security"]
    assert len(security_caveats) == 1  # the standing caveat; no second one for the same weak rating
    fast = recommend(Requirements(performance=Level.HIGH, vms=True), RATINGS).ranking[0]  # the only fit left
    assert fast.mode is S and any(
        "rated only 2/5 for performance, which you weigh high" in c.text for c in fast.caveats
    )
    ambient = next(r for r in result.ranking if r.mode is A)
    assert any("only partly keeps keys per workload" in c.text for c in ambient.caveats)


def test_no_reasons_from_assumptions_only() -> None:
    result = recommend(Requirements(), RATINGS)
    assert all(r.ref.startswith("rating:") for ranked in result.ranking for r in ranked.reasons)
    assert all(len(ranked.reasons) <= 2 for ranked in result.ranking)


def test_a_mode_weak_on_every_high_priority_still_gets_its_strengths_as_reasons() -> None:
    result = recommend(Requirements(simplicity=Level.HIGH, grpc=GrpcUse.ALL), RATINGS)
    sidecar = next(r for r in result.ranking if r.mode is S)
    assert [r.ref for r in sidecar.reasons] == ["rating:sidecar:security", "rating:sidecar:maturity"]


def test_seed_caveats_are_always_attached() -> None:
    result = recommend(Requirements(grpc=GrpcUse.ALL), RATINGS)
    caveats = {ranked.mode: " ".join(c.text for c in ranked.caveats) for ranked in result.ranking}
    assert "experimental" in caveats[G] and "does not support every mesh feature" in caveats[G]
    assert "still maturing" in caveats[A] and "cross-zone" in caveats[A]
    assert "identity model has known concerns" in caveats[C] and "more complex" in caveats[C]


def test_a_profile_lists_strong_and_weak_points_from_ratings_caveats_and_capabilities() -> None:
    sidecar, ambient = profile(S, RATINGS), profile(A, RATINGS)
    assert [r.ref for r in sidecar.strengths[:2]] == ["rating:sidecar:security", "rating:sidecar:maturity"]
    assert "capability:vm_workloads:sidecar" in sidecar.refs()  # only sidecar meshes VMs: a strong point
    assert "capability:non_grpc_traffic:sidecar" not in sidecar.refs()  # three modes do: neither strong nor weak
    assert sidecar.weaknesses[0].ref == "rating:sidecar:resource_efficiency"  # weakest first
    assert ambient.weaknesses[0].text.startswith("Ambient's security model is newer")  # standing caveats lead
    assert "rating:ambient:network_efficiency" not in {r.ref for r in ambient.weaknesses[2:]}  # not said twice
    weak = {r.ref: r.text for r in ambient.weaknesses}
    assert weak["capability:vm_workloads:ambient"].startswith("Meshing VM workloads outside Kubernetes, not supported")
    assert "only partly supported" in weak["capability:multicluster:ambient"]
    assert "not documented" in {r.ref: r.text for r in profile(G, RATINGS).weaknesses}["capability:vm_workloads:grpc"]


def test_unknown_support_excludes_on_a_hard_rule_and_is_penalised_on_a_soft_one() -> None:
    hard = recommend(Requirements(vms=True, grpc=GrpcUse.ALL), RATINGS)
    excluded = next(e for e in hard.excluded if e.mode is G).reason.text
    assert excluded.startswith("The sources do not say whether Proxyless gRPC meshes the VM workloads")
    soft = recommend(Requirements(multicluster=True, grpc=GrpcUse.ALL), RATINGS)
    grpc = next(r for r in soft.ranking if r.mode is G)
    assert any(c.text.startswith("The sources do not say whether Proxyless gRPC supports") for c in grpc.caveats)
    assert grpc.adjustment == -RATINGS.scoring.penalty_unknown


def test_assumptions_list_what_was_not_stated() -> None:
    everything = Requirements(
        security=Level.LOW,
        resources=Level.LOW,
        performance=Level.LOW,
        simplicity=Level.LOW,
        maturity=Level.LOW,
        network=Level.LOW,
        grpc=GrpcUse.ALL,
        cilium=False,
        vms=False,
        multicluster=False,
        envoyfilter=False,
        regulated=False,
        no_restarts=False,
    )
    assert recommend(everything, RATINGS).assumptions == []
    assumptions = recommend(Requirements(regulated=True, performance=Level.HIGH), RATINGS).assumptions
    assert assumptions[0].startswith("Not stated, so weighed medium: resource constraints")
    assert "security" not in assumptions[0]
    assert assumptions[1] == "Weighed security high because you are regulated."
    assert "Cilium is not your CNI yet" in assumptions[2]


def test_ties_go_to_maturity_then_fixed_order() -> None:
    flat = RATINGS.model_copy(deep=True)
    for mode in Mode:
        for dimension in Dimension:
            if dimension is not Dimension.MATURITY:
                flat.ratings[mode][dimension] = flat.ratings[mode][dimension].model_copy(update={"score": 3})
    everyone_fits = Requirements(maturity=Level.LOW, grpc=GrpcUse.ALL, cilium=False)
    cilium_fits = flat.model_copy(update={"rules": tuple(r for r in flat.rules if r.id != "cilium-absent")})
    order = [m.mode for m in recommend(everyone_fits, cilium_fits).ranking]
    assert order == [S, A, C, G]  # maturity 5, 4, 3, 1 breaks the tie
    same = cilium_fits.model_copy(deep=True)
    for mode in Mode:
        same.ratings[mode][Dimension.MATURITY] = same.ratings[mode][Dimension.MATURITY].model_copy(update={"score": 3})
    assert [m.mode for m in recommend(everyone_fits, same).ranking] == [S, A, C, G]  # then the fixed order


def test_scores_and_margin() -> None:
    result = recommend(Requirements(security=Level.HIGH), RATINGS)
    first, second = result.ranking[:2]
    assert 0 < second.score < first.score <= 1
    assert result.margin == pytest.approx(first.score - second.score, abs=1e-3)
    assert sum(c.points for c in first.contributions) + first.adjustment == pytest.approx(first.points)
    only_one = recommend(Requirements(vms=True, envoyfilter=True), RATINGS)
    assert len(only_one.ranking) == 1 and only_one.margin == 0


def test_counterfactuals_are_stated_plainly() -> None:
    result = recommend(Requirements(security=Level.HIGH), RATINGS)
    texts = [c.text for c in result.counterfactuals]
    assert "If security mattered less (medium instead of high), Ambient would lead." in texts
    lowered = recommend(Requirements(simplicity=Level.HIGH), RATINGS).counterfactuals
    assert any(c.text.startswith("If you also ran workloads on VMs") and c.mode is S for c in lowered)
    blocked = recommend(Requirements(vms=True, no_restarts=True), RATINGS)
    assert {c.mode for c in blocked.counterfactuals} >= {S, A}
    assert any(
        c.text == "If you could restart pods to enrol and upgrade them, Sidecar would lead."
        for c in blocked.counterfactuals
    )


def test_candidate_changes_cover_every_priority_and_fact() -> None:
    changes = candidate_changes(Requirements(security=Level.HIGH, grpc=GrpcUse.ALL, vms=True))
    assert Change(kind="priority", name="security", before="high", after="medium") in changes
    assert Change(kind="priority", name="resources", before="medium", after="high") in changes
    assert Change(kind="priority", name="resources", before="medium", after="low") in changes
    assert Change(kind="fact", name="vms", before="true", after="false") in changes
    assert {c.after for c in changes if c.name == "grpc"} == {"none", "some"}
    assert Change(kind="fact", name="cilium", before="unknown", after="true") in changes


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"security": "extreme"}, "security"),
        ({"grpc": "most"}, "grpc"),
        ({"kubernetes": True}, "unknown requirement 'kubernetes'"),
        ({"vms": "perhaps"}, "vms"),
    ],
)
def test_bad_requirements_fail_clearly(data: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRequirementError, match=message) as caught:
        parse_requirements(data)
    assert "low, medium, high" in caught.value.hint


# Properties over random requirements ----------------------------------------------------------------------
levels = st.none() | st.sampled_from(list(Level))
facts = st.none() | st.booleans()
requirements_strategy = st.builds(
    Requirements,
    security=levels,
    resources=levels,
    performance=levels,
    simplicity=levels,
    maturity=levels,
    network=levels,
    grpc=st.none() | st.sampled_from(list(GrpcUse)),
    cilium=facts,
    vms=facts,
    multicluster=facts,
    envoyfilter=facts,
    regulated=facts,
    no_restarts=facts,
)


@settings(max_examples=200, deadline=None)
@given(requirements_strategy)
def test_same_input_same_output(requirements: Requirements) -> None:
    assert recommend(requirements, RATINGS) == recommend(requirements, RATINGS)


@settings(max_examples=300, deadline=None)
@given(requirements_strategy)
def test_every_mode_appears_exactly_once(requirements: Requirements) -> None:
    result = recommend(requirements, RATINGS)
    modes = [r.mode for r in result.ranking] + [e.mode for e in result.excluded]
    assert sorted(modes) == sorted(Mode)
    assert [r.rank for r in result.ranking] == list(range(1, len(result.ranking) + 1))
    assert leader(requirements, RATINGS) == result.top


@settings(max_examples=300, deadline=None)
@given(requirements_strategy, st.sampled_from(list(Priority)))
def test_raising_a_priority_never_lifts_a_mode_rated_lower_on_it(
    requirements: Requirements, priority: Priority
) -> None:
    current = requirements.level(priority) or Level.MEDIUM
    if current is Level.HIGH:
        return
    raised = requirements.model_copy(update={priority.value: Level.HIGH if current is Level.MEDIUM else Level.MEDIUM})
    before = [r.mode for r in recommend(requirements, RATINGS).ranking]
    after = [r.mode for r in recommend(raised, RATINGS).ranking]
    assert sorted(before) == sorted(after)  # exclusions never depend on priorities
    for i, a in enumerate(before):
        for b in before[i + 1 :]:
            if RATINGS.rating(a, priority.dimension).score >= RATINGS.rating(b, priority.dimension).score:
                assert after.index(a) < after.index(b), (a, b)


@settings(max_examples=200, deadline=None)
@given(requirements_strategy)
def test_every_counterfactual_really_changes_the_first_place(requirements: Requirements) -> None:
    result = recommend(requirements, RATINGS)
    for counterfactual in result.counterfactuals:
        changed = requirements.apply(counterfactual.change)
        assert leader(changed, RATINGS) == counterfactual.mode != result.top
    assert len({c.mode for c in result.counterfactuals}) == len(result.counterfactuals)


def test_needs_are_judged_only_where_the_corpus_has_a_feature_matrix() -> None:
    without = RATINGS.model_copy(update={"features": None})
    needing = Requirements(simplicity="high", needs=("sandboxed_runtimes",))
    assert recommend(needing, without).ranking == recommend(Requirements(simplicity="high"), without).ranking
    assert recommend(needing, RATINGS).top != recommend(needing, without).top
