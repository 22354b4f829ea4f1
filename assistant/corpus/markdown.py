"""Markdown documents with YAML front matter, split into sections by heading.

The heading split is done here rather than with LangChain's MarkdownHeaderTextSplitter because every
section must be validated with its line number (a `Sources:` line per section, known modes); the size
split that follows in `assistant.indexing` uses LangChain's splitter.

Corpus format (strict):

    ---
    id: ambient            # equals the file name
    title: "..."
    modes: [ambient]       # subset of the four mode ids
    sources: [https://...] # every URL cited below
    as_of: 2026-04-15
    ---
    ## Section
    Modes: ambient         # optional: the section is about these modes only
    Text ...
    Sources: https://...   # required in every section with text

Teams' own documents (`assistant ingest`) use the same syntax, but front matter and `Sources:` lines are
optional there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.corpus.text_file import read_utf8
from assistant.corpus.yaml_source import YamlSource
from assistant.domain.documents import ChunkKind, Document, Section
from assistant.domain.vocabulary import Mode
from assistant.errors import CorpusError

Url = Annotated[str, Field(pattern=r"^(https?|file)://\S+$")]
DocId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)---[ \t]*\n", re.DOTALL)
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_SOURCES = re.compile(r"^\s*Sources?:\s*(.*)$", re.IGNORECASE)
_MODES = re.compile(r"^\s*Modes?:\s*(.*)$", re.IGNORECASE)
_URL = re.compile(r"(?:https?|file)://[^\s,;<>]+")
_FENCE = re.compile(r"^\s*(```|~~~)")


class CorpusFrontMatter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: DocId
    title: str = Field(min_length=3)
    modes: tuple[Mode, ...] = Field(min_length=1)
    sources: tuple[Url, ...] = Field(min_length=1)
    as_of: date


class UserFrontMatter(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: DocId | None = None
    title: str | None = None
    modes: tuple[Mode, ...] = ()
    sources: tuple[Url, ...] = ()
    as_of: date | None = None


@dataclass
class _OpenSection:
    path: str
    line: int
    body: list[str]
    modes: tuple[Mode, ...] | None = None
    sources: tuple[str, ...] = ()


def parse_corpus_document(path: Path) -> Document:
    """A corpus document, strictly validated; errors name the file, line and field."""
    text = read_utf8(path)
    match = _FRONT_MATTER.match(text)
    if match is None:
        raise CorpusError(str(path), 1, "missing YAML front matter (a block between two '---' lines)")
    source = YamlSource(match.group(1), str(path), first_line=2)
    if not isinstance(source.data, dict):
        raise CorpusError(str(path), 2, "front matter must be a mapping of keys to values")
    try:
        meta = CorpusFrontMatter.model_validate(source.data)
    except ValidationError as exc:
        raise source.error(exc) from exc
    if meta.id != path.stem:
        raise CorpusError(str(path), source.line_of(["id"]), f"id {meta.id!r} must equal the file name", field="id")
    body_line = text[: match.end()].count("\n") + 1
    sections = _sections(text[match.end() :], str(path), body_line, meta.modes, strict_sources=meta.sources)
    return Document(
        id=meta.id,
        title=meta.title,
        modes=meta.modes,
        sources=meta.sources,
        as_of=meta.as_of.isoformat(),
        path=str(path),
        sections=sections,
    )


def parse_user_markdown(text: str, path: Path, *, doc_id: str, as_of: str) -> Document:
    """A team's Markdown or text file: front matter optional, untitled text allowed, sources default to the file."""
    meta = UserFrontMatter()
    body, body_line = text, 1
    match = _FRONT_MATTER.match(text)
    if match is not None:
        source = YamlSource(match.group(1), str(path), first_line=2)
        try:
            meta = UserFrontMatter.model_validate(source.data or {})
        except ValidationError as exc:
            raise source.error(exc) from exc
        body, body_line = text[match.end() :], text[: match.end()].count("\n") + 1
    title = meta.title or _first_title(body) or path.stem.replace("-", " ").replace("_", " ")
    sources = meta.sources or (path.resolve().as_uri(),)
    sections = _sections(body, str(path), body_line, meta.modes, strict_sources=None, default_source=sources[0])
    return Document(
        id=meta.id or doc_id,
        title=title,
        modes=meta.modes,
        sources=sources,
        as_of=meta.as_of.isoformat() if meta.as_of else as_of,
        path=str(path),
        sections=tuple(s if s.path else Section(title, s.text, s.modes, s.source_urls, s.line) for s in sections),
        kind=ChunkKind.USER,
    )


def _sections(
    body: str,
    path: str,
    first_line: int,
    doc_modes: tuple[Mode, ...],
    *,
    strict_sources: tuple[str, ...] | None,
    default_source: str = "",
) -> tuple[Section, ...]:
    strict = strict_sources is not None
    stack: list[tuple[int, str, tuple[Mode, ...] | None]] = []  # open headings: level, title, Modes line
    current = _OpenSection(path="", line=first_line, body=[])
    done: list[Section] = []
    in_fence = False

    def close(section: _OpenSection) -> None:
        text = "\n".join(section.body).strip()
        if not text:
            return
        if strict and not section.path:
            raise CorpusError(path, section.line, "text before the first '## ' heading; put it under a heading")
        if strict and not section.sources:
            raise CorpusError(path, section.line, f"section {section.path!r} has no 'Sources:' line", field="Sources")
        done.append(
            Section(
                path=section.path,
                text=text,
                modes=section.modes if section.modes is not None else doc_modes,
                source_urls=section.sources or ((default_source,) if default_source else ()),
                line=section.line,
            )
        )

    for offset, line in enumerate(body.split("\n")):
        number = first_line + offset
        if _FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else _HEADING.match(line)
        if heading:
            level, title = len(heading.group(1)), heading.group(2)
            if level == 1 and strict:
                raise CorpusError(path, number, "'# ' headings are not allowed; the title is in front matter")
            close(current)
            stack = [entry for entry in stack if entry[0] < level]
            inherited = next((modes for _, _, modes in reversed(stack) if modes is not None), None)
            stack.append((level, title, None))
            path_ = " > ".join(name for lvl, name, _ in stack if lvl > 1)
            current = _OpenSection(path=path_, line=number, body=[], modes=inherited)
            continue
        sources = None if in_fence else _SOURCES.match(line)
        if sources:
            current.sources = current.sources + _section_urls(sources.group(1), path, number, strict_sources)
            continue
        modes = None if in_fence else _MODES.match(line)
        if modes:
            current.modes = _section_modes(modes.group(1), path, number, doc_modes, strict)
            if stack:  # subsections inherit a Modes line
                stack[-1] = (stack[-1][0], stack[-1][1], current.modes)
            continue
        current.body.append(line)
    close(current)
    if strict and not done:
        raise CorpusError(path, first_line, "the document has no sections with text")
    return tuple(done)


def _section_urls(raw: str, path: str, line: int, allowed: tuple[str, ...] | None) -> tuple[str, ...]:
    urls = tuple(_URL.findall(raw))
    if not urls:
        raise CorpusError(path, line, "a 'Sources:' line must list at least one URL", field="Sources")
    if allowed is not None:
        for url in urls:
            if url not in allowed:
                raise CorpusError(path, line, f"{url} is not listed in the front matter 'sources'", field="Sources")
    return urls


def _section_modes(raw: str, path: str, line: int, doc_modes: tuple[Mode, ...], strict: bool) -> tuple[Mode, ...]:
    names = [name.strip().lower() for name in raw.split(",") if name.strip()]
    modes: list[Mode] = []
    for name in names:
        if name not in Mode.__members__.values():
            raise CorpusError(path, line, f"unknown mode {name!r} (use {', '.join(Mode)})", field="Modes")
        mode = Mode(name)
        if strict and mode not in doc_modes:
            raise CorpusError(path, line, f"mode {name!r} is not in the document's front matter modes", field="Modes")
        modes.append(mode)
    if not modes:
        raise CorpusError(path, line, "a 'Modes:' line must name at least one mode", field="Modes")
    return tuple(modes)


def _first_title(body: str) -> str:
    for line in body.split("\n"):
        heading = _HEADING.match(line)
        if heading and len(heading.group(1)) == 1:
            return heading.group(2)
    return ""
