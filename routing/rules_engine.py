"""Pure routing-rule decisions: what a condition says, whether a lead's facts meet it, which
rule is the first to match (and why each before it did not), which rep of a team is free
to take a lead, and which of them round robin picks, weighted by capacity.

No database here: routing.router reads the rows and asks these functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from .rules import BusinessCalendar

# The fields a condition may name, with what people call them. `custom.<key>` names any
# custom field (an import's "State" column is `custom.state`; `state` is short for it).
FIELDS: dict[str, str] = {
    "country": "the lead's country (ISO code, e.g. DE)",
    "state": "the lead's state or region (custom field 'state')",
    "segment": "sales_ready, nurture or disqualified",
    "grade": "the lead's grade, A to D",
    "campaign": "a campaign the lead came from or joined (its name)",
    "score": "the lead's total score",
    "fit_score": "the lead's fit score",
    "engagement_score": "the lead's engagement score",
    "industry": "the lead's industry",
    "employees": "the lead's company size",
    "title": "the lead's job title",
    "company_name": "the lead's company name",
    "source": "how the lead arrived (web_form, import, webinar …)",
    "authority": "decision_maker, influencer, user, none",
    "timeline": "now, quarter, year, later, never",
    "budget": "the lead's budget",
    "email_domain": "the domain of the lead's email",
    "account.name": "the account's name",
    "account.domain": "the account's domain",
    "account.industry": "the account's industry",
    "account.employees": "the account's size",
    "account.is_marquee": "true for a marquee account",
}
CUSTOM_PREFIX = "custom."

# operator -> how it reads; `in` and `not_in` take a list, the others one value.
OPERATORS: dict[str, str] = {
    "is": "is",
    "is_not": "is not",
    "in": "is one of",
    "not_in": "is none of",
    "contains": "contains",
    "at_least": "is at least",
    "at_most": "is at most",
    "is_empty": "is empty",
    "is_set": "is set",
}
LIST_OPERATORS = frozenset({"in", "not_in"})
NUMBER_OPERATORS = frozenset({"at_least", "at_most"})
VALUELESS_OPERATORS = frozenset({"is_empty", "is_set"})


class ConditionError(ValueError):
    """A condition that cannot be read; `field` says which part ("conditions[2].op")."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: str | tuple[str, ...] = ""

    @property
    def text(self) -> str:
        """The condition in words, e.g. "country is one of DE, AT, CH"."""
        if self.op in VALUELESS_OPERATORS:
            return f"{self.field} {OPERATORS[self.op]}"
        value = ", ".join(self.value) if isinstance(self.value, tuple) else self.value
        return f"{self.field} {OPERATORS[self.op]} {value}"

    def as_json(self) -> dict[str, Any]:
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"field": self.field, "op": self.op, "value": value}


def _known_field(name: str) -> bool:
    return name in FIELDS or (name.startswith(CUSTOM_PREFIX) and len(name) > len(CUSTOM_PREFIX))


def check_condition(raw: Mapping[str, Any], where: str = "condition") -> Condition:
    """A condition from its JSON form ({"field", "op", "value"}), or ConditionError naming
    the part at fault."""
    if not isinstance(raw, Mapping):
        raise ConditionError(where, 'must be an object with "field", "op" and "value"')
    field = str(raw.get("field") or "").strip()
    op = str(raw.get("op") or "").strip()
    if not _known_field(field):
        raise ConditionError(
            f"{where}.field",
            f"unknown field {field!r}; one of {', '.join(FIELDS)} or custom.<key>",
        )
    if op not in OPERATORS:
        raise ConditionError(
            f"{where}.op", f"unknown operator {op!r}; one of {', '.join(OPERATORS)}"
        )
    value = raw.get("value", "")
    if op in VALUELESS_OPERATORS:
        return Condition(field, op, "")
    if op in LIST_OPERATORS:
        items = value if isinstance(value, list | tuple) else str(value or "").split(",")
        values = tuple(str(item).strip() for item in items if str(item).strip())
        if not values:
            raise ConditionError(f"{where}.value", "name at least one value")
        if field == "country":
            values = tuple(v.upper() for v in values)
        return Condition(field, op, values)
    if isinstance(value, list | tuple):
        raise ConditionError(f"{where}.value", f"{op} takes one value, not a list")
    text = str(value if value is not None else "").strip()
    if not text:
        raise ConditionError(f"{where}.value", "must not be empty")
    if op in NUMBER_OPERATORS and _number(text) is None:
        raise ConditionError(f"{where}.value", f"{text!r} is not a number")
    if field == "country":
        text = text.upper()
    return Condition(field, op, text)


def parse_condition(line: str, where: str = "condition") -> Condition:
    """A condition as people type it, one a line: "country in DE, AT, CH",
    "account.employees at_least 1000", "custom.state is CA", "grade is_set"."""
    parts = line.strip().split(None, 2)
    if len(parts) < 2:
        raise ConditionError(where, f"{line.strip()!r} is not 'field operator value'")
    field, op = parts[0], parts[1]
    return check_condition(
        {"field": field, "op": op, "value": parts[2] if len(parts) > 2 else ""}, where
    )


def _number(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def _values(fact: Any) -> list[str]:
    """A fact as the strings a condition compares (a campaign list gives several)."""
    if fact is None:
        return []
    if isinstance(fact, list | tuple | set | frozenset):
        return [str(item).strip().lower() for item in fact if str(item).strip()]
    if isinstance(fact, bool):
        return ["true" if fact else "false"]
    text = str(fact).strip().lower()
    return [text] if text else []


def fact_of(facts: Mapping[str, Any], field: str) -> Any:
    if field.startswith(CUSTOM_PREFIX):
        return (facts.get("custom") or {}).get(field[len(CUSTOM_PREFIX) :])
    if field == "state":
        return (facts.get("custom") or {}).get("state")
    return facts.get(field)


def holds(condition: Condition, facts: Mapping[str, Any]) -> bool:
    """Whether the lead's `facts` meet `condition`. Text compares without regard to case;
    an empty fact meets only `is_empty`, `is_not` and `not_in`."""
    fact = fact_of(facts, condition.field)
    values = _values(fact)
    match condition.op:
        case "is_empty":
            return not values
        case "is_set":
            return bool(values)
        case "is":
            return str(condition.value).lower() in values
        case "is_not":
            return str(condition.value).lower() not in values
        case "in":
            return any(v.lower() in values for v in condition.value)
        case "not_in":
            return not any(v.lower() in values for v in condition.value)
        case "contains":
            return any(str(condition.value).lower() in v for v in values)
        case "at_least" | "at_most":
            number, bound = _number(fact), _number(condition.value)
            if number is None or bound is None:
                return False
            return number >= bound if condition.op == "at_least" else number <= bound
    return False  # pragma: no cover - check_condition admits only the operators above


@dataclass(frozen=True)
class RuleView:
    """What the engine reads of a routing rule."""

    id: int
    name: str
    conditions: tuple[Condition, ...]
    target: str
    to_user_id: int | None
    to_team_id: int | None


@dataclass(frozen=True)
class RuleCheck:
    """One rule tried for a lead: the condition that failed (None: it matched)."""

    rule: RuleView
    failed: Condition | None

    @property
    def matched(self) -> bool:
        return self.failed is None

    @property
    def text(self) -> str:
        if self.failed is None:
            return f"rule '{self.rule.name}': matches"
        return f"rule '{self.rule.name}': no, not ({self.failed.text})"


def first_failed(conditions: Sequence[Condition], facts: Mapping[str, Any]) -> Condition | None:
    return next((c for c in conditions if not holds(c, facts)), None)


def match_rules(
    rules: Sequence[RuleView], facts: Mapping[str, Any]
) -> tuple[RuleView | None, list[RuleCheck]]:
    """The first rule, in order, whose conditions all hold (a rule without conditions
    matches every lead), and each rule tried up to it."""
    checks: list[RuleCheck] = []
    for rule in rules:
        check = RuleCheck(rule, first_failed(rule.conditions, facts))
        checks.append(check)
        if check.matched:
            return rule, checks
    return None, checks


# --- who can take a lead -------------------------------------------------------------------


@dataclass
class RepState:
    """What round robin reads of a rep at one moment; `open_leads` moves as leads are
    handed out in a batch."""

    id: int
    name: str
    team_id: int | None
    is_active: bool = True
    is_accepting_leads: bool = True
    on_leave: bool = False
    in_working_hours: bool = True
    open_leads: int = 0
    cap: int | None = None
    is_rep: bool = True

    @property
    def has_room(self) -> bool:
        return self.cap is None or self.open_leads < self.cap

    def why_not(self, *, need_working_hours: bool) -> str | None:
        """Why this rep cannot take a lead now (None: they can)."""
        if not self.is_active:
            return "deactivated"
        if self.on_leave:
            return "on leave"
        if not self.is_accepting_leads:
            return "not accepting leads"
        if need_working_hours and not self.in_working_hours:
            return "outside working hours"
        if not self.has_room:
            return f"at their cap of {self.cap} open leads"
        return None


def pick_rep(reps: Sequence[RepState], last: int | None) -> RepState | None:
    """Round robin among `reps` (those free to take a lead), continuing after `last`.

    Weighted by capacity: when every one of them has a cap, the one with the smallest
    share of it in use goes first (a rep with a cap of 20 gets twice the leads of one with
    10), ties in rotation order; otherwise plain rotation by id. Either way a rep at their
    cap is never given one (the caller passes only reps with room)."""
    if not reps:
        return None
    ordered = sorted(reps, key=lambda rep: rep.id)
    start = next((i for i, rep in enumerate(ordered) if last is not None and rep.id > last), 0)
    rotated = ordered[start:] + ordered[:start]
    if all(rep.cap for rep in rotated):
        return min(
            enumerate(rotated),
            key=lambda item: (Decimal(item[1].open_leads) / Decimal(item[1].cap or 1), item[0]),
        )[1]
    return rotated[0]


def is_working_time(calendar: BusinessCalendar, now: datetime) -> bool:
    """Whether `now` falls in a working window of `calendar` (its day, hours, holidays)."""
    local = now.astimezone(ZoneInfo(calendar.timezone))
    if not calendar.is_workday(local.date()):
        return False
    opens, closes = calendar.window(local.date())
    return opens <= local < closes
