"""Values written to files people open in a spreadsheet (CSV exports, import rejects), and
the lead export itself (`lead_rows`).

A cell starting with =, +, -, @, a tab or a carriage return is run as a formula by Excel,
LibreOffice and Google Sheets ("CSV injection"): `=HYPERLINK("http://evil", "click")`
in a lead's name must reach the user as text. Every export neutralises such a cell by
prefixing a single quote, which the spreadsheet shows as text and does not display.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .choices import Authority, Channel, Segment, Stage, Timeline
from .countries import country_name

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from .models import Lead

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value, made inert if a spreadsheet would read it as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_cells(values: list[Any]) -> list[Any]:
    return [safe_cell(value) for value in values]


# --- The lead export ----------------------------------------------------------------------

# (header, the lead's value to read). Headers stay the field names an import maps back;
# values are in people's words: labels, not codes; countries and owners by name; times in
# the viewer's zone; the budget in the installation's currency (its header says which).
# An import reads the country's name back to its code.
LEAD_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "pk"),
    ("email", "email"),
    ("first_name", "first_name"),
    ("last_name", "last_name"),
    ("title", "title"),
    ("company", "company_name"),
    ("phone", "phone"),
    ("country", "country"),
    ("stage", "stage"),
    ("segment", "segment"),
    ("score", "score"),
    ("need", "need"),
    ("authority", "authority"),
    ("budget", "budget"),
    ("timeline", "timeline"),
    ("owner", "owner__username"),
    ("team", "team__name"),
    ("source", "source"),
    ("first_campaign", "first_campaign__name"),
    ("arrived_at", "arrived_at"),
    ("sla_due_at", "sla_due_at"),
    ("first_touch_at", "first_touch_at"),
    ("touch_count", "touch_count"),
)

# Coded columns and the words they are shown in.
LABELS: dict[str, dict[str, str]] = {
    "stage": {value: str(label) for value, label in Stage.choices},
    "segment": {value: str(label) for value, label in Segment.choices},
    "authority": {value: str(label) for value, label in Authority.choices if value},
    "timeline": {value: str(label) for value, label in Timeline.choices if value},
    "source": {value: str(label) for value, label in Channel.choices},
}

# Read besides the columns: the owner's name.
EXTRA_FIELDS = ("owner__first_name", "owner__last_name", "custom_fields")


def lead_headers(*, currency: str, custom_keys: list[str]) -> list[str]:
    headers = [f"budget ({currency})" if h == "budget" else h for h, _ in LEAD_COLUMNS]
    # A custom field named like a column ("email") gets its own header.
    taken = {h for h, _ in LEAD_COLUMNS}
    return headers + [f"custom: {key}" if key in taken else key for key in custom_keys]


def custom_field_keys(leads: QuerySet[Lead]) -> list[str]:
    """Every custom field name the leads carry, sorted: one column each. A pass over the
    custom fields alone, a chunk at a time, before the rows are streamed."""
    keys: set[str] = set()
    for fields in leads.values_list("custom_fields", flat=True).iterator(chunk_size=2000):
        if isinstance(fields, dict):
            keys.update(str(key) for key in fields)
    return sorted(keys)


def _text(value: Any, zone: tzinfo) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(zone).isoformat(timespec="seconds")
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def lead_rows(
    leads: QuerySet[Lead],
    *,
    zone: tzinfo,
    currency: str,
    custom_fields: bool = False,
    language: str = "en",
) -> Iterator[list[Any]]:
    """The export of `leads`: a header row, then one row per lead, read a chunk at a time
    and every cell made safe for a spreadsheet (`safe_cell`); countries named in
    `language`."""
    keys = custom_field_keys(leads) if custom_fields else []
    yield safe_cells(lead_headers(currency=currency, custom_keys=keys))
    fields = [lookup for _, lookup in LEAD_COLUMNS] + list(EXTRA_FIELDS)
    for row in leads.values(*fields).iterator(chunk_size=2000):
        values: list[Any] = []
        for header, lookup in LEAD_COLUMNS:
            value = row[lookup]
            if header in LABELS:
                value = LABELS[header].get(value, value) if value else ""
            elif header == "country" and value:
                value = country_name(value, language)
            elif header == "owner" and value:
                name = f"{row['owner__first_name']} {row['owner__last_name']}".strip()
                value = name or value
            values.append(_text(value, zone))
        extra = row["custom_fields"] if isinstance(row["custom_fields"], dict) else {}
        values.extend(_text(extra.get(key), zone) for key in keys)
        yield safe_cells(values)
