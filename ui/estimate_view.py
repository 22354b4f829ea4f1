"""The Estimate view: the cluster's numbers in, each mode's data-plane CPU and memory out (POST /v1/estimate) as
bar charts, with every figure's source and the assumptions. The numbers then join the sidebar's requirements."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui.client import ApiError, MeshClient
from ui.render import CAVEAT, error_info, safe_markdown, show_error
from ui.sizing import cluster_text, cost_text, estimate_bars
from ui.transcript import ErrorInfo, mode_label


def cluster_from_form() -> dict[str, Any] | None:
    """The Estimate view's numbers as the API's cluster (None until nodes and pods are filled in)."""
    state = st.session_state
    nodes, pods = state.get("est-nodes"), state.get("est-pods")
    if not nodes or not pods:
        return None
    cluster: dict[str, Any] = {
        "nodes": int(nodes),
        "pods": int(pods),
        "l7_scopes": int(state.get("est-l7") or 0),
        "requests_per_second": float(state.get("est-rps") or 0),
    }
    if state.get("est-grpc") is not None:
        cluster["grpc_share"] = float(state["est-grpc"]) / 100
    if state.get("est-zones"):
        cluster["zones"] = int(state["est-zones"])
    return cluster


def submit_cluster(api: MeshClient) -> None:
    """The Estimate form's callback: POST /v1/estimate, keep the result; the numbers join the requirements."""
    cluster = cluster_from_form()
    if cluster is None:
        problem: ErrorInfo = {"message": "Enter the number of nodes and of meshed pods.", "hint": ""}
        st.session_state["estimate_result"] = {"error": problem}
        return
    try:
        st.session_state["estimate_result"] = {"estimate": api.estimate(cluster)}
    except ApiError as exc:
        st.session_state["estimate_result"] = {"error": error_info(exc)}
        return
    st.session_state["cluster"] = cluster


def estimate_view(api: MeshClient) -> None:
    st.markdown("#### :material/calculate: What each data plane would cost your cluster")
    st.caption(
        "From the published per-proxy figures, each cited with the release, load and set-up it was measured "
        "under. A part nobody publishes a figure for is shown as such, never guessed."
    )
    with st.form("cluster-numbers", border=True):
        left, middle, right = st.columns(3)
        left.number_input("Nodes", min_value=1, max_value=100_000, value=None, step=1, key="est-nodes")
        middle.number_input("Meshed pods", min_value=1, max_value=10_000_000, value=None, step=1, key="est-pods")
        right.number_input(
            "L7 scopes", min_value=0, max_value=100_000, value=0, step=1, key="est-l7",
            help="Namespaces or services that need L7 features (each gets a waypoint in ambient).",
        )  # fmt: skip
        left.number_input("Requests per second", min_value=0.0, max_value=1e9, value=0.0, step=100.0, key="est-rps")
        middle.number_input("gRPC share (%)", min_value=0.0, max_value=100.0, value=None, step=5.0, key="est-grpc")
        right.number_input("Zones", min_value=1, max_value=100, value=None, step=1, key="est-zones")
        st.form_submit_button(
            "Estimate", type="primary", icon=":material/calculate:", on_click=submit_cluster, args=(api,)
        )
    result = st.session_state.get("estimate_result")
    if not result:
        return
    if "error" in result:
        show_error(result["error"])
        return
    estimate = result["estimate"]
    st.caption(f"For {cluster_text(estimate['cluster'])}.")
    with st.container(key="estimate-charts"):
        cpu, memory = st.columns(2)
        cpu.altair_chart(estimate_bars(estimate, "cpu"), width="stretch")
        memory.altair_chart(estimate_bars(estimate, "memory"), width="stretch")
    for mode in estimate["modes"]:
        with st.expander(f"**{mode_label(mode['mode'])}**: {cost_text(mode)}"):
            lines = [
                f"- **{part['label']}**: {safe_markdown(part['figure'])} ([source]({part['source']['url']})). "
                f"{safe_markdown(part['basis'])}"
                for part in mode["components"]
            ]
            lines += [f"- {CAVEAT} {safe_markdown(note)}" for note in mode["notes"]]
            st.markdown("\n".join(lines))
    st.markdown("**Assumptions**")
    st.markdown("\n".join(f"- {safe_markdown(a)}" for a in estimate["assumptions"]))
    st.caption(
        f"Figures checked against their sources by {estimate['as_of']}. These numbers now join your requirements: "
        "press Recommend in the sidebar to rank the modes with them."
    )
