"""corpus/sizing.yaml: the published per-proxy figures the sizing estimate reads, validated into `SizingFigures`."""

from __future__ import annotations

from pathlib import Path

from assistant.corpus.ratings import check_source
from assistant.corpus.yaml_source import load_model
from assistant.domain.documents import Document
from assistant.domain.sizing import SizingFigures

SIZING_FILE = "sizing.yaml"


def load_sizing(path: Path) -> SizingFigures:
    return load_model(path, SizingFigures, what="sizing figures", shape="as_of, components")


def check_sizing_references(figures: SizingFigures, documents: list[Document], path: Path) -> None:
    """Every figure (and every request path) must point at a corpus document and section that exist."""
    sections = {(doc.id, section.path) for doc in documents for section in doc.sections}
    for name, component in figures.components.items():
        check_source(component.source, sections, path, ["components", name])
        if component.path is not None:
            check_source(component.path.source, sections, path, ["components", name, "path"])
