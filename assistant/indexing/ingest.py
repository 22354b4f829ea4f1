"""A team's own files (Markdown, text, HTML, PDF; folders recursively) as documents.

HTML is split by its headings with LangChain's HTMLHeaderTextSplitter; PDF pages are read with pypdf.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from assistant.corpus import parse_user_markdown
from assistant.corpus.text_file import read_utf8
from assistant.domain.documents import ChunkKind, Document, Section
from assistant.errors import CorpusError

MARKDOWN = {".md", ".markdown", ".txt"}
HTML = {".html", ".htm"}
PDF = {".pdf"}
SUPPORTED = MARKDOWN | HTML | PDF


def expand(paths: Iterable[str]) -> tuple[list[Path], list[str]]:
    """The supported files under `paths` (sorted), and a warning for each path that no longer exists."""
    files: list[Path] = []
    warnings: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(p for p in sorted(path.rglob("*")) if p.is_file() and p.suffix.lower() in SUPPORTED)
        elif path.is_file():
            if path.suffix.lower() not in SUPPORTED:
                raise CorpusError(
                    str(path), None, f"unsupported file type {path.suffix!r}; use .md, .txt, .html or .pdf"
                )
            files.append(path)
        else:
            warnings.append(f"{raw} no longer exists; its chunks were removed from the index")
    return sorted(set(files)), warnings


def load_user_documents(paths: Iterable[str]) -> tuple[list[Document], list[str]]:
    files, warnings = expand(paths)
    return [load_file(path) for path in files], warnings


def load_file(path: Path) -> Document:
    suffix = path.suffix.lower()
    doc_id = _doc_id(path)
    as_of = datetime.fromtimestamp(path.stat().st_mtime, UTC).date().isoformat()
    if suffix in MARKDOWN:
        return parse_user_markdown(read_utf8(path), path, doc_id=doc_id, as_of=as_of)
    if suffix in HTML:
        (title, _), *pages = _load_html(path)
    else:
        title, pages = "", _load_pdf(path)
    sections = tuple(
        Section(path=name, text=text, modes=(), source_urls=(path.resolve().as_uri(),), line=1)
        for name, text in pages
        if text.strip()
    )
    if not sections:
        raise CorpusError(str(path), None, "no text could be extracted")
    return Document(
        id=doc_id,
        title=title or path.stem,
        modes=(),
        sources=(path.resolve().as_uri(),),
        as_of=as_of,
        path=str(path),
        sections=sections,
        kind=ChunkKind.USER,
    )


def _load_html(path: Path) -> list[tuple[str, str]]:
    """(title, text) first, then one (heading path, text) per section under h1-h3 headings."""
    from bs4 import BeautifulSoup
    from langchain_text_splitters import HTMLHeaderTextSplitter

    text = read_utf8(path)  # UTF-8 or an error naming the line, never a guessed encoding
    try:
        soup = BeautifulSoup(text, "html.parser")
    except Exception as exc:  # bs4 raises assorted errors for malformed input
        raise CorpusError(str(path), None, f"cannot read HTML: {exc}") from exc
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    title = soup.title.get_text(strip=True) if soup.title else ""
    headers = [("h1", "h1"), ("h2", "h2"), ("h3", "h3")]
    sections: dict[str, list[str]] = {}
    for piece in HTMLHeaderTextSplitter(headers_to_split_on=headers).split_text(str(soup)):
        names = [str(piece.metadata[key]) for key, _ in headers if key in piece.metadata]
        text = piece.page_content.strip()
        if text and (not names or text != names[-1]):  # the splitter also emits each heading on its own
            sections.setdefault(" > ".join(names) or title or path.stem, []).append(text)
    return [(title, "")] + [(name, _tidy("\n\n".join(texts))) for name, texts in sections.items()]


def _load_pdf(path: Path) -> list[tuple[str, str]]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(path)
        return [(f"Page {number}", _tidy(page.extract_text() or "")) for number, page in enumerate(reader.pages, 1)]
    except (PyPdfError, ValueError, OSError) as exc:
        raise CorpusError(str(path), None, f"cannot read PDF: {exc}") from exc


def _tidy(text: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", re.sub(r"[ \t]+", " ", text)).strip()


def _doc_id(path: Path) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-") or "file"
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]
    return f"user-{slug[:40]}-{digest}"
