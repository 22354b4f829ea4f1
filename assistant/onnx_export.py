"""A sentence-transformers model folder as an ONNX Runtime session: exported once with torch, then cached.

On this kind of 2-core CPU, ONNX Runtime runs all-MiniLM-L6-v2 on a short question in about 4 ms where eager
PyTorch takes 12, and a process that loads the cached file never imports torch. The file is named by a digest of
the model's files and of this exporter's recipe, so a changed model or recipe is exported again; several
processes may export at once (each writes aside and renames).

`write_folder` makes a folder that serves without torch at all (`assistant export-model DIR`): the ONNX file, the
model's tokenizer and configuration files (everything but the weights), and the model id an index records.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import onnxruntime as ort
from onnxruntime.capi.onnxruntime_pybind11_state import Fail, InvalidGraph, InvalidProtobuf

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT = "last_hidden_state"
OPSET = 17
RECIPE = f"opset{OPSET}-torchscript-1"  # change it when the export below changes: cached files are exported again
MODEL_SUFFIXES = (".json", ".safetensors", ".bin", ".txt")
EXPORTED = "model.onnx"  # in a folder written by `write_folder`
EXPORT_INFO = "mesh-assistant-export.json"
RUNTIME_SUFFIXES = (".json", ".txt")  # what ONNX Runtime needs besides the ONNX file: tokenizer and configuration

log = logging.getLogger(__name__)


def onnx_session(folder: Path, cache_dir: Path) -> ort.InferenceSession:
    """A session that maps the model's token inputs to `last_hidden_state`, exporting the model on first use
    (and again when the cached file cannot be loaded, say one damaged on disk). A folder written by `write_folder`
    is loaded as it is: nothing is exported and torch is never imported."""
    if (folder / EXPORTED).is_file():
        return _load(folder / EXPORTED)
    path = cached_path(folder, cache_dir)
    if path.exists():
        try:
            return _load(path)
        except (Fail, InvalidGraph, InvalidProtobuf) as exc:
            log.warning("cannot load %s (%s); exporting the model again", path, exc)
    export(folder, path)
    return _load(path)


def cached_path(folder: Path, cache_dir: Path) -> Path:
    return cache_dir / f"{folder.name}-{model_digest(folder)}.onnx"


def write_folder(folder: Path, cache_dir: Path, destination: Path, *, model_id: str) -> Path:
    """Write a folder that runs `folder`'s model without torch (exported now unless the cache holds it)."""
    onnx_session(folder, cache_dir)  # exports into the cache when needed, and proves the file loads
    exported = folder / EXPORTED if (folder / EXPORTED).is_file() else cached_path(folder, cache_dir)
    destination.mkdir(parents=True, exist_ok=True)
    for file in folder.rglob("*"):
        if file.is_file() and file.suffix in RUNTIME_SUFFIXES and file.name != EXPORT_INFO:
            target = destination / file.relative_to(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, target)
    shutil.copyfile(exported, destination / EXPORTED)
    (destination / EXPORT_INFO).write_text(json.dumps({"model_id": model_id, "recipe": RECIPE}, indent=2) + "\n")
    return destination / EXPORTED


def exported_model_id(folder: Path) -> str | None:
    """The model id recorded by `write_folder`, or None for any other folder."""
    try:
        model_id = json.loads((folder / EXPORT_INFO).read_text("utf-8"))["model_id"]
    except (OSError, ValueError, LookupError, TypeError):
        return None
    return model_id if isinstance(model_id, str) and model_id else None


def _load(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3  # warnings about unused initialisers are noise here
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def model_digest(folder: Path) -> str:
    digest = hashlib.sha256(RECIPE.encode())
    for file in sorted(folder.iterdir()):
        if file.is_file() and file.suffix in MODEL_SUFFIXES:
            digest.update(file.name.encode())
            with file.open("rb") as stream:
                digest.update(hashlib.file_digest(stream, "sha256").digest())
    return digest.hexdigest()[:16]


def export(folder: Path, destination: Path) -> None:
    """Trace the folder's transformer to ONNX with dynamic batch and sequence axes, written aside and renamed."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(folder).eval()
    accepted = inspect.signature(model.forward).parameters
    names = [name for name in INPUTS if name in accepted]

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: torch.Tensor) -> Any:
            return self.model(**dict(zip(names, tensors, strict=True))).last_hidden_state

    sample = tuple(torch.ones((2, 8), dtype=torch.int64) for _ in names)
    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, OUTPUT]}
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=destination.name, suffix=".partial", dir=destination.parent)
    os.close(handle)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the TorchScript exporter announces its own deprecation
            torch.onnx.export(
                Hidden().eval(),
                sample,
                partial,
                input_names=names,
                output_names=[OUTPUT],
                dynamic_axes=axes,
                opset_version=OPSET,
                dynamo=False,
            )
        os.replace(partial, destination)
    finally:
        Path(partial).unlink(missing_ok=True)
