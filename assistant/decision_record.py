"""A recommendation as an architecture decision record: Markdown in MADR's sections, every claim cited.

Pure and deterministic: the same recommendation over the same corpus gives the same document (its date is the
corpus's, never today's). Every [n] resolves to a numbered source with its public URL under "More Information":
ratings, capability facts and feature-matrix cells the rule layer cited, and the sizing figures of the estimate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from assistant.domain.features import feature_ref
from assistant.domain.ratings import Ratings, SourceRef, capability_ref, rating_ref
from assistant.domain.recommendation import Reason, Recommendation
from assistant.domain.sizing import Estimate, format_cpu, format_memory
from assistant.domain.vocabulary import (
    FACT_LABELS,
    LEVEL_ORDER,
    PRIORITY_PHRASES,
    Fact,
    Level,
    Mode,
    Priority,
)


@dataclass(frozen=True)
class CorpusVersion:
    """Which corpus a record was drawn from: a hash of its files and the date it was last checked."""

    fingerprint: str
    as_of: date


@dataclass(frozen=True)
class Source:
    label: str
    url: str
    where: str  # the corpus document and section that explain it


@dataclass
class _Sources:
    """Numbers sources in order of first citation; citing one again gives its number again."""

    resolve: dict[str, Source]
    numbered: list[Source] = field(default_factory=list)

    def cite(self, source: Source) -> str:
        if source not in self.numbered:
            self.numbered.append(source)
        return f"[{self.numbered.index(source) + 1}]"

    def reason(self, reason: Reason) -> str:
        return f"{reason.text} {self.cite(self.resolve[reason.ref])}"


def decision_record(recommendation: Recommendation, ratings: Ratings, corpus: CorpusVersion) -> str:
    """The MADR document for `recommendation`: context, drivers, options, outcome, consequences, pros and cons,
    what would change it, the estimate when the requirements state a cluster, and links to every source."""
    sources = _Sources(resolve=citable_sources(ratings))
    top = recommendation.ranking[0] if recommendation.ranking else None
    title = f"Use {top.mode.label} as the service-mesh data plane" if top else "No data plane meets every hard need"
    lines = ["---", "status: proposed", f"date: {corpus.as_of.isoformat()}", "---", "", f"# {title}", ""]
    lines += _context(recommendation)
    lines += _drivers(recommendation, ratings)
    lines += ["## Considered Options", ""]
    lines += [
        f"* {ranked.mode.label} (ranked {ranked.rank}, score {ranked.score:.2f})" for ranked in recommendation.ranking
    ]
    lines += [f"* {excluded.mode.label} (excluded)" for excluded in recommendation.excluded]
    lines += ["", "## Decision Outcome", ""]
    if top is None:
        lines += ["No option is chosen: a hard need excludes every mode (see the pros and cons below).", ""]
    else:
        runner = recommendation.ranking[1] if len(recommendation.ranking) > 1 else None
        ahead = f", {recommendation.margin:.2f} ahead of {runner.mode.label}" if runner else ""
        lines += [
            f'Chosen option: "{top.mode.label}", because it ranks first for these drivers '
            f"(score {top.score:.2f} of 1{ahead}).",
            "",
            "### Consequences",
            "",
        ]
        lines += [f"* Good, because {sources.reason(reason)}" for reason in top.reasons]
        lines += [f"* Bad, because {sources.reason(caveat)}" for caveat in top.caveats]
        lines += [""] if top.reasons or top.caveats else ["* No reason or caveat beyond the ratings' sum.", ""]
    lines += ["### What would change this", ""]
    lines += [f"* {c.text}" for c in recommendation.counterfactuals] or [
        "* No single change to one requirement would put another mode first."
    ]
    lines.append("")
    if recommendation.estimate is not None:
        lines += _estimate(recommendation.estimate, sources)
    lines += _options(recommendation, sources)
    lines += ["## More Information", "", "Sources:", ""]
    lines += [f"* [{n}] [{s.label}]({s.url}) ({s.where})" for n, s in enumerate(sources.numbered, start=1)]
    lines += [
        "",
        f"Drawn by Mesh Assistant from corpus version {corpus.fingerprint}, checked against its sources by "
        f"{corpus.as_of.isoformat()} (ratings as of {ratings.as_of.isoformat()}).",
    ]
    return "\n".join(lines) + "\n"


def citable_sources(ratings: Ratings) -> dict[str, Source]:
    """Every id the rule layer cites (ratings, capability facts, feature-matrix cells) and its source."""
    found = {
        rating_ref(mode, dimension): _source(
            f"Ratings: {mode.label} — {ratings.dimensions[dimension].label}", rating.source
        )
        for mode, by_dimension in ratings.ratings.items()
        for dimension, rating in by_dimension.items()
    }
    for name, capability in ratings.capabilities.items():
        for mode, fact in capability.modes.items():
            found[capability_ref(name, mode)] = _source(f"Capabilities: {capability.label} — {mode.label}", fact.source)
    matrix = ratings.features.features if ratings.features is not None else {}
    for name, feature in matrix.items():
        for mode, cell in feature.modes.items():
            label = f"Features: {feature.label} — {mode.label}"
            found[feature_ref(name, mode)] = Source(label, cell.source, f"feature matrix, read {cell.read.isoformat()}")
    return found


def _source(label: str, ref: SourceRef) -> Source:
    return Source(label, ref.url, f"corpus: {ref.doc} > {ref.section}")


def _context(recommendation: Recommendation) -> list[str]:
    lines = [
        "## Context and Problem Statement",
        "",
        "Which service-mesh data plane should the platform run: an Envoy sidecar per pod (Istio sidecar mode), a "
        "per-node ztunnel with optional waypoints (Istio ambient mode), eBPF with a shared per-node Envoy (Cilium), "
        "or gRPC libraries configured over xDS (proxyless gRPC)? The four are ranked below for the stated "
        "requirements by Mesh Assistant's rule layer, from sourced ratings, capability facts and a feature matrix.",
        "",
    ]
    cluster = recommendation.requirements.cluster
    if cluster is not None:
        lines += [f"The cluster: {cluster.describe()}.", ""]
    return lines


def _drivers(recommendation: Recommendation, ratings: Ratings) -> list[str]:
    """Priorities (highest first, each marked stated, implied or assumed), stated facts, needs and assumptions."""
    requirements = recommendation.requirements
    level = {priority: Level(recommendation.effective[priority.value]) for priority in Priority}
    lines = ["## Decision Drivers", ""]
    for priority in sorted(Priority, key=lambda p: -LEVEL_ORDER.index(level[p])):
        how = "stated" if requirements.level(priority) is not None else "not stated"
        lines.append(f"* {PRIORITY_PHRASES[priority].capitalize()}: {level[priority].value} ({how})")
    for fact in Fact:
        value = requirements.fact(fact)
        if value != "unknown":
            lines.append(f"* {FACT_LABELS[fact]}: {_yes_no(value)}")
    matrix = ratings.features.features if ratings.features is not None else {}
    for need in requirements.needs:
        lines.append(
            f"* Needs {matrix[need].label} ({matrix[need].need} need)" if need in matrix else f"* Needs {need}"
        )
    lines.append("")
    if recommendation.assumptions:
        lines += [f"Assumed: {' '.join(recommendation.assumptions)}", ""]
    return lines


def _yes_no(value: str) -> str:
    return {"true": "yes", "false": "no"}.get(value, value)


def _estimate(estimate: Estimate, sources: _Sources) -> list[str]:
    lines = [
        "### Estimated data-plane cost",
        "",
        f"For {estimate.cluster.describe()}; figures checked by {estimate.as_of.isoformat()}.",
        "",
        "| Mode | CPU | Memory | Left out |",
        "|---|---|---|---|",
    ]
    for mode_estimate in estimate.modes:
        left_out = "; ".join(note.rstrip(".") for note in mode_estimate.notes) or "nothing"
        lines.append(
            f"| {mode_estimate.mode.label} | {mode_estimate.cpu_text()} | {mode_estimate.memory_text()} | {left_out} |"
        )
    lines.append("")
    for mode_estimate in estimate.modes:
        for part in mode_estimate.components:
            cited = sources.cite(_source(f"Sizing: {part.label}", part.source))
            if part.path_source is not None:
                cited += " " + sources.cite(_source(f"Sizing: {part.label}, copies per request", part.path_source))
            lines.append(f"* {mode_estimate.mode.label}, {part.label}: {part.figure} {cited}. {part.basis}")
    lines += ["", "Assumptions:", ""]
    lines += [f"* {assumption}" for assumption in estimate.assumptions]
    return [*lines, ""]


def _options(recommendation: Recommendation, sources: _Sources) -> list[str]:
    lines = ["## Pros and Cons of the Options", ""]
    estimate = recommendation.estimate
    for ranked in recommendation.ranking:
        lines += [f"### {ranked.mode.label}", ""]
        lines += [f"* Good, because {sources.reason(reason)}" for reason in ranked.reasons]
        lines += [f"* Bad, because {sources.reason(caveat)}" for caveat in ranked.caveats]
        if estimate is not None:
            lines.append(f"* Neutral: {_cost(estimate, ranked.mode)} (see the estimate)")
        lines.append("")
    for excluded in recommendation.excluded:
        lines += [f"### {excluded.mode.label} (excluded)", "", f"* Bad, because {sources.reason(excluded.reason)}", ""]
    return lines


def _cost(estimate: Estimate, mode: Mode) -> str:
    found = estimate.of(mode)
    if found.cpu_millicores is None and found.memory_mb is None:
        return "no published figure, so no estimate for this cluster"
    cpu = format_cpu(found.cpu_millicores) if found.cpu_millicores is not None else "no published CPU figure"
    memory = format_memory(found.memory_mb) if found.memory_mb is not None else "no published memory figure"
    return f"estimated at {cpu} and {memory} for this cluster{'' if found.complete else ', not counting every part'}"
