"""YAML loading that remembers where each value was written, so validation errors can name the line."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from assistant.corpus.text_file import read_utf8
from assistant.errors import CorpusError

Model = TypeVar("Model", bound=BaseModel)


class YamlSource:
    """A parsed YAML text plus its node tree, for mapping a pydantic error location to a line number."""

    def __init__(self, text: str, path: str, *, first_line: int = 1) -> None:
        self.path = path
        self.first_line = first_line
        loader = yaml.SafeLoader(text)
        try:  # parse once: keep the node tree (for line numbers) and build the data from it
            self.node = loader.get_single_node()
            self.data: Any = loader.construct_document(self.node) if self.node is not None else None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = first_line + mark.line if mark is not None else first_line
            problem = getattr(exc, "problem", None) or str(exc)
            raise CorpusError(path, line, f"invalid YAML: {problem}") from exc
        finally:
            loader.dispose()

    @classmethod
    def read(cls, path: Path) -> YamlSource:
        return cls(read_utf8(path), str(path))

    def line_of(self, loc: Sequence[int | str]) -> int:
        """The line of the deepest node on `loc` that exists (the key's line for a missing key)."""
        node = self.node
        line = node.start_mark.line if node is not None else 0
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                match = next((pair for pair in node.value if pair[0].value == str(part)), None)
                if match is None:
                    break
                line = match[0].start_mark.line
                node = match[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line
            else:
                break
        return self.first_line + line

    def error(self, exc: ValidationError) -> CorpusError:
        """The first validation error, located: file, line and dotted field path."""
        first = exc.errors()[0]
        loc = [part for part in first["loc"] if not str(part).startswith("function-")]
        field = ".".join(str(part) for part in loc) or "(top level)"
        count = exc.error_count()
        more = f" (and {count - 1} more problem{'s' if count > 2 else ''})" if count > 1 else ""
        return CorpusError(self.path, self.line_of(loc), first["msg"] + more, field=field)


def load_model(path: Path, model: type[Model], *, what: str, shape: str) -> Model:
    """A corpus YAML file validated into `model`; a missing file, bad YAML or an invalid field is a CorpusError
    naming the file and line (`what` names the file's content, `shape` its top-level keys)."""
    if not path.is_file():
        raise CorpusError(str(path), None, f"{what} not found", hint="Set ASSISTANT_CORPUS_DIR to the corpus.")
    source = YamlSource.read(path)
    if not isinstance(source.data, dict):
        raise CorpusError(str(path), 1, f"the {what} file must be a mapping ({shape})")
    try:
        return model.model_validate(source.data)
    except ValidationError as exc:
        raise source.error(exc) from exc
