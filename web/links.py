"""Links from a report's numbers to the leads behind them: the lead list, filtered."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from analytics.services import NONE_KEY


@dataclass(frozen=True)
class LeadLinks:
    """URLs of the lead list for one report: `base` is the list's path, `period` the
    report's arrival period (`since`, `until`, as the list's filter takes them)."""

    base: str
    period: dict[str, str] = field(default_factory=dict)

    def _url(self, campaign_id: int | None, **filters: str) -> str:
        query = {**filters, **({"campaign": str(campaign_id)} if campaign_id else {})}
        return f"{self.base}?{urlencode({**query, **self.period})}"

    def reached(self, stage: str, campaign_id: int | None = None) -> str:
        """The leads that reached funnel `stage` (it or a later one), not those in it now."""
        return self._url(campaign_id, reached=stage)

    def now_in(self, stage: str, campaign_id: int | None = None) -> str:
        """The leads in `stage` now."""
        return self._url(campaign_id, stage=stage)


@dataclass(frozen=True)
class FollowupLinks:
    """URLs of the leads behind the follow-up report's numbers: the lead list with the
    report's grouping (`by`), its days (`given_since`, `given_until`) and one figure."""

    base: str
    by: str
    period: dict[str, str] = field(default_factory=dict)

    def figure(self, figure: str, key: int | None = None, bucket: str = "") -> str:
        # A row's key; None is the row of no team or no campaign.
        query = {"followup": figure, "by": self.by, "key": str(NONE_KEY if key is None else key)}
        if bucket:
            query["bucket"] = bucket
        return f"{self.base}?{urlencode({**query, **self.period})}"
