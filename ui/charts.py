"""The ratings heatmap: the four modes by the rated dimensions, rationale and source in the tooltip."""

from __future__ import annotations

from typing import Any

import altair as alt

from ui.client import Ratings
from ui.transcript import mode_label


def dimension_label(ratings: Ratings, dimension: str) -> str:
    info = ratings["dimensions"].get(dimension, {})
    return str(info.get("label") or dimension.replace("_", " ").capitalize())


def rating_rows(ratings: Ratings) -> list[dict[str, Any]]:
    """One row per mode and dimension, in the API's order."""
    rows = []
    for mode in ratings["modes"]:
        for dimension in ratings["dimensions"]:
            rating = ratings["ratings"].get(mode, {}).get(dimension)
            if rating is None:
                continue
            source = rating["source"]
            rows.append(
                {
                    "mode": mode_label(mode),
                    "dimension": dimension_label(ratings, dimension),
                    "score": rating["score"],
                    "rationale": rating["rationale"],
                    "source": f"{source['doc']} — {source['section']}",
                    "url": source["url"],
                }
            )
    return rows


def ratings_heatmap(ratings: Ratings) -> alt.LayerChart | alt.FacetChart:
    """Modes down, dimensions across, 1-5 as colour and number; hover for rationale and source."""
    rows = rating_rows(ratings)
    modes = [mode_label(m) for m in ratings["modes"]]
    dimensions = [dimension_label(ratings, d) for d in ratings["dimensions"]]
    tooltip = [
        alt.Tooltip("mode:N", title="Mode"),
        alt.Tooltip("dimension:N", title="Dimension"),
        alt.Tooltip("score:Q", title="Rating (1-5)"),
        alt.Tooltip("rationale:N", title="Why"),
        alt.Tooltip("source:N", title="Source"),
        alt.Tooltip("url:N", title="Link"),
    ]
    data = alt.Data(values=rows)  # type: ignore[no-untyped-call]
    base = alt.Chart(data).encode(
        x=alt.X("dimension:N", sort=dimensions, title=None, axis=alt.Axis(labelAngle=0, labelLimit=120, orient="top")),
        y=alt.Y("mode:N", sort=modes, title=None, axis=alt.Axis(labelLimit=160)),
        tooltip=tooltip,
    )
    cells = base.mark_rect(stroke="white", strokeWidth=2).encode(
        color=alt.Color(
            "score:Q",
            scale=alt.Scale(domain=[1, 5], scheme="blues"),
            legend=alt.Legend(title="Rating (1-5)", orient="bottom", tickCount=5),
        ),
    )
    numbers = base.mark_text(fontSize=16, fontWeight="bold").encode(
        text=alt.Text("score:Q"),
        color=alt.condition("datum.score >= 4", alt.value("white"), alt.value("#1f2937")),
    )
    return alt.layer(cells, numbers).properties(height=64 * max(len(modes), 1))
