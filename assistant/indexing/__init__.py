"""Build the search index: chunk, embed, write a Chroma generation, switch.

This package is where Chroma is imported (store.py); before it is, Chroma's gRPC trace exporter, which nothing
here uses, is replaced by a stand-in that imports it on first use (see chroma_tracing.py).
"""

from assistant.indexing.chroma_tracing import defer_trace_exporter

defer_trace_exporter()
