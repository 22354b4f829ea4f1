"""The corpus loader: the real corpus is valid, and every kind of broken file is reported with file and line."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from assistant.corpus import corpus_fingerprint, load_corpus, load_documents, load_ratings
from assistant.domain.text import plain, sentence_spans
from assistant.domain.vocabulary import Dimension, Mode
from assistant.errors import CorpusError
from tests.conftest import CORPUS

GOOD_DOC = """---
id: demo
title: "A demo document"
modes: [ambient, sidecar]
sources:
  - https://istio.io/latest/docs/overview/dataplane-modes/
as_of: 2026-04-15
---

## Intro

Ambient mode uses ztunnel.

Sources: https://istio.io/latest/docs/overview/dataplane-modes/

## Sidecar part
Modes: sidecar

### Detail

Sidecars run per pod.

Sources: https://istio.io/latest/docs/overview/dataplane-modes/
"""


def write_corpus(tmp_path: Path, doc: str, name: str = "demo.md") -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    shutil.copy(CORPUS / "ratings.yaml", corpus / "ratings.yaml")
    (corpus / name).write_text(doc)
    return corpus


def test_real_corpus_is_valid_and_covers_what_the_issue_asks_for() -> None:
    corpus = load_corpus(CORPUS)
    ids = {doc.id for doc in corpus.documents}
    assert len(corpus.documents) >= 10
    assert {
        "overview",
        "sidecar",
        "ambient",
        "cilium",
        "grpc",
        "decision-factors",
        "glossary",
        "timeline",
    } <= ids
    assert any("nist" in doc_id for doc_id in ids)
    for doc in corpus.documents:
        assert doc.sections, doc.id
        for section in doc.sections:
            assert section.source_urls, (doc.id, section.path)
            assert set(section.source_urls) <= set(doc.sources)
    per_mode = {mode: next(d for d in corpus.documents if d.id == mode.value) for mode in Mode}
    for mode, doc in per_mode.items():
        top_level = {section.path.split(" > ")[0] for section in doc.sections}
        assert {
            "Architecture",
            "Security and identity",
            "Resource cost",
            "Latency",
            "Maturity and status",
            "Operations and upgrades",
            "Feature gaps",
            "When to choose it",
            "When not to choose it",
        } <= top_level, mode


def test_sections_keep_heading_paths_modes_and_sources(tmp_path: Path) -> None:
    (doc,) = load_documents(write_corpus(tmp_path, GOOD_DOC))
    assert [(s.path, s.modes, s.line) for s in doc.sections] == [
        ("Intro", (Mode.AMBIENT, Mode.SIDECAR), 10),
        ("Sidecar part > Detail", (Mode.SIDECAR,), 19),
    ]
    assert doc.sections[0].text == "Ambient mode uses ztunnel."


@pytest.mark.parametrize(
    ("broken", "line", "fragment"),
    [
        (GOOD_DOC.replace("modes: [ambient, sidecar]", "modes: [ambient, linkerd]"), 4, "modes"),
        (GOOD_DOC.replace("as_of: 2026-04-15", "as_of: someday"), 7, "as_of"),
        (GOOD_DOC.replace('title: "A demo document"\n', ""), 2, "title"),
        (GOOD_DOC.replace("id: demo", "id: other"), 2, "must equal the file name"),
        (GOOD_DOC.replace("modes: [ambient, sidecar]", "modes: [ambient, sidecar"), 5, "invalid YAML"),
        (
            GOOD_DOC.replace(
                "\nSources: https://istio.io/latest/docs/overview/dataplane-modes/\n\n## Sidecar",
                "\n## Sidecar",
            ),
            10,
            "no 'Sources:' line",
        ),
        (
            GOOD_DOC.replace(
                "Sources: https://istio.io/latest/docs/overview/dataplane-modes/\n\n## Side",
                "Sources: https://example.com/x\n\n## Side",
            ),
            14,
            "not listed",
        ),
        (GOOD_DOC.replace("Modes: sidecar", "Modes: cilium"), 17, "not in the document's front matter"),
        (GOOD_DOC.replace("## Intro", "# Intro"), 10, "'# ' headings"),
        ("no front matter here\n", 1, "missing YAML front matter"),
    ],
)
def test_broken_documents_name_file_and_line(tmp_path: Path, broken: str, line: int, fragment: str) -> None:
    corpus = write_corpus(tmp_path, broken)
    with pytest.raises(CorpusError) as caught:
        load_documents(corpus)
    assert caught.value.line == line
    assert fragment in str(caught.value)
    assert str(caught.value).startswith(f"{corpus / 'demo.md'}:{line}:")


def test_undecodable_document_is_reported_with_its_line(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path, GOOD_DOC)
    lines = GOOD_DOC.encode().split(b"\n")
    lines[5] += " caf\u00e9".encode("latin-1")  # Latin-1 on line 6: indexed as mojibake before, now refused
    (corpus / "demo.md").write_bytes(b"\n".join(lines))
    with pytest.raises(CorpusError) as caught:
        load_documents(corpus)
    assert caught.value.line == 6
    assert str(caught.value).startswith(f"{corpus / 'demo.md'}:6: not UTF-8 text: byte 0xe9 at column ")


def test_undecodable_ratings_are_reported_with_their_line(tmp_path: Path) -> None:
    ratings = CORPUS / "ratings.yaml"
    broken = tmp_path / "ratings.yaml"
    broken.write_bytes(ratings.read_bytes().replace(b"\n", b"\n# \xff\n", 1))
    with pytest.raises(CorpusError) as caught:
        load_ratings(broken)
    assert (caught.value.line, caught.value.path) == (2, str(broken))


def ratings_with(tmp_path: Path, old: str, new: str) -> Path:
    text = (CORPUS / "ratings.yaml").read_text()
    assert old in text
    path = tmp_path / "ratings.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), start=1) if needle in line)


@pytest.mark.parametrize(
    ("old", "new", "field", "needle"),
    [
        ("      score: 5\n", "      score: 7\n", "ratings.sidecar.security.score", "score: 7"),
        ("      score: 5\n", "      score: high\n", "ratings.sidecar.security.score", "score: high"),
        (
            "        status: unsupported\n",
            "        status: nope\n",
            "capabilities.vm_workloads.modes.ambient.status",
            "status: nope",
        ),
        ("    strength: hard\n", "    strength: maybe\n", "rules.0.strength", "strength: maybe"),
        ("    values: [true]\n", "    values: [perhaps]\n", "rules.0.values", "values: [perhaps]"),
    ],
)
def test_broken_ratings_name_file_line_and_field(tmp_path: Path, old: str, new: str, field: str, needle: str) -> None:
    path = ratings_with(tmp_path, old, new)
    with pytest.raises(CorpusError) as caught:
        load_ratings(path)
    assert caught.value.field == field
    assert caught.value.line == line_of(path, needle)
    assert re.match(rf"{re.escape(str(path))}:\d+: {re.escape(field)}: ", str(caught.value))


def test_ratings_missing_a_mode_or_dimension_is_rejected(tmp_path: Path) -> None:
    text = (CORPUS / "ratings.yaml").read_text()
    path = tmp_path / "ratings.yaml"
    path.write_text(text.replace("modes: [sidecar, ambient, cilium, grpc]", "modes: [sidecar, ambient, cilium]"))
    with pytest.raises(CorpusError, match="missing: grpc"):
        load_ratings(path)
    start = text.index("    network_efficiency:\n      score: 3\n      rationale: The extra hops")
    end = text.index("  ambient:\n    security:")
    path.write_text(text[:start] + text[end:])
    with pytest.raises(CorpusError, match=r"ratings.sidecar: missing dimensions network_efficiency"):
        load_ratings(path)


def test_ratings_must_point_at_real_sections(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    ratings = corpus / "ratings.yaml"
    ratings.write_text(
        ratings.read_text().replace("doc: sidecar, section: Latency}", "doc: sidecar, section: Speed}", 1)
    )
    with pytest.raises(CorpusError, match="has no section 'Speed'") as caught:
        load_corpus(corpus)
    assert caught.value.line == line_of(ratings, "section: Speed")


def test_ratings_follow_the_seed_order() -> None:
    ratings = load_ratings(CORPUS / "ratings.yaml")

    def score(mode: Mode, dimension: Dimension) -> int:
        return ratings.rating(mode, dimension).score

    s, a, c, g = Mode
    assert score(s, Dimension.SECURITY) > score(a, Dimension.SECURITY) > score(c, Dimension.SECURITY)
    for dimension, best in [
        (Dimension.RESOURCE_EFFICIENCY, g),
        (Dimension.PERFORMANCE, g),
        (Dimension.MATURITY, s),
        (Dimension.MANAGEABILITY, a),
        (Dimension.NETWORK_EFFICIENCY, g),
    ]:
        assert all(score(best, dimension) > score(m, dimension) for m in Mode if m is not best), dimension
    assert all(score(s, Dimension.RESOURCE_EFFICIENCY) < score(m, Dimension.RESOURCE_EFFICIENCY) for m in (a, c, g))
    assert all(score(g, Dimension.MATURITY) < score(m, Dimension.MATURITY) for m in (s, a, c))


@pytest.mark.parametrize("table", ["ratings.yaml", "features.yaml", "sizing.yaml", "supersessions.yaml"])
def test_fingerprint_changes_with_any_corpus_file(tmp_path: Path, table: str) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    before = corpus_fingerprint(corpus)
    assert corpus_fingerprint(corpus) == before
    (corpus / table).write_text((corpus / table).read_text() + "\n# edited\n")
    assert corpus_fingerprint(corpus) != before


def test_a_sizing_figure_citing_a_missing_section_fails_with_its_line(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    sizing = corpus / "sizing.yaml"
    sizing.write_text(sizing.read_text().replace("doc: grpc, section: Resource cost}", "doc: grpc, section: Costs}", 1))
    line = next(i for i, text in enumerate(sizing.read_text().splitlines(), 1) if "section: Costs}" in text)
    with pytest.raises(CorpusError, match="document 'grpc' has no section 'Costs'") as caught:
        load_corpus(corpus)
    assert (caught.value.path, caught.value.line, caught.value.field) == (str(sizing), line, "components.grpc_agent")


@pytest.mark.parametrize(
    ("old", "new", "field", "problem"),
    [
        (
            "section: Istio's comparison-table latency\n",
            "section: Latency\n",
            "supersessions.3.newer.section",
            "has no section",
        ),
        (  # the newer fact must name one sentence, not every sentence of its section
            'says: "Istio 1\\\\.24 \\\\(2024-11-07\\\\) made ambient mode GA"',
            'says: "Istio 1\\\\.2"',
            "supersessions.0.newer.says",
            "sentences of that section, not exactly 1",
        ),
        ('"Istio 1\\\\.7 era reported', '"Istio 1\\\\.7 (era reported', "supersessions.3.claims.0", "not a regular"),
    ],
)
def test_a_broken_superseded_fact_names_its_line(tmp_path: Path, old: str, new: str, field: str, problem: str) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    table = corpus / "supersessions.yaml"
    text = table.read_text()
    assert text.count(old) == 1
    table.write_text(text.replace(old, new))
    line = next(i for i, row in enumerate(table.read_text().splitlines(), 1) if new.strip() in row)
    with pytest.raises(CorpusError, match=re.escape(problem)) as caught:
        load_corpus(corpus)
    assert (caught.value.path, caught.value.line, caught.value.field) == (str(table), line, field)


def test_every_superseded_statement_is_one_the_corpus_makes() -> None:
    documents = load_documents(CORPUS)
    entries = load_ratings(CORPUS / "ratings.yaml").supersessions
    assert entries is not None
    sentences = [plain(s.text[a:b]) for doc in documents for s in doc.sections for a, b in sentence_spans(s.text)]
    for entry in entries.supersessions:
        for claim in entry.claims:
            assert any(re.search(claim, sentence, re.IGNORECASE) for sentence in sentences), claim
