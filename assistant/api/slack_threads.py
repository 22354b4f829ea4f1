"""Slack threads as conversations: the bot's user id, message text as the user typed it, and a thread's earlier
messages as the history of the question asked in it (used by mentions, direct messages and the assistant view)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from slack_sdk import WebClient

from assistant.domain.conversation import Turn

THREAD_LIMIT = 200  # messages read from a thread for history


def bot_user_id(body: Mapping[str, Any]) -> str | None:
    """The bot's user id, from the event's authorizations (there is no `auth.test` call to ask)."""
    return next((a["user_id"] for a in body.get("authorizations", []) if a.get("is_bot")), None)


def plain(text: str, bot_user: str | None = None) -> str:
    """Slack message text as typed: without the bot's mention and with `&amp;`, `&lt;`, `&gt;` undone."""
    if bot_user:
        text = re.sub(rf"<@{re.escape(bot_user)}(\|[^>]*)?>", "", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def thread_history(client: WebClient, event: Mapping[str, Any], bot_user: str | None) -> list[Turn]:
    """The thread's messages before this one: the bot's as assistant turns, everyone else's as user turns. What
    the bot said before the first question (the assistant view's greeting) is not part of the conversation."""
    if not event.get("thread_ts"):
        return []
    found = client.conversations_replies(channel=event["channel"], ts=event["thread_ts"], limit=THREAD_LIMIT)
    messages: list[dict[str, Any]] = found.get("messages", [])
    turns: list[Turn] = []
    for message in messages:
        if float(message["ts"]) >= float(event["ts"]):
            continue
        mine = bot_user is not None and message.get("user") == bot_user
        text = plain(message.get("text", ""), bot_user)
        if text and (turns or not mine):
            turns.append(Turn(role="assistant" if mine else "user", content=text))
    return turns
