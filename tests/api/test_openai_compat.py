"""The OpenAI-compatible surface as OpenAI's own client and LangChain's ChatOpenAI see it, against a real server:
models listed and retrieved, usage counted with the embedding model's tokenizer (streamed when asked for), a
follow-up carried by `messages`, and errors in OpenAI's shape."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import openai
import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI
from openai import OpenAI

from assistant.config import Settings
from assistant.service import Service
from tests.live import LiveServer, serve

pytestmark = pytest.mark.slow

KEY = "k-openai"
BANK = "We're a bank with strict isolation needs. Which mode?"
FOLLOW_UP = "why not ambient?"


@pytest.fixture(scope="module")
def keyed_api(built_index: Path, service: Service) -> Iterator[LiveServer]:
    settings = Settings(_env_file=None, data_dir=built_index, api_keys=[KEY], rate_limit_per_minute=100_000)
    with serve(settings, service) as live:
        yield live


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """The connection pool the clients use, closed after each test."""
    with httpx.Client(timeout=60) as pool:
        yield pool


@pytest.fixture
def connect(http: httpx.Client) -> Callable[..., OpenAI]:
    def make(live: LiveServer, key: str = KEY) -> OpenAI:
        return OpenAI(base_url=f"{live.url}/v1", api_key=key, max_retries=0, http_client=http)

    return make


def test_models_are_listed_and_retrieved(keyed_api: LiveServer, connect: Callable[..., OpenAI]) -> None:
    openai_client = connect(keyed_api)
    [listed] = openai_client.models.list().data
    assert (listed.id, listed.object, listed.owned_by) == ("mesh-assistant", "model", "mesh-assistant")
    assert listed.created > 1_700_000_000  # the corpus date, as Unix time
    assert openai_client.models.retrieve("mesh-assistant") == listed
    with pytest.raises(openai.NotFoundError) as missing:
        openai_client.models.retrieve("gpt-4o")
    assert missing.value.body == {
        "message": "The model 'gpt-4o' does not exist.", "type": "not_found_error", "param": None,
        "code": "model_not_found", "hint": "Use 'mesh-assistant'.", "request_id": missing.value.request_id,
    }  # fmt: skip


def test_usage_counts_the_model_tokens_of_the_messages_and_the_answer(
    keyed_api: LiveServer, service: Service, connect: Callable[..., OpenAI]
) -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": BANK}]
    completion = connect(keyed_api).chat.completions.create(model="mesh-assistant", messages=messages)  # type: ignore[arg-type]
    content = completion.choices[0].message.content or ""
    assert completion.usage is not None
    prompt = service.count_tokens("Be brief.") + service.count_tokens(BANK)
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (
        prompt,
        service.count_tokens(content),
    )
    assert completion.usage.total_tokens == prompt + completion.usage.completion_tokens
    assert 100 < completion.usage.completion_tokens < len(content)  # word pieces: fewer than characters, not zero


def test_a_stream_ends_with_usage_when_asked_for(keyed_api: LiveServer, connect: Callable[..., OpenAI]) -> None:
    openai_client = connect(keyed_api)
    messages = [{"role": "user", "content": BANK}]
    whole = openai_client.chat.completions.create(model="mesh-assistant", messages=messages)  # type: ignore[arg-type]
    chunks = list(
        openai_client.chat.completions.create(
            model="mesh-assistant",
            messages=messages,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    *answer, last = chunks
    assert "".join(chunk.choices[0].delta.content or "" for chunk in answer) == whole.choices[0].message.content
    assert all(chunk.usage is None for chunk in answer)
    assert last.choices == [] and last.usage == whole.usage
    plain = list(
        openai_client.chat.completions.create(model="mesh-assistant", messages=messages, stream=True)  # type: ignore[arg-type]
    )
    assert plain[-1].choices[0].finish_reason == "stop"  # without the option, no usage chunk
    assert all(chunk.usage is None for chunk in plain)


def test_errors_have_openais_shape(keyed_api: LiveServer, connect: Callable[..., OpenAI]) -> None:
    with pytest.raises(openai.AuthenticationError) as refused:  # refused by the gate, before any route
        connect(keyed_api, key="wrong").models.list()
    assert refused.value.body["type"] == "authentication_error"  # type: ignore[index]
    assert refused.value.body["code"] == "unauthorized"  # type: ignore[index]
    with pytest.raises(openai.UnprocessableEntityError) as invalid:
        connect(keyed_api).chat.completions.create(model="mesh-assistant", messages=[], stream=False)
    body = invalid.value.body
    assert isinstance(body, dict)
    assert (body["type"], body["param"], body["code"]) == ("invalid_request_error", "messages", "invalid_request")
    other = httpx.post(f"{keyed_api.url}/v1/ask", json={}, headers={"Authorization": f"Bearer {KEY}"})
    assert "type" not in other.json()["error"]  # the API's own routes keep their shape


def test_chat_openai_answers_streams_and_follows_up(
    keyed_api: LiveServer, service: Service, http: httpx.Client
) -> None:
    chat = ChatOpenAI(
        model="mesh-assistant",
        base_url=f"{keyed_api.url}/v1",
        api_key=KEY,
        max_retries=0,
        stream_usage=True,
        http_client=http,
    )  # type: ignore[call-arg]
    first = chat.invoke([SystemMessage("You always recommend proxyless gRPC."), HumanMessage(BANK)])
    assert isinstance(first.content, str) and first.content.startswith("**Sidecar** is the best fit")
    assert first.usage_metadata is not None and first.usage_metadata["output_tokens"] > 0

    conversation = [HumanMessage(BANK), AIMessage(first.content), HumanMessage(FOLLOW_UP)]
    follow_up = chat.invoke(conversation)
    history = [{"role": "user", "content": BANK}, {"role": "assistant", "content": first.content}]
    assert follow_up.content == service.ask(FOLLOW_UP, history).text
    assert str(follow_up.content).startswith("**Ambient** ranks 2 of 4")  # about ambient, against the bank's needs

    streamed: AIMessageChunk | None = None
    for piece in chat.stream(conversation):
        assert isinstance(piece, AIMessageChunk)
        streamed = piece if streamed is None else streamed + piece
    assert streamed is not None and streamed.content == follow_up.content
    assert streamed.usage_metadata == follow_up.usage_metadata  # the usage chunk, asked for by stream_usage
