"""Labelled requirement clauses and nearest-neighbour matching against them (vectors in, labels out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import yaml

from assistant.domain.requirements import parse_requirements

# Cosine similarity a clause needs to its nearest example before that example's labels are used; neutral
# examples (no labels) absorb topic questions. Calibrated on a development set of paraphrases (nearest neighbour
# beat 2- and 3-neighbour averages), then checked on the held-out phrasings in tests/test_understanding.py.
REQUIREMENT_THRESHOLD = 0.5


@dataclass(frozen=True)
class Example:
    text: str
    sets: dict[str, Any] = field(default_factory=dict)


def load_examples() -> list[Example]:
    """The requirement examples of the packaged examples.yaml, validated."""
    raw = yaml.safe_load(resources.files("assistant.understanding").joinpath("examples.yaml").read_text("utf-8"))
    requirements = []
    for item in raw["requirements"]:
        sets = {key: _text(value) for key, value in item["sets"].items()}
        parse_requirements(sets)  # a typo in the file fails loudly, not silently
        requirements.append(Example(text=item["text"], sets=sets))
    return requirements


def _text(value: Any) -> Any:
    return value if isinstance(value, bool) else str(value)


class ExampleIndex:
    """Example vectors (normalised rows) and their labels; `nearest` is one matrix product."""

    def __init__(self, examples: list[Example], vectors: np.ndarray[Any, np.dtype[np.float32]]) -> None:
        if len(examples) != len(vectors):
            raise ValueError("one vector per example")
        self.examples = examples
        self.vectors = vectors

    def nearest(self, vectors: np.ndarray[Any, np.dtype[np.float32]]) -> list[tuple[Example, float]]:
        """For each row of `vectors`, the most similar example and its cosine similarity."""
        if not len(vectors) or not len(self.examples):
            return []
        scores = vectors @ self.vectors.T
        best = scores.argmax(axis=1)
        return [(self.examples[int(i)], float(scores[row, i])) for row, i in enumerate(best)]
