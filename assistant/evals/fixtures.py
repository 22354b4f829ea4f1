"""Eval fixtures (`evals/fixtures/<split>/*.yaml`): a public format, validated strictly (unknown keys are errors).

A case's split is the name of the folder its file is in: `dev` (tuned on freely) or `held-out` (written before
tuning and never used for it); the gate holds each split to its own thresholds.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.corpus.yaml_source import YamlSource
from assistant.domain.conversation import Kind, Turn
from assistant.domain.requirements import Requirements
from assistant.domain.vocabulary import Mode
from assistant.errors import CorpusError, FixtureError

CaseId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
Alternatives = str | list[str]


class Expect(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    intent: Literal["recommend", "compare", "explain", "out_of_scope"] | None = None
    top_mode: Mode | None = None
    ranking_prefix: list[Mode] = Field(default_factory=list)
    excluded_modes: list[Mode] = Field(default_factory=list)
    cite_modes: list[Mode] = Field(default_factory=list)
    must_include: list[Alternatives] = Field(default_factory=list)
    must_not_include: list[str] = Field(default_factory=list)
    refuse: bool | None = None
    kind: Kind | None = Field(None, description="The kind of answer the question asks for (for the kind report).")
    requirements: Requirements | None = Field(
        None, description="Requirements the conversation states (for understanding accuracy)."
    )

    @property
    def expected_modes(self) -> set[Mode]:
        """Modes the retrieval should surface for this case (for hit@k and MRR)."""
        return set(self.cite_modes) | ({self.top_mode} if self.top_mode else set())


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: CaseId
    question: str = Field(min_length=1)
    history: list[Turn] = Field(default_factory=list)
    expect: Expect = Field(default_factory=Expect)
    file: str = Field("", exclude=True, description="Set by the loader: where the case was defined.")
    split: str = Field("", exclude=True, description="Set by the loader: the name of the file's folder.")


class FixtureFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cases: list[Case] = Field(min_length=1)


def fixture_files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted([*path.rglob("*.yaml"), *path.rglob("*.yml")]))
        elif path.is_file():
            files.append(path)
        else:
            raise FixtureError(f"{path}: no such fixture file or directory", hint="Pass --fixtures PATH.")
    if not files:
        raise FixtureError("No fixture files found.", hint="Fixtures are YAML files with a `cases:` list.")
    return files


def load_cases(paths: Iterable[Path]) -> list[Case]:
    """Every case of every fixture file; an invalid file or a duplicate id names the file and the case."""
    cases: list[Case] = []
    seen: dict[str, str] = {}
    for path in fixture_files(paths):
        try:
            source = YamlSource.read(path)
        except CorpusError as exc:
            raise FixtureError(exc.message) from exc
        try:
            parsed = FixtureFile.model_validate(source.data)
        except ValidationError as exc:
            raise FixtureError(_locate(exc, source, path)) from exc
        for case in parsed.cases:
            if case.id in seen:
                raise FixtureError(f"{path}: case {case.id!r}: duplicate id (also in {seen[case.id]})")
            seen[case.id] = str(path)
            cases.append(case.model_copy(update={"file": str(path), "split": path.parent.name}))
    return cases


def _locate(exc: ValidationError, source: YamlSource, path: Path) -> str:
    error = exc.errors()[0]
    loc = list(error["loc"])
    case_id = ""
    if len(loc) >= 2 and loc[0] == "cases" and isinstance(loc[1], int):
        cases = source.data.get("cases") if isinstance(source.data, dict) else None
        if isinstance(cases, list) and loc[1] < len(cases) and isinstance(cases[loc[1]], dict):
            case_id = str(cases[loc[1]].get("id", f"#{loc[1] + 1}"))
    field = ".".join(str(part) for part in loc)
    where = f"{path}:{source.line_of(loc)}"
    problem = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
    return f"{where}: case {case_id!r}: {field}: {problem}" if case_id else f"{where}: {field}: {problem}"
