"""Mesh Assistant: cited, deterministic advice on choosing a service-mesh data-plane model."""

__version__ = "0.1.0"
