"""The Typer application and the helpers every command shares."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from pydantic import BaseModel

from assistant.config import get_settings
from assistant.service import Service

app = typer.Typer(
    name="assistant",
    help="Mesh Assistant: choose a service-mesh data-plane model (sidecar, ambient, cilium, grpc), with sources.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def service() -> Service:
    return Service(get_settings())


def emit_json(value: Any) -> None:
    """Print JSON to stdout: pydantic models, lists of them, or plain data."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    elif isinstance(value, list):
        value = [item.model_dump(mode="json") if isinstance(item, BaseModel) else item for item in value]
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def note(message: str) -> None:
    """A status line on stderr, so stdout stays clean for --json consumers."""
    typer.echo(message, err=True)
