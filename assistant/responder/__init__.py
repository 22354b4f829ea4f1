"""Question + history -> a cited Answer: understanding, retrieval, rules, composition, optional LLM."""

from assistant.responder.core import (
    CitationInvariantError,
    Delta,
    Final,
    Responder,
    StreamEvent,
    compared_modes,
    pieces,
    stream_events,
)

__all__ = [
    "CitationInvariantError",
    "Delta",
    "Final",
    "Responder",
    "StreamEvent",
    "compared_modes",
    "pieces",
    "stream_events",
]
