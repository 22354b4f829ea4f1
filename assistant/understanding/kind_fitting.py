"""The kind model's fit, by scikit-learn in a child process.

Only the fitted weights are needed to guess, and scikit-learn brings SciPy and pandas with it: about 160 MB that a
server would keep for its whole life after fitting once. The child fits exactly as this process would (the same
library on the same data, BLAS on one thread as here: lbfgs is then deterministic) and exits.
"""

from __future__ import annotations

import io
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

REGULARISATION = 4.0  # the inverse regularisation strength C (see kinds.py for how it was chosen)
MAX_ITERATIONS = 3000


@dataclass(frozen=True)
class FittedWeights:
    labels: list[str]  # the classes, in the order of the weights' columns
    weights: np.ndarray[Any, np.dtype[np.float64]]  # features x classes
    intercept: np.ndarray[Any, np.dtype[np.float64]]


def fit_weights(features: np.ndarray[Any, np.dtype[np.float32]], labels: list[str]) -> FittedWeights:
    """A multinomial logistic regression of `labels` on `features`, fitted by scikit-learn in a child process."""
    given = io.BytesIO()
    np.savez(given, features=features, labels=np.asarray(labels))
    command = [sys.executable, "-c", f"from {__name__} import fit_from_stdin; fit_from_stdin()"]
    child = subprocess.run(command, input=given.getvalue(), capture_output=True, check=False)
    if child.returncode != 0:
        raise RuntimeError(f"fitting the kind model failed: {child.stderr.decode(errors='replace')[-2000:]}")
    with np.load(io.BytesIO(child.stdout)) as fitted:
        return FittedWeights(
            labels=[str(label) for label in fitted["labels"]],
            weights=np.asarray(fitted["weights"], dtype=np.float64),
            intercept=np.asarray(fitted["intercept"], dtype=np.float64),
        )


def fit_from_stdin() -> None:
    """The child's side: features and labels in on stdin, the fitted weights out on stdout (NumPy's npz)."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    with np.load(io.BytesIO(sys.stdin.buffer.read())) as given, threadpool_limits(1, user_api="blas"):
        model = LogisticRegression(C=REGULARISATION, max_iter=MAX_ITERATIONS)
        model.fit(given["features"], given["labels"])
    fitted = io.BytesIO()
    np.savez(fitted, labels=model.classes_, weights=model.coef_.T, intercept=model.intercept_)
    sys.stdout.buffer.write(fitted.getvalue())
