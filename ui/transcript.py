"""The conversation as it is kept in the session, and as Markdown for "Download conversation"."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal, NotRequired, TypedDict

from ui.client import Answer, Recommendation, Turn

MODE_LABELS = {"sidecar": "Sidecar", "ambient": "Ambient", "cilium": "Cilium", "grpc": "Proxyless gRPC"}


class ErrorInfo(TypedDict):
    message: str
    hint: str


class Message(TypedDict):
    """One chat bubble: the user's question, or the assistant's answer (or the error that came instead)."""

    role: Literal["user", "assistant"]
    content: str
    answer: NotRequired[Answer]
    error: NotRequired[ErrorInfo]


def mode_label(mode: str) -> str:
    return MODE_LABELS.get(mode, mode.replace("_", " ").title())


def history(messages: Sequence[Message]) -> list[Turn]:
    """The turns to send with the next question: answered exchanges only (a failed one is left out)."""
    turns: list[Turn] = []
    for index, message in enumerate(messages):
        if message["role"] == "user":
            reply = messages[index + 1] if index + 1 < len(messages) else None
            if reply is not None and "answer" in reply:
                turns.append({"role": "user", "content": message["content"]})
        elif "answer" in message:
            turns.append({"role": "assistant", "content": message["answer"]["text"]})
    return turns


def ranking_line(recommendation: Recommendation) -> str:
    ranked = ", ".join(
        f"{item['rank']}. {mode_label(item['mode'])} ({item['score']:.2f})" for item in recommendation["ranking"]
    )
    return ranked or "no mode fits"


def conversation_markdown(messages: Sequence[Message], *, api_url: str = "", now: datetime | None = None) -> str:
    """The whole conversation as a Markdown document: questions, answers with [n] markers, their sources."""
    when = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    origin = f" from {api_url}" if api_url else ""
    lines = ["# Mesh Assistant conversation", "", f"_Exported {when}{origin}._", ""]
    for message in messages:
        if message["role"] == "user":
            lines += ["## You", "", message["content"], ""]
            continue
        lines += ["## Mesh Assistant", ""]
        if "error" in message:
            error = message["error"]
            text = " ".join(part for part in (error["message"], error["hint"]) if part)
            lines += [f"_Error: {text}_", ""]
            continue
        answer = message.get("answer")
        lines += [message["content"], ""]
        if answer is None:
            continue
        recommendation = answer.get("recommendation")
        if recommendation:
            lines += [f"**Ranking:** {ranking_line(recommendation)}", ""]
            lines += [
                f"- Excluded {mode_label(item['mode'])}: {item['reason']['text']}"
                for item in recommendation["excluded"]
            ]
            lines += [f"- {item['text']}" for item in recommendation["counterfactuals"]]
            if recommendation["excluded"] or recommendation["counterfactuals"]:
                lines.append("")
        if answer["confidence"]["label"] == "low":
            lines += [f"_Low confidence ({answer['confidence']['score']:.2f})._", ""]
        lines += [f"_Note: {note}_" for note in answer.get("notes", [])]
        if answer.get("notes"):
            lines.append("")
        if answer["citations"]:
            lines += ["Sources:", ""]
            lines += [
                f"{c['n']}. [{c['title']} — {c['section']}]({c['source_url']}): {c['snippet']}"
                for c in answer["citations"]
            ]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"
