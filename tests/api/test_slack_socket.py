"""Slack over Socket Mode and in the assistant view, end to end: Bolt's Socket Mode handler and slack_sdk's Web API
client run for real against Slack's servers stood in for on 127.0.0.1 (tests/slack_fake.py): a WebSocket that
delivers envelopes and records acknowledgements, and a Web API that records every call."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_bolt.adapter.socket_mode import SocketModeHandler

from assistant.api.slack_assistant import GREETING, SUGGESTED_PROMPTS, THINKING
from assistant.api.slack_blocks import to_mrkdwn
from assistant.api.slack_socket import make_socket_handler
from assistant.config import Settings
from assistant.errors import ConfigError
from assistant.service import Service
from tests.slack_fake import FakeSlack, FakeSocketMode
from tests.test_decision_record import check_citations

pytestmark = pytest.mark.slow

APP_TOKEN = "xapp-1-test"
TOKEN = "xoxb-test-token"
BOT = "UBOT"
BANK = "Which mode fits a regulated bank?"
FOLLOW_UP = "why not ambient?"


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeSlack]:
    slack = FakeSlack()
    slack.socket = FakeSocketMode()
    yield slack
    slack.close()


@pytest.fixture
def slack(fake: FakeSlack) -> FakeSlack:
    fake.reset()
    return fake


@pytest.fixture(scope="module")
def handler(fake: FakeSlack, service: Service, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SocketModeHandler]:
    settings = Settings(
        _env_file=None, data_dir=tmp_path_factory.mktemp("slack-socket"), slack_app_token=APP_TOKEN,
        slack_bot_token=TOKEN, slack_api_url=f"{fake.url}/api/",
    )  # fmt: skip
    socket_handler = make_socket_handler(settings, service)  # the session's index, this module's Slack memory
    socket_handler.connect()  # type: ignore[no-untyped-call]
    assert fake.socket is not None
    fake.socket.wait_connected()
    yield socket_handler
    socket_handler.close()  # type: ignore[no-untyped-call]


def envelope(event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback", "event": event,
        "event_id": event_id or f"Ev{uuid.uuid4().hex}", "event_time": int(time.time()),
        "authorizations": [{"enterprise_id": None, "team_id": "T1", "user_id": BOT, "is_bot": True}],
    }  # fmt: skip


def user_message(channel: str, thread_ts: str, ts: str, text: str) -> dict[str, Any]:
    """A message the user types in an assistant thread (a direct-message thread)."""
    return {
        "type": "message", "channel_type": "im", "channel": channel, "user": "U1", "text": text, "ts": ts,
        "thread_ts": thread_ts, "event_ts": ts,
    }  # fmt: skip


def deliver(slack: FakeSlack, kind: str, payload: dict[str, Any], *, retry_attempt: int = 0) -> dict[str, Any]:
    assert slack.socket is not None
    envelope_id = slack.socket.send(kind, payload, retry_attempt=retry_attempt)
    return slack.socket.wait_ack(envelope_id)


def sections(body: dict[str, Any]) -> list[str]:
    blocks = body["blocks"] if isinstance(body["blocks"], list) else json.loads(body["blocks"])
    return [block["text"]["text"] for block in blocks if block["type"] == "section"]


def buttons(body: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = body["blocks"] if isinstance(body["blocks"], list) else json.loads(body["blocks"])
    return [element for block in blocks if block["type"] == "actions" for element in block["elements"]]


def test_a_new_assistant_thread_gets_a_greeting_and_suggested_prompts(
    handler: SocketModeHandler, slack: FakeSlack
) -> None:
    thread = {"user_id": "U1", "context": {"channel_id": "C1"}, "channel_id": "D1", "thread_ts": "1700001000.000100"}
    event = {"type": "assistant_thread_started", "assistant_thread": thread, "event_ts": "1700001000.000200"}
    deliver(slack, "events_api", envelope(event))

    [prompts] = slack.wait_for("/api/assistant.threads.setSuggestedPrompts")
    [greeting] = slack.wait_for("/api/chat.postMessage", channel="D1")
    assert prompts.body["prompts"] == SUGGESTED_PROMPTS
    assert (prompts.body["channel_id"], prompts.body["thread_ts"]) == ("D1", "1700001000.000100")
    assert "Which mode fits a regulated bank?" in [p["message"] for p in SUGGESTED_PROMPTS]
    assert (greeting.body["text"], greeting.body["thread_ts"]) == (GREETING, "1700001000.000100")
    assert greeting.authorization == f"Bearer {TOKEN}"


def test_a_question_in_a_thread_gets_a_status_then_a_cited_answer_with_buttons(
    handler: SocketModeHandler, slack: FakeSlack, service: Service
) -> None:
    thread_ts = "1700002000.000100"
    slack.threads[("D2", thread_ts)] = [{"user": BOT, "bot_id": "B1", "text": GREETING, "ts": thread_ts}]
    deliver(slack, "events_api", envelope(user_message("D2", thread_ts, "1700002000.000300", BANK)))

    [answer] = slack.wait_for("/api/chat.postMessage", channel="D2")
    [title] = slack.matching("/api/assistant.threads.setTitle")
    [status] = slack.matching("/api/assistant.threads.setStatus")
    assert (title.body["channel_id"], title.body["thread_ts"], title.body["title"]) == ("D2", thread_ts, BANK)
    assert (status.body["thread_ts"], status.body["status"]) == (thread_ts, THINKING)
    assert status.at < answer.at  # thinking first, then the answer (which clears the status)

    expected = service.ask(BANK)  # the greeting before the question is no part of the conversation
    assert answer.body["thread_ts"] == thread_ts
    assert answer.body["text"] == to_mrkdwn(expected.text) and answer.body["text"].startswith("*Sidecar*")
    [sources] = [text for text in sections(answer.body) if text.startswith("*Sources*")]
    links = re.findall(r"<(https://[^|>]+)\|\[(\d+)\] ([^>]+)>", sources)
    assert [(url, int(n)) for url, n, _ in links] == [(c.source_url, c.n) for c in expected.citations]
    assert [b["action_id"] for b in buttons(answer.body)] == ["feedback_up", "feedback_down", "decision_record"]


def test_a_follow_up_in_the_thread_has_the_thread_as_history(
    handler: SocketModeHandler, slack: FakeSlack, service: Service
) -> None:
    thread_ts = "1700003000.000100"
    first = to_mrkdwn(service.ask(BANK).text)
    slack.threads[("D3", thread_ts)] = [
        {"user": BOT, "bot_id": "B1", "text": GREETING, "ts": thread_ts},
        {"user": "U1", "text": BANK, "ts": "1700003000.000200"},
        {"user": BOT, "bot_id": "B1", "text": first, "ts": "1700003000.000300"},
    ]
    deliver(slack, "events_api", envelope(user_message("D3", thread_ts, "1700003000.000400", FOLLOW_UP)))

    [answer] = slack.wait_for("/api/chat.postMessage", channel="D3")
    history = [{"role": "user", "content": BANK}, {"role": "assistant", "content": first}]
    assert answer.body["text"] == to_mrkdwn(service.ask(FOLLOW_UP, history).text)
    assert answer.body["text"].startswith("*Ambient* ranks 2 of 4")  # about ambient, against the bank's needs
    assert not slack.matching("/api/assistant.threads.setTitle")  # the thread was named by its first question


def test_a_retried_delivery_is_answered_once(handler: SocketModeHandler, slack: FakeSlack) -> None:
    event = envelope(user_message("D4", "1700004000.000100", "1700004000.000200", "What is HBONE?"), "EvSOCKET1")
    deliver(slack, "events_api", event)
    slack.wait_for("/api/chat.postMessage", channel="D4")
    again = deliver(slack, "events_api", event, retry_attempt=1)  # Slack's retry: a new envelope, the same event
    assert set(again) == {"envelope_id"}  # acknowledged, nothing else

    later = envelope(user_message("D5", "1700004000.000300", "1700004000.000400", "Is ambient mature?"))
    deliver(slack, "events_api", later)
    slack.wait_for("/api/chat.postMessage", channel="D5")  # work delivered after the retry is done
    assert len(slack.matching("/api/chat.postMessage", channel="D4")) == 1


def test_a_rate_limited_call_is_retried_after_retry_after(handler: SocketModeHandler, slack: FakeSlack) -> None:
    slack.rate_limit("/api/chat.postMessage", times=1, retry_after=1)
    mention = {
        "type": "app_mention", "user": "U1", "text": f"<@{BOT}> How much memory does ztunnel use?", "channel": "C6",
        "ts": "1700006000.000100",
    }  # fmt: skip
    deliver(slack, "events_api", envelope(mention))

    refused, posted = slack.wait_for("/api/chat.postMessage", count=2, channel="C6")
    assert (refused.status, posted.status) == (429, 200)
    assert posted.at - refused.at >= 1.0  # it waited as long as Slack asked
    assert posted.body == refused.body and posted.body["thread_ts"] == "1700006000.000100"


def test_a_slash_command_over_the_socket_is_acknowledged_then_answered(
    handler: SocketModeHandler, slack: FakeSlack, service: Service
) -> None:
    response_url = slack.response_url()
    command = {
        "command": "/mesh", "text": "How much memory does ztunnel use?", "team_id": "T1", "channel_id": "C1",
        "user_id": "U1", "response_url": response_url, "trigger_id": f"{uuid.uuid4().hex}", "api_app_id": "A1",
    }  # fmt: skip
    deliver(slack, "slash_commands", command)
    [answered] = slack.wait_for(response_url.removeprefix(slack.url))
    assert answered.body["response_type"] == "ephemeral"
    assert answered.body["text"] == to_mrkdwn(service.ask("How much memory does ztunnel use?").text)


def test_the_decision_record_button_posts_the_record_into_the_thread(
    handler: SocketModeHandler, slack: FakeSlack, service: Service
) -> None:
    thread_ts = "1700007000.000100"
    deliver(slack, "events_api", envelope(user_message("D7", thread_ts, "1700007000.000200", BANK)))
    [answer] = slack.wait_for("/api/chat.postMessage", channel="D7")
    [button] = [b for b in buttons(answer.body) if b["action_id"] == "decision_record"]

    click = {
        "type": "block_actions", "team": {"id": "T1"}, "user": {"id": "U1"}, "api_app_id": "A1",
        "channel": {"id": "D7"}, "trigger_id": uuid.uuid4().hex, "response_url": slack.response_url(),
        "container": {"type": "message", "message_ts": "1700007000.000300", "channel_id": "D7"},
        "message": {"ts": "1700007000.000300", "thread_ts": thread_ts, "text": answer.body["text"]},
        "actions": [
            {"type": "button", "action_id": "decision_record", "block_id": "feedback", "value": button["value"]}
        ],
    }  # fmt: skip
    deliver(slack, "interactive", click)

    [completed] = slack.wait_for("/api/files.completeUploadExternal")
    [asked] = slack.matching("/api/files.getUploadURLExternal")
    [uploaded] = [call for call in slack.calls if call.path.startswith("/upload/")]
    record = uploaded.raw.decode()
    assert record == service.answer_decision_record(button["value"])
    assert record == service.decision_record(service.ask(BANK).recommendation.requirements)  # type: ignore[union-attr]
    assert asked.body["filename"] == "decision-record.md" and int(asked.body["length"]) == len(uploaded.raw)
    assert (completed.body["channel_id"], completed.body["thread_ts"]) == ("D7", thread_ts)
    [file] = json.loads(completed.body["files"])
    assert file["title"] == "Use Sidecar as the service-mesh data plane"
    urls = check_citations(record)  # every [n] is a numbered source with its https URL
    assert all(url.startswith("https://") for url in urls.values())


def test_the_decision_record_of_an_unknown_answer_is_refused_politely(
    handler: SocketModeHandler, slack: FakeSlack
) -> None:
    response_url = slack.response_url()
    click = {
        "type": "block_actions", "team": {"id": "T1"}, "user": {"id": "U1"}, "api_app_id": "A1",
        "channel": {"id": "D8"}, "trigger_id": uuid.uuid4().hex, "response_url": response_url,
        "message": {"ts": "1700008000.000300"},
        "actions": [{"type": "button", "action_id": "decision_record", "block_id": "feedback", "value": "0" * 32}],
    }  # fmt: skip
    deliver(slack, "interactive", click)
    [told] = slack.wait_for(response_url.removeprefix(slack.url))
    assert told.body["text"].startswith(":warning: I have no decision record for that answer")
    assert not slack.matching("/api/files.getUploadURLExternal")


def test_socket_mode_needs_an_app_level_token(tmp_path: Path, service: Service) -> None:
    with pytest.raises(ConfigError, match="app-level token and a bot token") as missing:
        make_socket_handler(Settings(_env_file=None, data_dir=tmp_path, slack_bot_token=TOKEN), service)
    assert "ASSISTANT_SLACK_APP_TOKEN" in missing.value.hint
    settings = Settings(_env_file=None, data_dir=tmp_path, slack_bot_token=TOKEN, slack_app_token=TOKEN)
    with pytest.raises(ConfigError, match="not an app-level token"):
        make_socket_handler(settings, service)


def test_the_decision_record_of_a_private_answer_comes_privately_as_code(
    handler: SocketModeHandler, slack: FakeSlack, service: Service
) -> None:
    answered_url = slack.response_url()
    command = {
        "command": "/mesh", "text": BANK, "team_id": "T1", "channel_id": "C9", "user_id": "U1",
        "response_url": answered_url, "trigger_id": uuid.uuid4().hex, "api_app_id": "A1",
    }  # fmt: skip
    deliver(slack, "slash_commands", command)
    [answered] = slack.wait_for(answered_url.removeprefix(slack.url))
    [button] = [b for b in buttons(answered.body) if b["action_id"] == "decision_record"]

    record_url = slack.response_url()
    click = {  # an ephemeral message: Slack sends its container, not the message
        "type": "block_actions", "team": {"id": "T1"}, "user": {"id": "U1"}, "api_app_id": "A1",
        "channel": {"id": "C9"}, "trigger_id": uuid.uuid4().hex, "response_url": record_url,
        "container": {"type": "message", "message_ts": "1700009000.000100", "is_ephemeral": True},
        "actions": [
            {"type": "button", "action_id": "decision_record", "block_id": "feedback", "value": button["value"]}
        ],
    }  # fmt: skip
    deliver(slack, "interactive", click)
    [posted] = slack.wait_for(record_url.removeprefix(slack.url))
    assert posted.body["response_type"] == "ephemeral" and not slack.matching("/api/files.getUploadURLExternal")
    parts = sections(posted.body)
    assert all(len(part) <= 3000 and part.startswith("```") and part.endswith("```") for part in parts)
    record = service.answer_decision_record(button["value"])
    assert record is not None
    assert "\n".join(part[3:-3] for part in parts).replace("\n", "") == record.replace("\n", "")
