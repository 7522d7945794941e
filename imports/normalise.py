"""Vectorised cleaning and checking of imported values, one field at a time.

Each cleaner takes a string column (null = empty cell) and returns the clean values and
an error per row (null when the value is fine). Costly checks run on DISTINCT values
only: most columns of a lead file repeat a few values (a country, a company size), and a
value seen a thousand times is checked once.

Emails are normalised (case, every space) and checked by a regular expression that
accepts a subset of what `capture.rules.email_problem` (email-validator) accepts; the
rare value it doubts is asked of that rule itself, so the verdict is always the rule's. Phones become E.164 with
`phonenumbers`; a value already in E.164 form takes a vectorised fast path that checks
what `phonenumbers.is_possible_number` checks (a country code and a possible length for
it). Dates come in the many shapes CRM and webinar exports write them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

import phonenumbers
import polars as pl
from email_validator import SPECIAL_USE_DOMAIN_NAMES

from capture.rules import (
    CHOICE_SPELLINGS,
    EMAIL_MAX_LENGTH,
    TEXT_FIELDS,
    choice_key,
    email_problem,
    placeholder_pattern,
    read_choice,
)
from capture.rules import clean_country as clean_country_value
from identity.rules import FREE_MAIL_DOMAINS, phone_region
from leads.choices import Channel, MemberStatus
from leads.errors import FieldError

EXTERNAL_ID_MAX_LENGTH = 100

# A subset of what email-validator accepts (dot-atom local part, ASCII host names and a
# letters-only top-level domain), written for Rust's regex engine (no look-arounds).
_ATOM = r"[-!#$%&'*+/=?^_`{}|~0-9a-z]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
FAST_EMAIL = rf"^{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*\.[a-z](?:[a-z-]{{0,61}}[a-z])$"


def _text(column: pl.Expr) -> pl.Expr:
    stripped = column.str.strip_chars()
    return pl.when(stripped == "").then(None).otherwise(stripped)


def blank_placeholders(column: pl.Expr, field: str) -> pl.Expr:
    """`capture.rules.is_placeholder` over a column: null where a value only says that
    nothing was chosen ("Select", "-- Select --", "N/A", "-"); one anchored expression,
    no string made per row."""
    return pl.when(~column.str.contains(placeholder_pattern(field)).fill_null(False)).then(column)


def _map_distinct(
    series: pl.Series, clean: Callable[[str], tuple[Any, str | None]], dtype: pl.DataType
) -> tuple[pl.Series, pl.Series]:
    """Apply a Python cleaner once per distinct non-null value."""
    distinct = series.drop_nulls().unique().to_list()
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for raw in distinct:
        value, error = clean(raw)
        if error is not None:
            errors[raw] = error
        elif value is not None:
            values[raw] = value
    out_values = series.replace_strict(values, default=None, return_dtype=dtype)
    out_errors = series.replace_strict(errors, default=None, return_dtype=pl.String)
    return out_values.rename(series.name), out_errors.rename(series.name)


# --- email ------------------------------------------------------------------------------


def clean_email(series: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Normalised addresses and, per row, why one is refused: the verdict of
    `capture.rules.email_problem`, asked once per distinct address the fast path doubts."""
    frame = pl.DataFrame({"raw": series}).with_columns(
        email=pl.col("raw")
        .str.replace_all(r"[\s\u00a0\u200b]+", "")
        .str.to_lowercase()
        .str.strip_prefix("mailto:")
    )
    domain = pl.col("email").str.extract(r"@([^@]+)$", 1)
    special = "|".join(re.escape(name) for name in SPECIAL_USE_DOMAIN_NAMES)
    frame = frame.with_columns(
        email=pl.when(pl.col("email") == "").then(None).otherwise(pl.col("email"))
    ).with_columns(
        fast=pl.col("email").str.contains(FAST_EMAIL)
        & (pl.col("email").str.len_chars() <= EMAIL_MAX_LENGTH)
        # email-validator's own refusals that the expression lets through: "ab--" labels
        # (only Punycode may have them) and special-use names ("x.test", "x.local").
        & ~domain.str.contains("--")
        & ~domain.str.contains(rf"(?:^|\.)(?:{special})$")
    )
    doubtful = frame.filter(pl.col("email").is_not_null() & ~pl.col("fast"))["email"].unique()
    problems = {value: email_problem(value) for value in doubtful.to_list()}
    refused = {value: problem for value, problem in problems.items() if problem is not None}
    frame = frame.with_columns(
        problem=pl.col("email").replace_strict(refused, default=None, return_dtype=pl.String)
    ).with_columns(
        error=pl.when(pl.col("problem").is_not_null()).then(
            pl.format(
                "email: '{}' is not a valid email address: {}",
                pl.col("raw").str.strip_chars(),
                pl.col("problem"),
            )
        )
    )
    return frame["email"].rename("email"), frame["error"]


# --- phone ------------------------------------------------------------------------------


@cache
def _fast_path_table() -> pl.DataFrame:
    """Per country calling code: the national number lengths `phonenumbers` calls
    possible, and the national prefix it would strip (a number starting with it takes the
    slow path). Codes whose parsing rewrites numbers (a complex prefix pattern, a
    transform rule) are left out: their numbers always take the slow path."""
    rows: list[tuple[str, int, str]] = []
    for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items():
        region = regions[0]
        metadata = (
            phonenumbers.PhoneMetadata.metadata_for_nongeo_region(code)
            if region == "001"
            else phonenumbers.PhoneMetadata.metadata_for_region(region)
        )
        if metadata is None or metadata.general_desc is None:
            continue
        prefix = metadata.national_prefix_for_parsing or ""
        # Plain alternatives of digits (GB: "0|180020") read the same in Rust's regex.
        if metadata.national_prefix_transform_rule or not re.fullmatch(r"[\d|()\[\]]*", prefix):
            continue
        desc = metadata.general_desc
        lengths = set(desc.possible_length or ()) | set(desc.possible_length_local_only or ())
        rows += [(str(code), length, f"^(?:{prefix or '0'})") for length in lengths]
    return pl.DataFrame(
        rows, schema={"cc": pl.String, "nsn_len": pl.Int64, "prefix": pl.String}, orient="row"
    )


def fast_e164(series: pl.Series) -> pl.Series:
    """True where a value (already stripped of spaces, dashes, dots and brackets) is an
    E.164 number `phonenumbers` would keep as it is and call possible."""
    table = _fast_path_table()
    codes = table["cc"].unique().to_list()
    frame = pl.DataFrame({"v": series}).with_row_index("i")
    shaped = pl.col("v").str.contains(r"^\+[1-9][0-9]{6,15}$")
    digits = pl.col("v").str.slice(1)
    candidates = frame.filter(shaped).with_columns(
        digits.str.slice(0, 1).alias("cc1"),
        digits.str.slice(0, 2).alias("cc2"),
        digits.str.slice(0, 3).alias("cc3"),
    )
    # Calling codes are prefix-free: at most one of the three prefixes is a code.
    candidates = candidates.with_columns(
        cc=pl.when(pl.col("cc1").is_in(codes))
        .then(pl.col("cc1"))
        .when(pl.col("cc2").is_in(codes))
        .then(pl.col("cc2"))
        .when(pl.col("cc3").is_in(codes))
        .then(pl.col("cc3"))
    ).with_columns(
        nsn=pl.col("v").str.slice(1 + pl.col("cc").str.len_chars()),
    )
    possible = (
        candidates.filter(pl.col("cc").is_not_null())
        .with_columns(nsn_len=pl.col("nsn").str.len_chars().cast(pl.Int64))
        .join(table, on=["cc", "nsn_len"], how="inner")
    )
    # A number starting with its country's national prefix is rewritten by the parser.
    kept = [
        part.filter(~pl.col("nsn").str.contains(part["prefix"][0])).select("i")
        for part in possible.partition_by("prefix")
    ]
    ok = pl.concat(kept) if kept else pl.DataFrame(schema={"i": pl.UInt32})
    return frame.select(pl.col("i").is_in(ok["i"].implode()).alias("fast"))["fast"]


def _phone_with_library(raw: str, region: str | None) -> tuple[str | None, str | None]:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        if region is None and not raw.lstrip().startswith(("+", "00")):
            return None, f"phone: {raw!r} has no country code and the row no known country"
        return None, f"phone: {raw!r} is not a phone number"
    if not phonenumbers.is_possible_number(number):
        return None, f"phone: {raw!r} is not a possible phone number"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


def clean_phone(
    series: pl.Series, regions: pl.Series, *, pool: Any = None
) -> tuple[pl.Series, pl.Series]:
    """E.164 numbers; `regions` is each row's default region (from its country) or null."""
    frame = pl.DataFrame({"raw": series, "region": regions}).with_columns(raw=_text(pl.col("raw")))
    frame = frame.with_columns(
        compact=pl.col("raw").str.replace_all(r"[\s\u00a0\-().\/]", "").str.replace(r"^00", "+")
    )
    frame = frame.with_columns(fast=fast_e164(frame["compact"]))
    slow = (
        frame.filter(pl.col("raw").is_not_null() & ~pl.col("fast")).select("raw", "region").unique()
    )
    pairs = slow.rows()
    results = (
        pool.starmap(_phone_with_library, pairs, chunksize=2000)
        if pool is not None and len(pairs) > 20_000
        else [_phone_with_library(raw, region) for raw, region in pairs]
    )
    solved = slow.with_columns(
        pl.Series("e164", [r[0] for r in results], dtype=pl.String),
        pl.Series("error", [r[1] for r in results], dtype=pl.String),
    )
    frame = frame.join(solved, on=["raw", "region"], how="left", nulls_equal=True)
    phone = pl.when(pl.col("fast")).then(pl.col("compact")).otherwise(pl.col("e164"))
    out = frame.select(phone.alias("phone"), pl.col("error"))
    return out["phone"], out["error"]


def clean_country(series: pl.Series) -> tuple[pl.Series, pl.Series]:
    """ISO codes, as `capture.rules.clean_country` reads them, once per distinct value."""

    def clean(raw: str) -> tuple[str | None, str | None]:
        try:
            return clean_country_value(raw), None
        except FieldError as exc:
            return None, str(exc)

    return _map_distinct(series, clean, pl.String())


def phone_regions(countries: pl.Series, default: str | None) -> pl.Series:
    """Each row's phone region from its country code (as the duplicate finder reads it,
    `identity.rules.phone_region`), once per distinct country; `default` where the
    country says nothing."""
    table = {c: phone_region(c) for c in countries.drop_nulls().unique().to_list()}
    known = {c: r for c, r in table.items() if r}
    return countries.replace_strict(known, default=default, return_dtype=pl.String)


# --- dates ------------------------------------------------------------------------------

_ISO_FORMATS: tuple[tuple[str, bool], ...] = (
    ("%Y-%m-%dT%H:%M:%S%.f%:z", False),
    ("%Y-%m-%d %H:%M:%S%.f%:z", False),
    ("%Y-%m-%dT%H:%M:%S%.f%z", False),
    ("%Y-%m-%dT%H:%M:%S%.fZ", True),
    ("%Y-%m-%d %H:%M:%S%.fZ", True),
    ("%Y-%m-%d %H:%M:%S%.f", False),
    ("%Y-%m-%dT%H:%M:%S%.f", False),
    ("%Y-%m-%d %H:%M", False),
    ("%Y-%m-%dT%H:%M", False),
    ("%Y-%m-%d", False),
    ("%Y/%m/%d %H:%M:%S", False),
    ("%Y/%m/%d %H:%M", False),
    ("%Y/%m/%d", False),
)
_NAMED_FORMATS = (
    "%b %d, %Y %I:%M %p",
    "%b %d, %Y %I:%M:%S %p",
    "%b %d, %Y %H:%M:%S",
    "%b %d, %Y %H:%M",
    "%b %d, %Y",
    "%B %d, %Y %I:%M %p",
    "%B %d, %Y",
    "%d %b %Y %H:%M:%S",
    "%d %b %Y %H:%M",
    "%d %b %Y",
    "%d %B %Y",
    "%d-%b-%Y",
    "%a, %d %b %Y %H:%M:%S",
)
_NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2,4})")


def _numeric_formats(dayfirst: bool) -> tuple[str, ...]:
    first, second = ("%d", "%m") if dayfirst else ("%m", "%d")
    formats: list[str] = []
    for sep in ("/", "-"):
        stem = f"{first}{sep}{second}{sep}"
        for year in ("%Y", "%y"):
            formats += [
                f"{stem}{year} %H:%M:%S",
                f"{stem}{year} %H:%M",
                f"{stem}{year} %I:%M:%S %p",
                f"{stem}{year} %I:%M %p",
                f"{stem}{year}, %I:%M %p",
                f"{stem}{year}, %H:%M",
                f"{stem}{year}",
            ]
    # Dots are day first wherever they are used (Germany, Switzerland, Russia …).
    formats += ["%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y", "%d.%m.%y"]
    return tuple(formats)


def guess_dayfirst(values: list[str]) -> bool:
    """Day first when some numeric date cannot be month first (13/02/2024), else US order."""
    for value in values:
        match = _NUMERIC_DATE.match(value)
        if match and int(match[1]) > 12 >= int(match[2]):
            return True
    return False


def clean_datetime(
    series: pl.Series, *, timezone: str = "UTC", dayfirst: bool | None = None
) -> tuple[pl.Series, pl.Series]:
    """Aware UTC datetimes; naive values are read in `timezone`."""
    raw = series.str.strip_chars()
    distinct = raw.drop_nulls().unique()
    distinct = distinct.filter(distinct != "")
    if dayfirst is None:
        dayfirst = guess_dayfirst(distinct.head(5000).to_list())
    pending = pl.DataFrame({"raw": distinct})
    parsed: list[pl.DataFrame] = []
    formats = [*_ISO_FORMATS, *((f, False) for f in _numeric_formats(dayfirst))]
    formats += [(f, False) for f in _NAMED_FORMATS]
    for fmt, is_utc in formats:
        if pending.is_empty():
            break
        attempt = pending.with_columns(
            at=pl.col("raw").str.to_datetime(fmt, strict=False, time_unit="us")
        )
        dtype = attempt.schema["at"]
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            at = pl.col("at").dt.convert_time_zone("UTC")
        else:
            at = pl.col("at").dt.replace_time_zone(
                "UTC" if is_utc else timezone, ambiguous="earliest", non_existent="null"
            )
        attempt = attempt.with_columns(at.dt.convert_time_zone("UTC"))
        parsed.append(attempt.filter(pl.col("at").is_not_null()))
        pending = attempt.filter(pl.col("at").is_null()).select("raw")
    if parsed:
        known = pl.concat(parsed)
    else:
        known = pl.DataFrame(
            schema={"raw": pl.String, "at": pl.Datetime("us", "UTC")},
        )
    frame = pl.DataFrame({"raw": raw}).join(known, on="raw", how="left")
    error = (
        pl.when(pl.col("raw").is_not_null() & (pl.col("raw") != "") & pl.col("at").is_null())
        .then(pl.format("{}: {} is not a date", pl.lit(series.name), pl.col("raw")))
        .otherwise(None)
    )
    out = frame.select(pl.col("at"), error.alias("error"))
    return out["at"].rename(series.name), out["error"]


# --- numbers and choices ----------------------------------------------------------------

_EMPLOYEES = re.compile(r"^(\d[\d,.' ]*)\s*(?:(?:-|–|to)\s*\d[\d,.' ]*|\+)?$")


def parse_employees(raw: str) -> tuple[int | None, str | None]:
    text = raw.strip().lower()
    if not text:
        return None, None
    match = _EMPLOYEES.match(text)
    if not match:
        return None, f"employees: {raw!r} is not a whole number"
    value = int(re.sub(r"[,.' ]", "", match[1]))
    if value > 10_000_000:
        return None, f"employees: {raw!r} is not a plausible head count"
    return value, None


_MONEY = re.compile(r"[\s$€£¥]|usd|eur|gbp|chf")


def parse_budget(raw: str) -> tuple[float | None, str | None]:
    text = _MONEY.sub("", raw.strip().lower())
    if not text:
        return None, None
    if "," in text and "." in text:
        decimal = "," if text.rfind(",") > text.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        text = text.replace(thousands, "").replace(decimal, ".")
    elif "," in text:
        head, _, tail = text.rpartition(",")
        text = text.replace(",", "") if len(tail) == 3 else head.replace(",", "") + "." + tail
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None, f"budget: {raw!r} is not a number"
    if not value.is_finite() or value < 0:
        return None, "budget: must be a positive amount"
    if value >= Decimal("1e10"):
        return None, f"budget: {raw!r} is too large"
    return float(round(value, 2)), None


def _choice_table(choices: type[Any], extra: dict[str, str]) -> dict[str, str]:
    table = {}
    for value, label in choices.choices:
        if value:
            table[choice_key(value)] = value
            table[choice_key(str(label))] = value
    table.update({choice_key(spelling): value for spelling, value in extra.items()})
    return table


AUTHORITY_VALUES = CHOICE_SPELLINGS["authority"]
TIMELINE_VALUES = CHOICE_SPELLINGS["timeline"]
MEMBER_STATUS_VALUES = _choice_table(
    MemberStatus,
    {"yes": "attended", "y": "attended", "true": "attended", "1": "attended",
     "present": "attended", "no": "no-show", "n": "no-show", "false": "no-show",
     "0": "no-show", "no show": "no-show", "noshow": "no-show", "absent": "no-show",
     "did not attend": "no-show", "approved": "registered", "pending": "registered",
     "registrant": "registered", "attendee": "attended"},
)  # fmt: skip
SOURCE_VALUES = _choice_table(
    Channel,
    {"web": "web_form", "website": "web_form", "form": "web_form", "webinars": "webinar",
     "event": "trade_show", "tradeshow": "trade_show", "ppc": "paid", "paid search": "paid",
     "paid social": "paid", "advertisement": "paid", "email marketing": "email",
     "partner": "referral", "employee referral": "referral", "word of mouth": "referral"},
)  # fmt: skip


def choice_cleaner(
    field: str,
    table: dict[str, str],
    *,
    default: str | None = None,
    now: datetime | None = None,
) -> Callable[[str], tuple[str | None, str | None]]:
    allowed = ", ".join(sorted({v for v in table.values() if v}))

    def clean(raw: str) -> tuple[str | None, str | None]:
        key = choice_key(raw)
        if not key:
            return None, None
        if key in table:
            return table[key] or None, None
        # A lead field's choice reads as `capture.rules` reads it ("Q3" for a timeline).
        read = read_choice(field, raw, now=now) if field in CHOICE_SPELLINGS else None
        if read is not None:
            return read or None, None
        if default is not None:
            return default, None
        return None, f"{field}: {raw!r} is not one of {allowed}"

    return clean


def keep_choice(
    series: pl.Series,
    field: str,
    table: dict[str, str],
    *,
    otherwise: str | None = None,
    now: datetime | None = None,
) -> tuple[pl.Series, pl.Series]:
    """The choice each value reads as and, where it reads as none, the value as written
    (null elsewhere); such a row's choice is `otherwise` (a lead source's "other")."""
    cleaner = choice_cleaner(field, table, now=now)
    values, errors = _map_distinct(series, cleaner, pl.String())
    kept = pl.DataFrame({"raw": series, "error": errors}).select(
        pl.when(pl.col("error").is_not_null()).then(pl.col("raw").str.strip_chars())
    )["raw"]
    if otherwise is not None:
        values = pl.select(
            pl.when(kept.is_not_null()).then(pl.lit(otherwise)).otherwise(values)
        ).to_series()
    return values.rename(field), kept.rename(field)


def keep_country(series: pl.Series) -> tuple[pl.Series, pl.Series]:
    """ISO codes (as `clean_country`) and, where a value names no country, the value as
    written (null elsewhere)."""
    values, errors = clean_country(series)
    kept = pl.DataFrame({"raw": series, "error": errors}).select(
        pl.when(pl.col("error").is_not_null()).then(pl.col("raw").str.strip_chars())
    )["raw"]
    return values.rename("country"), kept.rename("country")


def clean_choice(
    series: pl.Series,
    field: str,
    table: dict[str, str],
    *,
    default: str | None = None,
    now: datetime | None = None,
) -> tuple[pl.Series, pl.Series]:
    cleaner = choice_cleaner(field, table, default=default, now=now)
    return _map_distinct(series, cleaner, pl.String())


# A consent column's answers as CRMs export them (HubSpot's "Marketing contact status",
# Salesforce's HasOptedOutOfEmail, a form tool's "Opted in"), compared in lower case.
YES_WORDS = frozenset({
    "yes", "y", "true", "1", "x", "on", "opted in", "opted-in", "optedin", "subscribed",
    "granted", "marketing contact", "ja", "oui", "si", "sí",
})  # fmt: skip
NO_WORDS = frozenset({
    "no", "n", "false", "0", "off", "opted out", "opted-out", "optedout", "unsubscribed",
    "withdrawn", "non-marketing contact", "nein", "non",
})  # fmt: skip


def parse_yes_no(raw: str, field: str) -> tuple[bool | None, str | None]:
    text = raw.strip().lower()
    if not text:
        return None, None
    if text in YES_WORDS:
        return True, None
    if text in NO_WORDS:
        return False, None
    return None, f"{field}: {raw!r} is neither yes nor no"


def clean_yes_no(series: pl.Series, field: str) -> tuple[pl.Series, pl.Series]:
    """A yes/no column (consent, opted out) as True / False / empty; another value is
    left empty with a warning."""
    return _map_distinct(series, lambda raw: parse_yes_no(raw, field), pl.Boolean())


def clean_number(series: pl.Series, field: str) -> tuple[pl.Series, pl.Series]:
    if field == "employees":
        return _map_distinct(series, parse_employees, pl.Int64())
    return _map_distinct(series, parse_budget, pl.Float64())


_DURATION = r"^(?:(\d+):)?(\d{1,2}):(\d{1,2})$"


def clean_activity(series: pl.Series, field: str, unit: str) -> tuple[pl.Series, pl.Series]:
    """An activity column as a whole number (a count, or seconds: "754", "12:34",
    "1:02:03"); a value that is neither is left empty with a warning."""
    text = series.str.strip_chars().str.replace_all(r"[,\s]", "")
    number = text.cast(pl.Float64, strict=False)
    if unit == "seconds":
        parts = text.str.extract_groups(_DURATION)
        clock = (
            parts.struct.field("1").cast(pl.Float64).fill_null(0) * 3600
            + parts.struct.field("2").cast(pl.Float64) * 60
            + parts.struct.field("3").cast(pl.Float64)
        )
        number = pl.select(pl.coalesce(number, clock)).to_series()
    what = "a number of seconds" if unit == "seconds" else "a count"
    frame = pl.DataFrame({"raw": series, "n": number}).with_columns(
        ok=pl.col("n").is_finite() & (pl.col("n") >= 0) & (pl.col("n") < 2**31)
    )
    out = frame.select(
        pl.when(pl.col("ok")).then(pl.col("n").round(0).cast(pl.Int64)).alias("value"),
        pl.when(pl.col("raw").is_not_null() & ~pl.col("ok").fill_null(False))
        .then(pl.format("{}: {} is not {}", pl.lit(field), pl.col("raw"), pl.lit(what)))
        .alias("error"),
    )
    return out["value"].rename(field), out["error"]


def clean_text(series: pl.Series, field: str, max_length: int) -> tuple[pl.Series, pl.Series]:
    frame = pl.DataFrame({"v": series}).with_columns(v=_text(pl.col("v")))
    frame = frame.with_columns(
        error=pl.when(pl.col("v").str.len_chars() > max_length)
        .then(pl.lit(f"{field}: longer than {max_length} characters"))
        .otherwise(None)
    )
    return frame["v"].rename(field), frame["error"]


def text_limit(field: str) -> int:
    if field == "external_id":
        return EXTERNAL_ID_MAX_LENGTH
    return TEXT_FIELDS.get(field, 2000)


# --- companies --------------------------------------------------------------------------


def website_domain(websites: pl.Expr) -> pl.Expr:
    host = (
        websites.str.strip_chars()
        .str.to_lowercase()
        .str.replace(r"^[a-z]+://", "")
        .str.replace(r"[/?#].*$", "")
        .str.replace(r":\d*$", "")
        .str.strip_prefix("www.")
    )
    return pl.when(host.str.contains(r"\.")).then(host).otherwise(None)


def company_domain_expr(email: pl.Expr, website: pl.Expr) -> pl.Expr:
    """As `capture.rules.company_domain`: the website's host, else a work email's domain."""
    domain = email.str.extract(r"@([^@]+)$", 1)
    work = pl.when(domain.is_in(sorted(FREE_MAIL_DOMAINS))).then(None).otherwise(domain)
    return pl.coalesce(website_domain(website), work)
