"""corpus/supersessions.yaml: validated into `Supersessions`, each entry checked against the corpus it names."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

from assistant.corpus.yaml_source import YamlSource, load_model
from assistant.domain.documents import Document
from assistant.domain.supersessions import Supersessions
from assistant.domain.text import sentence_spans
from assistant.errors import CorpusError

SUPERSESSIONS_FILE = "supersessions.yaml"


def load_supersessions(path: Path) -> Supersessions:
    return load_model(path, Supersessions, what="superseded facts", shape="as_of, supersessions")


def check_supersessions(entries: Supersessions, documents: list[Document], path: Path) -> None:
    """Every newer fact must be exactly one sentence of the section it names that is not stale itself; else a
    CorpusError at the line of the entry's field. (A stale pattern may match nothing: its document was removed.)"""
    sentences = {
        (doc.id, section.path): [section.text[start:end] for start, end in sentence_spans(section.text)]
        for doc in documents
        for section in doc.sections
    }
    for number, entry in enumerate(entries.supersessions):
        newer = entry.newer
        said = sentences.get((newer.doc, newer.section))
        if said is None:
            _fail(path, [number, "newer", "section"], f"document {newer.doc!r} has no section {newer.section!r}")
        found = [sentence for sentence in said if newer.pattern.search(sentence)]
        if len(found) != 1:
            _fail(path, [number, "newer", "says"], f"matches {len(found)} sentences of that section, not exactly 1")
        if entries.is_stale(found[0]):
            _fail(path, [number, "newer", "says"], "the newer sentence matches a stale pattern itself")


def _fail(path: Path, loc: list[str | int], problem: str) -> NoReturn:
    where = ["supersessions", *loc]
    line = YamlSource.read(path).line_of(where)  # parsed again only to locate the error
    raise CorpusError(str(path), line, problem, field=".".join(map(str, where)))
