"""Scoring a lead with a scoring model: pure functions over a plain profile, no database.

score = fit (every fit rule of the model that matches) + engagement (the lead's event
points, as the model counts them). The grade follows from the fit, the segment from the
model's segment rules over grade, score and fields, except that a marquee account is
always sales-ready (when the model says so).

`compile_model` turns a validated `qualify.document.ScoringModel` into a `Scorer`; its
Polars twin is `qualify.vectorised.score_frame`, checked against it on a grid of profiles
(qualify/tests/test_vectorised.py). Without a stored model, the default (BANT and
company-size points with event points, `qualify.document.VERSION_2`) is used.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from leads.choices import Grade, Segment, Stage

from .document import (
    BOOL,
    NUMBER,
    VERSION_2,
    Cap,
    Condition,
    EngagementRule,
    ScoringModel,
    validate,
)

# Stages from which a fresh score may move a lead on; later stages are sales' call.
OPEN_STAGES = frozenset({Stage.NEW, Stage.NURTURING, Stage.RECYCLED})
MARQUEE_REASON = "marquee account: always sales-ready"
ENGAGEMENT_LABEL = "engagement"
OTHER_SIGNAL = "other"

# The choices version 1 gives points to (tests walk them).
AUTHORITY_POINTS = {"decision_maker": 20, "influencer": 10, "user": 5, "none": -10}
TIMELINE_POINTS = {"now": 20, "quarter": 15, "year": 5, "never": -30}


@dataclass(frozen=True)
class Profile:
    """What scoring reads of a lead: the BANT answers, the head count (the lead's, else its
    account's), whether its account is marquee, its engagement points, and in `values`
    any other field a model may name ("industry", "account.industry", "custom.plan")."""

    need: str = ""
    authority: str = ""
    budget: Decimal | None = None
    timeline: str = ""
    title: str = ""
    employees: int | None = None
    is_marquee: bool = False
    engagement: int = 0
    values: Mapping[str, Any] = field(default_factory=dict)
    # What made the engagement, when known (Scorer.engagement): (points, label) each.
    engagement_reasons: tuple[tuple[int, str], ...] | None = None

    def value(self, name: str) -> Any:
        if name in _OWN:
            return getattr(self, name)
        return self.values.get(name)


_OWN = frozenset({"need", "authority", "budget", "timeline", "title", "employees"})


@dataclass(frozen=True)
class Score:
    fit: int
    engagement: int
    total: int
    segment: str
    grade: str = ""
    # (points, label) of every contribution, in the model's order.
    contributions: tuple[tuple[int, str], ...] = ()

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(reason_text(points, label) for points, label in self.contributions)

    @property
    def score_reasons(self) -> list[dict[str, Any]]:
        """As Lead.score_reasons stores them."""
        return [{"points": points, "label": label} for points, label in self.contributions]


def reason_text(points: int, label: str) -> str:
    return f"{points:+d} {label}" if points else label


# --- conditions --------------------------------------------------------------------------------


def as_text(value: Any) -> str | None:
    """A field's value as text, None when empty (blank text counts as empty). Custom
    fields hold JSON values; they compare as their JSON text ("5", "true")."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, Decimal):
        value = float(value)
    return json.dumps(value)


def as_number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return float(value)
    if isinstance(value, str):
        if value != value.strip():  # as Polars casts text: no padding
            return None
        try:
            return float(value)
        except ValueError:
            return None
    return None


Test = Callable[[Any], bool]


def compile_condition(condition: Condition) -> Test:
    """A test of one field's value (as Profile.value gives it)."""
    op, kind, expected = condition.operator, condition.kind, condition.value
    if op == "is_empty":
        return lambda v: _is_empty(v, kind)
    if op == "is_not_empty":
        return lambda v: not _is_empty(v, kind)
    if op == "range":
        low, high = expected.get("min"), expected.get("max")
        return lambda v: (
            (n := as_number(v)) is not None
            and (low is None or n >= low)
            and (high is None or n < high)
        )
    if kind == NUMBER:
        wanted = {float(x) for x in (expected if op == "one_of" else [expected])}
        return lambda v: (n := as_number(v)) is not None and n in wanted
    if kind == BOOL:
        return lambda v: v is not None and bool(v) is expected
    if op in ("equals", "one_of"):
        texts = {as_text(x) for x in (expected if op == "one_of" else [expected])}
        return lambda v: (t := as_text(v)) is not None and t in texts
    if op == "contains":
        needle = str(expected).lower()
        return lambda v: (t := as_text(v)) is not None and needle in t.lower()
    if op == "starts_with":
        prefix = str(expected).lower()
        return lambda v: (t := as_text(v)) is not None and t.lower().startswith(prefix)
    if op == "regex":
        pattern = re.compile(expected)
        return lambda v: (t := as_text(v)) is not None and pattern.search(t) is not None
    raise ValueError(f"unknown operator {op}")


def _is_empty(value: Any, kind: str) -> bool:
    if kind in (NUMBER, BOOL):
        return value is None
    return as_text(value) is None


# --- the scorer ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CompiledFit:
    field: str
    test: Test
    unless: tuple[tuple[str, Test], ...]
    points: int
    label: str


class Scorer:
    """A scoring model compiled for scoring one profile at a time."""

    def __init__(self, model: ScoringModel) -> None:
        self.model = model
        self._fit = [
            _CompiledFit(
                rule.condition.field,
                compile_condition(rule.condition),
                tuple((c.field, compile_condition(c)) for c in rule.unless),
                rule.points,
                rule.label,
            )
            for rule in model.fit
        ]
        self._segments = [
            (rule, [(c.field, compile_condition(c)) for c in rule.when]) for rule in model.segments
        ]
        self._signals = [
            (rule, compile_condition(rule.on_property) if rule.on_property else None)
            for rule in model.engagement
        ]
        self._by_key = {rule.key: rule for rule in model.engagement}
        self._label_order: dict[str, int] = {}
        for index, rule in enumerate(model.engagement):
            self._label_order.setdefault(rule.label, index)

    @property
    def reengagement_points(self) -> int:
        return self.model.reengagement_points

    def fit(self, profile: Profile) -> tuple[int, list[tuple[int, str]]]:
        contributions = [
            (rule.points, rule.label)
            for rule in self._fit
            if rule.test(profile.value(rule.field))
            and not any(test(profile.value(name)) for name, test in rule.unless)
        ]
        return sum(points for points, _ in contributions), contributions

    def grade(self, fit: int) -> str:
        for grade in (Grade.A, Grade.B, Grade.C):
            if fit >= self.model.grades[grade]:
                return grade
        return Grade.D

    def score(self, profile: Profile) -> Score:
        fit, contributions = self.fit(profile)
        engagement = profile.engagement
        floor = self.model.engagement_minimum
        if floor is not None and engagement < floor:
            engagement = floor
            if engagement:
                contributions.append((engagement, ENGAGEMENT_LABEL))
        elif profile.engagement_reasons is not None:
            contributions.extend(profile.engagement_reasons)
        elif engagement:
            contributions.append((engagement, ENGAGEMENT_LABEL))
        total = fit + engagement
        grade = self.grade(fit)
        segment: str
        if self.model.marquee_sales_ready and profile.is_marquee:
            segment = Segment.SALES_READY
            contributions.append((0, MARQUEE_REASON))
        else:
            segment = self._segment(profile, grade, total)
        return Score(fit, engagement, total, str(segment), str(grade), tuple(contributions))

    def _segment(self, profile: Profile, grade: str, total: int) -> str:
        for rule, when in self._segments:
            if (
                (not rule.grades or grade in rule.grades)
                and (rule.score_min is None or total >= rule.score_min)
                and (rule.score_max is None or total < rule.score_max)
                and all(test(profile.value(name)) for name, test in when)
            ):
                return rule.segment
        return self.model.default_segment

    def signal_of(self, kind: str, properties: Mapping[str, Any]) -> EngagementRule | None:
        """The engagement rule an event counts under (first match), None for none."""
        for rule, test in self._signals:
            if rule.kind == kind and (
                test is None
                or rule.on_property is None
                or test(properties.get(rule.on_property.field))
            ):
                return rule
        return None

    def signal_key(self, kind: str, properties: Mapping[str, Any]) -> tuple[str, Cap | None]:
        """The signal an event counts under and its cap: a rule's key, or "other:<kind>"."""
        rule = self.signal_of(kind, properties)
        return (rule.key, rule.cap) if rule else (f"{OTHER_SIGNAL}:{kind}", None)

    def signal_points(self, key: str, kind: str) -> tuple[int, str]:
        """Points and label of one event of a signal. A signal whose rule the model no
        longer has counts as its kind's plain rule, else as an unnamed kind."""
        rule = self._by_key.get(key) or self._by_key.get(kind)
        if rule is not None:
            return rule.points, rule.label
        return self.model.default_event_points, OTHER_LABEL

    def engagement(
        self, signals: Iterable[SignalState], *, now: datetime
    ) -> tuple[int, tuple[tuple[int, str], ...]]:
        """The engagement total at `now` and what made it: each signal's points (its
        events, undecayed), then what faded since, in one line."""
        half_life = self.model.half_life_days
        raw: dict[str, float] = {}
        decayed_sum = 0.0
        for signal in signals:
            points, label = self.signal_points(signal.key, signal.kind)
            raw[label] = raw.get(label, 0.0) + points * signal.total
            decayed_sum += points * decayed(signal.count, signal.as_of, now, half_life)
        total = round(decayed_sum)
        # In the model's order, whatever order the signals were read in.
        ordered = sorted(
            raw.items(), key=lambda item: self._label_order.get(item[0], len(raw) + 999)
        )
        reasons = [(round(points), label) for label, points in ordered if round(points)]
        faded = total - sum(points for points, _ in reasons)
        if faded:
            reasons.append((faded, FADED_LABEL if faded < 0 else GREW_LABEL))
        return total, tuple(reasons)

    def event_points(self, kind: str, properties: Mapping[str, Any] | None = None) -> int:
        rule = self.signal_of(kind, properties or {})
        return rule.points if rule else self.model.default_event_points

    def stage_for_segment(
        self, stage: str, segment: str, engagement: int, engagement_at_recycle: int | None
    ) -> str | None:
        return stage_for_segment(
            stage, segment, engagement, engagement_at_recycle, self.reengagement_points
        )


def compile_model(model: ScoringModel) -> Scorer:
    return Scorer(model)


@cache
def default_scorer() -> Scorer:
    """The model a new installation starts with (version 2)."""
    return Scorer(validate(VERSION_2))


def score_profile(profile: Profile, scorer: Scorer | None = None) -> Score:
    return (scorer or default_scorer()).score(profile)


def event_points(kind: str, properties: Mapping[str, Any] | None = None) -> int:
    """Points of an event under version 1 (qualify.services reads the active model)."""
    return default_scorer().event_points(kind, properties)


# --- engagement signals: decayed counts per lead and signal ------------------------------------

OTHER_LABEL = "other activity"
FADED_LABEL = "engagement faded"
GREW_LABEL = "engagement rounding"
DAY_SECONDS = 86400.0


@dataclass
class SignalState:
    """A lead's count of one engagement signal: `count` events as of `as_of`, decayed
    (each event weighs 2^(-age / half-life)), `total` events counted, and the cap's
    current period (its start and how many events it counted)."""

    key: str
    kind: str
    count: float = 0.0
    total: int = 0
    as_of: datetime | None = None
    window_start: datetime | None = None
    window_count: int = 0


def decayed(
    count: float, as_of: datetime | None, now: datetime, half_life_days: float | None
) -> float:
    """`count` as of `as_of`, read at `now`: count * 2^(-elapsed / half-life)."""
    if half_life_days is None or as_of is None or count == 0:
        return count
    elapsed = (now - as_of).total_seconds() / DAY_SECONDS
    return float(count * 2.0 ** (-elapsed / half_life_days))


def count_event(
    signal: SignalState, occurred_at: datetime, cap: Cap | None, half_life_days: float | None
) -> bool:
    """Count one event of the signal, unless its cap for the period is reached (then
    False). The period starts with the first event counted after the last one ended."""
    if cap is not None:
        if signal.window_start is None or occurred_at >= signal.window_start + timedelta(
            days=cap.days
        ):
            signal.window_start, signal.window_count = occurred_at, 0
        # An event older than the current period (sent late) is counted outside the cap.
        if occurred_at >= signal.window_start:
            if signal.window_count >= cap.count:
                return False
            signal.window_count += 1
    if signal.as_of is None or occurred_at >= signal.as_of:
        signal.count = decayed(signal.count, signal.as_of, occurred_at, half_life_days) + 1
        signal.as_of = occurred_at
    else:
        signal.count += decayed(1.0, occurred_at, signal.as_of, half_life_days)
    signal.total += 1
    return True


# --- stage moves ---------------------------------------------------------------------------------

REENGAGEMENT_POINTS = 20  # version 1's, the default of the functions below


def has_reengaged(
    engagement: int, engagement_at_recycle: int | None, points: int = REENGAGEMENT_POINTS
) -> bool:
    """Whether a recycled lead earned enough engagement since it was recycled."""
    return engagement - (engagement_at_recycle or 0) >= points


def stage_for_segment(
    stage: str,
    segment: str,
    engagement: int,
    engagement_at_recycle: int | None,
    reengagement_points: int = REENGAGEMENT_POINTS,
) -> str | None:
    """The stage a freshly scored lead moves to, or None when it stays where it is.

    Only open leads move: a sales-ready one to MQL (a recycled one only once it has
    re-engaged), a disqualified one out of the funnel, a new one into nurture.
    """
    if stage not in OPEN_STAGES:
        return None
    if segment == Segment.SALES_READY:
        if stage == Stage.RECYCLED and not has_reengaged(
            engagement, engagement_at_recycle, reengagement_points
        ):
            return None
        return Stage.MQL
    if segment == Segment.DISQUALIFIED and stage != Stage.RECYCLED:
        return Stage.DISQUALIFIED
    if stage == Stage.NEW:
        return Stage.NURTURING
    return None
