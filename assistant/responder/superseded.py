"""Saying so when an answer quotes a statement that a newer corpus sentence overtakes (corpus/supersessions.yaml).

Selection already ranks such a statement below the current ones (`select_sentences`); this adds, after the
answer, which statement is out of date and the newer sentence, cited, unless the answer quotes that already.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from assistant.domain.documents import Chunk
from assistant.domain.supersessions import Supersessions
from assistant.responder.citations import CitationBook, attach
from assistant.responder.compose import Draft

# A document id, a section heading path and a pattern: the sentence they name and its chunk, if indexed.
Locate = Callable[[str, str, re.Pattern[str]], tuple[Chunk, str] | None]


def mark_superseded(draft: Draft, entries: Supersessions, locate: Locate) -> Draft:
    """`draft` with a closing note for each group of out-of-date statements it quotes."""
    overtaken = entries.overtaken(draft.text) if draft.citations and not draft.refused else []
    if not overtaken:
        return draft
    book = CitationBook.resume(draft.citations, draft.cited)
    notes: list[str] = []
    for entry in overtaken:
        newer = locate(entry.newer.doc, entry.newer.section, entry.newer.pattern)
        note = f"**Superseded:** an older statement above on {entry.topic} no longer holds"
        if newer is None:
            notes.append(f"{note}.")
        elif newer[1].rstrip(".") in draft.text:
            notes.append(f"{note}; the newer statement is quoted above.")
        else:
            chunk, sentence = newer
            notes.append(f"{note}. Newer in the sources: {attach(sentence, book.cite(chunk, quote=sentence))}")
    text = "\n\n".join([draft.text, *notes])
    return Draft(text, book.citations(), book.chunks, draft.refused, draft.confidence)
