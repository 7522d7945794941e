"""Lists of leads: the one service behind the lists pages, `/api/v1/lists` and `leadloop
lists`.

A smart list's definition is a list of conditions, all of which must hold; a condition
`{"any": [...]}` holds when one of its conditions does. Three kinds of condition:

- a field: `{"field": "country", "op": "in", "value": ["DE", "AT"]}` over the lead's
  fields, its account's (`account.industry`) and its custom fields (`custom.<key>`);
- a campaign: `{"field": "campaign", "op": "is", "value": "Webinar May",
  "status": "registered"}` (membership, optionally with its status; `is_not`: not a member);
- engagement: `{"field": "event", "kind": "email_click", "count": 1, "days": 30,
  "property": {"name": "url", "op": "contains", "value": "/pricing"}}`: at least `count`
  events of `kind` (`any`: of any kind) in the `days` before now.

The whole definition compiles to ONE queryset (`Exists` and counting subqueries over
campaign members and qualify's `capture_event`), so members are computed set-based: a
refresh deletes the members that no longer match and inserts the new ones with one
INSERT … SELECT. A definition with a bad condition is refused whole (`FieldError` naming
the condition and the reason). Who may change lists is the permission table's
(`manage_lists`); members are seen only within `users.access.visible_leads`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection, models, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.lookups import GreaterThanOrEqual

from leads.choices import Authority, Grade, MemberStatus, Segment, Stage, Timeline
from leads.errors import FieldError, NotPermitted
from leads.history import history_ids
from leads.models import Campaign, CampaignMember, Lead
from users.access import visible_leads
from users.choices import Capability
from users.models import User
from users.permissions import may

from .choices import ListKind
from .models_lists import LeadList, ListMember
from .models_streams import ContentStream

# field -> (the lead's column as an ORM path, its type, the values it allows or None).
TEXT, NUMBER, BOOL = "text", "number", "bool"
FIELDS: dict[str, tuple[str, str, frozenset[str] | None]] = {
    "country": ("country", TEXT, None),
    "industry": ("industry", TEXT, None),
    "employees": ("employees", NUMBER, None),
    "title": ("title", TEXT, None),
    "company_name": ("company_name", TEXT, None),
    "email": ("email", TEXT, None),
    "source": ("source", TEXT, None),
    "authority": ("authority", TEXT, frozenset(Authority.values)),
    "timeline": ("timeline", TEXT, frozenset(Timeline.values)),
    "budget": ("budget", NUMBER, None),
    "score": ("score", NUMBER, None),
    "fit_score": ("fit_score", NUMBER, None),
    "engagement_score": ("engagement_score", NUMBER, None),
    "grade": ("grade", TEXT, frozenset(Grade.values)),
    "stage": ("stage", TEXT, frozenset(Stage.values)),
    "segment": ("segment", TEXT, frozenset(Segment.values)),
    "account.name": ("account__name", TEXT, None),
    "account.domain": ("account__domain", TEXT, None),
    "account.industry": ("account__industry", TEXT, None),
    "account.employees": ("account__employees", NUMBER, None),
    "account.is_marquee": ("account__is_marquee", BOOL, None),
}
CUSTOM_PREFIX = "custom."
OPERATORS = (
    "is",
    "is_not",
    "in",
    "not_in",
    "contains",
    "at_least",
    "at_most",
    "is_empty",
    "is_set",
)
LIST_OPERATORS = frozenset({"in", "not_in"})
NUMBER_OPERATORS = frozenset({"at_least", "at_most"})
VALUELESS_OPERATORS = frozenset({"is_empty", "is_set"})
PROPERTY_OPERATORS = ("is", "is_not", "contains")
# A custom field's or an event property's key goes into an ORM lookup: letters, digits
# and single underscores only, so a key cannot smuggle in a lookup ("url__regex").
KEY = re.compile(r"^[A-Za-z0-9]+(_[A-Za-z0-9]+)*$")
MAX_CONDITIONS = 50
MAX_WINDOW_DAYS = 3650


def _where(index: int, parent: str = "") -> str:
    return f"{parent}conditions[{index}]"


def _number(value: Any, where: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise FieldError(where, f"{value!r} is not a number") from None
    if not number.is_finite():
        raise FieldError(where, f"{value!r} is not a number")
    return number


def _whole(value: Any, where: str, *, least: int, most: int, default: int | None) -> int | None:
    if value in (None, ""):
        return default
    if isinstance(value, bool):
        raise FieldError(where, "must be a whole number")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise FieldError(where, f"{value!r} is not a whole number") from None
    if not least <= number <= most:
        raise FieldError(where, f"must be between {least} and {most}")
    return number


def _check_field(raw: dict[str, Any], where: str) -> dict[str, Any]:
    field = str(raw.get("field") or "").strip()
    op = str(raw.get("op") or "").strip()
    if field.startswith(CUSTOM_PREFIX):
        key = field[len(CUSTOM_PREFIX) :]
        if not KEY.match(key):
            raise FieldError(
                f"{where}.field", f"custom field key {key!r}: letters, digits and _ only"
            )
        kind, allowed = TEXT, None
    elif field in FIELDS:
        _path, kind, allowed = FIELDS[field]
    else:
        raise FieldError(
            f"{where}.field",
            f"unknown field {field!r}; one of {', '.join([*FIELDS, 'campaign', 'event'])}"
            " or custom.<key>",
        )
    if op not in OPERATORS:
        raise FieldError(f"{where}.op", f"unknown operator {op!r}; one of {', '.join(OPERATORS)}")
    if op in VALUELESS_OPERATORS:
        return {"field": field, "op": op}
    value = raw.get("value")
    if op in LIST_OPERATORS:
        items = value if isinstance(value, list | tuple) else str(value or "").split(",")
        values = [str(item).strip() for item in items if str(item).strip()]
        if not values:
            raise FieldError(f"{where}.value", "name at least one value")
    else:
        if isinstance(value, list | tuple):
            raise FieldError(f"{where}.value", f"{op} takes one value, not a list")
        text = str(value if value is not None else "").strip()
        if not text:
            raise FieldError(f"{where}.value", "must not be empty")
        values = [text]
    if op in NUMBER_OPERATORS or (kind == NUMBER and not field.startswith(CUSTOM_PREFIX)):
        if op == "contains":
            raise FieldError(f"{where}.op", f"{field} is a number: use is, at_least, at_most")
        for item in values:
            _number(item, f"{where}.value")
    if kind == BOOL:
        if op not in ("is", "is_not") or values[0].lower() not in ("true", "false"):
            raise FieldError(f"{where}.value", f"{field} is true or false (is / is_not)")
        values = [values[0].lower()]
    if field == "country":
        values = [v.upper() for v in values]
    if allowed is not None:
        values = [v.lower() if v.lower() in allowed else v for v in values]
        wrong = [v for v in values if v not in allowed]
        if wrong and op != "contains":
            raise FieldError(
                f"{where}.value",
                f"{field} has no value {wrong[0]!r}; one of {', '.join(sorted(allowed))}",
            )
    return {"field": field, "op": op, "value": values if op in LIST_OPERATORS else values[0]}


def _check_campaign(raw: dict[str, Any], where: str) -> dict[str, Any]:
    op = str(raw.get("op") or "is").strip()
    if op not in ("is", "is_not"):
        raise FieldError(f"{where}.op", "campaign takes is (a member) or is_not (not a member)")
    name = str(raw.get("value") or "").strip()
    if not name:
        raise FieldError(f"{where}.value", "name the campaign")
    if not Campaign.objects.filter(name__iexact=name).exists():
        raise FieldError(f"{where}.value", f"no campaign called {name!r}")
    out: dict[str, Any] = {"field": "campaign", "op": op, "value": name}
    status = str(raw.get("status") or "").strip().lower()
    if status:
        values = MemberStatus.values
        if status not in values:
            raise FieldError(
                f"{where}.status", f"no campaign status {status!r}; one of {', '.join(values)}"
            )
        out["status"] = status
    return out


def _check_event(raw: dict[str, Any], where: str) -> dict[str, Any]:
    kind = str(raw.get("kind") or "").strip()
    if not kind:
        raise FieldError(f"{where}.kind", "name the event kind (e.g. email_click), or any")
    if len(kind) > 50:
        raise FieldError(f"{where}.kind", "at most 50 characters")
    count = _whole(raw.get("count"), f"{where}.count", least=1, most=100000, default=1)
    days = _whole(raw.get("days"), f"{where}.days", least=1, most=MAX_WINDOW_DAYS, default=None)
    out: dict[str, Any] = {"field": "event", "kind": kind, "count": count}
    if days is not None:
        out["days"] = days
    prop = raw.get("property")
    if prop:
        if not isinstance(prop, dict):
            raise FieldError(f"{where}.property", 'must be {"name", "op", "value"}')
        name = str(prop.get("name") or "").strip()
        if not KEY.match(name):
            raise FieldError(f"{where}.property.name", f"{name!r}: letters, digits and _ only")
        op = str(prop.get("op") or "is").strip()
        if op not in PROPERTY_OPERATORS:
            raise FieldError(
                f"{where}.property.op",
                f"unknown operator {op!r}; one of {', '.join(PROPERTY_OPERATORS)}",
            )
        value = str(prop.get("value") if prop.get("value") is not None else "").strip()
        if not value:
            raise FieldError(f"{where}.property.value", "must not be empty")
        out["property"] = {"name": name, "op": op, "value": value}
    return out


def _check_one(raw: Any, where: str, *, nested: bool) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise FieldError(where, 'must be an object: {"field", "op", "value"} or {"any": [...]}')
    if "any" in raw:
        if nested:
            raise FieldError(where, "an OR group cannot hold another group")
        group = raw["any"]
        if not isinstance(group, list) or len(group) < 2:
            raise FieldError(f"{where}.any", "an OR group needs a list of at least 2 conditions")
        return {
            "any": [
                _check_one(item, f"{where}.any[{i}]", nested=True) for i, item in enumerate(group)
            ]
        }
    field = str(raw.get("field") or "").strip()
    if field == "campaign":
        return _check_campaign(raw, where)
    if field == "event":
        return _check_event(raw, where)
    return _check_field(raw, where)


def check_definition(definition: Any) -> list[dict[str, Any]]:
    """The definition cleaned (values normalised), or FieldError naming the first bad
    condition ("conditions[2].value") and why. Nothing of a bad definition is kept."""
    if not isinstance(definition, list):
        raise FieldError("conditions", "must be a list of conditions")
    if len(definition) > MAX_CONDITIONS:
        raise FieldError("conditions", f"at most {MAX_CONDITIONS} conditions")
    return [_check_one(raw, _where(i), nested=False) for i, raw in enumerate(definition)]


# --- Compiling to one query -----------------------------------------------------------


def _text_q(path: str, op: str, value: Any, *, nullable: bool) -> Q:
    if op == "is_empty":
        return Q(**{path: ""}) | Q(**{f"{path}__isnull": True}) if nullable else Q(**{path: ""})
    if op == "is_set":
        q = ~Q(**{path: ""})
        return q & Q(**{f"{path}__isnull": False}) if nullable else q
    if op == "is":
        return Q(**{f"{path}__iexact": value})
    if op == "is_not":
        return ~Q(**{f"{path}__iexact": value})
    if op in LIST_OPERATORS:
        anyof = Q()
        for item in value:
            anyof |= Q(**{f"{path}__iexact": item})
        return anyof if op == "in" else ~anyof
    if op == "contains":
        return Q(**{f"{path}__icontains": value})
    bound = Decimal(value)
    return Q(**{f"{path}__gte" if op == "at_least" else f"{path}__lte": bound})


def _number_q(path: str, op: str, value: Any) -> Q:
    if op == "is_empty":
        return Q(**{f"{path}__isnull": True})
    if op == "is_set":
        return Q(**{f"{path}__isnull": False})
    if op in ("is", "is_not"):
        q = Q(**{path: Decimal(value)})
        return q if op == "is" else ~q
    if op in LIST_OPERATORS:
        q = Q(**{f"{path}__in": [Decimal(v) for v in value]})
        return q if op == "in" else ~q
    return Q(**{f"{path}__gte" if op == "at_least" else f"{path}__lte": Decimal(value)})


def _field_q(cond: dict[str, Any]) -> Q:
    field, op, value = cond["field"], cond["op"], cond.get("value")
    if field.startswith(CUSTOM_PREFIX):
        key = field[len(CUSTOM_PREFIX) :]
        path = f"custom_fields__{key}"
        if op == "is_empty":
            return ~Q(custom_fields__has_key=key) | Q(**{path: ""}) | Q(**{path: None})
        if op == "is_set":
            return Q(custom_fields__has_key=key) & ~Q(**{path: ""}) & ~Q(**{path: None})
        if op in NUMBER_OPERATORS:
            return Q(**{f"{path}__gte" if op == "at_least" else f"{path}__lte": float(str(value))})
        q = _text_q(path, op, value, nullable=False)
        # A lead without the key is "not" anything: negations keep it.
        if op in ("is_not", "not_in"):
            return q | ~Q(custom_fields__has_key=key)
        return q
    path, kind, _allowed = FIELDS[field]
    nullable = path.startswith("account__") or field in ("email",)
    if kind == NUMBER:
        return _number_q(path, op, value)
    if kind == BOOL:
        q = Q(**{path: value == "true"})
        return q if op == "is" else ~q
    return _text_q(path, op, value, nullable=nullable)


def _campaign_q(cond: dict[str, Any]) -> Q:
    members = CampaignMember.objects.filter(
        lead_id=OuterRef("pk"), campaign__name__iexact=cond["value"]
    )
    if cond.get("status"):
        members = members.filter(status=cond["status"])
    exists = Exists(members)
    return Q(exists) if cond["op"] == "is" else ~Q(exists)


def _event_q(cond: dict[str, Any], now: datetime) -> Q:
    from qualify.models import Event

    events = Event.objects.filter(lead_id=OuterRef("pk"), occurred_at__lte=now)
    if cond["kind"] != "any":
        events = events.filter(kind=cond["kind"])
    if cond.get("days"):
        events = events.filter(occurred_at__gt=now - timedelta(days=cond["days"]))
    prop = cond.get("property")
    if prop:
        path = f"properties__{prop['name']}"
        if prop["op"] == "is":
            events = events.filter(**{f"{path}__iexact": prop["value"]})
        elif prop["op"] == "is_not":
            events = events.exclude(**{f"{path}__iexact": prop["value"]})
        else:
            events = events.filter(**{f"{path}__icontains": prop["value"]})
    if cond["count"] <= 1:
        return Q(Exists(events))
    counted = events.order_by().values("lead_id").annotate(n=Count("pk")).values("n")
    return Q(GreaterThanOrEqual(Subquery(counted), cond["count"]))


def _condition_q(cond: dict[str, Any], now: datetime) -> Q:
    if "any" in cond:
        anyof = Q(pk__in=[])
        for item in cond["any"]:
            anyof |= _condition_q(item, now)
        return anyof
    if cond["field"] == "campaign":
        return _campaign_q(cond)
    if cond["field"] == "event":
        return _event_q(cond, now)
    return _field_q(cond)


def compile_definition(definition: Sequence[dict[str, Any]], *, now: datetime) -> Q:
    """The filter a (checked) definition stands for, at `now` (engagement windows end
    there)."""
    q = Q()
    for cond in definition:
        q &= _condition_q(cond, now)
    return q


def matching_leads(definition: Any, *, now: datetime) -> QuerySet[Lead]:
    """Every lead (not merged away) a definition matches at `now`: one query."""
    checked = check_definition(definition)
    return Lead.objects.filter(merged_into__isnull=True).filter(
        compile_definition(checked, now=now)
    )


# --- Text lines, as people type conditions --------------------------------------------


def _parse_line(line: str, where: str) -> dict[str, Any]:
    text = line.strip()
    head, _, rest = text.partition(" ")
    rest = rest.strip()
    if head == "campaign":
        op, _, name = rest.partition(" ")
        name, _, status = name.partition(" with status ")
        return {"field": "campaign", "op": op, "value": name.strip(), "status": status.strip()}
    if head == "event":
        # event KIND [where NAME OP VALUE] [at_least N] [in D days]
        match = re.fullmatch(
            r"(?P<kind>\S+)"
            r"(?:\s+where\s+(?P<name>\S+)\s+(?P<op>\S+)\s+(?P<value>.+?))?"
            r"(?:\s+at_least\s+(?P<count>\S+))?"
            r"(?:\s+in\s+(?P<days>\S+)\s+days?)?",
            rest,
        )
        if match is None:
            raise FieldError(
                where,
                f"{text!r} is not 'event KIND [where NAME OP VALUE] [at_least N] [in D days]'",
            )
        raw: dict[str, Any] = {
            "field": "event",
            "kind": match["kind"],
            "count": match["count"],
            "days": match["days"],
        }
        if match["name"]:
            raw["property"] = {"name": match["name"], "op": match["op"], "value": match["value"]}
        return raw
    op, _, value = rest.partition(" ")
    if not op:
        raise FieldError(where, f"{text!r} is not 'field operator value'")
    return {"field": head, "op": op, "value": value.strip()}


def definition_from_text(text: str) -> list[dict[str, Any]]:
    """Conditions typed one a line ("country in DE, AT", "event email_click in 30 days",
    "any: grade is A; score at_least 80"), checked; FieldError names the line."""
    raw: list[Any] = []
    lines: list[int] = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"line {number}"
        if line.strip().startswith("any:"):
            parts = [p for p in line.strip()[4:].split(";") if p.strip()]
            raw.append({"any": [_parse_line(p, where) for p in parts]})
        else:
            raw.append(_parse_line(line, where))
        lines.append(number)
    try:
        return check_definition(raw)
    except FieldError as error:
        found = re.match(r"conditions\[(\d+)\](.*)", error.field)
        if found is None:
            raise
        raise FieldError("conditions", f"line {lines[int(found[1])]}: {error.message}") from None


def _line(cond: dict[str, Any]) -> str:
    if cond["field"] == "campaign":
        status = f" with status {cond['status']}" if cond.get("status") else ""
        return f"campaign {cond['op']} {cond['value']}{status}"
    if cond["field"] == "event":
        out = f"event {cond['kind']}"
        if cond.get("property"):
            p = cond["property"]
            out += f" where {p['name']} {p['op']} {p['value']}"
        if cond.get("count", 1) > 1:
            out += f" at_least {cond['count']}"
        if cond.get("days"):
            out += f" in {cond['days']} days"
        return out
    value = cond.get("value", "")
    value = ", ".join(value) if isinstance(value, list) else str(value)
    return f"{cond['field']} {cond['op']} {value}".strip()


def definition_as_text(definition: Sequence[dict[str, Any]]) -> str:
    return "\n".join(
        "any: " + "; ".join(_line(c) for c in cond["any"]) if "any" in cond else _line(cond)
        for cond in definition
    )


# --- Changing lists ---------------------------------------------------------------------


def _check_may(by: User) -> None:
    if not may(by, Capability.MANAGE_LISTS):
        raise NotPermitted("lists", "only marketing and admins manage lists")


def _clean_name(name: Any, lead_list: LeadList | None) -> str:
    clean = str(name or "").strip()
    if not clean:
        raise FieldError("name", "a list needs a name")
    if len(clean) > 100:
        raise FieldError("name", "at most 100 characters")
    taken = LeadList.objects.filter(name__iexact=clean)
    if lead_list is not None:
        taken = taken.exclude(pk=lead_list.pk)
    if taken.exists():
        raise FieldError("name", f"there is already a list called {clean!r}")
    return clean


def create_list(
    *, by: User, name: Any, kind: Any = ListKind.SMART, definition: Any = None, now: datetime
) -> LeadList:
    """A new list; a smart one gets its members at once."""
    _check_may(by)
    if kind not in ListKind.values:
        raise FieldError("kind", f"one of {', '.join(ListKind.values)}")
    clean_name = _clean_name(name, None)
    if kind == ListKind.STATIC:
        if definition:
            raise FieldError("conditions", "a static list has no conditions")
        checked: list[dict[str, Any]] = []
    else:
        checked = check_definition(definition if definition is not None else [])
    with transaction.atomic():
        lead_list = LeadList.objects.create(
            name=clean_name,
            kind=kind,
            definition=checked,
            created_by=by,
            created_at=now,
            updated_at=now,
        )
        if kind == ListKind.SMART:
            refresh_list(lead_list, now=now)
    return lead_list


def update_list(
    lead_list: LeadList, *, by: User, name: Any = None, definition: Any = None, now: datetime
) -> LeadList:
    """Rename a list or change a smart list's conditions (members recomputed at once)."""
    _check_may(by)
    fields = ["updated_at"]
    if name is not None:
        lead_list.name = _clean_name(name, lead_list)
        fields.append("name")
    if definition is not None:
        if lead_list.kind == ListKind.STATIC:
            raise FieldError("conditions", "a static list has no conditions")
        lead_list.definition = check_definition(definition)
        fields.append("definition")
    lead_list.updated_at = now
    with transaction.atomic():
        lead_list.save(update_fields=fields)
        if definition is not None:
            refresh_list(lead_list, now=now)
    return lead_list


def delete_list(lead_list: LeadList, *, by: User) -> None:
    _check_may(by)
    used = ContentStream.objects.filter(enrol_list=lead_list).order_by("name").first()
    if used is not None:
        raise FieldError(
            "list", f"the content stream {used.name!r} enrols from this list: change its rule first"
        )
    lead_list.delete()


@dataclass(frozen=True)
class Refresh:
    joined: int
    left: int


def refresh_list(lead_list: LeadList, *, now: datetime) -> Refresh:
    """Recompute a smart list's members at `now`: delete the members that no longer
    match and insert the new ones, set-based over the whole list. Idempotent: a second run
    at the same moment changes nothing. A static list is left as it is."""
    if lead_list.kind != ListKind.SMART:
        return Refresh(0, 0)
    target = (
        Lead.objects.filter(merged_into__isnull=True)
        .filter(compile_definition(lead_list.definition, now=now))
        .order_by()
        .annotate(picked_id=F("pk"))
        .values_list("picked_id")
    )
    with transaction.atomic():
        if connection.vendor == "postgresql":
            joined, left = _difference_in_one_statement(lead_list, target, now)
        else:
            joined, left = _difference_in_two_statements(lead_list, target, now)
        LeadList.objects.filter(pk=lead_list.pk).update(
            refreshed_at=now, last_joined=joined, last_left=left
        )
    lead_list.refreshed_at, lead_list.last_joined, lead_list.last_left = now, joined, left
    return Refresh(joined, left)


MEMBERS = ListMember._meta.db_table


def _difference_in_one_statement(
    lead_list: LeadList, target: QuerySet[Any], now: datetime
) -> tuple[int, int]:
    """PostgreSQL: the filter is evaluated once (a materialised CTE) and compared with the
    current members by a FULL JOIN, which PostgreSQL can only run as a hash or merge
    join: an anti-join against a CTE may be planned as a nested loop, rescanning a
    million-row target for every member. Both halves of the difference are then taken
    in the same statement. ON CONFLICT: a sweep running beside a "refresh now" may insert
    a lead first."""
    sql, params = target.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH target AS MATERIALIZED ({sql}),"
            f" current AS MATERIALIZED (SELECT lead_id FROM {MEMBERS} WHERE lead_list_id = %s),"
            " diff AS MATERIALIZED (SELECT t.picked_id AS new_id, c.lead_id AS old_id"
            "  FROM target t FULL JOIN current c ON c.lead_id = t.picked_id"
            "  WHERE t.picked_id IS NULL OR c.lead_id IS NULL),"
            f" gone AS (DELETE FROM {MEMBERS} m USING diff d"
            "  WHERE m.lead_list_id = %s AND m.lead_id = d.old_id RETURNING 1),"
            f" came AS (INSERT INTO {MEMBERS} (lead_list_id, lead_id, added_at)"
            "  SELECT %s, d.new_id, %s FROM diff d WHERE d.new_id IS NOT NULL"
            "  ON CONFLICT DO NOTHING RETURNING 1)"
            " SELECT (SELECT count(*) FROM came), (SELECT count(*) FROM gone)",
            [*params, lead_list.pk, lead_list.pk, lead_list.pk, now],
        )
        joined, left = cursor.fetchone()
    return int(joined), int(left)


def _difference_in_two_statements(
    lead_list: LeadList, target: QuerySet[Any], now: datetime
) -> tuple[int, int]:
    """SQLite (no data-modifying CTEs): a DELETE of the members outside the filter, then
    an INSERT … SELECT of the matching leads not yet members."""
    left, _ = ListMember.objects.filter(lead_list=lead_list).exclude(lead_id__in=target).delete()
    new = target.exclude(
        Exists(ListMember.objects.filter(lead_list=lead_list, lead_id=OuterRef("pk")))
    )
    sql, params = new.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {MEMBERS} (lead_list_id, lead_id, added_at)"
            f" SELECT %s, picked.picked_id, %s FROM ({sql}) AS picked WHERE 1 = 1"
            " ON CONFLICT DO NOTHING",
            [lead_list.pk, connection.ops.adapt_datetimefield_value(now), *params],
        )
        joined = max(cursor.rowcount, 0)
    return joined, left


def refresh_now(lead_list: LeadList, *, by: User, now: datetime) -> Refresh:
    """The "refresh now" action of the list page, the API and the CLI."""
    _check_may(by)
    if lead_list.kind != ListKind.SMART:
        raise FieldError("kind", "a static list changes only when leads are added or removed")
    return refresh_list(lead_list, now=now)


def run_due(*, now: datetime) -> int:
    """The lists sweep: recompute every smart list at `now` (engagement windows move with
    time, leads change). Returns how many memberships began or ended."""
    changed = 0
    for lead_list in LeadList.objects.filter(kind=ListKind.SMART).order_by("pk"):
        done = refresh_list(lead_list, now=now)
        changed += done.joined + done.left
    return changed


def _static(lead_list: LeadList) -> None:
    if lead_list.kind != ListKind.STATIC:
        raise FieldError(
            "list", f"{lead_list.name!r} is a smart list: its conditions pick its members"
        )


def add_leads(lead_list: LeadList, lead_ids: Iterable[int], *, by: User, now: datetime) -> int:
    """Put the leads `by` sees among `lead_ids` into a static list; returns how many
    joined (a lead already in it stays as it was)."""
    _check_may(by)
    _static(lead_list)
    ids = visible_leads(by, Lead.objects.filter(pk__in=list(lead_ids))).values_list("pk", flat=True)
    rows = [ListMember(lead_list=lead_list, lead_id=pk, added_at=now) for pk in ids]
    with transaction.atomic():
        before = ListMember.objects.filter(lead_list=lead_list).count()
        ListMember.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
        return ListMember.objects.filter(lead_list=lead_list).count() - before


def remove_leads(lead_list: LeadList, lead_ids: Iterable[int], *, by: User) -> int:
    """Take the leads `by` sees among `lead_ids` out of a static list; returns how many."""
    _check_may(by)
    _static(lead_list)
    ids = visible_leads(by, Lead.objects.filter(pk__in=list(lead_ids))).values("pk")
    removed, _ = ListMember.objects.filter(lead_list=lead_list, lead_id__in=ids).delete()
    return removed


def members(lead_list: LeadList, *, viewer: User) -> QuerySet[Lead]:
    """The list's members that `viewer` may see."""
    return visible_leads(
        viewer,
        Lead.objects.filter(
            Exists(ListMember.objects.filter(lead_list=lead_list, lead_id=OuterRef("pk")))
        ),
    )


# --- A merge of two leads (identity.merging asks each owner to move its rows) ---------

LEAD_HISTORY: dict[str, type[models.Model]] = {"list_memberships": ListMember}


def lead_history_ids(lead: Lead) -> dict[str, list[int]]:
    """The ids of the lead's list memberships, as identity.merging records them."""
    return history_ids(LEAD_HISTORY, lead)


def move_lead_history(
    ids: Mapping[str, Sequence[int]], *, to: Lead, only_from: Lead | None = None
) -> dict[str, int]:
    """Give the memberships named by `ids` to the lead `to` (a merge, or its undo). Where
    `to` is already in the list, it keeps its own row and the other stays where it was
    (on a merged lead no one sees it), so an undo gives back exactly what was there."""
    rows = ListMember.objects.filter(pk__in=ids.get("list_memberships", ()))
    if only_from is not None:
        rows = rows.filter(lead=only_from)
    rows = rows.exclude(lead_list_id__in=ListMember.objects.filter(lead=to).values("lead_list_id"))
    return {"list_memberships": rows.update(lead=to)}
