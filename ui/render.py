"""Streamlit pieces shared by the chat and the requirements form: answers, sources, the recommendation card."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

import streamlit as st

from ui.client import Answer, ApiError, Citation, Ratings, Reason, Recommendation
from ui.sizing import cost_text
from ui.transcript import ErrorInfo, mode_label

# Streamlit's Markdown reads $...$ as LaTeX and ~...~ as strikethrough; answers mean neither ("~60 MB").
_MARKDOWN_TRAPS = re.compile(r"([$~])")
CAPABILITY_WORDS = {
    "supported": "yes",
    "partial": "partly",
    "limited": "partly",
    "unsupported": "no",
    "unknown": "unknown",
}
REASON, CAVEAT = ":green[:material/check_circle:]", ":orange[:material/warning:]"
EXCLUDED, CHANGE = ":red[:material/block:]", ":blue[:material/swap_horiz:]"


def safe_markdown(text: str) -> str:
    """Text for st.markdown with the characters Streamlit would misread escaped ([n] markers stay as they are)."""
    return _MARKDOWN_TRAPS.sub(r"\\\1", text)


def error_info(exc: ApiError) -> ErrorInfo:
    return {"message": exc.message, "hint": exc.hint}


def show_error(error: ErrorInfo) -> None:
    """The API's message and what to do about it; never a traceback."""
    body = f"**{error['message']}**"
    if error["hint"]:
        body += f"\n\n{error['hint']}"
    st.error(body, icon=":material/error:")


def sources_by_ref(ratings: Ratings | None) -> dict[str, str]:
    """rating:<mode>:<dimension> and capability:<name>:<mode> ids mapped to their source URLs."""
    if not ratings:
        return {}
    refs = {
        f"rating:{mode}:{dimension}": rating["source"]["url"]
        for mode, by_dimension in ratings["ratings"].items()
        for dimension, rating in by_dimension.items()
    }
    for name, capability in ratings["capabilities"].items():
        for mode, fact in (capability.get("modes") or {}).items():
            url = (fact.get("source") or {}).get("url")
            if url:
                refs[f"capability:{name}:{mode}"] = str(url)
    return refs


def answer_body(answer: Answer, *, record: str | None = None) -> None:
    """What follows the answer's text: notes, low confidence, the recommendation card (with its decision record to
    download, when given) and the sources."""
    if answer["confidence"]["label"] == "low":
        advice = (
            "the sources only partly cover this question; check the cited passages before relying on it."
            if answer["citations"]
            else "the sources say little or nothing about this question."
        )
        st.warning(f"Low confidence ({answer['confidence']['score']:.2f}): {advice}", icon=":material/warning:")
    for note in answer.get("notes") or []:
        st.caption(f":material/info: {safe_markdown(note)}")
    if answer["citations"]:
        sources(answer["citations"])
    recommendation = answer.get("recommendation")
    if recommendation and not answer.get("refused"):
        recommendation_card(recommendation, citations=answer["citations"], key=f"card-{answer['id']}", record=record)


def sources(citations: Sequence[Citation]) -> None:
    """The numbered sources behind the [n] markers, in an expander."""
    with st.expander(f"Sources ({len(citations)})", icon=":material/menu_book:"):
        for citation in citations:
            url = citation["source_url"]
            title = f"**[{citation['n']}] {safe_markdown(citation['title'])}** — {safe_markdown(citation['section'])}"
            link = f" · [{_short(url)}]({url})" if url else ""
            snippet = " ".join(safe_markdown(citation["snippet"]).split())
            st.markdown(f"{title}{link}\n> {snippet}")


def recommendation_card(
    recommendation: Recommendation,
    *,
    citations: Sequence[Citation] = (),
    source_urls: Mapping[str, str] | None = None,
    title: str = "Recommendation",
    expand_top: bool = False,
    key: str = "card",
    record: str | None = None,
) -> None:
    """Modes ranked with a score bar each, reasons, caveats, excluded modes and what would change the pick; the
    estimate for the user's cluster when the requirements state one; the decision record to download."""
    markers = {citation["chunk_id"]: citation["n"] for citation in citations}
    urls = source_urls or {}

    def cite(reason: Reason) -> str:
        text = safe_markdown(reason["text"])
        if reason["ref"] in markers:
            return f"{text} [{markers[reason['ref']]}]"
        if reason["ref"] in urls:
            return f"{text} ([source]({urls[reason['ref']]}))"
        return text

    ranking = recommendation["ranking"]
    with st.container(border=True, key=key):  # the key is a CSS hook too: .st-key-card-...
        st.markdown(f"#### :material/explore: {title}")
        if ranking:
            best = ranking[0]
            lead = f" (ahead of {mode_label(ranking[1]['mode'])})" if len(ranking) > 1 else ""
            st.markdown(f"Best fit: **{mode_label(best['mode'])}**{lead}")
        else:
            st.markdown("**No mode fits every hard constraint.**")
        for item in ranking:
            st.progress(
                min(max(float(item["score"]), 0.0), 1.0),
                text=f"**{item['rank']}. {mode_label(item['mode'])}** — score {item['score']:.2f}",
            )
            _reasons_and_caveats(item["reasons"], item["caveats"], cite, expanded=expand_top and item["rank"] == 1)
        if recommendation["excluded"]:
            st.markdown("**Excluded**")
            st.markdown(
                "\n".join(
                    f"- {EXCLUDED} **{mode_label(item['mode'])}**: {cite(item['reason'])}"
                    for item in recommendation["excluded"]
                )
            )
        if recommendation["counterfactuals"]:
            st.markdown("**What would change this**")
            st.markdown("\n".join(f"- {CHANGE} {safe_markdown(c['text'])}" for c in recommendation["counterfactuals"]))
        if recommendation["assumptions"]:
            st.caption("Assumed: " + " ".join(safe_markdown(a) for a in recommendation["assumptions"]))
        estimate = recommendation.get("estimate")
        if estimate:
            with st.expander("Estimated data-plane cost for your cluster", icon=":material/calculate:"):
                st.markdown("\n".join(f"- **{mode_label(m['mode'])}**: {cost_text(m)}" for m in estimate["modes"]))
                st.caption("Each figure's source, and the assumptions, are in the Estimate view.")
        if record is not None:
            top = ranking[0]["mode"] if ranking else "none"
            st.download_button(
                "Decision record",
                data=record,
                file_name=f"decision-record-{top}.md",
                mime="text/markdown",
                icon=":material/description:",
                on_click="ignore",
                key=f"record-{key}",
                help="This recommendation as an architecture decision record (MADR, Markdown), every claim linked "
                "to its source.",
            )


def _reasons_and_caveats(
    reasons: Sequence[Reason], caveats: Sequence[Reason], cite: Callable[[Reason], str], *, expanded: bool
) -> None:
    if not reasons and not caveats:
        return
    label = ", ".join(_count(n, word) for n, word in ((len(reasons), "reason"), (len(caveats), "caveat")) if n)
    with st.expander(label, expanded=expanded):
        lines = [f"- {REASON} {cite(reason)}" for reason in reasons]
        lines += [f"- {CAVEAT} {cite(caveat)}" for caveat in caveats]
        st.markdown("\n".join(lines))


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _short(url: str) -> str:
    """A link's text: the URL without its scheme, shortened in the middle when long."""
    text = url.split("://", 1)[-1].rstrip("/")
    return text if len(text) <= 60 else f"{text[:35]}…{text[-20:]}"
