"""corpus/ratings.yaml: validated into `Ratings`, every error located by file, line and field."""

from __future__ import annotations

from pathlib import Path

from assistant.corpus.features import FEATURES_FILE, load_features
from assistant.corpus.supersessions import SUPERSESSIONS_FILE, load_supersessions
from assistant.corpus.yaml_source import YamlSource, load_model
from assistant.domain.documents import Document
from assistant.domain.ratings import Ratings, SourceRef
from assistant.errors import CorpusError


def load_ratings(path: Path) -> Ratings:
    ratings = load_model(path, Ratings, what="ratings table", shape="modes, dimensions, ratings, ...")
    # the feature matrix and the superseded facts sit beside the ratings when the corpus has them
    features, supersessions = path.with_name(FEATURES_FILE), path.with_name(SUPERSESSIONS_FILE)
    beside = {
        "features": load_features(features) if features.is_file() else None,
        "supersessions": load_supersessions(supersessions) if supersessions.is_file() else None,
    }
    return ratings.model_copy(update=beside)


def check_references(ratings: Ratings, documents: list[Document], path: Path) -> None:
    """Every rating and capability must point at a corpus document and section that exist."""
    sections = {(doc.id, section.path) for doc in documents for section in doc.sections}
    for mode, by_dimension in ratings.ratings.items():
        for dimension, rating in by_dimension.items():
            check_source(rating.source, sections, path, ["ratings", mode.value, dimension.value])
    for name, capability in ratings.capabilities.items():
        for mode, fact in capability.modes.items():
            check_source(fact.source, sections, path, ["capabilities", name, "modes", mode.value])


def check_source(ref: SourceRef, sections: set[tuple[str, str]], path: Path, loc: list[str | int]) -> None:
    """`ref` must name one of `sections` (document id, heading path); else a CorpusError at the line of `loc`."""
    if ref.doc not in {doc for doc, _ in sections}:
        problem = f"unknown corpus document {ref.doc!r}"
    elif (ref.doc, ref.section) not in sections:
        problem = f"document {ref.doc!r} has no section {ref.section!r}"
    else:
        return
    line = YamlSource.read(path).line_of([*loc, "source"])  # parsed again only to locate the error
    raise CorpusError(str(path), line, problem, field=".".join(map(str, loc)))
