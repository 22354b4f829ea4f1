"""The sizing estimate in words and as bar charts: each mode's data-plane CPU and memory for the user's cluster."""

from __future__ import annotations

from typing import Any, Literal

import altair as alt

from ui.client import Estimate, ModeEstimate
from ui.transcript import mode_label

NO_FIGURE = "no published figure"


def cpu_text(millicores: float | None) -> str:
    if millicores is None:
        return NO_FIGURE
    return f"{millicores / 1000:,.2f} vCPU" if millicores >= 1000 else f"{millicores:.3g} mCPU"


def memory_text(megabytes: float | None) -> str:
    if megabytes is None:
        return NO_FIGURE
    return f"{megabytes / 1000:,.1f} GB" if megabytes >= 1000 else f"{megabytes:.3g} MB"


def cost_text(mode: ModeEstimate) -> str:
    """ "4.00 vCPU and 72.0 GB", with what it leaves out; or "no published figure"."""
    if mode["cpu_millicores"] is None and mode["memory_mb"] is None:
        return NO_FIGURE
    partial = "" if mode["complete"] else " (not every part has a published figure)"
    return f"{cpu_text(mode['cpu_millicores'])} and {memory_text(mode['memory_mb'])}{partial}"


def cluster_text(cluster: dict[str, Any]) -> str:
    parts = [f"{cluster['nodes']:,} nodes", f"{cluster['pods']:,} meshed pods", f"{cluster['l7_scopes']:,} L7 scopes"]
    share = cluster.get("grpc_share")
    grpc = f" ({share:.0%} gRPC)" if share is not None else ""
    parts.append(f"{cluster['requests_per_second']:,g} requests per second{grpc}")
    if cluster.get("zones"):
        parts.append(f"{cluster['zones']} zones")
    return ", ".join(parts)


def estimate_bars(estimate: Estimate, measure: Literal["cpu", "memory"]) -> alt.LayerChart:
    """One bar per mode (vCPU or GB), its value written beside it; a mode nobody publishes a figure for gets no
    bar and the words "no published figure"."""
    cpu = measure == "cpu"
    text, title = (cpu_text, "CPU (vCPU)") if cpu else (memory_text, "Memory (GB)")
    rows = []
    for mode in estimate["modes"]:
        amount = mode["cpu_millicores"] if cpu else mode["memory_mb"]
        rows.append(
            {
                "mode": mode_label(mode["mode"]),
                "value": (amount or 0) / 1000,
                "label": text(amount),
                "published": amount is not None,
            }
        )
    modes = [row["mode"] for row in rows]
    data = alt.Data(values=rows)  # type: ignore[no-untyped-call]
    base = alt.Chart(data).encode(
        y=alt.Y("mode:N", sort=modes, title=None, axis=alt.Axis(labelLimit=160, labelOverlap=False)),
        x=alt.X("value:Q", title=title, scale=alt.Scale(domainMin=0)),
        tooltip=[alt.Tooltip("mode:N", title="Mode"), alt.Tooltip("label:N", title=title)],
    )
    bars = base.mark_bar(color="#4c78a8")
    labels = base.mark_text(align="left", dx=4).encode(
        text=alt.Text("label:N"),
        color=alt.condition("datum.published", alt.value("#1f2937"), alt.value("#b45309")),
    )
    return alt.layer(bars, labels).properties(height=56 * max(len(rows), 1), title=title)
