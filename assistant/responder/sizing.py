"""A sizing estimate in an answer: the stated cluster's data-plane CPU and memory per mode, each figure cited.

The estimate itself is `assistant.estimate` (pure, over corpus/sizing.yaml); here it becomes Markdown with [n]
markers on the published figures it scales, cited to the corpus sections that state them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from assistant.domain.documents import Chunk
from assistant.domain.sizing import Estimate
from assistant.domain.vocabulary import Mode
from assistant.responder.citations import MARKER, CitationBook, attach, supports
from assistant.responder.compose import Draft, confidence
from assistant.responder.evidence import RULE_FACTS_CONFIDENCE

# A document id and a section heading path: the indexed chunks of that section.
SectionChunks = Callable[[str, str], list[Chunk]]


def with_estimate(
    draft: Draft, found: Estimate, modes: Sequence[Mode], *, first: bool, chunks_of: SectionChunks
) -> Draft:
    """`draft` with the estimate for `modes`: before the answer when it is what was asked (`first`), after it
    when it adds to a recommendation; in place of a refusal, since the estimate answers a cost question."""
    book = CitationBook() if first or draft.refused else CitationBook.resume(draft.citations, draft.cited)
    section = _section(book, found, modes, chunks_of)
    if draft.refused:
        return Draft(section, book.citations(), book.chunks, False, confidence(RULE_FACTS_CONFIDENCE))
    if not first:
        return Draft(f"{draft.text}\n\n{section}", book.citations(), book.chunks, False, draft.confidence)
    renumbered = {  # the answer's own citations follow the estimate's, in their order
        str(citation.n): book.cite(_chunk(draft.cited, citation.chunk_id), quote=citation.snippet)
        for citation in draft.citations
    }
    text = MARKER.sub(lambda marker: renumbered[marker[1]], draft.text)
    return Draft(f"{section}\n\n{text}", book.citations(), book.chunks, False, draft.confidence)


def _section(book: CitationBook, found: Estimate, modes: Sequence[Mode], chunks_of: SectionChunks) -> str:
    shown = [found.of(mode) for mode in modes or list(Mode)]
    lines = [
        f"**Estimated data-plane cost for your cluster** ({found.cluster.describe()}; figures checked by "
        f"{found.as_of.isoformat()}):",
        "",
        "| Mode | CPU | Memory |",
        "|---|---|---|",
        *(f"| {each.mode.label} | {each.cpu_text()} | {each.memory_text()} |" for each in shown),
        "",
    ]
    for each in shown:
        for part in each.components:
            chunks = chunks_of(part.source.doc, part.source.section)
            chunk = next((c for c in chunks if supports(c, part.figure)), None)
            figure = attach(part.figure, book.cite(chunk, quote=part.figure) if chunk is not None else "")
            lines.append(f"- {each.mode.label}, {part.label}: {figure.rstrip('.')}. {part.basis}")
        lines += [f"- {each.mode.label}: {note}" for note in each.notes]
    lines += ["", f"Assumed: {found.assumptions[0]}"]
    if not found.cluster.requests_per_second:
        lines.append(
            "No request rate was stated, so no CPU on the request path is counted: tell me your requests per second."
        )
    return "\n".join(lines)


def _chunk(chunks: Sequence[Chunk], chunk_id: str) -> Chunk:
    return next(chunk for chunk in chunks if chunk.id == chunk_id)
