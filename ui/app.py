"""Mesh Assistant's chat UI: `streamlit run ui/app.py`. An HTTP client of the API at ASSISTANT_API_URL.

Five views share the sidebar: the chat (answers streamed with their [n] sources, a recommendation card with its
decision record to download, and thumbs feedback), the recommendation for the sidebar's "Your requirements" form,
the ratings heatmap, the feature matrix, and the sizing estimate for the user's cluster (whose numbers then join
the requirements).
Settings are read from the environment on every run: ASSISTANT_API_URL (default http://127.0.0.1:8000) and
ASSISTANT_API_KEY (sent as `Authorization: Bearer <key>` when set).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

# `streamlit run ui/app.py` puts ui/ itself on sys.path; the project root makes `ui` importable as a package.
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from ui.charts import dimension_label, ratings_heatmap  # noqa: E402
from ui.client import (  # noqa: E402
    Answer,
    ApiError,
    ApiSettings,
    Delta,
    FeatureRow,
    Features,
    Final,
    MeshClient,
    Ratings,
    Recommendation,
)
from ui.estimate_view import estimate_view  # noqa: E402
from ui.render import (  # noqa: E402
    CAPABILITY_WORDS,
    answer_body,
    error_info,
    recommendation_card,
    safe_markdown,
    show_error,
    sources_by_ref,
)
from ui.sizing import cluster_text  # noqa: E402
from ui.transcript import ErrorInfo, Message, conversation_markdown, history, mode_label  # noqa: E402

CHAT, RECOMMENDATION, RATINGS, FEATURES, ESTIMATE = (
    ":material/chat: Chat",
    ":material/explore: Your recommendation",
    ":material/grid_on: Ratings",
    ":material/checklist: Features",
    ":material/calculate: Estimate",
)
VIEWS = (CHAT, RECOMMENDATION, RATINGS, FEATURES, ESTIMATE)
EXAMPLES = (
    "We're a bank with strict isolation needs. Which mode?",
    "We run thousands of pods and sidecars use too much memory. What should we use?",
    "We already run Cilium as our CNI. Should we use its service mesh?",
    "How does ambient mode handle L7 traffic?",
)
LEVELS = ("low", "medium", "high")
PRIORITIES = {
    "security": "Security",
    "resources": "Resource constraints",
    "performance": "Performance (latency)",
    "simplicity": "Operational simplicity",
    "maturity": "Maturity",
    "network": "Network overhead and cross-zone cost",
}
GRPC_USE = {"": "Not stated", "none": "None", "some": "Some", "all": "All"}
FACTS = {
    "regulated": "Regulated (finance, healthcare, strict audits)",
    "cilium": "We already run Cilium as our CNI",
    "vms": "Some workloads run on VMs",
    "multicluster": "One mesh across several clusters",
    "envoyfilter": "We rely on EnvoyFilter or Lua",
    "no_restarts": "Pods cannot be restarted to enrol or upgrade",
}
# The API's Requirements fields (a test keeps them in step); the cluster's numbers are set in the Estimate view.
FORM_FIELDS = (*PRIORITIES, "grpc", *FACTS, "needs", "cluster")
STATUS_COLOURS = {  # the feature matrix's statuses, as cell backgrounds
    "supported": "#c8e6c9",
    "partial": "#fff3c4",
    "experimental": "#ffe0b2",
    "deprecated": "#ffccbc",
    "not_supported": "#ffcdd2",
    "not_applicable": "#eeeeee",
    "unknown": "#e0e0e0",
}


def client() -> MeshClient:
    return MeshClient(ApiSettings.from_env())


# --- session state and callbacks -----------------------------------------------------------------------------


def init_state() -> None:
    state = st.session_state
    state.setdefault("messages", [])
    state.setdefault("feedback_sent", {})
    state.setdefault("view", CHAT)
    understood = state.pop("understood", None)
    if understood is not None:  # the chat's understood requirements, shown in the form before it is drawn
        show_in_form(understood)


def show_in_form(requirements: dict[str, Any]) -> None:
    """Set the form's widgets to `requirements` (priorities not stated show medium): the chat and the form are
    one state, so submitting the form re-ranks what the conversation established."""
    state = st.session_state
    for name in PRIORITIES:
        state[f"req-{name}"] = requirements.get(name) or "medium"
    state["req-grpc"] = requirements.get("grpc") or ""
    for name in FACTS:
        state[f"req-{name}"] = bool(requirements.get(name))
    state["req-needs"] = list(requirements.get("needs") or [])
    if requirements.get("cluster"):  # numbers the conversation stated replace the Estimate view's
        state["cluster"] = requirements["cluster"]


def messages() -> list[Message]:
    found: list[Message] = st.session_state["messages"]
    return found


def new_chat() -> None:
    st.session_state["messages"] = []
    st.session_state["feedback_sent"] = {}
    st.session_state.pop("pending", None)
    st.session_state["view"] = CHAT


def ask_example(question: str) -> None:
    st.session_state["pending"] = question


def send_feedback(answer_id: str) -> None:
    """st.feedback's callback: thumbs up (1) or down (0) goes to POST /v1/feedback with the answer's id."""
    value = st.session_state.get(f"feedback-{answer_id}")
    if value is None:
        return
    rating: Literal["up", "down"] = "up" if value == 1 else "down"
    try:
        client().feedback(answer_id, rating)
    except ApiError as exc:
        st.session_state["feedback_sent"][answer_id] = {"error": error_info(exc)}
        return
    st.session_state["feedback_sent"][answer_id] = {"rating": rating}


def requirements_from_form() -> dict[str, Any]:
    """Every priority as its slider shows it (medium included); gRPC and the facts only when set or ticked."""
    state = st.session_state
    stated: dict[str, Any] = {name: state.get(f"req-{name}", "medium") for name in PRIORITIES}
    if state.get("req-grpc"):
        stated["grpc"] = state["req-grpc"]
    stated.update({name: True for name in FACTS if state.get(f"req-{name}")})
    if state.get("req-needs"):
        stated["needs"] = list(state["req-needs"])
    if state.get("cluster"):
        stated["cluster"] = dict(state["cluster"])
    return stated


def submit_requirements() -> None:
    """The form's callback: POST /v1/recommend, keep the result, show it."""
    requirements = requirements_from_form()
    try:
        found: dict[str, Any] = {"requirements": requirements, "recommendation": client().recommend(requirements)}
    except ApiError as exc:
        found = {"requirements": requirements, "error": error_info(exc)}
    st.session_state["form_result"] = found
    st.session_state["view"] = RECOMMENDATION


@st.cache_data(ttl=300, show_spinner=False)
def cached_decision_record(url: str, key: str | None, requirements: str) -> str:
    """A decision record depends only on the requirements (and the corpus): fetched once per requirements."""
    return MeshClient(ApiSettings(url=url, key=key)).decision_record(json.loads(requirements))


def decision_record(api: MeshClient, recommendation: Recommendation | None) -> str | None:
    """The recommendation's decision record for the card's download button (None when there is none to give)."""
    if not recommendation or not recommendation.get("requirements"):
        return None
    requirements = json.dumps(recommendation["requirements"], sort_keys=True)
    try:
        return cached_decision_record(api.settings.url, api.settings.key, requirements)
    except ApiError:
        return None  # the card still shows, without the download


@st.cache_data(ttl=300, show_spinner=False)
def cached_ratings(url: str, key: str | None) -> Ratings:
    """The ratings change only when the corpus does; errors are not cached."""
    return MeshClient(ApiSettings(url=url, key=key)).ratings()


def load_ratings(api: MeshClient) -> Ratings:
    return cached_ratings(api.settings.url, api.settings.key)


def api_problem(api: MeshClient) -> ErrorInfo | None:
    try:
        api.ready()
    except ApiError as exc:
        return error_info(exc)
    return None


# --- sidebar -------------------------------------------------------------------------------------------------


@st.cache_data(ttl=300, show_spinner=False)
def cached_features(url: str, key: str | None) -> Features:
    return MeshClient(ApiSettings(url=url, key=key)).features()


def load_features(api: MeshClient) -> Features:
    return cached_features(api.settings.url, api.settings.key)


def requirements_form(api: MeshClient) -> None:
    try:
        features = load_features(api)["features"]
    except ApiError:
        features = {}  # the form still works without the feature list
    with st.sidebar.form("requirements", border=False):
        st.subheader("Your requirements")
        st.caption("How much each matters to you, and what is true of your platform.")
        for name, label in PRIORITIES.items():
            st.select_slider(label, options=LEVELS, value="medium", key=f"req-{name}")
        st.selectbox(
            "Services that speak gRPC", options=list(GRPC_USE), format_func=GRPC_USE.__getitem__, key="req-grpc"
        )
        for name, label in FACTS.items():
            st.checkbox(label, key=f"req-{name}")
        st.multiselect(
            "Features we need",
            options=list(features),
            format_func=lambda name: features[name]["label"] if name in features else name,
            key="req-needs",
        )
        cluster = st.session_state.get("cluster")
        if cluster:
            st.caption(f"Your cluster, from the Estimate view: {cluster_text(cluster)}.")
        st.form_submit_button(
            "Recommend", type="primary", icon=":material/explore:", on_click=submit_requirements, width="stretch"
        )


def sidebar_actions(api: MeshClient) -> None:
    """New chat and Download conversation (drawn after the chat so the download holds the latest answer)."""
    conversation = messages()
    st.button("New chat", icon=":material/add_comment:", on_click=new_chat, width="stretch", disabled=not conversation)
    st.download_button(
        "Download conversation",
        data=conversation_markdown(conversation, api_url=api.url),
        file_name=f"mesh-assistant-{datetime.now(UTC):%Y%m%d-%H%M}.md",
        mime="text/markdown",
        icon=":material/download:",
        on_click="ignore",
        disabled=not conversation,
        width="stretch",
        help="The questions, answers and their sources as a Markdown file.",
    )


# --- the chat ------------------------------------------------------------------------------------------------


def show_message(api: MeshClient, message: Message) -> None:
    with st.chat_message(message["role"]):
        if message["role"] == "user":
            st.markdown(safe_markdown(message["content"]))
        elif "error" in message:
            show_error(message["error"])
        elif "answer" in message:
            answer = message["answer"]
            st.markdown(safe_markdown(answer["text"]))
            answer_body(answer, record=decision_record(api, answer.get("recommendation")))
            feedback(answer["id"])


def feedback(answer_id: str) -> None:
    st.feedback("thumbs", key=f"feedback-{answer_id}", on_change=send_feedback, args=(answer_id,))
    sent = st.session_state["feedback_sent"].get(answer_id)
    if sent and "error" in sent:
        show_error(sent["error"])
    elif sent:
        st.caption("Thanks, your feedback was sent." if sent["rating"] == "up" else "Thanks, noted: we'll look at it.")


def examples() -> None:
    st.markdown("Ask which data plane fits your platform, compare modes, or ask how one works. For example:")
    for index, question in enumerate(EXAMPLES):
        st.button(question, key=f"example-{index}", on_click=ask_example, args=(question,), icon=":material/lightbulb:")


def text_pieces(events: Iterator[Delta | Final], final: list[Answer]) -> Iterator[str]:
    """The answer's text for st.write_stream as it arrives; the whole answer is kept in `final`."""
    for event in events:
        if isinstance(event, Delta):
            if event.text:
                yield safe_markdown(event.text)
        else:
            final.append(event.answer)


def converse(api: MeshClient, question: str) -> None:
    """Ask the API, stream the answer into a new bubble, then add its sources, card and feedback."""
    conversation = messages()
    turns = history(conversation)
    conversation.append({"role": "user", "content": question})
    with st.chat_message("user"):
        st.markdown(safe_markdown(question))
    with st.chat_message("assistant"):
        final: list[Answer] = []
        try:
            streamed = st.write_stream(text_pieces(api.stream_ask(question, turns), final))
        except ApiError as exc:
            problem = error_info(exc)
            show_error(problem)
            conversation.append({"role": "assistant", "content": "", "error": problem})
            return
        answer = final[0]
        if not streamed:
            st.markdown(safe_markdown(answer["text"]))
        answer_body(answer, record=decision_record(api, answer.get("recommendation")))
        feedback(answer["id"])
    conversation.append({"role": "assistant", "content": answer["text"], "answer": answer})
    st.session_state["understood"] = answer["requirements"]
    st.rerun()  # the form, drawn before the chat, shows what the conversation now states


def chat_view(api: MeshClient) -> None:
    # The input is pinned to the bottom wherever it is called; reading it first keeps the examples from
    # showing above the first question.
    typed = st.chat_input("Ask about sidecar, ambient, Cilium or proxyless gRPC…", key="chat-input", max_chars=4000)
    question = ((typed if isinstance(typed, str) else "") or st.session_state.pop("pending", "")).strip()
    for message in messages():
        show_message(api, message)
    if not messages() and not question:
        examples()
    if question:
        converse(api, question)


# --- the other views -----------------------------------------------------------------------------------------


def requirement_words(name: str, value: Any) -> str:
    """One stated requirement as the caption over the form's card says it."""
    if name == "needs":
        return "needs " + ", ".join(value)
    if name == "cluster":
        return cluster_text(value)
    if name == "grpc":
        return f"{GRPC_USE[value].lower()} of the services speak gRPC"
    return f"{PRIORITIES[name].lower()} {value}" if name in PRIORITIES else FACTS[name].lower()


def recommendation_view(api: MeshClient) -> None:
    result = st.session_state.get("form_result")
    if not result:
        st.info(
            "Set your requirements in the sidebar and press **Recommend** to rank the four modes.",
            icon=":material/tune:",
        )
        return
    stated = ", ".join(
        requirement_words(name, value) for name, value in result["requirements"].items() if value != "medium"
    )
    st.caption(f"For: {stated or 'every priority medium, no facts stated'}.")
    if "error" in result:
        show_error(result["error"])
        return
    try:
        urls = sources_by_ref(load_ratings(api))
    except ApiError:
        urls = {}  # the card still shows; only the source links are missing
    recommendation_card(
        result["recommendation"],
        source_urls=urls,
        title="Recommendation for your requirements",
        expand_top=True,
        key="card-form",
        record=decision_record(api, result["recommendation"]),
    )


def ratings_view(api: MeshClient) -> None:
    try:
        ratings = load_ratings(api)
    except ApiError as exc:
        show_error(error_info(exc))
        return
    st.markdown("#### :material/grid_on: How the modes are rated")
    st.caption("Each mode rated 1 (worst) to 5 (best) per dimension. Hover a cell for the rationale and its source.")
    st.altair_chart(ratings_heatmap(ratings), width="stretch")
    mode = st.selectbox("Rationale and sources for", options=ratings["modes"], format_func=mode_label)
    lines = []
    for dimension, rating in ratings["ratings"].get(mode, {}).items():
        source = rating["source"]
        lines.append(
            f"- **{dimension_label(ratings, dimension)}: {rating['score']}/5.** {safe_markdown(rating['rationale'])} "
            f"([{source['doc']} — {source['section']}]({source['url']}))"
        )
    st.markdown("\n".join(lines))
    capabilities = ratings.get("capabilities") or {}
    if capabilities:
        st.markdown("#### Capabilities")
        rows = [
            {
                "Capability": capability.get("label", name),
                **{
                    mode_label(m): CAPABILITY_WORDS.get(str(fact.get("status")), str(fact.get("status", "")))
                    for m, fact in (capability.get("modes") or {}).items()
                },
            }
            for name, capability in capabilities.items()
        ]
        st.dataframe(rows, hide_index=True, width="stretch")


def features_view(api: MeshClient) -> None:
    try:
        matrix = load_features(api)
    except ApiError as exc:
        show_error(error_info(exc))
        return
    st.markdown("#### :material/checklist: Which feature works in which mode")
    st.caption(
        f"Each cell: the status, since which release, and its source (read by {matrix['as_of']}). "
        "Pick a row to see the notes and sources."
    )
    rows = matrix["features"]
    modes = st.multiselect(
        "Modes", options=matrix["modes"], default=matrix["modes"], format_func=mode_label, key="features-modes"
    )
    differ = st.checkbox("Only the rows where these modes differ", key="features-differ")
    groups = sorted({row["group"] for row in rows.values()})
    group = st.selectbox("Group", options=["", *groups], format_func=lambda g: g or "All groups", key="features-group")

    def differs(row: FeatureRow) -> bool:
        return len({row["modes"][m]["status"] for m in modes}) > 1

    shown = {
        name: row for name, row in rows.items() if (not differ or differs(row)) and (not group or row["group"] == group)
    }
    table = [
        {"Feature": row["label"], **{mode_label(m): row["modes"][m]["status"].replace("_", " ") for m in modes}}
        for row in shown.values()
    ]
    colour = {status.replace("_", " "): value for status, value in STATUS_COLOURS.items()}
    styled = pd.DataFrame(table).style.map(lambda status: f"background-color: {colour.get(status, '')}")
    st.dataframe(styled, hide_index=True, width="stretch", key="features-table")
    st.caption(f"{len(shown)} of {len(rows)} features.")
    picked = st.selectbox(
        "Notes and sources for", options=list(shown), format_func=lambda name: rows[name]["label"], key="features-row"
    )
    if picked:
        lines = [
            f"- **{mode_label(m)}: {cell['status'].replace('_', ' ')}** since {cell['since']} ({cell['since_date']}). "
            f"{safe_markdown(cell['note'])} ([source]({cell['source']}), read {cell['read']})"
            for m, cell in rows[picked]["modes"].items()
            if m in modes
        ]
        st.markdown("\n".join(lines))


# --- the page ------------------------------------------------------------------------------------------------


def main() -> None:
    # No page_icon: a Material icon there makes the browser fetch the favicon from fonts.gstatic.com.
    st.set_page_config(page_title="Mesh Assistant", layout="centered")
    init_state()
    api = client()
    with st.sidebar:
        st.title(":material/hub: Mesh Assistant")
        st.caption("Which service-mesh data plane fits: sidecar, ambient, Cilium or proxyless gRPC? Cited answers.")
        actions = st.container()
    requirements_form(api)

    problem = api_problem(api)
    st.sidebar.caption(f"API: {api.url} — {'not available' if problem else 'ready'}")
    view = st.segmented_control("View", VIEWS, key="view", required=True, label_visibility="collapsed")
    if problem:
        show_error(problem)
    if view == RECOMMENDATION:
        recommendation_view(api)
    elif view == RATINGS:
        ratings_view(api)
    elif view == FEATURES:
        features_view(api)
    elif view == ESTIMATE:
        estimate_view(api)
    else:
        chat_view(api)
    with actions:
        sidebar_actions(api)


if __name__ == "__main__":  # Streamlit runs the script as __main__; tests may import it for its constants
    main()
