"""corpus/features.yaml: validated into a `FeatureMatrix`, every error located by file, line and field."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from assistant.corpus.yaml_source import YamlSource
from assistant.domain.features import FeatureMatrix
from assistant.errors import CorpusError

FEATURES_FILE = "features.yaml"


def load_features(path: Path) -> FeatureMatrix:
    if not path.is_file():
        raise CorpusError(str(path), None, "feature matrix not found", hint="Set ASSISTANT_CORPUS_DIR to the corpus.")
    source = YamlSource.read(path)
    if not isinstance(source.data, dict):
        raise CorpusError(str(path), 1, "the feature matrix must be a mapping (as_of, features)")
    try:
        return FeatureMatrix.model_validate(source.data)
    except ValidationError as exc:
        raise source.error(exc) from exc
