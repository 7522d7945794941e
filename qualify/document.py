"""The scoring model as a document: one plain dict (JSON in the database, the same in the
API, YAML for the CLI), checked whole by `validate` and turned into `ScoringModel`, the
typed form both evaluators (`qualify.rules`, `qualify.vectorised`) compile.

The document::

    fit:            rules over lead, account and custom fields; every matching rule adds
      - {field, operator, value?, points, label, unless?: [condition, ...]}
    grades:         fit thresholds: fit >= A is an A, >= B a B, >= C a C, else D
      {A: int, B: int, C: int}
    engagement:
      half_life_days: number or null (null: engagement never fades)
      minimum: int or null (the engagement total never goes below it; null: no floor)
      default_points: int (an event kind no rule names)
      rules:        first match wins per event; negative points are negative signals
        - {kind, property?: {name, operator, value?}, points, label, cap?: {count, days}}
    segments:
      marquee_sales_ready: bool (a marquee account's lead is always sales-ready)
      reengagement_points: int (engagement a recycled lead must earn since it was handed
                               back before it returns to sales)
      rules:        first match wins: {segment, grades?: [A..D], score?: {min?, max?},
                                       when?: [condition, ...]}
      default: segment of a lead no rule matches

A condition is {field, operator, value?}. Operators: equals, one_of (value: a list),
contains, starts_with (text, case-insensitive), range (value: {min?, max?}, min <= x <
max), regex (text), is_empty, is_not_empty. Fields: FIELDS below, `account.<field>`,
and `custom.<key>` for any custom field (compared as text; range reads it as a number).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import yaml

from leads.choices import Grade, Segment

# The fields a rule may read, by type. "employees" is the lead's head count, or its
# account's when the lead has none (as scoring always read it).
TEXT, NUMBER, BOOL, ANY = "text", "number", "bool", "any"
FIELDS: dict[str, str] = {
    "email": TEXT,
    "first_name": TEXT,
    "last_name": TEXT,
    "phone": TEXT,
    "title": TEXT,
    "company_name": TEXT,
    "country": TEXT,
    "industry": TEXT,
    "source": TEXT,
    "need": TEXT,
    "authority": TEXT,
    "timeline": TEXT,
    "employees": NUMBER,
    "budget": NUMBER,
    "account.name": TEXT,
    "account.domain": TEXT,
    "account.industry": TEXT,
    "account.employees": NUMBER,
    "account.is_marquee": BOOL,
}
CUSTOM_PREFIX = "custom."

OPERATORS: dict[str, frozenset[str]] = {
    "equals": frozenset({TEXT, NUMBER, BOOL, ANY}),
    "one_of": frozenset({TEXT, NUMBER, ANY}),
    "contains": frozenset({TEXT, ANY}),
    "starts_with": frozenset({TEXT, ANY}),
    "regex": frozenset({TEXT, ANY}),
    "range": frozenset({NUMBER, ANY}),
    "is_empty": frozenset({TEXT, NUMBER, BOOL, ANY}),
    "is_not_empty": frozenset({TEXT, NUMBER, BOOL, ANY}),
}
NO_VALUE = frozenset({"is_empty", "is_not_empty"})
GRADES = (Grade.A, Grade.B, Grade.C)  # D: below C


class ModelInvalid(ValueError):
    """A scoring document that cannot be applied: every problem, each with where it is
    ("fit[2] 'senior title'") and why."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{where}: {why}" for where, why in problems))


@dataclass(frozen=True)
class Condition:
    field: str
    operator: str
    value: Any = None

    @property
    def kind(self) -> str:
        return field_type(self.field) or ANY


@dataclass(frozen=True)
class FitRule:
    condition: Condition
    points: int
    label: str
    unless: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class Cap:
    count: int
    days: float


@dataclass(frozen=True)
class EngagementRule:
    kind: str
    points: int
    label: str
    # A condition on the event's properties: its `field` names the property.
    on_property: Condition | None = None
    cap: Cap | None = None

    @property
    def key(self) -> str:
        """The signal this rule counts, stable across versions that keep the rule."""
        if self.on_property is None:
            return self.kind
        value = self.on_property.value
        return f"{self.kind}:{self.on_property.field}:{self.on_property.operator}:{value}"


@dataclass(frozen=True)
class SegmentRule:
    segment: str
    grades: tuple[str, ...] = ()
    score_min: int | None = None
    score_max: int | None = None
    when: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class ScoringModel:
    fit: tuple[FitRule, ...]
    grades: dict[str, int]
    engagement: tuple[EngagementRule, ...]
    half_life_days: float | None
    engagement_minimum: int | None
    default_event_points: int
    segments: tuple[SegmentRule, ...]
    default_segment: str
    marquee_sales_ready: bool
    reengagement_points: int
    document: dict[str, Any] = field(default_factory=dict, compare=False)

    def fields(self) -> set[str]:
        """Every lead field the model reads."""
        names = set()
        for rule in self.fit:
            names.add(rule.condition.field)
            names.update(c.field for c in rule.unless)
        for segment in self.segments:
            names.update(c.field for c in segment.when)
        return names


def field_type(name: str) -> str | None:
    if name.startswith(CUSTOM_PREFIX) and len(name) > len(CUSTOM_PREFIX):
        return ANY
    return FIELDS.get(name)


# --- version 1: today's BANT and company-size points, as the constants had them -----------

SENIOR_TITLE_PATTERN = (
    r"(?i)\b(chief|c[etofm]o|vp|vice president|head|director|founder|owner|president)\b"
)
KNOWN_AUTHORITIES = ["decision_maker", "influencer", "user", "none"]

# Never edit: migration 0004 stores it as version 1, the model a new installation starts with.
VERSION_1: dict[str, Any] = {
    "fit": [
        {"label": "stated a need", "field": "need", "operator": "is_not_empty", "points": 15},
        {"label": "decision maker", "field": "authority", "operator": "equals",
         "value": "decision_maker", "points": 20},
        {"label": "influencer", "field": "authority", "operator": "equals",
         "value": "influencer", "points": 10},
        {"label": "user of the product", "field": "authority", "operator": "equals",
         "value": "user", "points": 5},
        {"label": "no buying authority", "field": "authority", "operator": "equals",
         "value": "none", "points": -10},
        {"label": "senior title", "field": "title", "operator": "regex",
         "value": SENIOR_TITLE_PATTERN, "points": 10,
         "unless": [{"field": "authority", "operator": "one_of", "value": KNOWN_AUTHORITIES}]},
        {"label": "budget of 10k or more", "field": "budget", "operator": "range",
         "value": {"min": 10000}, "points": 15},
        # Budgets have cents: above 0 is from 0.01.
        {"label": "has a budget", "field": "budget", "operator": "range",
         "value": {"min": 0.01, "max": 10000}, "points": 8},
        {"label": "buying now", "field": "timeline", "operator": "equals", "value": "now",
         "points": 20},
        {"label": "buying this quarter", "field": "timeline", "operator": "equals",
         "value": "quarter", "points": 15},
        {"label": "buying this year", "field": "timeline", "operator": "equals",
         "value": "year", "points": 5},
        {"label": "will never buy", "field": "timeline", "operator": "equals",
         "value": "never", "points": -30},
        {"label": "company of 200+ people", "field": "employees", "operator": "range",
         "value": {"min": 200}, "points": 10},
        {"label": "company of 50+ people", "field": "employees", "operator": "range",
         "value": {"min": 50, "max": 200}, "points": 5},
    ],
    "grades": {"A": 50, "B": 30, "C": 15},
    "engagement": {
        "half_life_days": None,
        "minimum": 0,
        "default_points": 1,
        "rules": [
            {"label": "requested a demo", "kind": "demo_request", "points": 40},
            {"label": "viewed pricing", "kind": "pricing_page_view", "points": 10},
            {"label": "attended a webinar", "kind": "webinar_attended", "points": 15},
            {"label": "registered for a webinar", "kind": "webinar_registered", "points": 5},
            {"label": "visited a trade show stand", "kind": "trade_show_visit", "points": 15},
            {"label": "submitted a form", "kind": "form_submit", "points": 10},
            {"label": "downloaded content", "kind": "content_download", "points": 8},
            {"label": "clicked an email", "kind": "email_click", "points": 4},
            {"label": "opened an email", "kind": "email_open", "points": 1},
            {"label": "viewed a page", "kind": "page_view", "points": 1},
        ],
    },
    "segments": {
        "marquee_sales_ready": True,
        "reengagement_points": 20,
        "rules": [
            {"segment": "disqualified",
             "when": [{"field": "timeline", "operator": "equals", "value": "never"}]},
            {"segment": "disqualified", "score": {"max": -19}},
            {"segment": "sales_ready", "score": {"min": 60}},
        ],
        "default": "nurture",
    },
}  # fmt: skip


# Never edit either: migration 0008 stores it as version 2 where version 1 was untouched.
# Email tracking brought event kinds that say a lead is further from buying: they count
# against it, where version 1 gave them its default point.
VERSION_2: dict[str, Any] = copy.deepcopy(VERSION_1)
VERSION_2["engagement"]["rules"] += [
    {"label": "unsubscribed", "kind": "unsubscribed", "points": -15},
    {"label": "email bounced", "kind": "email_bounce", "points": -5},
    {"label": "complained about an email", "kind": "email_complaint", "points": -30},
]
VERSION_2_NOTE = "bounces, complaints and unsubscribes count against a lead"


def default_document() -> dict[str, Any]:
    """The model a new installation scores with (version 2)."""
    return copy.deepcopy(VERSION_2)


# --- validation ------------------------------------------------------------------------------


class _Checker:
    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def fail(self, where: str, why: str) -> None:
        self.problems.append((where, why))

    def mapping(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(where, "must be a mapping")
            return {}
        return value

    def listing(self, value: Any, where: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(where, "must be a list")
            return []
        return value

    def integer(self, value: Any, where: str, *, required: bool = True) -> int | None:
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(where, "must be a whole number")
            return None
        return value

    def number(self, value: Any, where: str) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(where, "must be a number")
            return None
        return float(value)

    def label(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(where, "needs a label (a few words a rep will read)")
            return ""
        return value.strip()

    def unknown_keys(self, raw: dict[str, Any], allowed: set[str], where: str) -> None:
        for key in raw:
            if key not in allowed:
                self.fail(where, f"unknown key {key!r} (known: {', '.join(sorted(allowed))})")

    def condition(
        self, raw: Any, where: str, *, property_name: str | None = None
    ) -> Condition | None:
        """A field condition (or, with `property_name`, a condition on an event property)."""
        raw = self.mapping(raw, where)
        if not raw:
            return None
        name_key = "name" if property_name else "field"
        self.unknown_keys(raw, {name_key, "operator", "value"}, where)
        name = raw.get(name_key)
        operator = raw.get("operator")
        value = raw.get("value")
        problems = len(self.problems)
        if not isinstance(name, str) or not name:
            self.fail(where, f"needs a {name_key}")
            return None
        kind = ANY if property_name else field_type(name)
        if kind is None:
            self.fail(
                where, f"unknown field {name!r} (lead fields, account.<field> or custom.<key>)"
            )
            return None
        if operator not in OPERATORS:
            self.fail(where, f"unknown operator {operator!r} (one of {', '.join(OPERATORS)})")
            return None
        if kind not in OPERATORS[operator]:
            self.fail(where, f"operator {operator} does not apply to {name} (a {kind} field)")
            return None
        if operator in NO_VALUE:
            if value is not None:
                self.fail(where, f"{operator} takes no value")
        elif operator == "one_of":
            if not isinstance(value, list) or not value:
                self.fail(where, "one_of needs a non-empty list of values")
            else:
                for item in value:
                    self._scalar(item, kind, where)
        elif operator == "range":
            bounds = self.mapping(value, where + " value")
            self.unknown_keys(bounds, {"min", "max"}, where + " value")
            low = self.number(bounds.get("min"), where + " min")
            high = self.number(bounds.get("max"), where + " max")
            if bounds and low is None and high is None and len(self.problems) == problems:
                self.fail(where, "range needs a min or a max")
            if low is not None and high is not None and low >= high:
                self.fail(where, f"range min {low:g} is not below max {high:g}")
            value = {"min": low, "max": high}
        elif operator == "regex":
            if not isinstance(value, str) or not value:
                self.fail(where, "regex needs a pattern")
            else:
                self._regex(value, where)
        else:
            self._scalar(value, kind, where)
            if operator in ("contains", "starts_with") and value == "":
                self.fail(where, f"{operator} needs a non-empty value")
        if len(self.problems) != problems:
            return None
        return Condition(name, operator, value)

    def _scalar(self, value: Any, kind: str, where: str) -> None:
        if kind == NUMBER:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        elif kind == BOOL:
            ok = isinstance(value, bool)
        elif kind == TEXT:
            ok = isinstance(value, str)
        else:
            ok = isinstance(value, str | int | float | bool)
        if not ok:
            self.fail(where, f"value {value!r} is not a {kind if kind != ANY else 'plain value'}")

    def _regex(self, pattern: str, where: str) -> None:
        # Both engines must read it the same: Python's re and Polars' (Rust) regex.
        try:
            re.compile(pattern)
        except re.error as error:
            self.fail(where, f"bad regex {pattern!r}: {error}")
            return
        try:
            pl.Series([""]).str.contains(pattern)
        except Exception as error:
            first = str(error).strip().splitlines()[0]
            self.fail(where, f"bad regex {pattern!r} (not supported by the bulk scorer): {first}")


def _where(section: str, index: int, raw: Any) -> str:
    label = raw.get("label") if isinstance(raw, dict) else None
    return f"{section}[{index}]" + (f" {label!r}" if isinstance(label, str) and label else "")


def validate(document: Any) -> ScoringModel:
    """The model the document describes, or ModelInvalid naming every bad rule and why."""
    check = _Checker()
    doc = check.mapping(document, "model")
    check.unknown_keys(doc, {"fit", "grades", "engagement", "segments"}, "model")

    fit: list[FitRule] = []
    for index, raw in enumerate(check.listing(doc.get("fit"), "fit")):
        where = _where("fit", index, raw)
        rule = check.mapping(raw, where)
        if not rule:
            continue
        check.unknown_keys(rule, {"field", "operator", "value", "points", "label", "unless"}, where)
        label = check.label(rule.get("label"), where)
        points = check.integer(rule.get("points"), where + " points")
        condition = check.condition(
            {k: rule[k] for k in ("field", "operator", "value") if k in rule}, where
        )
        unless = [
            check.condition(c, f"{where} unless[{n}]")
            for n, c in enumerate(check.listing(rule.get("unless"), where + " unless"))
        ]
        if condition and points is not None and label and all(unless):
            fit.append(FitRule(condition, points, label, tuple(c for c in unless if c)))

    grades_raw = check.mapping(doc.get("grades"), "grades")
    check.unknown_keys(grades_raw, {"A", "B", "C"}, "grades")
    grades: dict[str, int] = {}
    for grade in GRADES:
        threshold = check.integer(grades_raw.get(grade), f"grades {grade}")
        if threshold is not None:
            grades[grade] = threshold
    if len(grades) == 3 and not grades["A"] > grades["B"] > grades["C"]:
        check.fail("grades", "thresholds must fall from A to C (A > B > C)")

    engagement = check.mapping(doc.get("engagement"), "engagement")
    check.unknown_keys(
        engagement, {"half_life_days", "minimum", "default_points", "rules"}, "engagement"
    )
    half_life = check.number(engagement.get("half_life_days"), "engagement half_life_days")
    if half_life is not None and half_life <= 0:
        check.fail("engagement half_life_days", "must be above 0 (or null: no decay)")
    minimum = check.integer(engagement.get("minimum"), "engagement minimum", required=False)
    default_points = check.integer(engagement.get("default_points", 0), "engagement default_points")
    signals: list[EngagementRule] = []
    keys: set[str] = set()
    for index, raw in enumerate(check.listing(engagement.get("rules"), "engagement rules")):
        where = _where("engagement", index, raw)
        rule = check.mapping(raw, where)
        if not rule:
            continue
        check.unknown_keys(rule, {"kind", "property", "points", "label", "cap"}, where)
        label = check.label(rule.get("label"), where)
        kind = rule.get("kind")
        if not isinstance(kind, str) or not kind.strip():
            check.fail(where, "needs an event kind")
            kind = ""
        points = check.integer(rule.get("points"), where + " points")
        prop = None
        if rule.get("property") is not None:
            prop = check.condition(rule["property"], where + " property", property_name="name")
        cap = None
        if rule.get("cap") is not None:
            cap_raw = check.mapping(rule["cap"], where + " cap")
            check.unknown_keys(cap_raw, {"count", "days"}, where + " cap")
            count = check.integer(cap_raw.get("count"), where + " cap count")
            days = check.number(cap_raw.get("days"), where + " cap days")
            if count is not None and count < 1:
                check.fail(where + " cap count", "must be at least 1")
            elif days is None or days <= 0:
                check.fail(where + " cap days", "needs a period of more than 0 days")
            elif count is not None:
                cap = Cap(count, days)
        if kind and points is not None and label and (rule.get("property") is None or prop):
            signal = EngagementRule(kind, points, label, prop, cap)
            if signal.key in keys:
                check.fail(where, f"the same signal as an earlier rule ({signal.key})")
            keys.add(signal.key)
            signals.append(signal)

    segments_raw = check.mapping(doc.get("segments"), "segments")
    check.unknown_keys(
        segments_raw, {"marquee_sales_ready", "reengagement_points", "rules", "default"}, "segments"
    )
    marquee = segments_raw.get("marquee_sales_ready", True)
    if not isinstance(marquee, bool):
        check.fail("segments marquee_sales_ready", "must be true or false")
    reengagement = check.integer(
        segments_raw.get("reengagement_points", 0), "segments reengagement_points"
    )
    segment_rules: list[SegmentRule] = []
    for index, raw in enumerate(check.listing(segments_raw.get("rules"), "segments rules")):
        where = f"segments[{index}]"
        rule = check.mapping(raw, where)
        if not rule:
            continue
        check.unknown_keys(rule, {"segment", "grades", "score", "when"}, where)
        segment = rule.get("segment")
        if segment not in Segment.values:
            check.fail(where, f"unknown segment {segment!r} (one of {', '.join(Segment.values)})")
        rule_grades = check.listing(rule.get("grades"), where + " grades")
        for grade in rule_grades:
            if grade not in Grade.values:
                check.fail(where + " grades", f"unknown grade {grade!r} (A, B, C or D)")
        score = check.mapping(rule.get("score") or {}, where + " score")
        check.unknown_keys(score, {"min", "max"}, where + " score")
        low = check.integer(score.get("min"), where + " score min", required=False)
        high = check.integer(score.get("max"), where + " score max", required=False)
        if low is not None and high is not None and low >= high:
            check.fail(where + " score", f"min {low} is not below max {high}")
        when = [
            check.condition(c, f"{where} when[{n}]")
            for n, c in enumerate(check.listing(rule.get("when"), where + " when"))
        ]
        if not rule_grades and low is None and high is None and not when:
            check.fail(where, "matches every lead: give grades, a score range or conditions")
        if segment in Segment.values and all(when):
            segment_rules.append(
                SegmentRule(
                    str(segment), tuple(rule_grades), low, high, tuple(c for c in when if c)
                )
            )
    default_segment = segments_raw.get("default", Segment.NURTURE)
    if default_segment not in Segment.values:
        check.fail("segments default", f"unknown segment {default_segment!r}")

    if check.problems:
        raise ModelInvalid(check.problems)
    return ScoringModel(
        fit=tuple(fit),
        grades=grades,
        engagement=tuple(signals),
        half_life_days=half_life,
        engagement_minimum=minimum,
        default_event_points=default_points or 0,
        segments=tuple(segment_rules),
        default_segment=str(default_segment),
        marquee_sales_ready=bool(marquee),
        reengagement_points=reengagement or 0,
        document=copy.deepcopy(doc),
    )


# --- YAML ----------------------------------------------------------------------------------


def to_yaml(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def from_yaml(text: str) -> Any:
    """The document in a YAML text; ModelInvalid when it is not YAML."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ModelInvalid([("YAML", str(error).replace("\n", " "))]) from error
