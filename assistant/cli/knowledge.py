"""Commands over the knowledge base: index, ingest, search, ratings, features, sources."""

from __future__ import annotations

from typing import Annotated

import typer
from tqdm import tqdm

from assistant.cli import render
from assistant.cli.app import app, emit_json, note, service
from assistant.domain.vocabulary import Mode
from assistant.indexing.build import BuildReport
from assistant.service import Service


def _build(svc: Service, *, rebuild: bool, paths: list[str]) -> BuildReport:
    bar: tqdm[None] | None = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc="Embedding", unit="chunk", leave=False, mininterval=0.5)
        bar.update(done - bar.n)

    try:
        report = svc.build_index(rebuild=rebuild, add_paths=paths, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    for warning in report.warnings:
        note(f"warning: {warning}")
    note(
        f"Indexed {report.chunks} chunks in {report.seconds:.1f}s: {report.embedded} embedded, "
        f"{report.reused} unchanged, {report.removed} removed (generation {report.generation})."
    )
    return report


@app.command()
def index(
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Re-embed everything (also repairs a broken index).")
    ] = False,
) -> None:
    """Build or update the index from corpus/ (and ingested files); only changed chunks are embedded."""
    _build(service(), rebuild=rebuild, paths=[])


@app.command()
def ingest(
    paths: Annotated[list[str], typer.Argument(help="Markdown, text, HTML or PDF files, or folders of them.")],
) -> None:
    """Add your own documents (runbooks, policies) to the index; they are kept on every later `index`."""
    _build(service(), rebuild=False, paths=paths)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("--k", help="How many passages.")] = 5,
    mode: Annotated[
        list[Mode] | None, typer.Option("--mode", help="Only passages about this mode (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Hybrid (dense + BM25) search over the corpus."""
    svc = service()
    results = svc.search(query, k=k, modes=mode or [])
    if svc.index_status().stale:
        note("warning: the corpus changed since the index was built; run `assistant index` to update it.")
    if as_json:
        keys = ("doc_id", "title", "section", "modes", "score", "text", "source_url")
        emit_json([{key: p.public()[key] for key in keys} for p in results])
    else:
        typer.echo(render.passages(results))


@app.command()
def ratings(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """The ratings matrix (1-5 per mode and dimension) and the capability facts."""
    table = service().ratings_table()
    if as_json:
        emit_json(table)
        return
    modes = table["modes"]
    rows = [
        [info["label"], *(str(table["ratings"][m][dim]["score"]) for m in modes)]
        for dim, info in table["dimensions"].items()
    ]
    typer.echo(render.table(["dimension", *modes], rows))
    typer.echo("")
    caps = [[cap["label"], *(cap["modes"][m]["status"] for m in modes)] for cap in table["capabilities"].values()]
    typer.echo(render.table(["capability", *modes], caps))


@app.command()
def features(
    mode: Annotated[Mode | None, typer.Option("--mode", help="Only this mode's column.")] = None,
    feature: Annotated[str | None, typer.Option("--feature", help="Only this feature's row (by id).")] = None,
    differ: Annotated[bool, typer.Option("--differ", help="Only the rows where the modes differ.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The feature and status matrix: which feature works in which mode, since when, with its source."""
    table = service().features_table(feature=feature, mode=mode)
    if differ:
        table["features"] = {name: row for name, row in table["features"].items() if row["differs"]}
    if as_json:
        emit_json(table)
        return
    modes = table["modes"]
    rows = [
        [name, *(row["modes"][m]["status"].replace("_", " ") for m in modes)] for name, row in table["features"].items()
    ]
    typer.echo(render.table(["feature", *modes], rows))
    if mode is not None or feature is not None:
        typer.echo("")
        for name, row in table["features"].items():
            for m in modes:
                cell = row["modes"][m]
                typer.echo(
                    f"{name} [{m}] since {cell['since']} ({cell['since_date']}): {cell['note']} {cell['source']}"
                )


@app.command()
def sources(
    older_than: Annotated[
        int | None, typer.Option("--older-than", min=0, help="Only what was read more than DAYS days ago.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """When each document and feature-matrix cell was last read against its source, oldest first."""
    found = service().sources(older_than_days=older_than)
    if as_json:
        emit_json(found)
        return
    documents = [[d["as_of"], d["id"], d["title"]] for d in found["documents"]]
    cells = [[c["read"], f"{c['feature']} [{c['mode']}]", c["source"]] for c in found["cells"]]
    typer.echo(render.table(["as of", "document", "title"], documents) if documents else "No document.")
    typer.echo("")
    typer.echo(render.table(["read", "matrix cell", "source"], cells) if cells else "No matrix cell.")
