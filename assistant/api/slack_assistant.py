"""Slack's assistant surface (the split view beside a conversation), through Bolt's `Assistant` middleware.

A new assistant thread gets a greeting and suggested prompts; a question in it is titled (the first one names the
thread), shows a "thinking" status while it is answered, and is answered in the thread with the thread's earlier
messages as its history, with sources and buttons like every other answer. Slack clears the status when the answer
is posted. Title and status are courtesies: when Slack refuses them (a direct-message thread outside the assistant
view), the answer is still posted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from slack_bolt import Assistant, Say, SetStatus, SetSuggestedPrompts
from slack_bolt.context.set_title import SetTitle
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from assistant.api.slack_blocks import Message
from assistant.api.slack_threads import bot_user_id, plain, thread_history
from assistant.domain.conversation import Turn

log = logging.getLogger("assistant.slack")

GREETING = "Hi! Describe your platform, or ask about a service-mesh data plane: every answer cites its sources."
THINKING = "is reading the sources..."
TITLE_LIMIT = 80
SUGGESTED_PROMPTS = [
    {"title": "Regulated bank", "message": "Which mode fits a regulated bank?"},
    {"title": "Small team", "message": "We are a two-person platform team with 30 services. Which mode?"},
    {"title": "Sidecar or ambient", "message": "What is the difference between sidecar and ambient?"},
    {"title": "ztunnel memory", "message": "How much memory does ztunnel use?"},
]

Reply = Callable[[str, Sequence[Turn]], Message]


def make_assistant(reply: Reply, *, max_turns: int, logger: logging.Logger) -> Assistant:
    """The assistant-view listeners; `reply(question, history)` is the answer as a Slack message."""
    assistant = Assistant(logger=logger)

    @assistant.thread_started
    def thread_started(say: Say, set_suggested_prompts: SetSuggestedPrompts) -> None:
        say(GREETING)
        set_suggested_prompts(prompts=SUGGESTED_PROMPTS, title="Try one of these:")

    @assistant.user_message
    def user_message(
        payload: dict[str, Any], body: dict[str, Any], client: WebClient, say: Say, set_status: SetStatus,
        set_title: SetTitle,
    ) -> None:  # fmt: skip
        bot_user = bot_user_id(body)
        question = plain(payload.get("text", ""), bot_user)
        history = thread_history(client, payload, bot_user)[-max_turns:]
        if question and not any(turn.role == "user" for turn in history):
            _courtesy(lambda: set_title(question[:TITLE_LIMIT]))
        _courtesy(lambda: set_status(THINKING))
        say(**reply(question, history))

    return assistant


def _courtesy(call: Callable[[], object]) -> None:
    try:
        call()
    except SlackApiError as exc:
        log.info("slack: assistant view refused: %s", exc.response.get("error"))
