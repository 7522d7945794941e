"""Funnel arithmetic over plain counts: no database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from leads.choices import Stage
from leads.lifecycle import FUNNEL


@dataclass(frozen=True)
class FunnelStep:
    stage: str
    label: str
    reached: int  # leads that ever got to this stage
    current: int  # leads in this stage now
    conversion: float | None  # share of the previous step's leads that got here


def funnel(reached: Mapping[str, int], current: Mapping[str, int]) -> list[FunnelStep]:
    """Steps in funnel order. A lead that reached a later stage also passed the earlier
    ones (a lead can enter as MQL straight away), so reached counts are made monotone."""
    labels = dict(Stage.choices)
    steps: list[FunnelStep] = []
    carried = 0
    cumulative: list[int] = []
    for stage in reversed(FUNNEL):
        carried = max(carried, reached.get(stage, 0))
        cumulative.append(carried)
    cumulative.reverse()
    previous: int | None = None
    for stage, count in zip(FUNNEL, cumulative, strict=True):
        conversion = None if previous is None else (count / previous if previous else 0.0)
        steps.append(FunnelStep(stage, labels[stage], count, current.get(stage, 0), conversion))
        previous = count
    return steps


OFF_FUNNEL = (Stage.NURTURING, Stage.RECYCLED, Stage.DISQUALIFIED)
