"""The HTTP API (FastAPI) that Slack bots, scripts and the UI call."""

from assistant.api.app import SERVER_OPTIONS, create_app

__all__ = ["SERVER_OPTIONS", "create_app"]
