"""The commands that run it as a service: where `serve` and `ui` may listen (ASSISTANT_AUTH), and
`export-model`, whose folder serves without torch."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.cli.serving import bind_address
from assistant.config import Settings
from assistant.embeddings import Embedder, make_embedder
from assistant.errors import ConfigError, ModelUnavailableError
from tests.api.test_operations import listening_addresses
from tests.live import free_port, process

TEXTS = ["What is ztunnel?", "Ambient mode runs one ztunnel per node."]


@pytest.mark.parametrize(
    ("auth", "keys", "requested", "authenticated", "bound"),
    [
        ("keys", [], "0.0.0.0", False, "127.0.0.1"),  # no keys: loopback only, whatever was asked
        ("keys", [], "localhost", False, "127.0.0.1"),
        ("keys", ["k1"], "0.0.0.0", True, "0.0.0.0"),  # the API checks keys
        ("keys", ["k1"], "0.0.0.0", False, "127.0.0.1"),  # the UI never does
        ("none", [], "0.0.0.0", False, "0.0.0.0"),  # the cluster authenticates in front of it
    ],
)
def test_where_a_face_may_listen(auth: str, keys: list[str], requested: str, authenticated: bool, bound: str) -> None:
    settings = Settings(_env_file=None, auth=auth, api_keys=keys)  # type: ignore[arg-type]
    assert bind_address(requested, settings, authenticated=authenticated) == bound


def test_no_auth_and_keys_together_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="ASSISTANT_AUTH=none and ASSISTANT_API_KEYS"):
        bind_address("0.0.0.0", Settings(_env_file=None, auth="none", api_keys=["k1"]), authenticated=True)


@pytest.fixture(scope="module")
def served_with_auth_none(
    built_index: Path, models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, int, Path]]:
    workdir = tmp_path_factory.mktemp("auth-none")
    env = {name: value for name, value in os.environ.items() if not name.startswith("ASSISTANT_")}
    env |= {"ASSISTANT_DATA_DIR": str(built_index), "ASSISTANT_MODEL_CACHE_DIR": str(models_dir)}
    port, log = free_port(), workdir / "serve.log"
    command = [sys.executable, "-m", "assistant", "serve", "--host", "0.0.0.0", "--port", str(port)]
    with process(command, env | {"ASSISTANT_AUTH": "none"}, f"http://127.0.0.1:{port}/readyz", log, cwd=workdir) as url:
        yield url, port, log


@pytest.mark.slow
def test_auth_none_binds_every_interface_without_keys_and_says_so_loudly(
    served_with_auth_none: tuple[str, int, Path],
) -> None:
    url, port, log = served_with_auth_none
    assert log.read_text().startswith("WARNING: ASSISTANT_AUTH=none: serving on 0.0.0.0 WITHOUT AUTHENTICATION.")
    assert listening_addresses(port) == {ipaddress.ip_address("0.0.0.0")}
    assert httpx.get(f"{url}/v1/modes").status_code == 200  # no key asked for


@pytest.fixture
def without_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process where torch and sentence-transformers cannot be imported, as in the serve-only runtime."""
    for name in ("torch", "sentence_transformers", "transformers"):
        monkeypatch.setitem(sys.modules, name, None)


@pytest.mark.usefixtures("without_torch")
def test_an_exported_folder_serves_without_torch(embedder: Embedder, tmp_path: Path, models_dir: Path) -> None:
    result = CliRunner().invoke(app, ["export-model", str(tmp_path / "model")])
    assert result.exit_code == 0, result.output
    assert f"ASSISTANT_EMBEDDING_MODEL={tmp_path / 'model'}" in result.output
    exported = make_embedder(
        Settings(_env_file=None, embedding_model=str(tmp_path / "model"), model_cache_dir=tmp_path / "no-cache")
    )
    assert exported.engine == "onnxruntime" and exported.model_id == embedder.model_id  # an index stays valid
    np.testing.assert_allclose(exported.encode(TEXTS), embedder.encode(TEXTS), atol=1e-6)
    assert not (tmp_path / "no-cache").exists()  # nothing exported again
    assert not (tmp_path / "model" / "model.safetensors").exists()  # the weights are in the ONNX file only


@pytest.mark.usefixtures("without_torch")
def test_a_model_that_needs_torch_fails_with_the_command_that_fixes_it(embedder: Embedder, tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError) as caught:  # not exported yet, and nothing here can export it
        make_embedder(Settings(_env_file=None, embedding_model=embedder.target, model_cache_dir=tmp_path))
    assert "sentence-transformers (torch)" in caught.value.message
    assert "assistant export-model DIR" in caught.value.hint


def test_export_model_refuses_a_model_onnx_runtime_cannot_run_alone(tmp_path: Path) -> None:
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    result = CliRunner().invoke(
        app, ["export-model", str(tmp_path / "out")], env={"ASSISTANT_EMBEDDING_MODEL": str(folder)}
    )
    assert result.exit_code != 0 and isinstance(result.exception, ConfigError)
    assert "mean Pooling" in result.exception.message and not (tmp_path / "out").exists()


# What a server holds: modules it never needs stay out of its memory (issue 16's RSS target) -------------------------
NEVER_SERVED = ("torch", "sklearn", "pandas", "pyarrow", "sqlalchemy", "redis", "mcp", "langchain.chat_models")
HELD = """
import sys
from assistant.api import create_app
create_app().state.service.warm_up()
print(" ".join(name for name in sys.argv[1:] if name in sys.modules))
"""


@pytest.mark.slow
def test_a_ready_server_holds_neither_torch_nor_scikit_learn_nor_what_it_was_not_asked_for(built_index: Path) -> None:
    """The model loaded, the index open and the kind model fitted (in a child process): none of these loaded.
    SQLAlchemy comes with the first feedback, the MCP SDK with the first MCP request, redis with a Redis URL and
    LangChain's chat models with ASSISTANT_LLM."""
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(built_index)}
    held = subprocess.run(
        [sys.executable, "-c", HELD, *NEVER_SERVED], env=env, capture_output=True, text=True, check=True
    )  # fmt: skip
    assert held.stdout.split() == []
