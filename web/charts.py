"""Plotly figures for the reports, rendered as a <div> + script; plotly.min.js is served
locally by the page (STATICFILES_DIRS "plotly"), never from a CDN.

A bar or step carries the URL of the leads behind it (`customdata`); a click opens it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from analytics.followup import AGE_BUCKETS, ATTEMPT_BUCKETS, Figures
from analytics.rules import FunnelStep
from analytics.services import CampaignFunnel

from .links import FollowupLinks, LeadLinks

PALETTE = ["#1f4e79", "#2e75b6", "#5b9bd5", "#9dc3e6", "#70ad47"]
CONFIG = {"displaylogo": False, "responsive": True}
# A click on a bar or step opens the leads behind it (its customdata is their URL).
OPEN_ON_CLICK = """
var plot = document.getElementById('{plot_id}');
plot.on('plotly_click', function (event) {
  var url = event.points.length && event.points[0].customdata;
  if (url) { window.location.assign(url); }
});
"""


def _html(fig: go.Figure, div_id: str) -> str:
    fig.update_layout(
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"family": "system-ui, sans-serif", "size": 13},
    )
    return str(
        fig.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=div_id,
            config=CONFIG,
            post_script=OPEN_ON_CLICK,
        )
    )


def funnel_figure(steps: list[FunnelStep], *, links: Sequence[str] = ()) -> go.Figure:
    fig = go.Figure(
        go.Funnel(
            y=[step.label for step in steps],
            x=[step.reached for step in steps],
            textinfo="value+percent initial",
            marker={"color": PALETTE[: len(steps)]},
            customdata=list(links) or None,
        )
    )
    fig.update_layout(height=320, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    return fig


def funnel_chart(steps: list[FunnelStep], *, links: Sequence[str] = ()) -> str:
    return _html(funnel_figure(steps, links=links), "funnel-chart")


def campaign_figure(funnels: list[CampaignFunnel], *, links: LeadLinks | None = None) -> go.Figure:
    """Reached counts per campaign, one bar per stage. The legend sits above the plot and
    the x axis makes room for its (possibly rotated) campaign names, so they never meet."""
    names = [f.campaign_name for f in funnels]
    fig = go.Figure()
    if funnels:
        for index, step in enumerate(funnels[0].steps):
            customdata: Any = (
                [links.reached(step.stage, f.campaign_id) for f in funnels] if links else None
            )
            fig.add_trace(
                go.Bar(
                    name=step.label,
                    x=names,
                    y=[f.steps[index].reached for f in funnels],
                    marker_color=PALETTE[index % len(PALETTE)],
                    customdata=customdata,
                )
            )
    fig.update_layout(
        barmode="group",
        height=380,
        legend={"orientation": "h", "x": 0, "xanchor": "left", "y": 1.02, "yanchor": "bottom"},
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis={"automargin": True, "tickangle": -30},
        yaxis={"automargin": True},
    )
    return fig


def campaign_chart(funnels: list[CampaignFunnel], *, links: LeadLinks | None = None) -> str:
    return _html(campaign_figure(funnels, links=links), "campaign-chart")


# --- Follow-up figures ------------------------------------------------------------------


def _bars(
    names: list[str],
    series: list[tuple[str, list[float | int | None], list[str]]],
    *,
    barmode: str = "group",
    y_title: str = "",
    percent: bool = False,
) -> go.Figure:
    """Bars per rep, team or campaign: one trace per series (label, values, lead URLs)."""
    fig = go.Figure()
    for index, (label, values, links) in enumerate(series):
        fig.add_trace(
            go.Bar(
                name=label,
                x=names,
                y=values,
                marker_color=PALETTE[index % len(PALETTE)],
                customdata=links or None,
            )
        )
    fig.update_layout(
        barmode=barmode,
        height=320,
        legend={"orientation": "h", "x": 0, "xanchor": "left", "y": 1.02, "yanchor": "bottom"},
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis={"automargin": True, "tickangle": -30},
        yaxis={"automargin": True, "title": y_title, **({"tickformat": ".0%"} if percent else {})},
    )
    return fig


def followup_charts(figures: list[Figures], links: FollowupLinks) -> dict[str, str]:
    """The follow-up page's four charts: follow-up rate, speed to lead, attempts before
    dropping, leakage by age. A click on a bar opens the leads behind it."""
    names = [f.name for f in figures]
    keys = [f.key for f in figures]
    rate = _bars(
        names,
        [
            (
                "touched",
                [f.follow_up_rate for f in figures],
                [links.figure("touched", k) for k in keys],
            ),
            (
                "within SLA",
                [f.in_sla_rate for f in figures],
                [links.figure("in_sla", k) for k in keys],
            ),
        ],
        y_title="share of leads given",
        percent=True,
    )
    speed = _bars(
        names,
        [
            ("median, business hours", [f.business_hours[0] for f in figures], []),
            ("90th percentile, business hours", [f.business_hours[1] for f in figures], []),
            ("median, clock hours", [f.clock_hours[0] for f in figures], []),
        ],
        y_title="hours to first touch",
    )
    attempts = _bars(
        names,
        [
            (
                f"{bucket} attempt{'s' if bucket != '1' else ''}",
                [f.attempts.get(bucket, 0) for f in figures],
                [links.figure("dropped", k, bucket) for k in keys],
            )
            for bucket in ATTEMPT_BUCKETS
        ],
        barmode="stack",
        y_title="leads dropped",
    )
    leakage = _bars(
        names,
        [
            (
                bucket,
                [f.leaked.get(bucket, 0) for f in figures],
                [links.figure("leaked", k, bucket) for k in keys],
            )
            for bucket in AGE_BUCKETS
        ],
        barmode="stack",
        y_title="never touched, still waiting",
    )
    return {
        "rate": _html(rate, "followup-rate-chart"),
        "speed": _html(speed, "followup-speed-chart"),
        "attempts": _html(attempts, "followup-attempts-chart"),
        "leakage": _html(leakage, "followup-leakage-chart"),
    }


def score_history_chart(changes: Sequence[tuple[Any, int, str, str]]) -> str:
    """A lead's score over time: one step per change (when, score, grade, segment)."""
    if not changes:
        return ""
    fig = go.Figure(
        go.Scatter(
            x=[when for when, _, _, _ in changes],
            y=[score for _, score, _, _ in changes],
            mode="lines+markers",
            line={"shape": "hv", "color": PALETTE[1]},
            text=[
                f"grade {grade or '—'} · {segment.replace('_', '-')}"
                for _, _, grade, segment in changes
            ],
            hovertemplate="%{x}<br>score %{y}<br>%{text}<extra></extra>",
        )
    )
    fig.update_layout(height=220, margin={"l": 30, "r": 10, "t": 10, "b": 30})
    return _html(fig, "score-chart")
