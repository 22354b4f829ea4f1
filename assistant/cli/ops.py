"""Commands for operators: bench, eval."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from assistant.cli.app import app, emit_json, service
from assistant.errors import ConfigError


@app.command()
def bench(
    synthetic: Annotated[int, typer.Option(help="Chunks in the synthetic large corpus (0 skips it).")] = 100_000,
    rounds: Annotated[int, typer.Option(help="Timed queries per in-process figure.")] = 200,
    load: Annotated[int, typer.Option(help="Requests in the HTTP load run (0 skips it).")] = 2000,
    concurrency: Annotated[int, typer.Option(help="Concurrent clients in the HTTP load run.")] = 8,
    runtime: Annotated[
        Path | None, typer.Option(help="A serve-only runtime made by `make runtime`: its server RSS is compared.")
    ] = None,
) -> None:
    """Measure index throughput, search and ask latency, the HTTP API under load, and search at scale."""
    from assistant import bench as benchmarks

    if runtime is not None and not (runtime / "venv" / "bin" / "assistant").is_file():
        raise ConfigError(f"{runtime} holds no runtime (venv/bin/assistant).", hint="Run `make runtime` first.")
    figures = benchmarks.run(
        service(), synthetic_size=synthetic, rounds=rounds, load=load, concurrency=concurrency, runtime=runtime
    )
    for line in figures:
        typer.echo(line)


@app.command(name="eval")
def run_eval(
    fixtures: Annotated[
        list[Path] | None, typer.Option("--fixtures", help="Fixture files or folders (default: evals/fixtures/).")
    ] = None,
    k: Annotated[int, typer.Option("--k", help="Passages considered for hit@k and MRR.")] = 5,
    report_dir: Annotated[Path, typer.Option("--report-dir", help="Where eval.json and summary.md go.")] = Path(
        "reports/eval"
    ),
    junit: Annotated[
        Path | None, typer.Option("--junit", help="JUnit XML path (default: REPORT_DIR/junit.xml).")
    ] = None,
    baseline: Annotated[Path, typer.Option("--baseline", help="Accepted metrics to compare with.")] = Path(
        "evals/baseline.json"
    ),
    update_baseline: Annotated[bool, typer.Option("--update-baseline", help="Accept these metrics.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON report.")] = False,
) -> None:
    """Run the eval fixtures; exit 0 when every threshold and the baseline hold, 1 when not, 2 on bad fixtures."""
    from assistant.evals import gate, metrics, reports
    from assistant.evals.fixtures import load_cases
    from assistant.evals.runner import run_cases

    cases = load_cases(fixtures or [Path("evals/fixtures")])
    thresholds = gate.load_thresholds(Path("evals/thresholds.yaml"))
    accepted = None if update_baseline else gate.load_baseline(baseline)
    svc = service()
    svc.warm_up()  # keep model loading out of the latency figures
    results = run_cases(cases, lambda case: svc.ask(case.question, case.history), svc.check_answer)
    figures = metrics.compute(results, k=k)
    splits = metrics.by_split(results, k=k)
    verdict = gate.check(figures, thresholds, accepted, splits)
    if update_baseline:
        gate.save_baseline(baseline, figures)
    breakdown = reports.Breakdown(splits, metrics.by_kind(results), metrics.understanding(results))
    reports.write(report_dir, results, figures, verdict, junit, breakdown)
    if as_json:
        emit_json(reports.as_json(results, figures, verdict, breakdown))
    else:
        typer.echo(reports.failing_table(results))
        typer.echo("")
        typer.echo(reports.metrics_table(figures))
        typer.echo("")
        typer.echo(reports.breakdown_text(breakdown))
        for failure in verdict.failures:
            typer.echo(f"GATE FAILED: {failure}", err=True)
        typer.echo(f"\n{'Gate passed' if verdict.passed else 'Gate failed'} ({len(results)} cases).")
    raise typer.Exit(0 if verdict.passed else 1)
