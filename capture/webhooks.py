"""Webhook payloads to engagement events: a pure mapping, configured per source, no database.

A webinar or form tool posts JSON in its own shape. A `WebhookSource.mapping` says where
the items are and where each event field sits in an item:

    {
      "items": "payload.object.participants",   # "" = the payload itself is one item
      "email": "participant.email",
      "occurred_at": ["join_time", "registration_time"],   # first one present
      "kind": {"path": "status",
               "map": {"attended": "webinar_attended", "registered": "webinar_registered"}},
      "idempotency_key": "{$.payload.object.id}:{participant.email}:{status}",
      "properties": {"duration": "duration", "webinar": "$.payload.object.topic"},
      "lead": {"first_name": "participant.first_name", "company_name": "participant.org"},
      "member_status": {"path": "status", "map": {"attended": "attended"}},
      "timezone": "Europe/Berlin",   # for timestamps sent without an offset
      "update_known_leads": false,   # also fill in what leads already known lack
      "consent": {"purpose": "events", "granted": "participant.opted_in",
                  "text": {"value": "Invite me to future webinars"}}
    }

`consent` (optional): the item's answer to a consent question, recorded for the purpose
named (a slug) through nurture.consent with source "webhook". `granted` is a field read as
yes/no (true, "yes", "1", "on", "opted in" …); a webhook may grant consent, never
withdraw it, so a "no" records nothing.

Only `kind` is required; `email` defaults to the path `email`, `occurred_at` to the time
the delivery arrived, and `idempotency_key` to a hash of the item (so a replayed delivery
is recognised even then, but two identical items count once).

A path is dotted keys into the item (`participant.email`); a number indexes a list
(`answers.0.email`); `name[key=value]` picks the first object of a list whose `key` (itself
a dotted path) equals `value` (`answers[field.ref=work_email].email`); a leading `$.`
reads from the whole payload instead of the item (`$.payload.object.id`).

A field is one of: a path; a list of paths (the first present wins); or an object
`{"path": …, "map": {…}, "default": …}` (look the value up in `map`; a value not in it is
refused unless `default` is given), `{"value": …}` (a constant) or `{"template": "…"}`
(placeholders `{path}` filled in). For `kind` a bare string is the constant kind, and for
`idempotency_key` a bare string with `{…}` in it is a template.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from leads.choices import MemberStatus
from leads.errors import FieldError

from .rules import LEAD_FIELDS, clean_lead_fields

MAX_ITEMS = 1000
KIND_MAX = 50
KEY_MAX = 200
EVENT_FIELDS = (
    "email", "occurred_at", "kind", "idempotency_key", "member_status", "properties", "lead",
)  # fmt: skip
MAPPING_KEYS = frozenset({"items", *EVENT_FIELDS, "timezone", "update_known_leads", "consent"})
CONSENT_KEYS = frozenset({"purpose", "granted", "text"})
YES = frozenset({"true", "yes", "y", "1", "on", "opted in", "optedin", "subscribed", "granted"})
NO = frozenset({"false", "no", "n", "0", "off", "", "opted out", "optedout", "unsubscribed"})
# A lead's campaign membership follows from what the event says it did.
KIND_MEMBER_STATUS = {
    "webinar_attended": MemberStatus.ATTENDED,
    "webinar_registered": MemberStatus.REGISTERED,
    "webinar_no_show": MemberStatus.NO_SHOW,
}
DEFAULT_MEMBER_STATUS = MemberStatus.RESPONDED
# Epoch numbers above this are milliseconds (it is 5138 AD in seconds).
EPOCH_MILLIS_FROM = 10**11
UNSTORABLE_MESSAGE = "contains the NUL character or an unpaired surrogate"

_STEP = re.compile(r"([^.\[\]]+)(?:\[([^\[\]=]+)=([^\[\]]*)\])?")
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
# Text no database column can hold: PostgreSQL refuses NUL, and UTF-8 has no lone surrogates.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


# The header a sender passes its source's token in (or ?token= in the address).
TOKEN_HEADER = "X-Leadloop-Token"


def new_webhook_token() -> str:
    """A fresh secret for a webhook source (the default of `WebhookSource.token`)."""
    return secrets.token_urlsafe(32)


class MappingConfigError(Exception):
    """The source's mapping itself is wrong: the admin must fix it, the sender cannot."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, m in errors))
        self.errors = errors


class PayloadError(Exception):
    """The payload as a whole does not fit the mapping (no items where the mapping says)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ItemError:
    """Why item `index` of the payload became no event; `field` is the event or lead field."""

    index: int
    field: str
    message: str


@dataclass(frozen=True)
class MappedItem:
    """One event as the mapping read it, with the lead profile the item carries."""

    index: int
    email: str
    kind: str
    occurred_at: datetime
    idempotency_key: str
    member_status: str
    properties: dict[str, Any] = field(default_factory=dict)
    lead: dict[str, Any] = field(default_factory=dict)
    # The item's answer to the mapping's consent question (None: the mapping asks none).
    consent_granted: bool | None = None
    consent_text: str = ""


# --- paths --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Step:
    key: str
    where: tuple[tuple[_Step, ...], str] | None = None


@dataclass(frozen=True)
class Path:
    from_root: bool
    steps: tuple[_Step, ...]


def parse_path(text: str) -> Path:
    """`a.b[c.d=x].0` as steps; raises ValueError when it is not a path."""
    from_root = text == "$" or text.startswith("$.")
    body = text[2:] if text.startswith("$.") else ("" if text == "$" else text)
    steps: list[_Step] = []
    position = 0
    while position < len(body):
        match = _STEP.match(body, position)
        if match is None:
            raise ValueError(f"cannot read a path from {text!r}")
        key, where_path, where_value = match.groups()
        where = None
        if where_path is not None:
            where = (parse_path(where_path).steps, where_value)
        steps.append(_Step(key.strip(), where))
        position = match.end()
        if position < len(body):
            if body[position] != ".":
                raise ValueError(f"cannot read a path from {text!r}")
            position += 1
            if position == len(body):
                raise ValueError(f"{text!r} ends with a dot")
    if not steps and not from_root:
        raise ValueError("an empty path")
    return Path(from_root, tuple(steps))


_MISSING = object()


def _walk(value: Any, steps: tuple[_Step, ...]) -> Any:
    for step in steps:
        if isinstance(value, dict):
            value = value.get(step.key, _MISSING)
        elif isinstance(value, list) and step.key.isdigit() and step.where is None:
            index = int(step.key)
            value = value[index] if index < len(value) else _MISSING
        else:
            return _MISSING
        if value is _MISSING:
            return _MISSING
        if step.where is not None:
            where_steps, wanted = step.where
            if not isinstance(value, list):
                return _MISSING
            value = next((e for e in value if _matches(e, where_steps, wanted)), _MISSING)
            if value is _MISSING:
                return _MISSING
    return value


def _matches(element: Any, steps: tuple[_Step, ...], wanted: str) -> bool:
    found = _walk(element, steps)
    return found is not _MISSING and found is not None and _text(found) == wanted


def unstorable(value: Any) -> bool:
    """True when some text in `value` (keys too) contains NUL or a lone surrogate."""
    if isinstance(value, str):
        return _UNSTORABLE.search(value) is not None
    if isinstance(value, dict):
        return any(unstorable(k) or unstorable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(unstorable(v) for v in value)
    return False


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def resolve(path: Path, item: Any, root: Any) -> Any:
    """The value at `path`, or `_MISSING`; null counts as missing."""
    value = _walk(root if path.from_root else item, path.steps)
    return _MISSING if value is None else value


# --- field specs --------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """How to read one field: paths to try, or a constant, or a template; then a value map."""

    paths: tuple[Path, ...] = ()
    names: tuple[str, ...] = ()
    constant: Any = _MISSING
    template: str | None = None
    value_map: dict[str, Any] | None = None
    default: Any = _MISSING

    def describe(self) -> str:
        if self.template is not None:
            return f"template {self.template!r}"
        return " or ".join(repr(name) for name in self.names)


def _template_paths(template: str) -> tuple[tuple[Path, ...], tuple[str, ...]]:
    names = tuple(_PLACEHOLDER.findall(template))
    if not names:
        raise ValueError(f"template {template!r} has no {{path}} placeholder")
    return tuple(parse_path(name.strip()) for name in names), names


def parse_spec(raw: Any, *, bare_string: str = "path") -> Spec:
    """Read a field's configuration; `bare_string` says what a plain string means."""
    if isinstance(raw, str):
        if bare_string == "constant":
            return Spec(constant=raw)
        if bare_string == "template_or_path" and "{" in raw:
            paths, names = _template_paths(raw)
            return Spec(paths=paths, names=names, template=raw)
        return Spec(paths=(parse_path(raw),), names=(raw,))
    if isinstance(raw, list):
        if not raw or not all(isinstance(p, str) for p in raw):
            raise ValueError("a list must name one or more paths")
        return Spec(paths=tuple(parse_path(p) for p in raw), names=tuple(raw))
    if isinstance(raw, dict):
        unknown = sorted(set(raw) - {"path", "map", "default", "value", "template"})
        if unknown:
            raise ValueError(f"unknown key {unknown[0]!r}")
        value_map = raw.get("map")
        if value_map is not None and not isinstance(value_map, dict):
            raise ValueError("map must be an object of sent value → value")
        default = raw.get("default", _MISSING)
        if "value" in raw:
            return Spec(constant=raw["value"])
        if "template" in raw:
            if not isinstance(raw["template"], str):
                raise ValueError("template must be a string")
            paths, names = _template_paths(raw["template"])
            return Spec(
                paths=paths, names=names, template=raw["template"], value_map=value_map,
                default=default,
            )  # fmt: skip
        path = raw.get("path")
        if isinstance(path, str):
            paths_list = [path]
        elif isinstance(path, list) and path and all(isinstance(p, str) for p in path):
            paths_list = path
        else:
            raise ValueError("needs a path (or value, or template)")
        return Spec(
            paths=tuple(parse_path(p) for p in paths_list),
            names=tuple(paths_list),
            value_map=value_map,
            default=default,
        )
    raise ValueError("must be a path, a list of paths or an object")


class _Refused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def read(spec: Spec, item: Any, root: Any, *, required: bool) -> Any:
    """The field's value in `item`; `_MISSING` when absent and not required."""
    if spec.constant is not _MISSING:
        return spec.constant
    if spec.template is not None:
        values = []
        for path, name in zip(spec.paths, spec.names, strict=True):
            value = resolve(path, item, root)
            if value is _MISSING or isinstance(value, dict | list):
                raise _Refused(f"no value at {name!r} for template {spec.template!r}")
            values.append(_text(value))
        parts = iter(values)
        value = _PLACEHOLDER.sub(lambda _: next(parts), spec.template)
    else:
        value = next(
            (v for v in (resolve(p, item, root) for p in spec.paths) if v is not _MISSING),
            _MISSING,
        )
    if value is _MISSING:
        if spec.default is not _MISSING:
            return spec.default
        if required:
            raise _Refused(f"missing (no value at {spec.describe()})")
        return _MISSING
    if spec.value_map is not None:
        key = _text(value)
        if key in spec.value_map:
            return spec.value_map[key]
        if spec.default is not _MISSING:
            return spec.default
        known = ", ".join(repr(k) for k in spec.value_map)
        raise _Refused(f"{key!r} is not mapped (expected one of {known})")
    return value


# --- the mapping --------------------------------------------------------------------------


@dataclass(frozen=True)
class Mapping:
    """A validated `WebhookSource.mapping`."""

    items: Path | None
    email: Spec
    kind: Spec
    occurred_at: Spec | None
    idempotency_key: Spec | None
    member_status: Spec | None
    properties: dict[str, Spec]
    lead: dict[str, Spec]
    custom_fields: dict[str, Spec]
    timezone: zoneinfo.ZoneInfo | None
    update_known_leads: bool
    consent: ConsentMapping | None = None


@dataclass(frozen=True)
class ConsentMapping:
    """Which consent purpose an item's answer is for, and where the answer sits."""

    purpose: str
    granted: Spec
    text: Spec | None


def parse_mapping(raw: Any) -> Mapping:
    """Check a mapping as an admin saved it; raises MappingConfigError naming every bad key."""
    errors: list[tuple[str, str]] = []
    if not isinstance(raw, dict):
        raise MappingConfigError([("mapping", "must be a JSON object")])

    def spec(name: str, value: Any, bare_string: str = "path") -> Spec | None:
        try:
            return parse_spec(value, bare_string=bare_string)
        except ValueError as exc:
            errors.append((name, str(exc)))
            return None

    errors.extend((f"mapping.{k}", "unknown key") for k in sorted(set(raw) - MAPPING_KEYS))
    items: Path | None = None
    items_raw = raw.get("items", "")
    if not isinstance(items_raw, str):
        errors.append(("mapping.items", 'must be a path, or "" for a single-object payload'))
    elif items_raw:
        try:
            items = parse_path(items_raw)
        except ValueError as exc:
            errors.append(("mapping.items", str(exc)))
    if "kind" not in raw:
        errors.append(("mapping.kind", "required: an event kind, or a path and a map"))
    email = spec("mapping.email", raw.get("email", "email"))
    kind = spec("mapping.kind", raw.get("kind", "event"), bare_string="constant")
    occurred_at = spec("mapping.occurred_at", raw["occurred_at"]) if "occurred_at" in raw else None
    key = (
        spec("mapping.idempotency_key", raw["idempotency_key"], "template_or_path")
        if "idempotency_key" in raw
        else None
    )
    member_status = (
        spec("mapping.member_status", raw["member_status"], "constant")
        if "member_status" in raw
        else None
    )
    if member_status is not None:
        wanted = [member_status.constant, *(member_status.value_map or {}).values()]
        if member_status.default is not _MISSING:
            wanted.append(member_status.default)
        for value in wanted:
            if value is not _MISSING and value not in MemberStatus.values:
                errors.append(
                    (
                        "mapping.member_status",
                        f"{value!r} is not one of {', '.join(MemberStatus.values)}",
                    )
                )
    properties: dict[str, Spec] = {}
    raw_properties = raw.get("properties", {})
    if not isinstance(raw_properties, dict):
        errors.append(("mapping.properties", "must be an object of name → path"))
    else:
        for name, value in raw_properties.items():
            if (parsed := spec(f"mapping.properties.{name}", value)) is not None:
                properties[str(name)] = parsed
    lead: dict[str, Spec] = {}
    custom_fields: dict[str, Spec] = {}
    raw_lead = raw.get("lead", {})
    if not isinstance(raw_lead, dict):
        errors.append(("mapping.lead", "must be an object of lead field → path"))
    else:
        for name, value in raw_lead.items():
            if name == "custom_fields":
                if not isinstance(value, dict):
                    errors.append(("mapping.lead.custom_fields", "must be an object"))
                    continue
                for custom, custom_value in value.items():
                    where = f"mapping.lead.custom_fields.{custom}"
                    if (parsed := spec(where, custom_value)) is not None:
                        custom_fields[str(custom)] = parsed
            elif name == "email" or name not in LEAD_FIELDS:
                errors.append(
                    (f"mapping.lead.{name}", "not a lead profile field (email is mapped above)")
                )
            elif (parsed := spec(f"mapping.lead.{name}", value)) is not None:
                lead[name] = parsed
    tz: zoneinfo.ZoneInfo | None = None
    if "timezone" in raw:
        try:
            tz = zoneinfo.ZoneInfo(str(raw["timezone"]))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors.append(("mapping.timezone", f"unknown time zone {raw['timezone']!r}"))
    update_known = raw.get("update_known_leads", False)
    if not isinstance(update_known, bool):
        errors.append(("mapping.update_known_leads", "must be true or false"))
    consent: ConsentMapping | None = None
    if "consent" in raw:
        raw_consent = raw["consent"]
        if not isinstance(raw_consent, dict):
            errors.append(("mapping.consent", 'must be {"purpose": slug, "granted": field}'))
        else:
            errors.extend(
                (f"mapping.consent.{k}", "unknown key")
                for k in sorted(set(raw_consent) - CONSENT_KEYS)
            )
            purpose = raw_consent.get("purpose")
            if not isinstance(purpose, str) or not purpose.strip():
                errors.append(("mapping.consent.purpose", "required: a consent purpose's slug"))
            if "granted" not in raw_consent:
                errors.append(("mapping.consent.granted", "required: the field with the answer"))
            granted = spec("mapping.consent.granted", raw_consent.get("granted"))
            text = (
                spec("mapping.consent.text", raw_consent["text"], "constant")
                if "text" in raw_consent
                else None
            )
            if isinstance(purpose, str) and purpose.strip() and granted is not None:
                consent = ConsentMapping(purpose.strip(), granted, text)
    if errors or email is None or kind is None:
        raise MappingConfigError(errors)
    return Mapping(
        items=items,
        email=email,
        kind=kind,
        occurred_at=occurred_at,
        idempotency_key=key,
        member_status=member_status,
        properties=properties,
        lead=lead,
        custom_fields=custom_fields,
        timezone=tz,
        update_known_leads=bool(update_known),
        consent=consent,
    )


def mapping_errors(raw: Any) -> list[tuple[str, str]]:
    """Every problem of a mapping as (key, message); empty when it is fine."""
    try:
        parse_mapping(raw)
    except MappingConfigError as exc:
        return exc.errors
    return []


def find_items(payload: Any, mapping: Mapping, *, max_items: int = MAX_ITEMS) -> list[Any]:
    """The payload's items: the list (or single object) at `items`, or the payload itself."""
    if mapping.items is None:
        found: Any = payload
        where = "body"
    else:
        found = resolve(mapping.items, payload, payload)
        where = ".".join(step.key for step in mapping.items.steps) or "body"
    if found is _MISSING:
        raise PayloadError(where, "not found in the payload (see the source's mapping.items)")
    if isinstance(found, dict):
        return [found]
    if not isinstance(found, list):
        raise PayloadError(where, "must be a list of objects or one object")
    if len(found) > max_items:
        raise PayloadError(where, f"{len(found)} items; at most {max_items} per request")
    return found


def parse_time(value: Any, tz: zoneinfo.ZoneInfo | None) -> datetime:
    """ISO 8601 text or epoch seconds/milliseconds as an aware UTC datetime."""
    if isinstance(value, bool):
        raise _Refused(f"{value!r} is not a time")
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) >= EPOCH_MILLIS_FROM else value
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise _Refused(f"{value!r} is not a time") from exc
    if not isinstance(value, str):
        raise _Refused(f"{value!r} is not a time")
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise _Refused(f"{value!r} is not an ISO 8601 time") from exc
    if parsed.tzinfo is None:
        if tz is None:
            raise _Refused(
                f"{value!r} has no UTC offset (set the mapping's timezone for this source)"
            )
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


def item_key(item: Any) -> str:
    """A replay-safe key for an item that has no configured one: a hash of its content."""
    canonical = json.dumps(item, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _map_item(index: int, item: Any, root: Any, mapping: Mapping, now: datetime) -> MappedItem:
    """One item as a MappedItem; raises FieldError naming the field at fault."""
    if not isinstance(item, dict):
        raise FieldError("item", "must be a JSON object")
    if unstorable(item):
        raise FieldError("item", UNSTORABLE_MESSAGE)

    def value(name: str, spec: Spec, *, required: bool) -> Any:
        try:
            return read(spec, item, root, required=required)
        except _Refused as exc:
            raise FieldError(name, exc.message) from exc

    raw_email = value("email", mapping.email, required=True)
    if not isinstance(raw_email, str):
        raise FieldError("email", f"{raw_email!r} is not an email address")
    email = clean_lead_fields({"email": raw_email}).get("email")
    if not email:
        raise FieldError("email", "missing (empty)")
    kind = value("kind", mapping.kind, required=True)
    if not isinstance(kind, str) or not kind.strip():
        raise FieldError("kind", f"{kind!r} is not an event kind")
    kind = kind.strip()
    if len(kind) > KIND_MAX:
        raise FieldError("kind", f"longer than {KIND_MAX} characters")
    occurred_at = now
    if mapping.occurred_at is not None:
        raw_time = value("occurred_at", mapping.occurred_at, required=True)
        try:
            occurred_at = parse_time(raw_time, mapping.timezone)
        except _Refused as exc:
            raise FieldError("occurred_at", exc.message) from exc
    if mapping.idempotency_key is None:
        key = item_key(item)
    else:
        raw_key = value("idempotency_key", mapping.idempotency_key, required=True)
        if isinstance(raw_key, dict | list) or not _text(raw_key).strip():
            raise FieldError("idempotency_key", f"{raw_key!r} cannot be a key")
        key = _text(raw_key).strip()
    member_status = KIND_MEMBER_STATUS.get(kind, DEFAULT_MEMBER_STATUS)
    if mapping.member_status is not None:
        found = value("member_status", mapping.member_status, required=False)
        if found is not _MISSING:
            member_status = found
    properties = {}
    for name, spec in mapping.properties.items():
        found = value(f"properties.{name}", spec, required=False)
        if found is not _MISSING:
            properties[name] = found
    profile: dict[str, Any] = {}
    for name, spec in mapping.lead.items():
        found = value(name, spec, required=False)
        if found is not _MISSING:
            profile[name] = found
    custom: dict[str, Any] = {}
    for name, spec in mapping.custom_fields.items():
        found = value(f"custom_fields.{name}", spec, required=False)
        if found is not _MISSING:
            custom[name] = found
    if custom:
        profile["custom_fields"] = custom
    # Values read from the payload root (`$.`) were not part of the item checked above.
    read_values = {"kind": kind, "idempotency_key": key, "properties": properties, "lead": profile}
    for name, found in read_values.items():
        if unstorable(found):
            raise FieldError(name, UNSTORABLE_MESSAGE)
    consent_granted: bool | None = None
    consent_text = ""
    if mapping.consent is not None:
        answer = value("consent.granted", mapping.consent.granted, required=False)
        consent_granted = _yes_or_no(answer)
        if mapping.consent.text is not None:
            found = value("consent.text", mapping.consent.text, required=False)
            consent_text = "" if found is _MISSING else _text(found)[:2000]
    # Checked here, so a bad answer is refused naming its field before anything is written.
    lead = clean_lead_fields(profile, now=now)
    return MappedItem(
        index=index,
        email=email,
        kind=kind,
        occurred_at=occurred_at,
        idempotency_key=key,
        member_status=str(member_status),
        properties=properties,
        lead=lead,
        consent_granted=consent_granted,
        consent_text=consent_text,
    )


def _yes_or_no(answer: Any) -> bool:
    """A consent answer as a tool sends it; FieldError for one that is neither."""
    if answer is _MISSING or answer is None:
        return False
    if isinstance(answer, bool):
        return answer
    text = _text(answer).strip().lower()
    if text in YES:
        return True
    if text in NO:
        return False
    raise FieldError("consent.granted", f"{answer!r} is neither yes nor no")


def map_payload(
    payload: Any, mapping: Any, *, now: datetime, max_items: int = MAX_ITEMS
) -> tuple[list[MappedItem], list[ItemError]]:
    """Read a webhook payload into events, one per item; an item that does not map is an
    ItemError (its index, the field and why) and does not stop the others.

    Raises MappingConfigError when the mapping itself is invalid and PayloadError when the
    payload holds no items where the mapping says (or more than `max_items`). `now`
    stands in for `occurred_at` when the mapping does not name one.
    """
    parsed = mapping if isinstance(mapping, Mapping) else parse_mapping(mapping)
    items = find_items(payload, parsed, max_items=max_items)
    mapped: list[MappedItem] = []
    errors: list[ItemError] = []
    for index, item in enumerate(items):
        try:
            mapped.append(_map_item(index, item, payload, parsed, now))
        except FieldError as exc:
            errors.append(ItemError(index, exc.field, exc.message))
        except RecursionError:
            errors.append(ItemError(index, "item", "nested too deeply"))
    return mapped, errors


# --- an example delivery, for trying a source out ------------------------------------------

EXAMPLE_EMAIL = "jane.doe@example.com"
EXAMPLE_KIND = "example_event"
EXAMPLE_KEY = "example-1"
EXAMPLE_TEXT = "example"
# Values every lead field accepts (clean_lead_fields), so the example event is not refused.
EXAMPLE_LEAD: dict[str, Any] = {
    "first_name": "Jane",
    "last_name": "Doe",
    "title": "Head of Marketing",
    "company_name": "Example Inc",
    "website": "example.com",
    "country": "Germany",
    "industry": "Software",
    "phone": "+49 30 1234567",
    "need": "Replace our spreadsheets",
    "employees": 50,
    "authority": "decision_maker",
    "budget": 20000,
    "timeline": "now",
}


def example_payload(raw: Any, *, now: datetime) -> Any | None:
    """A delivery that `raw` (a mapping) reads as exactly one event, for trying a source
    out: every path the mapping names holds a plausible value (the alphabetically first
    value a value map knows, jane.doe@example.com for the email). None when the mapping is invalid or too
    unusual to be turned around; the example is checked by mapping it, so it never lies.
    """
    try:
        mapping = parse_mapping(raw)
    except MappingConfigError:
        return None
    # With the lead profile and properties first; they are optional, so without them next.
    for with_profile in (True, False):
        payload = _example(mapping, now=now, with_profile=with_profile)
        if payload is None:
            continue
        try:
            mapped, errors = map_payload(payload, mapping, now=now)
        except PayloadError:
            continue
        if len(mapped) == 1 and not errors:
            return payload
    return None


def _example(mapping: Mapping, *, now: datetime, with_profile: bool) -> dict[str, Any] | None:
    item: dict[str, Any] = {}
    payload = item
    if mapping.items is not None and mapping.items.steps:
        payload = {}
        last = mapping.items.steps[-1]
        if last.where is not None:
            return None
        # A list of one item, unless the path itself picks one element of a list.
        found: Any = item if last.key.isdigit() else [item]
        if not _place(payload, mapping.items.steps, found):
            return None
    stamp = now.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    wanted: list[tuple[Spec | None, Any]] = [
        (mapping.email, EXAMPLE_EMAIL),
        (mapping.kind, EXAMPLE_KIND),
        (mapping.occurred_at, stamp),
        (mapping.idempotency_key, EXAMPLE_KEY),
        (mapping.member_status, str(DEFAULT_MEMBER_STATUS)),
    ]
    if with_profile:
        wanted += [(spec, EXAMPLE_TEXT) for spec in mapping.properties.values()]
        wanted += [
            (spec, EXAMPLE_LEAD.get(name, EXAMPLE_TEXT)) for name, spec in mapping.lead.items()
        ]
        wanted += [(spec, EXAMPLE_TEXT) for spec in mapping.custom_fields.values()]
    for spec, value in wanted:
        if spec is not None and not _put(spec, value, item, payload):
            return None
    return payload


def _put(spec: Spec, value: Any, item: dict[str, Any], payload: dict[str, Any]) -> bool:
    """Place `value` where `spec` reads it (a value map's first key instead, as sent)."""
    if spec.constant is not _MISSING:
        return True
    if spec.value_map:
        # Alphabetically: PostgreSQL's jsonb does not keep the order the keys were typed in.
        value = min(spec.value_map)
    # A template reads all its placeholders; otherwise the first path present wins.
    paths = spec.paths if spec.template is not None else spec.paths[:1]
    for path in paths:
        if not path.steps:
            return False
        if not _place(payload if path.from_root else item, path.steps, value):
            return False
    return True


def _new_container(steps: tuple[_Step, ...]) -> Any:
    return [] if steps[0].key.isdigit() and steps[0].where is None else {}


def _place(container: Any, steps: tuple[_Step, ...], value: Any) -> bool:
    """Make `steps` lead to `value` inside `container`, creating what is missing and
    keeping a value already there (two fields may read one path); False on a conflict."""
    step, rest = steps[0], steps[1:]
    if step.where is not None:
        if not isinstance(container, dict) or not rest:
            return False
        listed = container.setdefault(step.key, [])
        if not isinstance(listed, list):
            return False
        where_steps, where_value = step.where
        element = next((e for e in listed if _matches(e, where_steps, where_value)), None)
        if element is None:
            element = {}
            if not _place(element, where_steps, where_value):
                return False
            listed.append(element)
        return _place(element, rest, value)
    if isinstance(container, list):
        if not step.key.isdigit():
            return False
        index = int(step.key)
        if index >= len(container):
            container.extend({} for _ in range(index - len(container)))
            container.append(_new_container(rest) if rest else value)
        return _place(container[index], rest, value) if rest else True
    if not isinstance(container, dict):
        return False
    if not rest:
        container.setdefault(step.key, value)
        return True
    if container.get(step.key) is None:
        container[step.key] = _new_container(rest)
    return _place(container[step.key], rest, value)
