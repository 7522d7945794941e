"""Follow-up figures, pure: who follows up, how fast, how often before giving up.

The unit is a rep's *turn* with a lead: one assignment to a rep (routing.Assignment),
from the moment it was given to them until the lead's next assignment. A turn is

- *touched* when someone logged a contact (call, email, meeting) on the lead during it,
  *in SLA* when the first came by the deadline the lead got with it (counted in the
  team's working hours when it was set);
- *dropped* when sales handed the lead back (rejected, disqualified, back to nurture),
  with the number of contact attempts made first (0, 1, … 6+);
- *leaked* when it was never touched and the lead still waits with that rep, by age.

The turn keeps its own figures as they happen (routing.Assignment: deadline, first touch
and how long it took, attempts, hand-back), and routing adds them up per month and year
(routing.rollup), so a report reads a few thousand roll-up rows however many turns and
touches there are (analytics.services); this module holds the pure parts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The histogram's bins are routing's: the roll-up it keeps counts turns in them.
from routing.rules import bin_width as bin_width
from routing.rules import hour_bin as hour_bin

# How many attempts a turn had before it was dropped, and how old the untouched ones are.
ATTEMPT_BUCKETS = ("0", "1", "2", "3", "4", "5", "6+")
AGE_BUCKETS = ("< 1 day", "1–3 days", "3–7 days", "7–30 days", "30+ days")
AGE_EDGES_HOURS = (24, 72, 168, 720)


def percentile(histogram: dict[float, int], share: float) -> float | None:
    """The `share` (0.5: median) percentile of a histogram {bin edge: count}, linear
    inside the bin it falls in; None when it is empty."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = share * total
    seen = 0
    for edge in sorted(histogram):
        count = histogram[edge]
        if count and seen + count >= rank:
            return edge + (rank - seen) / count * bin_width(edge)
        seen += count
    last = max(histogram)
    return last + bin_width(last)


def attempts_bucket(attempts: int) -> str:
    return "6+" if attempts >= 6 else str(attempts)


@dataclass(frozen=True)
class Figures:
    """The follow-up of one rep, team or campaign over a period."""

    key: int | None
    name: str
    assigned: int = 0
    touched: int = 0
    in_sla: int = 0
    missed_sla: int = 0
    # Turns whose SLA is decided: touched, or untouched past their deadline.
    sla_decided: int = 0
    clock_hours: tuple[float | None, float | None] = (None, None)  # median, 90th percentile
    business_hours: tuple[float | None, float | None] = (None, None)
    dropped: int = 0
    attempts: dict[str, int] = field(default_factory=dict)
    leaked: dict[str, int] = field(default_factory=dict)

    @property
    def untouched(self) -> int:
        return self.assigned - self.touched

    @property
    def follow_up_rate(self) -> float | None:
        return self.touched / self.assigned if self.assigned else None

    @property
    def in_sla_rate(self) -> float | None:
        return self.in_sla / self.assigned if self.assigned else None

    @property
    def sla_compliance(self) -> float | None:
        return self.in_sla / self.sla_decided if self.sla_decided else None

    @property
    def leaked_total(self) -> int:
        return sum(self.leaked.values())

    def as_dict(self) -> dict[str, Any]:
        """The figures as the API and `leadloop report follow-up` give them."""
        return {
            "key": self.key,
            "name": self.name,
            "assigned": self.assigned,
            "touched": self.touched,
            "follow_up_rate": self.follow_up_rate,
            "in_sla": self.in_sla,
            "missed_sla": self.missed_sla,
            "sla_compliance": self.sla_compliance,
            "untouched": self.untouched,
            "speed_to_lead_hours": {
                "business_median": self.business_hours[0],
                "business_p90": self.business_hours[1],
                "clock_median": self.clock_hours[0],
                "clock_p90": self.clock_hours[1],
            },
            "dropped": self.dropped,
            "attempts_before_dropped": dict(self.attempts),
            "leaked": dict(self.leaked),
        }


# The figures a link can ask for, in people's words (the lead list says which it shows).
FIGURE_LABELS: dict[str, str] = {
    "assigned": "given to a rep",
    "touched": "touched",
    "untouched": "never touched",
    "in_sla": "touched within the SLA",
    "missed_sla": "SLA missed",
    "dropped": "dropped by the rep",
    "leaked": "never touched and still waiting",
}
