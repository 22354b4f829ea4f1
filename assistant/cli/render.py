"""Plain-text rendering for the terminal: small aligned tables, wrapped paragraphs, score bars."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from assistant.domain.answers import Answer
from assistant.domain.documents import Passage
from assistant.domain.recommendation import Recommendation
from assistant.domain.sizing import Estimate

WIDTH = 100


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, ["-" * w for w in widths], *rows]
    ]
    return "\n".join(lines)


def wrap(text: str, indent: str = "") -> str:
    return textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=indent)


def bar(score: float, width: int = 20) -> str:
    filled = round(max(0.0, min(score, 1.0)) * width)
    return "█" * filled + "·" * (width - filled)


def passages(results: Sequence[Passage]) -> str:
    if not results:
        return "No passages found."
    blocks = []
    for passage in results:
        chunk = passage.chunk
        modes = ", ".join(m.value for m in chunk.modes) or "no mode"
        section = f" — {chunk.section}" if chunk.section else ""
        text = " ".join(chunk.text.split())
        snippet = text if len(text) <= 320 else text[:317].rsplit(" ", 1)[0] + "..."
        blocks.append(
            f"{passage.rank}. {chunk.title}{section}  [{modes}]  score {passage.score:.4f}\n"
            f"{wrap(snippet, '   ')}\n   {chunk.source_url}"
        )
    return "\n\n".join(blocks)


def recommendation(rec: Recommendation) -> str:
    out = []
    if rec.ranking:
        rows = [
            [
                str(r.rank),
                r.mode.label,
                f"{bar(r.score)} {r.score:.2f}",
                r.reasons[0].text if r.reasons else "",
            ]
            for r in rec.ranking
        ]
        out.append(table(["#", "mode", "score", "main reason"], [[*row[:3], _clip(row[3], 60)] for row in rows]))
        for ranked in rec.ranking:
            out.append(f"\n{ranked.rank}. {ranked.mode.label} ({ranked.points:g} points)")
            out.extend(wrap(f"+ {reason.text}", "   ") for reason in ranked.reasons)
            out.extend(wrap(f"! {caveat.text}", "   ") for caveat in ranked.caveats)
    else:
        out.append("No mode meets every hard constraint you stated.")
    if rec.excluded:
        out.append("\nExcluded:")
        out.extend(wrap(f"- {e.mode.label}: {e.reason.text}", "  ") for e in rec.excluded)
    if rec.assumptions:
        out.append("\nAssumptions:")
        out.extend(wrap(f"- {a}", "  ") for a in rec.assumptions)
    if rec.counterfactuals:
        out.append("\nWhat would change this:")
        out.extend(wrap(f"- {c.text}", "  ") for c in rec.counterfactuals)
    if rec.estimate is not None:
        out.append(f"\n{estimate(rec.estimate)}")
    return "\n".join(out)


def estimate(found: Estimate) -> str:
    """Each mode's totals, then every part with its figure, how it was scaled and its source; the assumptions."""
    rows = [
        [
            m.mode.label,
            m.cpu_text(),
            m.memory_text(),
            "yes" if m.complete else "no",
        ]
        for m in found.modes
    ]
    out = [
        f"Estimated data-plane cost for {found.cluster.describe()}:",
        "",
        table(["mode", "CPU", "memory", "complete"], rows),
    ]
    for m in found.modes:
        out.append(f"\n{m.mode.label}")
        for part in m.components:
            out.append(wrap(f"- {part.label}: {part.figure}. {part.basis}", "  "))
            out.append(f"    {part.source.url}")
        out.extend(wrap(f"! {note}", "  ") for note in m.notes)
    out.append(f"\nAssumptions (figures checked by {found.as_of.isoformat()}):")
    out.extend(wrap(f"- {assumption}", "  ") for assumption in found.assumptions)
    return "\n".join(out)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3].rstrip() + "..."


def sources(answer: Answer) -> str:
    lines = [f"[{c.n}] {c.title} — {c.section}  {c.source_url}" for c in answer.citations]
    return "Sources:\n" + "\n".join(lines) if lines else ""


def answer_footer(answer: Answer) -> str:
    parts = [sources(answer)]
    parts += [f"note: {note}" for note in answer.notes]
    return "\n".join(part for part in parts if part)
