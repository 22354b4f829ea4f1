"""What the OpenAPI schema states beyond what the routes declare, so that it is the API's whole contract:
authentication only where the server has keys, error bodies as JSON also where the route answers Markdown, and
the feature ids this server's corpus knows (an unknown one is a 422, so the schema names the valid ones)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assistant.config import Settings


def state_contract(schema: dict[str, Any], settings: Settings, features: Sequence[str]) -> dict[str, Any]:
    operations = [op for path in schema.get("paths", {}).values() for op in path.values()]
    for operation in operations:
        for status, response in operation.get("responses", {}).items():
            content = response.get("content", {})
            if status.startswith(("4", "5")) and content and "application/json" not in content:
                response["content"] = {"application/json": next(iter(content.values()))}
    if not settings.api_keys:  # no keys: no scheme to document, and a key sent is simply not read
        schema.get("components", {}).pop("securitySchemes", None)
        for operation in operations:
            operation.pop("security", None)
    if features:
        components = schema.get("components", {}).get("schemas", {})
        needs = components.get("Requirements", {}).get("properties", {}).get("needs", {})
        if "items" in needs:
            needs["items"]["enum"] = list(features)
        for operation in operations:
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "feature":
                    _restrict_strings(parameter["schema"], features)
    return schema


def _restrict_strings(schema: dict[str, Any], values: Sequence[str]) -> None:
    """Give the string branch of `schema` (a plain string, or one choice of an anyOf) these values."""
    for branch in [schema, *schema.get("anyOf", [])]:
        if branch.get("type") == "string":
            branch["enum"] = list(values)
            branch.pop("maxLength", None)
