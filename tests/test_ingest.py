"""A team's own files: Markdown, text, HTML and PDF (folders recursively), kept across later index runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.domain.documents import ChunkKind
from assistant.embeddings import Embedder
from assistant.errors import CorpusError
from assistant.indexing.build import build_index
from assistant.indexing.ingest import load_file
from assistant.retrieval import Retriever


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF with one line of text, written by hand (no PDF library needed)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


@pytest.fixture
def team_docs(tmp_path: Path) -> Path:
    folder = tmp_path / "runbooks"
    (folder / "nested").mkdir(parents=True)
    (folder / "upgrade.md").write_text(
        "# Mesh upgrade runbook\n\n## Before the window\n\n"
        "Drain the canary node pool before upgrading the pelican cluster.\n"
    )
    (folder / "nested" / "policy.txt").write_text(
        "Our platoypus policy requires mTLS between every pair of services.\n"
    )
    (folder / "nested" / "page.html").write_text(
        "<html><head><title>Waypoint guide</title></head><body><h1>Guide</h1>"
        "<p>The narwhal namespace uses a waypoint.</p></body></html>"
    )
    (folder / "audit.pdf").write_bytes(minimal_pdf("The okapi audit found per node keys acceptable."))
    (folder / "ignored.png").write_bytes(b"\x89PNG")
    return folder


def test_each_file_type_loads_with_its_own_source(team_docs: Path) -> None:
    markdown = load_file(team_docs / "upgrade.md")
    assert markdown.title == "Mesh upgrade runbook" and markdown.kind is ChunkKind.USER
    assert markdown.sections[0].path == "Before the window"
    assert markdown.sections[0].source_urls == ((team_docs / "upgrade.md").resolve().as_uri(),)
    html = load_file(team_docs / "nested" / "page.html")
    assert html.title == "Waypoint guide" and "narwhal namespace" in html.sections[0].text
    pdf = load_file(team_docs / "audit.pdf")
    assert pdf.sections[0].path == "Page 1" and "okapi audit" in pdf.sections[0].text
    text = load_file(team_docs / "nested" / "policy.txt")
    assert text.title == "policy" and "platoypus" in text.sections[0].text


def test_ingest_a_folder_then_keep_it_on_later_index_runs(
    private_index: Settings, embedder: Embedder, team_docs: Path
) -> None:
    report = build_index(private_index, embedder, add_paths=[str(team_docs)])
    assert report.embedded == 4  # one chunk per file, nothing else re-embedded
    retriever = Retriever.open(private_index, embedder)
    for phrase, name in [
        ("pelican cluster canary", "upgrade.md"),
        ("narwhal namespace", "page.html"),
        ("okapi audit", "audit.pdf"),
        ("platoypus policy", "policy.txt"),
    ]:
        hits = retriever.search(phrase, k=3)
        mine = [p for p in hits if p.chunk.kind is ChunkKind.USER]
        assert mine and mine[0].chunk.source_url.endswith(name), phrase

    again = build_index(private_index, embedder)  # a plain `assistant index` keeps ingested files
    assert again.embedded == 0 and again.chunks == report.chunks

    (team_docs / "audit.pdf").unlink()
    after = build_index(private_index, embedder)
    assert after.removed == 1 and after.chunks == report.chunks - 1
    (team_docs / "upgrade.md").write_text("# Mesh upgrade runbook\n\nNow the ibis cluster goes first.\n")
    edited = build_index(private_index, embedder)
    assert edited.embedded == 1 and edited.removed == 1


def test_unsupported_or_broken_files_are_reported(tmp_path: Path) -> None:
    odd = tmp_path / "notes.docx"
    odd.write_bytes(b"PK")
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 nothing else")
    from assistant.indexing.ingest import expand

    with pytest.raises(CorpusError, match="unsupported file type"):
        expand([str(odd)])
    with pytest.raises(CorpusError, match=r"broken\.pdf"):
        load_file(broken)
    files, warnings = expand([str(tmp_path / "gone")])
    assert files == [] and "no longer exists" in warnings[0]


@pytest.mark.parametrize(
    ("name", "content", "line"),
    [
        ("notes.md", b"# Runbook\n\nRestart the caf\xe9 gateway.\n", 3),
        ("notes.txt", b"\xff\xfeR\x00u\x00n\x00", 1),  # UTF-16
        ("page.html", b"<html><body>\n<h1>Runbook</h1>\n<p>caf\xe9</p></body></html>", 3),
    ],
)
def test_a_file_that_is_not_utf8_is_refused_naming_file_and_line(
    tmp_path: Path, name: str, content: bytes, line: int
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(CorpusError) as caught:
        load_file(path)
    assert (caught.value.path, caught.value.line) == (str(path), line)
    assert "not UTF-8 text" in caught.value.message and "UTF-8" in caught.value.hint
