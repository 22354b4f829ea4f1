"""The kind of answer a question asks for, learned from labelled phrasings (`phrasings/<kind>.yaml`).

A multinomial logistic regression over the question's embedding (the one the product computes anyway) and the
keyword rules' evidence (`analysis.evidence`: how the question opens, how many modes it names, whether it speaks
of "us" ...), fitted when the responder starts (by scikit-learn in a child process: `kind_fitting`): lbfgs on fixed
data is deterministic. New phrasings go into the YAML files, never into code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import yaml

from assistant.domain.conversation import Kind
from assistant.domain.text import terms
from assistant.understanding.kind_fitting import FittedWeights, fit_weights

Vectors = np.ndarray[Any, np.dtype[np.float32]]
# The keyword features' scale next to a unit-length embedding, and the inverse regularisation strength C
# (kind_fitting.REGULARISATION): by 5-fold cross-validation on the phrasings, 0.86 with the embedding alone, 0.88
# with evidence at 0.25 (0.86 at 0.5, 0.85 at 1.0), at C=4 and C=16 alike.
EVIDENCE_WEIGHT = 0.25


@dataclass(frozen=True)
class Phrasing:
    text: str
    kind: Kind


def load_phrasings() -> list[Phrasing]:
    """Every labelled phrasing, in a fixed order (kind by kind, as written)."""
    folder = resources.files("assistant.understanding").joinpath("phrasings")
    phrasings = []
    for kind in Kind:
        raw = yaml.safe_load(folder.joinpath(f"{kind.value}.yaml").read_text("utf-8"))
        phrasings += [Phrasing(str(text), kind) for text in raw["phrasings"]]
    return phrasings


def features(vectors: Vectors, evidence: Sequence[Sequence[float]]) -> Vectors:
    """Each row: the question's vector, then its keyword evidence, scaled."""
    return np.hstack([vectors, EVIDENCE_WEIGHT * np.asarray(evidence, dtype=np.float32)])


@dataclass(frozen=True)
class KindGuess:
    kind: Kind
    confidence: float
    runner_up: Kind


class KindClassifier:
    """Kinds from question vectors; `fit` once, `guess` per question. Guessing is the model's softmax over its
    weights, computed here: scikit-learn's own checks cost more per question than the arithmetic."""

    def __init__(self, fitted: FittedWeights, wording: Mapping[Kind, frozenset[str]]) -> None:
        self.kinds = [Kind(label) for label in fitted.labels]
        self.wording = wording  # the words each kind's phrasings use: how that kind of question is put
        self.weights = fitted.weights
        self.intercept = fitted.intercept

    @classmethod
    def fit(cls, phrasings: list[Phrasing], vectors: Vectors, evidence: Sequence[Sequence[float]]) -> KindClassifier:
        model = fit_weights(features(vectors, evidence), [p.kind.value for p in phrasings])
        wording = {kind: frozenset(t for p in phrasings if p.kind is kind for t in terms(p.text)) for kind in Kind}
        return cls(model, wording)

    def probabilities(self, vector: Vectors, evidence: Sequence[float]) -> np.ndarray[Any, np.dtype[np.float64]]:
        """The probability of each kind (in `kinds` order) for one question."""
        logits = features(vector.reshape(1, -1), [evidence])[0].astype(np.float64) @ self.weights + self.intercept
        exp = np.exp(logits - logits.max())
        return np.asarray(exp / exp.sum(), dtype=np.float64)

    def guess(self, vector: Vectors, evidence: Sequence[float]) -> KindGuess:
        probabilities = self.probabilities(vector, evidence)
        first, second = np.argsort(-probabilities, kind="stable")[:2]
        return KindGuess(self.kinds[int(first)], float(probabilities[first]), self.kinds[int(second)])
