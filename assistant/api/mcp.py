"""The MCP face: tools `recommend`, `ask`, `search`, `ratings` and `features` over the service, for coding
assistants and any other MCP client (the official `mcp` SDK, low-level server).

Each tool's input schema is the HTTP API's request model (models.py) and arguments are validated by it, so a bad
argument is a tool error naming the field and the problem. A result is JSON (`structuredContent`) and the same as
text for the model to read; answers and recommendations carry their citations with source URLs.

Two transports: stdio (`assistant mcp`, for a local client's configuration) and streamable HTTP at `/mcp` on the
API. Over HTTP the server is stateless and answers JSON, so any replica serves any request; `/mcp` is served as
`/v1/mcp` inside, where the gate authenticates and rate-limits it like every other `/v1` route (mcp_http.py mounts
it and imports this module on the first MCP request).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server
from mcp.server.context import ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import BaseModel, ValidationError

from assistant import __version__
from assistant.api.models import (
    AskRequest,
    FeaturesRequest,
    PassagePublic,
    RatingsRequest,
    RecommendRequest,
    SearchRequest,
)
from assistant.config import Settings
from assistant.domain.answers import Answer
from assistant.errors import AssistantError
from assistant.service import Service

LOOPBACK_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
INSTRUCTIONS = """Cited advice on choosing a service-mesh data plane: sidecar (Istio's Envoy per pod), ambient
(Istio's ztunnel per node plus waypoints), cilium (eBPF, a shared per-node Envoy) or grpc (proxyless). Use
`recommend` with stated requirements, `ask` for a question in words (with earlier turns as history), `search` for
passages, `ratings` and `features` for the matrices. Every [n] in a result resolves to a source URL."""

Result = dict[str, Any]


@dataclass(frozen=True)
class ToolSpec:
    name: str
    title: str
    description: str
    model: type[BaseModel]
    run: Callable[[Service, Any], Result]
    text: Callable[[Result], str]


def _ask(service: Service, request: AskRequest) -> Result:
    return service.ask(request.question, request.history).model_dump(mode="json")


def _answer_text(result: Result) -> str:
    answer = Answer.model_validate(result)
    sources = [f"[{c.n}] {c.title} - {c.section}: {c.source_url}" for c in answer.citations]
    return "\n\n".join([answer.text, *(["Sources:\n" + "\n".join(sources)] if sources else [])])


def _recommend(service: Service, request: RecommendRequest) -> Result:
    recommendation = service.recommend(request.requirements)
    citations = [
        {"n": n, "ref": ref, "label": source.label, "source_url": source.url, "where": source.where}
        for n, (ref, source) in enumerate(service.recommendation_sources(recommendation).items(), start=1)
    ]
    return recommendation.model_dump(mode="json") | {"citations": citations}


def _recommendation_text(result: Result) -> str:
    numbers = {citation["ref"]: citation["n"] for citation in result["citations"]}

    def cited(reason: Result) -> str:
        return f"{reason['text']} [{numbers[reason['ref']]}]" if reason["ref"] in numbers else reason["text"]

    lines = []
    for ranked in result["ranking"]:
        lines.append(f"{ranked['rank']}. {ranked['mode']} (score {ranked['score']:.2f})")
        lines += [f"   + {cited(reason)}" for reason in ranked["reasons"]]
        lines += [f"   - {cited(caveat)}" for caveat in ranked["caveats"]]
    lines += [f"Excluded: {excluded['mode']}: {cited(excluded['reason'])}" for excluded in result["excluded"]]
    lines += [f"What would change it: {counterfactual['text']}" for counterfactual in result["counterfactuals"]]
    lines += ["Sources:", *(f"[{c['n']}] {c['label']}: {c['source_url']}" for c in result["citations"])]
    return "\n".join(lines)


def _search(service: Service, request: SearchRequest) -> Result:
    passages = service.search(request.q, k=request.k, modes=request.mode)
    return {"passages": [PassagePublic.of(passage).model_dump(mode="json") for passage in passages]}


def _passages_text(result: Result) -> str:
    return "\n\n".join(
        f"[{n}] {p['title']} - {p['section']} ({p['source_url']}, as of {p['as_of']})\n{p['text']}"
        for n, p in enumerate(result["passages"], start=1)
    )


def _json_text(result: Result) -> str:
    return json.dumps(result, ensure_ascii=False)


TOOLS = [
    ToolSpec(
        "recommend",
        "Recommend a data plane",
        "Rank the four data-plane modes for stated requirements: each with its score, reasons and caveats, the "
        "modes a hard need excludes, the assumptions made and what would change the ranking; every reason cites "
        "its source (`citations`, with URLs).",
        RecommendRequest,
        _recommend,
        _recommendation_text,
    ),
    ToolSpec(
        "ask",
        "Ask a question",
        "Answer a question about service-mesh data planes in words, given the conversation so far (`history`, "
        "oldest first): the answer text with [n] markers and `citations` (title, section, source URL, passage).",
        AskRequest,
        _ask,
        _answer_text,
    ),
    ToolSpec(
        "search",
        "Search the sources",
        "Hybrid search (dense and BM25) over the corpus: passages with scores and source URLs, optionally only "
        "those about some modes.",
        SearchRequest,
        _search,
        _passages_text,
    ),
    ToolSpec(
        "ratings",
        "The ratings matrix",
        "Each mode rated 1-5 per dimension with the rationale and source, and the capability facts.",
        RatingsRequest,
        lambda service, _request: service.ratings_table(),
        _json_text,
    ),
    ToolSpec(
        "features",
        "The feature matrix",
        "Which feature works in which mode: status, since which release, a note, the source URL and the date it "
        "was read; optionally one feature's row or one mode's column.",
        FeaturesRequest,
        lambda service, request: service.features_table(feature=request.feature, mode=request.mode),
        _json_text,
    ),
]


def make_mcp_server(service: Service) -> Server[Any]:
    """The MCP server over `service`, for either transport."""
    specs = {spec.name: spec for spec in TOOLS}
    listed = types.ListToolsResult(
        tools=[
            types.Tool(
                name=spec.name,
                title=spec.title,
                description=spec.description,
                input_schema=spec.model.model_json_schema(),
                annotations=types.ToolAnnotations(read_only_hint=True, open_world_hint=False),
            )
            for spec in TOOLS
        ]
    )

    async def list_tools(
        _ctx: ServerRequestContext[Any], _params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return listed

    async def call_tool(_ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> types.CallToolResult:
        spec = specs.get(params.name)
        if spec is None:
            return _tool_error(f"There is no tool {params.name!r}; the tools are {', '.join(specs)}.")
        try:
            request = spec.model.model_validate(params.arguments or {})
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in error['loc']) or 'arguments'}: {error['msg']}"
                for error in exc.errors()
            )
            return _tool_error(f"Invalid arguments for {spec.name}: {problems}.")
        try:
            result = await anyio.to_thread.run_sync(spec.run, service, request)
        except AssistantError as exc:
            return _tool_error(f"{exc.message} {exc.hint}".strip())
        text = types.TextContent(type="text", text=spec.text(result))
        return types.CallToolResult(content=[text], structured_content=result)

    return Server(
        "mesh-assistant",
        version=__version__,
        title="Mesh Assistant",
        instructions=INSTRUCTIONS,
        get_tool_input_schema=lambda name: specs[name].model.model_json_schema() if name in specs else None,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def _tool_error(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)], is_error=True)


async def serve_stdio(service: Service) -> None:
    """Serve MCP over this process's stdin and stdout until the client closes them."""
    server = make_mcp_server(service)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


# Streamable HTTP on the API (mounted by mcp_http.py) ----------------------------------------------------------
def make_session_manager(settings: Settings, service: Service) -> StreamableHTTPSessionManager:
    """Stateless, JSON-answering streamable HTTP: any replica serves any request."""
    # Without keys the API listens on loopback only: then Host must name loopback too (DNS rebinding).
    loopback_only = not settings.api_keys and settings.auth == "keys"
    security = TransportSecuritySettings(enable_dns_rebinding_protection=loopback_only, allowed_hosts=LOOPBACK_HOSTS)
    return StreamableHTTPSessionManager(
        app=make_mcp_server(service), json_response=True, stateless=True, security_settings=security,
        max_request_body_size=settings.max_body_bytes,
    )  # fmt: skip
