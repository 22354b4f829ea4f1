"""corpus/features.yaml: validated into a `FeatureMatrix`, every error located by file, line and field."""

from __future__ import annotations

from pathlib import Path

from assistant.corpus.yaml_source import load_model
from assistant.domain.features import FeatureMatrix

FEATURES_FILE = "features.yaml"


def load_features(path: Path) -> FeatureMatrix:
    return load_model(path, FeatureMatrix, what="feature matrix", shape="as_of, features")
