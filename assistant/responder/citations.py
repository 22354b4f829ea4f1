"""Citations: numbering cited chunks, and the invariants every answer must keep.

Invariants (checked by `check_citations`, on every answer in the tests and evals):
1. every [n] in the text resolves to a citation entry, and every entry is used in the text;
2. entries are numbered 1..N in order of first use;
3. every cited chunk was retrieved for this question or is a rating/capability the rule layer used;
4. every cited segment is supported by its chunk: quoted from it, or stating the rating/capability it cites
   (mode, score, dimension; or the capability note), or else sharing at least half its content terms.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from assistant.domain.answers import Citation
from assistant.domain.documents import Chunk, ChunkKind
from assistant.domain.text import plain, terms

MARKER = re.compile(r"\[(\d+)\]")
SUPPORT_FLOOR = 0.5
_BOUNDARY = re.compile(r"(?<=[.!?])\s+|\n|(?<=:)\s")
_LEADING_MARKERS = re.compile(r"^\s*(?:\[\d+\]\s*)+")


class CitationBook:
    """Hands out [n] for chunks in order of first use and remembers what each was cited for."""

    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}
        self._chunks: list[Chunk] = []
        self._snippets: dict[str, list[str]] = {}

    def cite(self, chunk: Chunk, *, quote: str = "") -> str:
        if chunk.id not in self._numbers:
            self._numbers[chunk.id] = len(self._chunks) + 1
            self._chunks.append(chunk)
            self._snippets[chunk.id] = []
        if quote and quote not in self._snippets[chunk.id]:
            self._snippets[chunk.id].append(quote)
        return f"[{self._numbers[chunk.id]}]"

    @classmethod
    def resume(cls, citations: Sequence[Citation], chunks: Sequence[Chunk]) -> CitationBook:
        """A book that goes on numbering after `citations` (an answer's entries, for `chunks`)."""
        book = cls()
        by_id = {chunk.id: chunk for chunk in chunks}
        for citation in citations:
            book.cite(by_id[citation.chunk_id], quote=citation.snippet)
        return book

    def __len__(self) -> int:
        return len(self._chunks)

    def citations(self) -> list[Citation]:
        return [
            Citation(
                n=number,
                chunk_id=chunk.id,
                doc_id=chunk.doc_id,
                title=chunk.title,
                section=chunk.section,
                source_url=chunk.source_url,
                snippet=" … ".join(self._snippets[chunk.id]) or _clip(plain(chunk.text), 320),
                modes=list(chunk.modes),
            )
            for number, chunk in enumerate(self._chunks, start=1)
        ]

    @property
    def chunks(self) -> list[Chunk]:
        return list(self._chunks)


def attach(text: str, marker: str) -> str:
    """`text` with `marker` placed before its closing punctuation: "... per node [2]."."""
    if not marker:
        return text
    stripped = text.rstrip()
    if stripped and stripped[-1] in ".!?":
        return f"{stripped[:-1]} {marker}{stripped[-1]}"
    return f"{stripped} {marker}"


@dataclass(frozen=True)
class CitationProblem:
    marker: str
    problem: str


def check_citations(
    text: str, citations: list[Citation], chunks: Mapping[str, Chunk], allowed: Collection[str]
) -> list[CitationProblem]:
    """Every way `text` and `citations` break the invariants above (an empty list when they hold)."""
    problems: list[CitationProblem] = []
    used = [int(n) for n in MARKER.findall(text)]
    numbers = [c.n for c in citations]
    if numbers != list(range(1, len(citations) + 1)):
        problems.append(CitationProblem("*", f"citations are not numbered 1..{len(citations)}: {numbers}"))
    for number in sorted(set(used) - set(numbers)):
        problems.append(CitationProblem(f"[{number}]", "dangling: no citation entry"))
    for number in sorted(set(numbers) - set(used)):
        problems.append(CitationProblem(f"[{number}]", "unused citation entry"))
    first_use = list(dict.fromkeys(used))
    if first_use != sorted(first_use):
        problems.append(CitationProblem("*", f"not numbered in order of first use: {first_use}"))
    by_number = {c.n: c for c in citations}
    for citation in citations:
        if citation.chunk_id not in allowed:
            problems.append(CitationProblem(f"[{citation.n}]", f"{citation.chunk_id} was not retrieved or used"))
    for number, segment in cited_segments(text):
        entry = by_number.get(number)
        chunk = chunks.get(entry.chunk_id) if entry else None
        if chunk is not None and not supports(chunk, segment):
            problems.append(CitationProblem(f"[{number}]", f"not supported by {chunk.id}: {segment!r}"))
    return problems


def cited_segments(text: str) -> list[tuple[int, str]]:
    """(n, the words the marker annotates): a table cell with its row and column names, else the sentence."""
    segments: list[tuple[int, str]] = []
    header: list[str] = []
    for line in text.split("\n"):
        if line.lstrip().startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not MARKER.search(line):
                if not all(set(cell) <= set("-: ") for cell in cells):
                    header = cells
                continue
            for column, cell in enumerate(cells):
                for number in MARKER.findall(cell):
                    name = header[column] if column < len(header) else ""
                    segments.append((int(number), f"{name} {cells[0]} {MARKER.sub('', cell)}"))
            continue
        header = []
        previous = ""
        for piece in _BOUNDARY.split(line):
            leading = _LEADING_MARKERS.match(piece)
            if leading and previous:  # "... per node. [2]": the marker belongs to the sentence before it
                segments.extend((int(n), previous) for n in MARKER.findall(leading.group(0)))
                piece = piece[leading.end() :]
            previous = MARKER.sub("", piece)
            segments.extend((int(number), previous) for number in MARKER.findall(piece))
    return segments


def supports(chunk: Chunk, segment: str) -> bool:
    """Whether `chunk` supports `segment` (see invariant 4)."""
    said = _normal(segment)
    source = _normal(chunk.text)
    if said and said in source:
        return True
    if chunk.kind is ChunkKind.RATING:
        mode = chunk.title.removeprefix("Ratings: ").lower()
        score = re.search(r"rated (\d) out of 5", chunk.text)
        dimension = chunk.section.lower()
        if score and mode in said and f"{score.group(1)}/5" in said and dimension in said:
            return True
    if chunk.kind in (ChunkKind.CAPABILITY, ChunkKind.FEATURE):
        note = _normal(chunk.text.split(". ", 1)[-1])
        if note and note in said:
            return True
    wanted = set(terms(segment))
    if not wanted:
        return True
    have = set(terms(f"{chunk.title} {chunk.section} {chunk.text}"))
    return len(wanted & have) / len(wanted) >= SUPPORT_FLOOR


def _normal(text: str) -> str:
    return " ".join(plain(text).lower().replace("*", "").split()).strip(" .:;,")


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rsplit(" ", 1)[0] + "…"
