"""The command line: `assistant index | ingest | search | ratings | recommend | ...`.

Errors are printed as `error:` and `hint:` lines without a traceback; exit code 2 for a mistake in the
input or files, 1 when the system cannot serve (no index, no model).
"""

from __future__ import annotations

import sys

import typer

from assistant.cli import advice, integrations, knowledge, ops, serving
from assistant.cli.app import app
from assistant.errors import AssistantError, UserError

__all__ = ["advice", "app", "integrations", "knowledge", "main", "ops", "serving"]


def main() -> None:
    try:
        app()
    except AssistantError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        if exc.hint:
            typer.echo(f"hint: {exc.hint}", err=True)
        sys.exit(2 if isinstance(exc, UserError) else 1)
    except KeyboardInterrupt:
        sys.exit(130)
