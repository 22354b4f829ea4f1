"""Question + history -> a cited Answer: understanding, retrieval, rules, composition, optional LLM."""

from assistant.responder.core import Delta, Final, Responder, StreamEvent, pieces, stream_events

__all__ = ["Delta", "Final", "Responder", "StreamEvent", "pieces", "stream_events"]
