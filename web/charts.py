"""Plotly figures for the reports, rendered as a <div> + script; plotly.min.js is served
locally by the page (STATICFILES_DIRS "plotly"), never from a CDN."""

from __future__ import annotations

import plotly.graph_objects as go

from analytics.rules import FunnelStep
from analytics.services import CampaignFunnel

PALETTE = ["#1f4e79", "#2e75b6", "#5b9bd5", "#9dc3e6", "#70ad47"]
CONFIG = {"displaylogo": False, "responsive": True}


def _html(fig: go.Figure, div_id: str) -> str:
    fig.update_layout(
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"family": "system-ui, sans-serif", "size": 13},
    )
    return str(fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=CONFIG))


def funnel_chart(steps: list[FunnelStep]) -> str:
    fig = go.Figure(
        go.Funnel(
            y=[step.label for step in steps],
            x=[step.reached for step in steps],
            textinfo="value+percent initial",
            marker={"color": PALETTE[: len(steps)]},
        )
    )
    fig.update_layout(height=320)
    return _html(fig, "funnel-chart")


def campaign_chart(funnels: list[CampaignFunnel]) -> str:
    names = [f.campaign_name for f in funnels]
    fig = go.Figure()
    if funnels:
        for index, step in enumerate(funnels[0].steps):
            fig.add_trace(
                go.Bar(
                    name=step.label,
                    x=names,
                    y=[f.steps[index].reached for f in funnels],
                    marker_color=PALETTE[index % len(PALETTE)],
                )
            )
    fig.update_layout(barmode="group", height=340, legend={"orientation": "h", "y": -0.2})
    return _html(fig, "campaign-chart")
