"""From a table of strings to import decisions, vectorised with Polars and no database.

`prepare` maps the columns to fields, cleans and checks every value (a placeholder such
as "Select" is an empty cell; a row that cannot be used, no key or an invalid email, is
rejected saying why; a choice that is none of the choices is kept as written in a custom
field beside the mapped choice; another value that cannot be read is left empty with a
warning naming the field), and folds rows that share a key into one record (later rows
fill and overwrite earlier ones; the folded rows are reported as merged).
`classify` decides, for a chunk of records and the leads already stored under their keys,
which are created, which update a lead and which collide with another lead's key.
`plan_changes` merges each record with its lead, scores it with the same tables as
`qualify.rules.score_profile` and works out the stage moves `apply_segment` would make.
`activity_events` turns a record's activity columns into engagement events.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from leads.bulk import LEAD_TEXT
from leads.choices import Channel, MemberStatus, Stage
from leads.services import MEMBER_STATUS_RANK
from qualify.document import CUSTOM_PREFIX as SCORED_CUSTOM
from qualify.document import ScoringModel
from qualify.rules import event_points
from qualify.services import active_scorer
from qualify.vectorised import (
    custom_value,
    move_reason_expr,
    reasons_json_expr,
    score_frame,
    to_stage_expr,
)

from . import normalise
from .mapping import (
    CUSTOM_PREFIX,
    ENGAGEMENT_FIELDS,
    IGNORE,
    KEPT_AS_WRITTEN,
    MappingError,
    MissingColumn,
    resolve_mapping,
)
from .reader import LINE, PROBLEM, RawTable, read_table

ROW = "__row"
KEY = "__key"
REASON = "__reason"
WARNINGS = "__warnings"
COUNT = "__count"
ACTION = "__action"
LEAD_ID = "__lead_id"
DOMAIN = "__domain"
# A record's points from the file's activity columns (events not stored before).
ACTIVITY_POINTS = "__activity_points"
# Prefix of the rows' columns holding a choice field's value as written, where it reads
# as none of the choices.
KEPT = "__kept_"

CREATE, UPDATE, MERGE, REJECT = "create", "update", "merge", "reject"

# Lead columns an import writes from the file (text ones are stored "" when empty).
PROFILE = (*LEAD_TEXT, "employees", "budget")
# The account's fields a scoring rule may name, as the accounts frame has them.
ACCOUNT_TEXT = ("name", "domain", "industry")
# A history date more than this far ahead of the import is a mistake, not a time zone.
FUTURE_TOLERANCE = timedelta(days=1)


@dataclass
class ImportOptions:
    """How to read and apply a file; stored on the ImportJob as JSON."""

    mapping: dict[str, str] = field(default_factory=dict)
    key: str = "email"
    campaign_id: int | None = None
    status: str = MemberStatus.REGISTERED
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    phone_region: str | None = None
    dayfirst: bool | None = None
    timezone: str = "UTC"
    chunk_size: int = 250_000
    # The consent purpose a "consent" or "opted_out" column speaks of (a slug).
    consent_purpose: str = "newsletter"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportOptions:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    def check(self) -> None:
        if self.key not in ("email", "external_id"):
            raise MappingError(f"--key {self.key}: must be email or external_id")
        if self.status not in MemberStatus.values:
            raise MappingError(
                f"--status {self.status}: must be one of {', '.join(MemberStatus.values)}"
            )
        if self.chunk_size < 1:
            raise MappingError("chunk size must be at least 1")


@dataclass
class KeptValues:
    """A choice field's values that are none of its choices, kept as written (in the
    custom field `custom_field`): how many rows, and how often each value."""

    column: str
    field: str
    custom_field: str
    rows: int
    values: list[tuple[str, int]]

    SHOWN = 10

    def describe(self) -> str:
        """In words: "Lead Source: 312 rows kept as written, not one of the choices:
        Olark Chat (201), Organic Search (111)"."""
        shown = ", ".join(f"{value} ({count:,})" for value, count in self.values[: self.SHOWN])
        more = len(self.values) - self.SHOWN
        if more > 0:
            shown += f" and {more:,} other value{'s' if more > 1 else ''}"
        rows = f"{self.rows:,} row{'s' if self.rows != 1 else ''}"
        return f"{self.column}: {rows} kept as written, not one of the choices: {shown}"

    def as_json(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "field": self.field,
            "custom_field": self.custom_field,
            "rows": self.rows,
            # Pairs, not an object: PostgreSQL's jsonb would not keep the order.
            "values": [[value, count] for value, count in self.values],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeptValues:
        return cls(
            data["column"],
            data["field"],
            data["custom_field"],
            data["rows"],
            [(str(value), int(count)) for value, count in data["values"]],
        )


@dataclass
class Prepared:
    """A file made ready to apply: every row with its verdict, and the folded records."""

    table: RawTable
    mapping: dict[str, str]
    options: ImportOptions
    rows: pl.DataFrame
    records: pl.DataFrame
    custom_columns: list[str]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def rows_total(self) -> int:
        return self.rows.height

    @property
    def rejects(self) -> pl.DataFrame:
        return self.rows.filter(pl.col(REASON).is_not_null()).select(ROW, LINE, REASON)

    @property
    def warnings(self) -> pl.DataFrame:
        """Each kept row with a value left empty because it could not be read, and why."""
        return self.rows.filter(pl.col(REASON).is_null() & pl.col(WARNINGS).is_not_null()).select(
            ROW, LINE, WARNINGS
        )

    @property
    def merged(self) -> int:
        return int(self.records[COUNT].sum() or 0) - self.records.height

    @property
    def kept_as_written(self) -> list[KeptValues]:
        """Per choice column, the kept rows' values that are none of its choices."""
        kept = self.rows.filter(pl.col(REASON).is_null())
        found = []
        for choice, custom in KEPT_AS_WRITTEN.items():
            name = f"{KEPT}{choice}"
            if name not in kept.columns:
                continue
            counts = (
                kept.select(pl.col(name).drop_nulls().value_counts(sort=True))
                .unnest(name)
                .sort(["count", name], descending=[True, False])
            )
            if counts.is_empty():
                continue
            values = [(str(v), int(n)) for v, n in counts.iter_rows()]
            column = " / ".join(_columns_for(self.mapping, choice))
            found.append(KeptValues(column, choice, custom, sum(n for _, n in values), values))
        return found


def prepare(
    path: str | Path, options: ImportOptions, *, now: datetime, limit: int | None = None
) -> Prepared:
    options.check()
    tick = time.perf_counter()
    table = read_table(
        path,
        encoding=options.encoding,
        delimiter=options.delimiter,
        sheet=options.sheet,
        limit=limit,
    )
    mapping = resolve_mapping(table.columns, options.mapping)
    fields = set(mapping.values())
    if options.key not in fields:
        raise MissingColumn(
            f"no column holds the {options.key} the import is keyed on"
            f" (columns: {', '.join(table.columns)})",
            field=options.key,
        )
    if "member_status" in fields and options.campaign_id is None:
        column = next(c for c, f in mapping.items() if f == "member_status")
        raise MissingColumn(
            f"column {column!r} holds a campaign status but no campaign is chosen",
            field="campaign",
        )
    timings = {"read": time.perf_counter() - tick}
    tick = time.perf_counter()
    rows, custom = _normalise(table, mapping, options, now)
    timings["normalise"] = time.perf_counter() - tick
    tick = time.perf_counter()
    records = _fold(rows, options, custom)
    records, record_rejects = _reject_shared_keys(records, options)
    if record_rejects.height:
        rows = rows.join(record_rejects, on=KEY, how="left").with_columns(
            pl.coalesce(REASON, "__conflict").alias(REASON)
        )
        rows = rows.drop("__conflict")
    timings["dedupe"] = time.perf_counter() - tick
    return Prepared(table, mapping, options, rows, records, custom, timings)


def _columns_for(mapping: dict[str, str], field: str) -> list[str]:
    return [column for column, target in mapping.items() if target == field]


def _normalise(
    table: RawTable, mapping: dict[str, str], options: ImportOptions, now: datetime
) -> tuple[pl.DataFrame, list[str]]:
    frame = table.frame
    raw: dict[str, pl.Series] = {}
    targets = {target for target in mapping.values() if target != IGNORE}
    height = frame.height
    for target in targets:
        columns = _columns_for(mapping, target)
        lead_field = "" if target.startswith(CUSTOM_PREFIX) else target
        # A placeholder ("Select", "N/A") is an empty cell: the next column may fill it.
        raw[target] = frame.select(
            pl.coalesce(
                [
                    normalise.blank_placeholders(
                        pl.col(c).str.strip_chars().replace("", None).cast(pl.String),
                        lead_field,
                    )
                    for c in columns
                ]
            ).alias(target)
        ).to_series()

    def get(name: str) -> pl.Series:
        return raw.get(name, pl.Series(name, [None] * height, dtype=pl.String))

    out: dict[str, pl.Series] = {}
    errors: list[pl.Series] = []

    def keep(name: str, values: pl.Series, error: pl.Series) -> None:
        out[name] = values.rename(name)
        errors.append(error.rename(f"__e_{name}"))

    keep("email", *normalise.clean_email(get("email")))
    keep("external_id", *normalise.clean_text(get("external_id"), "external_id", 100))
    first, last = get("first_name"), get("last_name")
    if "full_name" in raw:
        full = raw["full_name"].str.strip_chars()
        split_first = full.str.extract(r"^(.*\S)\s+\S+$", 1).fill_null(full)
        split_last = full.str.extract(r"\s(\S+)$", 1)
        first = first.fill_null(split_first)
        last = last.fill_null(split_last)
    keep("first_name", *normalise.clean_text(first, "first_name", 100))
    keep("last_name", *normalise.clean_text(last, "last_name", 100))
    for name in ("title", "company_name", "industry", "need"):
        keep(name, *normalise.clean_text(get(name), name, normalise.text_limit(name)))
    # A choice field's value that reads as none of its choices is kept as written.
    kept: dict[str, pl.Series] = {}
    no_error = pl.repeat(None, height, dtype=pl.String, eager=True)
    country, kept["country"] = normalise.keep_country(get("country"))
    keep("country", country, no_error)
    regions = normalise.phone_regions(out["country"].fill_null(""), options.phone_region)
    keep("phone", *normalise.clean_phone(get("phone"), regions))
    keep("employees", *normalise.clean_number(get("employees"), "employees"))
    keep("budget", *normalise.clean_number(get("budget"), "budget"))
    authority, kept["authority"] = normalise.keep_choice(
        get("authority"), "authority", normalise.AUTHORITY_VALUES
    )
    keep("authority", authority, no_error)
    timeline, kept["timeline"] = normalise.keep_choice(
        get("timeline"), "timeline", normalise.TIMELINE_VALUES, now=now
    )
    keep("timeline", timeline, no_error)
    keep(
        "member_status",
        *normalise.clean_choice(
            get("member_status"), "member_status", normalise.MEMBER_STATUS_VALUES
        ),
    )
    # An empty source is the import itself; one that is none of the channels is "other".
    source, kept["source"] = normalise.keep_choice(
        get("source"), "source", normalise.SOURCE_VALUES, otherwise=Channel.OTHER
    )
    keep("source", source, no_error)
    # Consent columns as yes / no / not said: recorded after the chunk is written.
    for name in ("consent", "opted_out"):
        if name in targets:
            keep(name, *normalise.clean_yes_no(get(name), name))
    arrived, arrived_error = normalise.clean_datetime(
        get("arrived_at"), timezone=options.timezone, dayfirst=options.dayfirst
    )
    keep("arrived_at", arrived, _not_in_future(arrived, arrived_error, "arrived_at", now))
    for name, (_, _, unit) in ENGAGEMENT_FIELDS.items():
        if name not in targets:
            continue
        if unit == "date":
            at, at_error = normalise.clean_datetime(
                get(name), timezone=options.timezone, dayfirst=options.dayfirst
            )
            keep(name, at, _not_in_future(at, at_error, name, now))
        else:
            keep(name, *normalise.clean_activity(get(name), name, unit))
    website = get("website")

    custom_names: list[str] = []
    custom_series: list[pl.Series] = []
    as_written = {
        CUSTOM_PREFIX + KEPT_AS_WRITTEN[choice]: values
        for choice, values in kept.items()
        if choice in targets
    }
    for target in sorted(t for t in targets | set(as_written) if t.startswith(CUSTOM_PREFIX)):
        name = target[len(CUSTOM_PREFIX) :]
        custom_names.append(name)
        # A column mapped to the custom field itself comes first, the kept value after.
        given = [raw[target]] if target in raw else []
        given += [as_written[target]] if target in as_written else []
        values, error = normalise.clean_text(pl.select(pl.coalesce(given)).to_series(), name, 2000)
        custom_series.append(values.rename(f"{CUSTOM_PREFIX}{name}"))
        errors.append(error.rename(f"__e_{target}"))
    kept_series = [
        values.rename(f"{KEPT}{choice}") for choice, values in kept.items() if choice in targets
    ]

    # Only what makes a row unusable rejects it: no key, an address that is not one, a
    # row the reader could not read, nothing to reach the person by. Any other value that
    # cannot be read is left empty, and the row is kept with a warning naming it.
    rejecting = {f"__e_{options.key}", "__e_email"}
    key_missing = pl.when(pl.col(options.key).is_null()).then(pl.lit(f"no {options.key}"))
    unreachable = pl.when(
        pl.col("email").is_null()
        & pl.col("phone").is_null()
        & pl.col("first_name").is_null()
        & pl.col("last_name").is_null()
    ).then(pl.lit("no email, name or phone"))
    warned = [e.name for e in errors if e.name not in rejecting]
    rows = (
        pl.DataFrame(
            [*out.values(), *custom_series, *kept_series, website.rename("website"), *errors]
        )
        .with_columns(
            frame[LINE],
            frame[PROBLEM],
            pl.int_range(0, pl.len(), dtype=pl.Int64).alias(ROW),
        )
        .with_columns(
            # A value whose warning says it was not read is not kept either.
            *[
                pl.when(pl.col(e).is_null()).then(pl.col(e[len("__e_") :]))
                for e in warned
                if e[len("__e_") :] in out or e[len("__e_") :].startswith(CUSTOM_PREFIX)
            ],
        )
        .with_columns(
            pl.coalesce(
                pl.col(PROBLEM),
                # The key's own error ("not a valid email") says more than "no email".
                pl.col(f"__e_{options.key}"),
                key_missing,
                pl.col("__e_email"),
                unreachable,
            ).alias(REASON),
            pl.concat_str([pl.col(e) for e in warned], separator="; ", ignore_nulls=True)
            .replace("", None)
            .alias(WARNINGS),
            pl.col(options.key).alias(KEY),
        )
        .drop(PROBLEM, *[e.name for e in errors])
    )
    return rows, custom_names


def _not_in_future(at: pl.Series, error: pl.Series, field: str, now: datetime) -> pl.Series:
    """The date's error, or that it lies ahead of the import (beyond a time zone's slack)."""
    return (
        pl.DataFrame({"at": at, "error": error})
        .select(
            pl.coalesce(
                pl.col("error"),
                pl.when(pl.col("at") > now + FUTURE_TOLERANCE).then(
                    pl.format("{}: {} is in the future", pl.lit(field), pl.col("at").dt.date())
                ),
            )
        )
        .to_series()
    )


def _fold(rows: pl.DataFrame, options: ImportOptions, custom: list[str]) -> pl.DataFrame:
    """One record per key: later rows fill and overwrite earlier ones."""
    accepted = rows.filter(pl.col(REASON).is_null()).drop(
        REASON, WARNINGS, *[c for c in rows.columns if c.startswith(KEPT)]
    )
    rank = {status: rank for status, rank in MEMBER_STATUS_RANK.items()}
    accepted = accepted.with_columns(
        pl.col("member_status")
        .replace_strict(rank, default=None, return_dtype=pl.Int64)
        .alias("__rank")
    )
    duplicated = accepted[KEY].is_duplicated()
    singles = accepted.filter(~duplicated).with_columns(pl.lit(1, dtype=pl.UInt32).alias(COUNT))
    multiples = accepted.filter(duplicated)
    value_columns = [
        c
        for c in accepted.columns
        if c not in (KEY, ROW, LINE, "arrived_at", "member_status", "__rank")
    ]
    folded = multiples.group_by(KEY, maintain_order=True).agg(
        pl.col(ROW).first(),
        pl.col(LINE).first(),
        pl.len().alias(COUNT),
        pl.col("arrived_at").min(),
        pl.col("__rank").max(),
        *[pl.col(c).drop_nulls().last() for c in value_columns],
    )
    inverse = {r: s for s, r in rank.items()}
    folded = folded.with_columns(
        pl.col("__rank")
        .replace_strict(inverse, default=None, return_dtype=pl.String)
        .alias("member_status")
    )
    records = pl.concat([singles, folded], how="diagonal_relaxed").sort(ROW)
    records = records.with_columns(
        normalise.company_domain_expr(pl.col("email"), pl.col("website")).alias(DOMAIN),
        _custom_json(custom).alias("custom_fields"),
        pl.col("member_status").fill_null(options.status),
        pl.col("source").fill_null(Channel.IMPORT),
    )
    return records.drop("__rank", "website", *[f"{CUSTOM_PREFIX}{n}" for n in custom])


def _custom_json(custom: list[str]) -> pl.Expr:
    """A JSON object of the non-empty custom values, or null when there is none."""
    if not custom:
        return pl.lit(None, dtype=pl.String)
    parts = [
        pl.when(pl.col(f"{CUSTOM_PREFIX}{name}").is_not_null()).then(
            pl.struct(pl.col(f"{CUSTOM_PREFIX}{name}").alias(name))
            .struct.json_encode()
            .str.slice(1)
            .str.strip_suffix("}")
        )
        for name in custom
    ]
    body = pl.concat_str(parts, separator=",", ignore_nulls=True)
    return pl.when(body == "").then(None).otherwise(pl.lit("{") + body + pl.lit("}"))


def _reject_shared_keys(
    records: pl.DataFrame, options: ImportOptions
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Two records (different keys) naming the same other unique value: the later is
    refused, as the database would refuse it."""
    other = "external_id" if options.key == "email" else "email"
    seen = records.filter(pl.col(other).is_not_null())
    first_line = seen.group_by(other).agg(pl.col(LINE).min().alias("__first"))
    clashing = (
        seen.join(first_line, on=other)
        .filter(pl.col(LINE) != pl.col("__first"))
        .select(
            KEY,
            pl.format(
                "{}: {} is also on line {} under another {}",
                pl.lit(other),
                pl.col(other),
                pl.col("__first"),
                pl.lit(options.key),
            ).alias("__conflict"),
        )
    )
    if clashing.is_empty():
        return records, clashing
    return records.join(clashing, on=KEY, how="anti"), clashing


# --- chunks against the stored leads ---------------------------------------------------

EXISTING_COLUMNS: dict[str, pl.DataType] = {
    "id": pl.Int64(),
    "email": pl.String(),
    "external_id": pl.String(),
    "stage": pl.String(),
    "first_name": pl.String(),
    "last_name": pl.String(),
    "phone": pl.String(),
    "title": pl.String(),
    "company_name": pl.String(),
    "country": pl.String(),
    "industry": pl.String(),
    "need": pl.String(),
    "authority": pl.String(),
    "timeline": pl.String(),
    "employees": pl.Int64(),
    "budget": pl.Float64(),
    "engagement_score": pl.Int64(),
    "engagement_at_recycle": pl.Int64(),
    "score": pl.Int64(),
    "grade": pl.String(),
    "segment": pl.String(),
    "account_id": pl.Int64(),
    "team_id": pl.Int64(),
    "owner_id": pl.Int64(),
    "arrived_at": pl.Datetime("us", "UTC"),
    # JSON text: the stored custom fields a scoring rule may name (custom.<key>).
    "custom_fields": pl.String(),
}


def classify(chunk: pl.DataFrame, existing: pl.DataFrame, key: str) -> pl.DataFrame:
    """Add ACTION (create / update / reject), LEAD_ID and REASON to a chunk of records.

    `existing` holds the stored leads whose email or external id appears in the chunk.
    A record updates the lead holding its key; keyed on external id, a lead found by
    email that has no external id yet is adopted. A record whose other unique value
    (email or external id) belongs to a different lead is refused.
    """
    other = "external_id" if key == "email" else "email"
    ex = existing.select(pl.all().name.prefix("ex_"))
    by_key = chunk.join(
        ex.filter(pl.col(f"ex_{key}").is_not_null()),
        left_on=KEY,
        right_on=f"ex_{key}",
        how="left",
        coalesce=False,
    )
    owner = existing.filter(pl.col(other).is_not_null()).select(
        pl.col(other).alias("__other_value"),
        pl.col("id").alias("__other_id"),
        pl.col(key).alias("__other_key"),
    )
    joined = by_key.join(owner, left_on=other, right_on="__other_value", how="left")
    adopt = (
        pl.col("ex_id").is_null()
        & pl.col("__other_id").is_not_null()
        & pl.col("__other_key").is_null()
        & pl.lit(key == "external_id")
    )
    # Adopting: the lead found by email becomes the match.
    if key == "external_id":
        adopted = existing.select(pl.all().name.prefix("ad_"))
        joined = joined.join(adopted, left_on="__other_id", right_on="ad_id", how="left")
        joined = joined.with_columns(
            [
                pl.when(adopt).then(pl.col(f"ad_{c}")).otherwise(pl.col(f"ex_{c}")).alias(f"ex_{c}")
                for c in existing.columns
                if c != "id"
            ]
            + [pl.when(adopt).then(pl.col("__other_id")).otherwise(pl.col("ex_id")).alias("ex_id")]
        ).drop([f"ad_{c}" for c in existing.columns if c != "id"])
    conflict = pl.col("__other_id").is_not_null() & (
        pl.col("ex_id").is_null() | (pl.col("__other_id") != pl.col("ex_id"))
    )
    return joined.with_columns(
        pl.when(conflict)
        .then(pl.lit(REJECT))
        .when(pl.col("ex_id").is_not_null())
        .then(pl.lit(UPDATE))
        .otherwise(pl.lit(CREATE))
        .alias(ACTION),
        pl.col("ex_id").alias(LEAD_ID),
        pl.when(conflict)
        .then(
            pl.format(
                "{}: {} belongs to lead #{}", pl.lit(other), pl.col(other), pl.col("__other_id")
            )
        )
        .otherwise(None)
        .alias(REASON),
    ).drop("__other_id", "__other_key")


def plan_changes(
    classified: pl.DataFrame,
    accounts: pl.DataFrame,
    *,
    now: datetime,
    model: ScoringModel | None = None,
) -> pl.DataFrame:
    """Merged values, score, segment and stage moves of the records to write.

    `accounts` has, per id: is_marquee and employees (the fall-back head count).
    """
    merged = classified.filter(pl.col(ACTION) != REJECT).with_columns(
        pl.col("arrived_at").alias("__file_arrived")
    )
    merged = merged.with_columns(
        [pl.coalesce(pl.col(c), pl.col(f"ex_{c}")).alias(c) for c in PROFILE]
        + [
            pl.coalesce(pl.col("email"), pl.col("ex_email")).alias("email"),
            pl.coalesce(pl.col("external_id"), pl.col("ex_external_id")).alias("external_id"),
            pl.min_horizontal(pl.col("arrived_at"), pl.col("ex_arrived_at")).alias(
                "arrived_at_merged"
            ),
        ]
    )
    merged = merged.with_columns(
        pl.coalesce(pl.col("arrived_at_merged"), pl.lit(now).dt.cast_time_unit("us")).alias(
            "arrived_at"
        )
    ).drop("arrived_at_merged")
    merged = merged.join(
        accounts.select(
            pl.col("id").alias("account_id"),
            pl.col("is_marquee"),
            pl.col("employees").alias("__account_employees"),
            *[pl.col(c).alias(f"account.{c}") for c in ACCOUNT_TEXT if c in accounts.columns],
        ),
        on="account_id",
        how="left",
    )
    # The file's activity (events not stored yet) adds to the engagement stored.
    activity = pl.col(ACTIVITY_POINTS) if ACTIVITY_POINTS in merged.columns else pl.lit(0)
    merged = merged.with_columns(
        (pl.col("ex_engagement_score").fill_null(0) + activity.fill_null(0)).alias(
            "engagement_score"
        )
    )
    # The active scoring model, as qualify.services.score_lead applies it one by one.
    model = model or active_scorer().model
    # A custom field the model names: the file's value, else the stored lead's (the
    # update merges the file's custom fields into the stored ones).
    stored_custom = "ex_custom_fields" in merged.columns
    merged = merged.with_columns(
        [
            pl.coalesce(
                custom_value(pl.col("custom_fields"), name[len(SCORED_CUSTOM) :]),
                custom_value(pl.col("ex_custom_fields"), name[len(SCORED_CUSTOM) :])
                if stored_custom
                else pl.lit(None, dtype=pl.String),
            ).alias(name)
            for name in sorted(model.fields())
            if name.startswith(SCORED_CUSTOM)
        ]
    )
    scored = score_frame(
        merged.with_columns(
            pl.coalesce(pl.col("employees"), pl.col("__account_employees")).alias("__employees"),
            pl.col("engagement_score").alias("engagement"),
            pl.col("__account_employees").alias("account.employees"),
            pl.col("is_marquee").alias("account.is_marquee"),
        ).rename({"employees": "__own_employees", "__employees": "employees"}),
        model,
    )
    assert isinstance(scored, pl.DataFrame)
    scored = scored.rename({"employees": "__employees", "__own_employees": "employees"})
    stage = pl.coalesce(pl.col("ex_stage"), pl.lit(Stage.NEW))
    # As qualify.services.apply_segment moves an open lead.
    to_stage = to_stage_expr(
        stage,
        pl.col("segment"),
        pl.col("engagement_score"),
        pl.col("ex_engagement_at_recycle"),
        model.reengagement_points,
    )
    reason = move_reason_expr(pl.col("score"), pl.col("__to_stage"))
    return (
        scored.with_columns(
            stage.alias("__from_stage"),
            to_stage.alias("__to_stage"),
            reasons_json_expr(pl.col("score_reasons")).alias("score_reasons"),
        )
        .with_columns(reason.alias("__stage_reason"))
        .drop(
            "__employees",
            "__account_employees",
            "engagement",
            "engagement_points",
            "account.employees",
            "account.is_marquee",
            *[f"account.{c}" for c in ACCOUNT_TEXT],
            *[name for name in model.fields() if name.startswith(SCORED_CUSTOM)],
            strict=False,
        )
    )


# --- activity columns as engagement events -------------------------------------------

EVENT_COLUMNS: dict[str, pl.DataType] = {
    KEY: pl.String(),
    LEAD_ID: pl.Int64(),
    "kind": pl.String(),
    "occurred_at": pl.Datetime("us", "UTC"),
    "points": pl.Int64(),
    "properties": pl.String(),
    "__dated": pl.String(),
}


def activity_events(records: pl.DataFrame, *, now: datetime) -> pl.DataFrame:
    """One engagement event per record and activity column with a value above zero (the
    column's total in `properties`: {"count": 12} or {"seconds": 754}, "imported": true),
    and a plain "activity" event for a record with only a last activity date. Its time
    is the record's `last_activity_at`, else `now`; its points are its count times the
    kind's points (`qualify.rules.event_points`), as that many single events would add.

    Returns EVENT_COLUMNS (LEAD_ID as in `records`: null for a lead not made yet)."""
    counted = [
        name
        for name, (_, _, unit) in ENGAGEMENT_FIELDS.items()
        if unit != "date" and name in records.columns
    ]
    dated = "last_activity_at" in records.columns
    if not counted and not dated:
        return pl.DataFrame(schema=EVENT_COLUMNS)
    last = pl.col("last_activity_at") if dated else pl.lit(None, dtype=pl.Datetime("us", "UTC"))
    at = pl.coalesce(last, pl.lit(now).dt.cast_time_unit("us").dt.convert_time_zone("UTC"))
    # The key names the date given (or none), not `now`: the same file again adds nothing.
    day = pl.coalesce(last.dt.strftime("%Y-%m-%dT%H:%M:%S"), pl.lit("undated"))
    parts = []
    for name in counted:
        _, kind, unit = ENGAGEMENT_FIELDS[name]
        amount = pl.col(name)
        each = event_points(kind)
        parts.append(
            records.filter(amount.is_not_null() & (amount > 0)).select(
                KEY,
                pl.col(LEAD_ID).cast(pl.Int64),
                pl.lit(kind).alias("kind"),
                at.alias("occurred_at"),
                (amount * each if unit == "count" else pl.lit(each, dtype=pl.Int64)).alias(
                    "points"
                ),
                pl.concat_str(
                    pl.lit(f'{{"{unit}": '), amount.cast(pl.String), pl.lit(', "imported": true}')
                ).alias("properties"),
                pl.concat_str(pl.lit(f"{kind}:"), amount.cast(pl.String), pl.lit(":"), day).alias(
                    "__dated"
                ),
            )
        )
    if dated:
        some = pl.any_horizontal([pl.col(n).fill_null(0) > 0 for n in counted] or [pl.lit(False)])
        parts.append(
            records.filter(last.is_not_null() & ~some).select(
                KEY,
                pl.col(LEAD_ID).cast(pl.Int64),
                pl.lit("activity").alias("kind"),
                at.alias("occurred_at"),
                pl.lit(event_points("activity"), dtype=pl.Int64).alias("points"),
                pl.lit('{"imported": true}').alias("properties"),
                pl.concat_str(pl.lit("activity:"), day).alias("__dated"),
            )
        )
    return pl.concat(parts, how="vertical_relaxed").select(
        [pl.col(c).cast(t) for c, t in EVENT_COLUMNS.items()]
    )


def event_key() -> pl.Expr:
    """Each imported event's idempotency key: the lead, kind, total and date given."""
    return pl.concat_str(pl.lit("import:"), pl.col(LEAD_ID).cast(pl.String), pl.lit(":"), "__dated")
