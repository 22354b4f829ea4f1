"""The HTTP API (FastAPI) that Slack bots, scripts and the UI call."""

from assistant.api.app import create_app

__all__ = ["create_app"]
