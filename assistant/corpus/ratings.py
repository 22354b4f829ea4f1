"""corpus/ratings.yaml: validated into `Ratings`, every error located by file, line and field."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from assistant.corpus.features import FEATURES_FILE, load_features
from assistant.corpus.yaml_source import YamlSource
from assistant.domain.documents import Document
from assistant.domain.ratings import Ratings, SourceRef
from assistant.errors import CorpusError


def load_ratings(path: Path) -> Ratings:
    if not path.is_file():
        raise CorpusError(str(path), None, "ratings file not found", hint="Set ASSISTANT_CORPUS_DIR to the corpus.")
    source = YamlSource.read(path)
    if not isinstance(source.data, dict):
        raise CorpusError(str(path), 1, "the ratings file must be a mapping (modes, dimensions, ratings, ...)")
    try:
        ratings = Ratings.model_validate(source.data)
    except ValidationError as exc:
        raise source.error(exc) from exc
    features = path.with_name(FEATURES_FILE)  # the feature matrix sits beside the ratings when the corpus has one
    return ratings.model_copy(update={"features": load_features(features)}) if features.is_file() else ratings


def check_references(ratings: Ratings, documents: list[Document], path: Path) -> None:
    """Every rating and capability must point at a corpus document and section that exist."""
    sections = {(doc.id, section.path) for doc in documents for section in doc.sections}
    doc_ids = {doc.id for doc in documents}

    def check(ref: SourceRef, loc: list[str | int]) -> None:
        if ref.doc not in doc_ids:
            problem = f"unknown corpus document {ref.doc!r}"
        elif (ref.doc, ref.section) not in sections:
            problem = f"document {ref.doc!r} has no section {ref.section!r}"
        else:
            return
        line = YamlSource.read(path).line_of([*loc, "source"])  # parsed again only to locate the error
        raise CorpusError(str(path), line, problem, field=".".join(map(str, loc)))

    for mode, by_dimension in ratings.ratings.items():
        for dimension, rating in by_dimension.items():
            check(rating.source, ["ratings", mode.value, dimension.value])
    for name, capability in ratings.capabilities.items():
        for mode, fact in capability.modes.items():
            check(fact.source, ["capabilities", name, "modes", mode.value])
