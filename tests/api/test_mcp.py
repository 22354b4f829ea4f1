"""The MCP server through the official SDK's own client, over both transports: streamable HTTP at /mcp on a real
API server (behind its keys and rate limit) and stdio (`assistant mcp` as a subprocess)."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, TextContent

from assistant.api.models import AskRequest, FeaturesRequest, RatingsRequest, RecommendRequest, SearchRequest
from assistant.config import PROJECT_ROOT, Settings
from assistant.service import Service
from tests.live import LiveServer, serve

pytestmark = pytest.mark.slow

KEY = "k-mcp"
BANK = "We're a bank with strict isolation needs. Which mode?"
REQUIREMENTS = {"security": "high", "regulated": True}
SCHEMAS = {
    "recommend": RecommendRequest, "ask": AskRequest, "search": SearchRequest, "ratings": RatingsRequest,
    "features": FeaturesRequest,
}  # fmt: skip


@pytest.fixture(scope="module")
def keyed_api(built_index: Path, service: Service) -> Iterator[LiveServer]:
    settings = Settings(_env_file=None, data_dir=built_index, api_keys=[KEY], rate_limit_per_minute=100_000)
    with serve(settings, service) as live:
        yield live


Session = Callable[[Client], Awaitable[Any]]


def over_http(live: LiveServer, session: Session, key: str | None = KEY) -> Any:
    async def run() -> Any:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=60) as http,
            Client(streamable_http_client(f"{live.url}/mcp", http_client=http)) as client,
        ):
            return await session(client)

    return anyio.run(run)


def over_stdio(data_dir: Path, session: Session) -> Any:
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    server = StdioServerParameters(command=sys.executable, args=["-m", "assistant", "mcp"], env=env, cwd=PROJECT_ROOT)

    async def run() -> Any:
        async with Client(server, read_timeout_seconds=120) as client:
            return await session(client)

    return anyio.run(run)


def text(result: CallToolResult) -> str:
    [content] = result.content
    assert isinstance(content, TextContent)
    return content.text


async def everything(client: Client) -> dict[str, Any]:
    return {
        "tools": (await client.list_tools()).tools,
        "recommend": await client.call_tool("recommend", {"requirements": REQUIREMENTS}),
        "ask": await client.call_tool("ask", {"question": BANK}),
        "bad": await client.call_tool("ask", {"question": "", "histories": []}),
    }


def check_everything(found: dict[str, Any], service: Service) -> None:
    """Tools listed with the API's schemas; a cited recommendation and a cited answer; a bad argument named."""
    assert {tool.name: tool.input_schema for tool in found["tools"]} == {
        name: model.model_json_schema() for name, model in SCHEMAS.items()
    }

    recommended: CallToolResult = found["recommend"]
    assert not recommended.is_error and recommended.structured_content is not None
    expected = service.recommend(REQUIREMENTS).model_dump(mode="json")
    assert {k: v for k, v in recommended.structured_content.items() if k != "citations"} == expected
    citations = recommended.structured_content["citations"]
    assert citations and all(c["source_url"].startswith("https://") for c in citations)
    assert text(recommended).startswith("1. sidecar (score")
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", text(recommended))}
    assert cited == {c["n"] for c in citations}  # every [n] has its source URL, and every source is cited

    answered: CallToolResult = found["ask"]
    assert not answered.is_error and answered.structured_content is not None
    answer = answered.structured_content
    assert answer["text"] == service.ask(BANK).text and answer["text"].startswith("**Sidecar** is the best fit")
    assert {int(n) for n in re.findall(r"\[(\d+)\]", answer["text"])} <= {c["n"] for c in answer["citations"]}
    for citation in answer["citations"]:
        assert f"[{citation['n']}] {citation['title']} - {citation['section']}: {citation['source_url']}" in text(
            answered
        )

    bad: CallToolResult = found["bad"]
    assert bad.is_error
    assert text(bad).startswith("Invalid arguments for ask: question: String should have at least 1 character")
    assert "histories: Extra inputs are not permitted" in text(bad)


def test_the_tools_over_http(keyed_api: LiveServer, service: Service) -> None:
    check_everything(over_http(keyed_api, everything), service)


def test_the_tools_over_stdio(built_index: Path, service: Service) -> None:
    check_everything(over_stdio(built_index, everything), service)


def test_search_ratings_and_features_over_http(keyed_api: LiveServer, service: Service) -> None:
    async def session(client: Client) -> list[CallToolResult]:
        return [
            await client.call_tool("search", {"q": "ztunnel memory", "k": 3, "mode": ["ambient"]}),
            await client.call_tool("ratings", {}),
            await client.call_tool("features", {"feature": "jobs_cronjobs"}),
            await client.call_tool("features", {"feature": "teleportation"}),
        ]

    search, ratings, features, unknown = over_http(keyed_api, session)
    passages = search.structured_content["passages"]  # type: ignore[index]
    expected = service.search("ztunnel memory", k=3, modes=["ambient"])  # type: ignore[list-item]
    assert [p["chunk_id"] for p in passages] == [p.chunk.id for p in expected]
    assert all(p["source_url"] in text(search) for p in passages)
    assert ratings.structured_content == service.ratings_table()
    assert features.structured_content == service.features_table(feature="jobs_cronjobs")
    assert unknown.is_error and "unknown feature 'teleportation'" in text(unknown) and "jobs_cronjobs" in text(unknown)


def test_http_without_a_key_is_refused(keyed_api: LiveServer) -> None:
    with pytest.raises(ExceptionGroup) as refused:
        over_http(keyed_api, lambda client: client.list_tools(), key=None)
    assert refused.group_contains(MCPError, match="Server returned an error response", depth=2)
    response = httpx.post(f"{keyed_api.url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "unauthorized"


def test_http_shares_the_rate_limit_of_the_api(built_index: Path, service: Service) -> None:
    settings = Settings(_env_file=None, data_dir=built_index, api_keys=[KEY], rate_limit_per_minute=2)
    headers = {"Authorization": f"Bearer {KEY}", "Accept": "application/json, text/event-stream"}
    listing = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    with serve(settings, service) as live:
        assert httpx.get(f"{live.url}/v1/modes", headers=headers).status_code == 200
        assert httpx.post(f"{live.url}/mcp", json=listing, headers=headers).status_code != 429
        limited = httpx.post(f"{live.url}/mcp", json=listing, headers=headers)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
