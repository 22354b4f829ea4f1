"""Requirements in, every mode ranked or excluded out: pure functions over the ratings table, no I/O.

A mode's points are the sum over dimensions of weight(priority level) x rating, plus the capability rules'
bonuses and minus their penalties (weights, penalties and rules all come from corpus/ratings.yaml). A hard
rule the mode cannot meet excludes it. Ties go to the more mature mode, then to the fixed mode order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.domain.features import MEETS, MISSES, FeatureStatus, feature_ref
from assistant.domain.ratings import Ratings, Status, Strength, capability_ref, rating_ref
from assistant.domain.recommendation import (
    Contribution,
    Counterfactual,
    ExcludedMode,
    Profile,
    RankedMode,
    Reason,
    Recommendation,
)
from assistant.domain.requirements import Change, Requirements, level_steps
from assistant.domain.vocabulary import (
    FACT_ASSUMPTIONS,
    FACT_STATEMENTS,
    LEVEL_ORDER,
    PRIORITY_PHRASES,
    Dimension,
    Fact,
    GrpcUse,
    Level,
    Mode,
    Priority,
)

MODE_ORDER = tuple(Mode)
DIMENSIONS = tuple(Dimension)
STRONG = 4  # a rating at or above this is a reason to pick the mode
WEAK = 2  # a rating at or below this, on a high priority, is a caveat


@dataclass(frozen=True)
class _Situation:
    """Requirements as plain lookups: the rule loop and the counterfactual search run on these, not on models."""

    levels: dict[Priority, Level | None]
    facts: dict[Fact, str]
    needs: tuple[str, ...] = ()

    @classmethod
    def of(cls, requirements: Requirements) -> _Situation:
        return cls(
            levels={priority: requirements.level(priority) for priority in Priority},
            facts={fact: requirements.fact(fact) for fact in Fact},
            needs=requirements.needs,
        )

    def apply(self, change: Change) -> _Situation:
        if change.kind == "priority":
            return _Situation({**self.levels, Priority(change.name): Level(change.after)}, self.facts, self.needs)
        return _Situation(self.levels, {**self.facts, Fact(change.name): change.after}, self.needs)


@dataclass
class _Evaluation:
    mode: Mode
    points: float = 0.0
    adjustment: float = 0.0
    exclusion: Reason | None = None
    fits: list[Reason] = field(default_factory=list)
    caveats: list[Reason] = field(default_factory=list)


def recommend(requirements: Requirements, ratings: Ratings) -> Recommendation:
    """Rank every mode for `requirements` (or exclude it, with the reason) and explain the result."""
    situation = _Situation.of(requirements)
    levels = _effective_levels(situation, ratings)
    evaluations = _evaluate(situation, levels, ratings, explain=True)
    ranked = _order([e for e in evaluations if e.exclusion is None], ratings)
    best = _best_possible(levels, ratings)
    ranking = [_ranked(e, rank, best, levels, ratings) for rank, e in enumerate(ranked, start=1)]
    excluded = [ExcludedMode(mode=e.mode, reason=e.exclusion) for e in evaluations if e.exclusion is not None]
    margin = (ranked[0].points - ranked[1].points) / best if len(ranked) > 1 else 0.0
    first = ranked[0].mode if ranked else None
    return Recommendation(
        requirements=requirements,
        effective={
            **{priority.value: levels[priority].value for priority in Priority},
            **{fact.value: value for fact, value in situation.facts.items()},
        },
        ranking=ranking,
        excluded=excluded,
        assumptions=_assumptions(situation, levels),
        counterfactuals=_counterfactuals(requirements, situation, ratings, first),
        margin=round(margin, 6),
    )


def leader(requirements: Requirements, ratings: Ratings) -> Mode | None:
    """Only the first place (fast: no explanations), or None when every mode is excluded."""
    return _leader(_Situation.of(requirements), ratings)


def _effective_levels(situation: _Situation, ratings: Ratings) -> dict[Priority, Level]:
    levels = dict(situation.levels)
    for implication in ratings.implications:
        if levels[implication.priority] is None and situation.facts[implication.fact] in implication.values:
            levels[implication.priority] = implication.level
    return {priority: level or Level.MEDIUM for priority, level in levels.items()}


def _leader(situation: _Situation, ratings: Ratings) -> Mode | None:
    levels = _effective_levels(situation, ratings)
    evaluations = _evaluate(situation, levels, ratings, explain=False)
    ranked = _order([e for e in evaluations if e.exclusion is None], ratings)
    return ranked[0].mode if ranked else None


def _evaluate(
    situation: _Situation, levels: dict[Priority, Level], ratings: Ratings, *, explain: bool
) -> list[_Evaluation]:
    """Points and exclusions for every mode; with `explain`, also the reasons and caveats (slower)."""
    scoring = ratings.scoring
    weights = {priority.dimension: scoring.weights[level] for priority, level in levels.items()}
    evaluations = []
    for mode in MODE_ORDER:
        evaluation = _Evaluation(mode)
        scores = ratings.ratings[mode]
        points = sum(weights[d] * scores[d].score for d in DIMENSIONS)
        for rule in ratings.rules:
            value = situation.facts[rule.fact]
            if value not in rule.values:
                continue
            fact = ratings.capabilities[rule.capability].modes[mode]
            ref = capability_ref(rule.capability, mode) if explain or rule.strength is Strength.HARD else ""
            if fact.status == rule.wanted:
                if rule.strength is Strength.PREFER:
                    evaluation.adjustment += scoring.bonus_prefer
                if explain and value != "unknown":  # no reasons drawn from mere assumptions
                    evaluation.fits.append(Reason(text=f"{mode.label} {rule.fit}: {fact.note}", ref=ref))
            elif rule.strength is Strength.PREFER:
                continue  # a preference the mode does not meet costs nothing
            elif fact.status is Status.UNKNOWN and rule.strength is Strength.HARD:
                if evaluation.exclusion is None:  # a hard need nobody documents is not a fit we can vouch for
                    text = f"The sources do not say whether {mode.label} {rule.fit}: {fact.note}"
                    evaluation.exclusion = Reason(text=text, ref=ref)
            elif fact.status in (Status.PARTIAL, Status.UNKNOWN):
                partial = fact.status is Status.PARTIAL
                evaluation.adjustment -= scoring.penalty_partial if partial else scoring.penalty_unknown
                if explain:
                    said = f"{mode.label} only partly" if partial else f"The sources do not say whether {mode.label}"
                    text = f"{said} {rule.fit}: {fact.note}"
                    evaluation.caveats.append(Reason(text=text, ref=ref))
            elif rule.strength is Strength.HARD:
                if evaluation.exclusion is None:
                    evaluation.exclusion = Reason(text=f"{mode.label} {rule.miss}: {fact.note}", ref=ref)
            else:
                evaluation.adjustment -= scoring.penalty_missing
                if explain:
                    evaluation.caveats.append(Reason(text=f"{mode.label} {rule.miss}: {fact.note}", ref=ref))
        _judge_needs(evaluation, situation.needs, ratings, explain=explain)
        evaluation.points = round(points + evaluation.adjustment, 9)
        if explain:
            evaluation.caveats = _rating_caveats(mode, levels, ratings) + evaluation.caveats
        evaluations.append(evaluation)
    return evaluations


def _judge_needs(evaluation: _Evaluation, needs: tuple[str, ...], ratings: Ratings, *, explain: bool) -> None:
    """The feature matrix's verdict on each feature the user needs: a fit, a caveat, a penalty or an exclusion."""
    if ratings.features is None:
        return
    scoring, mode = ratings.scoring, evaluation.mode
    for name in needs:
        feature = ratings.features.features[name]
        if feature.fact is not None:
            continue  # that requirement fact's capability rule judges it, once
        cell, ref = feature.modes[mode], feature_ref(name, mode)
        said = f"{feature.label}: {cell.status.label} in {mode.label} since {cell.since}. {cell.note}"
        if cell.status in MEETS:
            if explain:
                evaluation.fits.append(Reason(text=said, ref=ref))
        elif cell.status in MISSES and feature.need == "hard":
            if evaluation.exclusion is None:
                evaluation.exclusion = Reason(text=said, ref=ref)
        else:
            missing = cell.status in MISSES
            unknown = cell.status is FeatureStatus.UNKNOWN
            evaluation.adjustment -= (
                scoring.penalty_missing if missing else scoring.penalty_unknown if unknown else scoring.penalty_partial
            )
            if explain:
                evaluation.caveats.append(Reason(text=said, ref=ref))


def _order(evaluations: list[_Evaluation], ratings: Ratings) -> list[_Evaluation]:
    return sorted(
        evaluations,
        key=lambda e: (-e.points, -ratings.ratings[e.mode][Dimension.MATURITY].score, MODE_ORDER.index(e.mode)),
    )


def _best_possible(levels: dict[Priority, Level], ratings: Ratings) -> float:
    return 5 * sum(ratings.scoring.weights[level] for level in levels.values())


def _ranked(
    evaluation: _Evaluation, rank: int, best: float, levels: dict[Priority, Level], ratings: Ratings
) -> RankedMode:
    mode = evaluation.mode
    contributions = []
    for priority in Priority:
        dimension, level = priority.dimension, levels[priority]
        weight, score = ratings.scoring.weights[level], ratings.rating(mode, dimension).score
        contributions.append(
            Contribution(dimension=dimension, level=level, weight=weight, rating=score, points=weight * score)
        )
    return RankedMode(
        mode=mode,
        rank=rank,
        score=round(min(max(evaluation.points / best, 0.0), 1.0), 4),
        points=evaluation.points,
        contributions=contributions,
        adjustment=evaluation.adjustment,
        reasons=_rating_reasons(mode, levels, ratings) + evaluation.fits,
        caveats=evaluation.caveats,
    )


def _rating_reasons(mode: Mode, levels: dict[Priority, Level], ratings: Ratings) -> list[Reason]:
    """Strong ratings on the user's high priorities; without high priorities, the mode's two best ratings."""
    strong = [p for p in Priority if ratings.rating(mode, p.dimension).score >= STRONG]
    strong.sort(key=lambda p: -ratings.rating(mode, p.dimension).score)  # stable: ties keep dimension order
    high = [p for p in strong if levels[p] is Level.HIGH]
    chosen = high or strong[:2]
    return [_rated(mode, priority.dimension, ratings, weighed=levels[priority]) for priority in chosen]


def _rating_caveats(mode: Mode, levels: dict[Priority, Level], ratings: Ratings) -> list[Reason]:
    standing = ratings.caveats.get(mode, ())
    caveats = [Reason(text=c.text, ref=rating_ref(mode, c.dimension)) for c in standing]
    covered = {c.dimension for c in standing}
    for priority in sorted(Priority, key=lambda p: -ratings.scoring.weights[levels[p]]):
        rating = ratings.rating(mode, priority.dimension)
        if levels[priority] is not Level.LOW and rating.score <= WEAK and priority.dimension not in covered:
            caveats.append(_rated(mode, priority.dimension, ratings, weighed=levels[priority], only=True))
    return caveats


_STATUS_PHRASES = {  # a capability a mode lacks, in words
    Status.PARTIAL: "only partly supported",
    Status.UNSUPPORTED: "not supported",
    Status.UNKNOWN: "not documented",
}


def profile(mode: Mode, ratings: Ratings) -> Profile:
    """`mode`'s strong points (its ratings of 4 or 5, the capabilities it alone or almost alone supports) and
    weak points (its standing caveats, its ratings of 3 or less, the capabilities it lacks or only partly has)."""
    scores = ratings.ratings[mode]
    best_first = sorted(DIMENSIONS, key=lambda d: -scores[d].score)  # stable: ties keep dimension order
    standing = ratings.caveats.get(mode, ())
    covered = {caveat.dimension for caveat in standing}
    strengths = [_rated(mode, d, ratings) for d in best_first if scores[d].score >= STRONG]
    weaknesses = [Reason(text=caveat.text, ref=rating_ref(mode, caveat.dimension)) for caveat in standing]
    weaknesses += [
        _rated(mode, d, ratings) for d in reversed(best_first) if scores[d].score < STRONG and d not in covered
    ]
    for name, capability in ratings.capabilities.items():
        fact = capability.modes[mode]
        ref, when = capability_ref(name, mode), fact.date.isoformat()
        others = [m for m in MODE_ORDER if m != mode and capability.modes[m].status is not Status.SUPPORTED]
        if fact.status is Status.SUPPORTED and len(others) >= 2:
            strengths.append(
                Reason(text=f"{capability.label}, supported by {mode.label} (as of {when}): {fact.note}", ref=ref)
            )
        elif fact.status is not Status.SUPPORTED:
            status = _STATUS_PHRASES[fact.status]
            weaknesses.append(
                Reason(text=f"{capability.label}, {status} in {mode.label} (as of {when}): {fact.note}", ref=ref)
            )
    return Profile(mode=mode, strengths=strengths, weaknesses=weaknesses)


def _rated(
    mode: Mode, dimension: Dimension, ratings: Ratings, *, weighed: Level | None = None, only: bool = False
) -> Reason:
    """ "<mode> is rated <n>/5 for <dimension>[, which you weigh high]: <rationale>", citing that rating."""
    rating = ratings.rating(mode, dimension)
    label = ratings.dimensions[dimension].label.lower()
    why = ", which you weigh high" if weighed is Level.HIGH else ""
    text = f"{mode.label} is rated {'only ' if only else ''}{rating.score}/5 for {label}{why}: {rating.rationale}"
    return Reason(text=text, ref=rating_ref(mode, dimension))


def _assumptions(situation: _Situation, levels: dict[Priority, Level]) -> list[str]:
    assumptions = []
    unstated = [p for p in Priority if situation.levels[p] is None]
    implied = [p for p in unstated if levels[p] is not Level.MEDIUM]
    medium = [PRIORITY_PHRASES[p] for p in unstated if p not in implied]
    if medium:
        assumptions.append("Not stated, so weighed medium: " + ", ".join(medium) + ".")
    assumptions.extend(f"Weighed {PRIORITY_PHRASES[p]} {levels[p].value} because you are regulated." for p in implied)
    facts = [FACT_ASSUMPTIONS[f] for f in Fact if situation.facts[f] == "unknown"]
    if facts:
        assumptions.append("Not stated, so assumed: " + "; ".join(facts) + ".")
    return assumptions


def candidate_changes(requirements: Requirements) -> list[Change]:
    """Every single step away from `requirements`: each priority one level up or down, each fact flipped."""
    changes = []
    for priority in Priority:
        current = requirements.level(priority)
        before = current.value if current else "medium"
        for level in level_steps(current):
            changes.append(Change(kind="priority", name=priority.value, before=before, after=level.value))
    for fact in Fact:
        value = requirements.fact(fact)
        if fact is Fact.GRPC:
            targets = [use.value for use in GrpcUse if use.value != value]
        else:
            targets = ["false" if value == "true" else "true"]
        changes.extend(Change(kind="fact", name=fact.value, before=value, after=t) for t in targets)
    return changes


def _counterfactuals(
    requirements: Requirements, situation: _Situation, ratings: Ratings, current: Mode | None
) -> list[Counterfactual]:
    """For each other mode, the first single change (in `candidate_changes` order) that puts it first."""
    found: dict[Mode, Counterfactual] = {}
    for change in candidate_changes(requirements):
        new_leader = _leader(situation.apply(change), ratings)
        if new_leader is None or new_leader == current or new_leader in found:
            continue
        found[new_leader] = Counterfactual(change=change, mode=new_leader, text=_describe(change, new_leader))
    return list(found.values())


def _describe(change: Change, mode: Mode) -> str:
    if change.kind == "priority":
        phrase = PRIORITY_PHRASES[Priority(change.name)]
        direction = (
            "more" if LEVEL_ORDER.index(Level(change.after)) > LEVEL_ORDER.index(Level(change.before)) else "less"
        )
        condition = f"{phrase} mattered {direction} ({change.after} instead of {change.before})"
    else:
        condition = FACT_STATEMENTS[(Fact(change.name), change.after)]
    return f"If {condition}, {mode.label} would lead."
