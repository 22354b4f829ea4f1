"""Commands that run Mesh Assistant as a service: serve (the API), ui (the chat UI), export-model (for a runtime
without torch). A container image runs one of them by its command."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from assistant.cli.app import app, note
from assistant.config import Settings, get_settings
from assistant.errors import ConfigError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def bind_address(requested: str, settings: Settings, *, authenticated: bool) -> str:
    """Where a face may listen: anywhere when it authenticates its callers or ASSISTANT_AUTH=none says the
    cluster does; otherwise 127.0.0.1 only, whatever was asked."""
    if settings.auth == "none":
        if settings.api_keys:
            raise ConfigError(
                "ASSISTANT_AUTH=none and ASSISTANT_API_KEYS are both set.",
                hint="Keep the keys (and leave ASSISTANT_AUTH unset) or drop them; not both.",
            )
        note(
            f"WARNING: ASSISTANT_AUTH=none: serving on {requested} WITHOUT AUTHENTICATION. Anyone who reaches this "
            "port can use it; only run so behind an ingress or mesh that authenticates."
        )
        return requested
    if authenticated:
        return requested
    if requested not in LOOPBACK:
        note(
            f"warning: no API keys configured (ASSISTANT_API_KEYS) and ASSISTANT_AUTH is not none: refusing to "
            f"bind {requested}; using 127.0.0.1."
        )
    note("No API keys configured: serving on 127.0.0.1 only, without authentication.")
    return "127.0.0.1"


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default: ASSISTANT_HOST, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: ASSISTANT_PORT, 8000).")] = None,
) -> None:
    """Serve the HTTP API (and the Slack endpoint) with uvicorn."""
    settings = get_settings()
    bind = bind_address(host or settings.host, settings, authenticated=bool(settings.api_keys))
    require("uvicorn", "fastapi")
    import uvicorn

    from assistant.api import SERVER_OPTIONS

    uvicorn.run("assistant.api:create_app", factory=True, host=bind, port=port or settings.port, **SERVER_OPTIONS)


@app.command()
def ui(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8501,
) -> None:
    """Serve the chat UI (Streamlit), a client of the API at ASSISTANT_API_URL with ASSISTANT_API_KEY."""
    # The UI has no login of its own and holds the API key: it binds beyond loopback only with ASSISTANT_AUTH=none.
    bind = bind_address(host, get_settings(), authenticated=False)
    require("streamlit")
    spec = importlib.util.find_spec("ui")
    if spec is None or spec.origin is None:
        raise ConfigError("The chat UI (package `ui`) is not installed.", hint="pip install 'mesh-assistant[serve]'")
    page = Path(spec.origin).parent / "app.py"
    command = [sys.executable, "-m", "streamlit", "run", str(page), "--server.address", bind, "--server.port",
               str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"]  # fmt: skip
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, command)  # Streamlit becomes this process: signals and exit code are its own


@app.command(name="export-model")
def export_model(
    destination: Annotated[Path, typer.Argument(help="Folder to write (created if missing).")],
) -> None:
    """Write the embedding model as a folder that serves without torch: run it where torch is installed, then set
    ASSISTANT_EMBEDDING_MODEL=DESTINATION where it is not."""
    from assistant.embeddings import export_model as write

    onnx_file = write(get_settings(), destination)
    note(f"Wrote {onnx_file} ({onnx_file.stat().st_size / 1e6:.0f} MB) with the model's tokenizer and configuration.")
    note(f"Serve without torch with ASSISTANT_EMBEDDING_MODEL={destination.resolve()}")


def require(*modules: str) -> None:
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(
            f"This command needs {', '.join(missing)}, which is not installed.",
            hint="pip install 'mesh-assistant[serve]'",
        )
