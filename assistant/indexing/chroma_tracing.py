"""Chroma without the gRPC trace exporter this project never asks it for.

`import chromadb` imports OpenTelemetry's OTLP span exporter over gRPC (in `chromadb.telemetry.opentelemetry`),
and with it grpc and protobuf: about 10 MB and 190 modules in every process that opens an index. Chroma makes an
exporter only when its `chroma_otel_collection_endpoint` setting is set, which this project never does.
`defer_trace_exporter()`, called before chromadb is imported, puts a stand-in module in the exporter module's place:
its `OTLPSpanExporter` imports the real module when it is called, and any other name is read from the real module.
Where something imported the exporter module already, it stays as it is.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

EXPORTER = "opentelemetry.exporter.otlp.proto.grpc.trace_exporter"


class _StandIn(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # the import system asks for __path__ and the like: a plain module has none
            raise AttributeError(name)
        return getattr(_real(), name)


def _real() -> types.ModuleType:
    """The real exporter module, imported now if the stand-in still holds its place."""
    if isinstance(sys.modules.get(EXPORTER), _StandIn):
        del sys.modules[EXPORTER]
    return importlib.import_module(EXPORTER)


def _exporter(*args: Any, **kwargs: Any) -> Any:
    """OTLPSpanExporter(...): the real exporter, whose module (grpc, protobuf) is imported now."""
    return _real().OTLPSpanExporter(*args, **kwargs)


def defer_trace_exporter() -> None:
    if EXPORTER in sys.modules:
        return
    stand_in = _StandIn(EXPORTER, __doc__)
    stand_in.OTLPSpanExporter = _exporter  # type: ignore[attr-defined]
    sys.modules[EXPORTER] = stand_in
