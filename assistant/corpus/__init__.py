"""The knowledge the assistant answers from: corpus documents, the ratings table and the sizing figures, validated."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from assistant.corpus.features import FEATURES_FILE, load_features
from assistant.corpus.markdown import parse_corpus_document, parse_user_markdown
from assistant.corpus.ratings import check_references, load_ratings
from assistant.corpus.sizing import SIZING_FILE, check_sizing_references, load_sizing
from assistant.corpus.supersessions import SUPERSESSIONS_FILE, check_supersessions
from assistant.domain.documents import Document
from assistant.domain.ratings import Ratings
from assistant.errors import CorpusError

__all__ = [
    "SIZING_FILE",
    "Corpus",
    "corpus_fingerprint",
    "load_corpus",
    "load_documents",
    "load_features",
    "load_ratings",
    "load_sizing",
    "parse_user_markdown",
]

RATINGS_FILE = "ratings.yaml"


@dataclass(frozen=True)
class Corpus:
    documents: list[Document]
    ratings: Ratings


def corpus_files(corpus_dir: Path) -> list[Path]:
    if not corpus_dir.is_dir():
        raise CorpusError(str(corpus_dir), None, "corpus directory not found", hint="Set ASSISTANT_CORPUS_DIR.")
    tables = (RATINGS_FILE, FEATURES_FILE, SIZING_FILE, SUPERSESSIONS_FILE)
    return sorted([*corpus_dir.glob("*.md"), *(corpus_dir / name for name in tables)])


def load_documents(corpus_dir: Path) -> list[Document]:
    documents = [parse_corpus_document(path) for path in sorted(corpus_dir.glob("*.md"))]
    seen: dict[str, str] = {}
    for doc in documents:
        if doc.id in seen:
            raise CorpusError(doc.path, 2, f"duplicate id {doc.id!r} (also in {seen[doc.id]})", field="id")
        seen[doc.id] = doc.path
    return documents


def load_corpus(corpus_dir: Path) -> Corpus:
    documents = load_documents(corpus_dir)
    ratings_path = corpus_dir / RATINGS_FILE
    ratings = load_ratings(ratings_path)
    check_references(ratings, documents, ratings_path)
    if ratings.supersessions is not None:
        check_supersessions(ratings.supersessions, documents, corpus_dir / SUPERSESSIONS_FILE)
    sizing_path = corpus_dir / SIZING_FILE
    if sizing_path.is_file():  # a team's own corpus may have no sizing figures
        check_sizing_references(load_sizing(sizing_path), documents, sizing_path)
    return Corpus(documents=documents, ratings=ratings)


def corpus_fingerprint(corpus_dir: Path) -> str:
    """A hash of every corpus file's name and bytes: changes whenever the corpus does."""
    digest = hashlib.sha256()
    for path in corpus_files(corpus_dir):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]
