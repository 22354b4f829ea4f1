"""The optional chat model cannot hold a request: its call has a deadline, and the provider's client its timeout."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from assistant.config import Settings
from assistant.responder import Responder, llm
from assistant.responder.llm import LLMWriter, make_chat_model, timeout_options
from assistant.service import Service

QUESTION = "How much CPU does a sidecar use at 1000 requests per second?"
TIMEOUT = 0.5
MARGIN = 0.5  # seconds beyond the timeout that a fallback may take, the deterministic answer included


class HangingChatModel(BaseChatModel):
    """A chat model whose calls sleep far past any timeout, in the sync and in the async path (as an async HTTP
    client's request waits); it records a call that was cancelled."""

    seconds: float = 30.0
    cancelled: int = 0

    @property
    def _llm_type(self) -> str:
        return "hanging"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None, **kwargs: Any) -> ChatResult:
        time.sleep(self.seconds)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content="late [1]"))])

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None, **kwargs: Any) -> ChatResult:
        try:
            await asyncio.sleep(self.seconds)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content="late [1]"))])


def timed_answer(service: Service, model: BaseChatModel) -> tuple[float, str, list[str]]:
    responder = Responder(service.retriever, service.ratings, writer=LLMWriter(model, timeout=TIMEOUT))
    started = time.monotonic()
    answer = responder.answer(QUESTION)
    return time.monotonic() - started, answer.text, answer.notes


@pytest.mark.parametrize(
    "model",
    [
        pytest.param(lambda: HangingChatModel(), id="async-sleeper"),
        pytest.param(lambda: FakeListChatModel(responses=["late [1]"], sleep=30.0), id="sync-only-sleeper"),
    ],
)
def test_a_model_that_sleeps_past_the_timeout_falls_back_on_time(service: Service, model: Any) -> None:
    deterministic = service.ask(QUESTION)
    elapsed, text, notes = timed_answer(service, model())
    assert elapsed < TIMEOUT + MARGIN, f"the fallback took {elapsed:.2f}s"
    assert text == deterministic.text
    assert len(notes) == 1 and f"did not answer within {TIMEOUT:g}s" in notes[0]


def test_an_async_model_call_is_cancelled_at_the_deadline(service: Service) -> None:
    model = HangingChatModel()
    timed_answer(service, model)
    deadline = time.monotonic() + 2
    while not model.cancelled and time.monotonic() < deadline:  # the cancellation runs on the calls' loop
        time.sleep(0.01)
    assert model.cancelled == 1


def test_calls_after_a_timeout_still_answer(service: Service) -> None:
    timed_answer(service, HangingChatModel())
    reply = f"In short: {service.ask(QUESTION).citations[0].snippet.split(' … ')[0]} [1]"
    _, text, notes = timed_answer(service, FakeListChatModel(responses=[reply]))
    assert text == reply and notes == []


@pytest.mark.parametrize(
    ("provider", "expected"),
    [("ollama", {"client_kwargs": {"timeout": 7.0}}), ("openai", {"timeout": 7.0})],
)
def test_the_provider_gets_its_own_timeout(provider: str, expected: dict[str, Any]) -> None:
    assert timeout_options(provider, 7.0) == expected


def test_a_real_ollama_client_is_built_with_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llm, "ALLOW_MODEL_REQUESTS", True)  # building the client sends nothing
    model = make_chat_model(Settings(_env_file=None, llm="ollama:llama3.1", llm_timeout=7.0))
    assert model is not None
    assert model._client._client.timeout.read == 7.0  # type: ignore[attr-defined]
    assert model._async_client._client.timeout.read == 7.0  # type: ignore[attr-defined]
