"""The regression gate: thresholds (evals/thresholds.yaml) and the accepted baseline (evals/baseline.json)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.errors import FixtureError
from assistant.evals.metrics import HIGHER_IS_BETTER


class Bound(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min: float | None = None
    max: float | None = None


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    thresholds: dict[str, Bound]
    splits: dict[str, dict[str, Bound]] = Field(
        default_factory=dict,
        description="Bounds on one split's metrics (dev, held-out), checked when it ran; `default`: any other folder.",
    )
    tolerance: dict[str, float] = Field(
        default_factory=dict, description="How far a metric may fall below the baseline; `default` for the rest."
    )


@dataclass(frozen=True)
class GateResult:
    failures: list[str]

    @property
    def passed(self) -> bool:
        return not self.failures


def load_thresholds(path: Path) -> Thresholds:
    try:
        return Thresholds.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise FixtureError(f"{path}: invalid thresholds file: {exc}") from exc


def load_baseline(path: Path) -> dict[str, float] | None:
    if not path.exists():
        return None
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return {name: float(value) for name, value in data["metrics"].items()}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FixtureError(f"{path}: invalid baseline file: {exc}") from exc


def save_baseline(path: Path, metrics: dict[str, float]) -> None:
    kept = {name: value for name, value in metrics.items() if name in HIGHER_IS_BETTER}
    path.write_text(json.dumps({"metrics": kept}, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def check(
    metrics: dict[str, float],
    thresholds: Thresholds,
    baseline: dict[str, float] | None,
    splits: dict[str, dict[str, float]] | None = None,
) -> GateResult:
    """Every bound on the whole run's metrics and on each split's that ran, and the baseline."""
    failures = _bounded(metrics, thresholds.thresholds, "")
    for split, figures in (splits or {}).items():
        bounds = thresholds.splits.get(split, thresholds.splits.get("default", {}))
        failures += _bounded(figures, bounds, f"{split}: ")
    for name, accepted in (baseline or {}).items():
        if name not in HIGHER_IS_BETTER or name not in metrics:
            continue
        slack = thresholds.tolerance.get(name, thresholds.tolerance.get("default", 0.0))
        value = metrics[name]
        worse = accepted - value if HIGHER_IS_BETTER[name] else value - accepted
        if worse > slack + 1e-9:
            failures.append(f"baseline: {name} = {value:g}, worse than the accepted {accepted:g} (tolerance {slack:g})")
    return GateResult(failures)


def _bounded(metrics: dict[str, float], bounds: dict[str, Bound], where: str) -> list[str]:
    failures = []
    for name, bound in bounds.items():
        if name not in metrics:
            failures.append(f"threshold on unknown metric {where}{name!r}")
            continue
        value = metrics[name]
        if bound.min is not None and value < bound.min:
            failures.append(f"threshold: {where}{name} = {value:g}, below the minimum {bound.min:g}")
        if bound.max is not None and value > bound.max:
            failures.append(f"threshold: {where}{name} = {value:g}, above the maximum {bound.max:g}")
    return failures
