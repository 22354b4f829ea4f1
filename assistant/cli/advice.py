"""Commands that give advice: recommend (the rule layer), estimate (the sizing figures), ask and chat."""

from __future__ import annotations

import functools
import inspect
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from assistant.cli import render
from assistant.cli.app import app, emit_json, service
from assistant.domain.vocabulary import GrpcUse, Level
from assistant.errors import UserError
from assistant.responder import Delta, Final

# A cluster's numbers, as options of `estimate` and `recommend` (where they add the estimate to the ranking).
CLUSTER_OPTIONS = [
    inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[kind, option])
    for name, kind, default, option in [
        ("nodes", int | None, None, typer.Option("--nodes", help="Nodes that run meshed workloads.")),
        ("pods", int | None, None, typer.Option("--pods", help="Meshed pods (every replica counts).")),
        (
            "l7_scopes",
            int,
            0,
            typer.Option("--l7-scopes", help="Namespaces or services that need L7 (a waypoint each)."),
        ),
        ("requests_per_second", float, 0.0, typer.Option("--rps", help="Requests per second across the mesh.")),
        ("grpc_share", float | None, None, typer.Option("--grpc-share", help="Share of requests that are gRPC, 0-1.")),
        ("zones", int | None, None, typer.Option("--zones", help="Availability zones the nodes are spread over.")),
    ]
]


def cluster_options(command: Callable[..., None]) -> Callable[..., None]:
    """Give `command` the cluster's options; it receives them as `cluster`: the numbers given, or None when
    neither --nodes nor --pods is."""

    @functools.wraps(command)
    def run(**options: Any) -> None:
        given = {p.name: options.pop(p.name) for p in CLUSTER_OPTIONS}
        stated = given["nodes"] is not None or given["pods"] is not None
        command(**options, cluster={k: v for k, v in given.items() if v is not None} if stated else None)

    own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "cluster"]
    run.__signature__ = inspect.Signature([*own, *CLUSTER_OPTIONS])  # type: ignore[attr-defined]
    return run


@app.command()
@cluster_options
def recommend(
    security: Annotated[Level | None, typer.Option(help="How much security and isolation matter.")] = None,
    resources: Annotated[Level | None, typer.Option(help="How tight CPU and memory are.")] = None,
    performance: Annotated[Level | None, typer.Option(help="How much added latency matters.")] = None,
    simplicity: Annotated[Level | None, typer.Option(help="How little operational complexity you can afford.")] = None,
    maturity: Annotated[Level | None, typer.Option(help="How much production maturity matters.")] = None,
    network: Annotated[Level | None, typer.Option(help="How much network overhead and cross-zone cost matter.")] = None,
    grpc: Annotated[GrpcUse | None, typer.Option(help="How many of your services speak gRPC.")] = None,
    cilium: Annotated[bool, typer.Option("--cilium", help="You already run Cilium as your CNI.")] = False,
    vms: Annotated[bool, typer.Option("--vms", help="Some workloads run on VMs outside Kubernetes.")] = False,
    multicluster: Annotated[bool, typer.Option("--multicluster", help="One mesh spans several clusters.")] = False,
    envoyfilter: Annotated[bool, typer.Option("--envoyfilter", help="You rely on EnvoyFilter/Lua.")] = False,
    regulated: Annotated[bool, typer.Option("--regulated", help="Finance, healthcare or strict audits.")] = False,
    no_restarts: Annotated[
        bool, typer.Option("--no-restarts", help="Pods cannot be restarted to enrol/upgrade.")
    ] = False,
    adr: Annotated[bool, typer.Option("--adr", help="Print it as an architecture decision record (Markdown).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    cluster: dict[str, Any] | None = None,
) -> None:
    """Rank the four modes for your requirements, with reasons, exclusions, assumptions and what would change it;
    with --nodes and --pods, also each mode's estimated data-plane cost."""
    stated: dict[str, Any] = {
        "security": security,
        "resources": resources,
        "performance": performance,
        "simplicity": simplicity,
        "maturity": maturity,
        "network": network,
        "grpc": grpc,
        **{
            name: True
            for name, on in [
                ("cilium", cilium),
                ("vms", vms),
                ("multicluster", multicluster),
                ("envoyfilter", envoyfilter),
                ("regulated", regulated),
                ("no_restarts", no_restarts),
            ]
            if on
        },
    }
    stated["cluster"] = cluster
    requirements = {name: value for name, value in stated.items() if value is not None}
    if adr:
        typer.echo(service().decision_record(requirements), nl=False)
        return
    result = service().recommend(requirements)
    if as_json:
        emit_json(result)
    else:
        typer.echo(render.recommendation(result))


@app.command()
@cluster_options
def estimate(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    cluster: dict[str, Any] | None = None,
) -> None:
    """Each mode's data-plane CPU and memory for your cluster, every figure cited with its release, load and
    set-up; a part nobody publishes a figure for is shown as such, never guessed."""
    if cluster is None or "nodes" not in cluster or "pods" not in cluster:
        raise UserError(
            "The estimate needs the cluster's --nodes and --pods.", hint="assistant estimate --nodes 40 --pods 1200"
        )
    found = service().estimate(**cluster)
    if as_json:
        emit_json(found)
    else:
        typer.echo(render.estimate(found))


def _history(path: Path | None) -> list[Any]:
    if path is None:
        return []
    try:
        history = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(
            f"Cannot read the history file {path}: {exc}", hint='It holds [{"role": ..., "content": ...}].'
        ) from exc
    if not isinstance(history, list):
        raise UserError(f"{path} must hold a JSON list of turns.", hint='[{"role": "user", "content": "..."}]')
    return history


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="Your question, in your own words.")],
    history_file: Annotated[Path | None, typer.Option("--history-file", help="JSON list of earlier turns.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole Answer as JSON.")] = False,
) -> None:
    """Ask a question; the answer cites its sources."""
    answer = service().ask(question, _history(history_file))
    if as_json:
        emit_json(answer)
        return
    typer.echo(answer.text)
    footer = render.answer_footer(answer)
    if footer:
        typer.echo(f"\n{footer}")


@app.command()
def chat() -> None:
    """An interactive conversation (history is kept; /new starts over, /quit or Ctrl-D leaves)."""
    svc = service()
    history: list[dict[str, str]] = []
    typer.echo("Mesh Assistant. Ask about sidecar, ambient, Cilium or proxyless gRPC. /new starts over, /quit leaves.")
    while True:
        try:
            question = input("\nyou> ").strip()
        except EOFError:
            typer.echo("")
            return
        if question in ("/quit", "/exit"):
            return
        if question == "/new":
            history = []
            typer.echo("(new conversation)")
            continue
        if not question:
            continue
        try:
            events = svc.stream(question, history)
            sys.stdout.write("\nassistant> ")
            for event in events:
                if isinstance(event, Delta):
                    sys.stdout.write(event.text)
                    sys.stdout.flush()
                elif isinstance(event, Final):
                    footer = render.answer_footer(event.answer)
                    typer.echo(f"\n\n{footer}" if footer else "")
                    history += [
                        {"role": "user", "content": question},
                        {"role": "assistant", "content": event.answer.text},
                    ]
        except UserError as exc:
            typer.echo(f"error: {exc.message}", err=True)
