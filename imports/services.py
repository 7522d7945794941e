"""The import service: look at a file, preview it, run it as a resumable job.

`inspect_file` and `preview_import` only read (the file, and the leads already stored).
`run_import` writes, chunk by chunk: each chunk is one transaction that also advances
the job's resume cursor and counts, so a crash loses at most the chunk in flight, and a
re-run continues from the cursor. Writes are keyed (email or external id), so even a
re-run from the start creates no duplicate lead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F

from capture.services import insert_submissions
from identity.dedup import MATCH_FIELDS, forget_match_keys
from imports.choices import ImportStatus
from imports.models import ImportJob
from leads import bulk
from leads.choices import Channel, Stage
from leads.exports import FORMULA_PREFIXES
from leads.lifecycle import arrival_reason
from leads.models import Campaign, Lead
from leads.sql import db_datetime, db_now, is_postgres
from nurture import consent as nurture_consent
from nurture.choices import ConsentSource
from qualify.services import (
    insert_events,
    insert_score_changes,
    rescore_engagement,
    stored_event_keys,
)
from qualify.vectorised import move_reason_sql
from users.models import User

from . import apply
from .mapping import suggest_mapping
from .pipeline import (
    ACTION,
    ACTIVITY_POINTS,
    COUNT,
    CREATE,
    DOMAIN,
    KEPT,
    KEY,
    LEAD_ID,
    LEAD_TEXT,
    MERGE,
    REASON,
    REJECT,
    ROW,
    UPDATE,
    WARNINGS,
    ImportOptions,
    KeptValues,
    Prepared,
    activity_events,
    classify,
    event_key,
    plan_changes,
    prepare,
)
from .reader import LINE, read_table

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]

ARRIVAL_REASON = arrival_reason("import")


@dataclass
class FileInfo:
    """What the import wizard shows before anything is decided."""

    columns: list[str]
    sample_rows: list[dict[str, str | None]]
    encoding: str | None
    delimiter: str | None
    suggested_mapping: dict[str, str]


@dataclass
class RowOutcome:
    """What an import would do (or did) with one row of the file."""

    line: int
    action: str  # create, update, merge (folded into an earlier row), reject
    reason: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    lead_id: int | None = None
    # Values of a kept row that could not be read and were left empty, and why.
    warnings: str = ""
    # Choice values that are none of the choices, kept as written ("source: 'Olark Chat'").
    kept: str = ""


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    merged: int = 0
    rejected: int = 0
    warned: int = 0
    rows: int = 0
    seconds: float = 0.0
    rejects_path: str = ""
    job_id: int | None = None
    timings: dict[str, float] = field(default_factory=dict)
    kept_as_written: list[KeptValues] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "merged": self.merged,
            "rejected": self.rejected,
            "warned": self.warned,
            "rows": self.rows,
            "seconds": round(self.seconds, 3),
            "kept_as_written": [kept.as_json() for kept in self.kept_as_written],
        }

    @property
    def kept_as_written_lines(self) -> list[str]:
        return [kept.describe() for kept in self.kept_as_written]


class ConcurrentRun(Exception):
    """Another worker advanced the same job: this one stops and leaves it alone."""


# --- looking -------------------------------------------------------------------------------


def inspect_file(
    path: str | Path,
    encoding: str | None = None,
    delimiter: str | None = None,
    *,
    sheet: str | None = None,
    sample: int = 10,
) -> FileInfo:
    """Columns, a few rows, the detected encoding and delimiter, and a suggested mapping."""
    table = read_table(path, encoding=encoding, delimiter=delimiter, sheet=sheet, limit=sample)
    rows = table.frame.head(sample).select(table.columns).to_dicts()
    return FileInfo(
        columns=table.columns,
        sample_rows=rows,
        encoding=table.encoding,
        delimiter=table.delimiter,
        suggested_mapping=suggest_mapping(table.columns),
    )


def preview_import(
    path: str | Path, options: ImportOptions, *, now: datetime, limit: int | None = 100
) -> list[RowOutcome]:
    """What the import would do with each row (the first `limit` rows), writing nothing."""
    prepared = prepare(path, options, now=now)
    return outcomes(prepared, classify_all(prepared), limit=limit)


def plan_import(path: str | Path, options: ImportOptions, *, now: datetime) -> ImportSummary:
    """The counts an import would reach (a dry run): nothing is written."""
    started = time.perf_counter()
    prepared = prepare(path, options, now=now)
    summary = summarise(prepared, classify_all(prepared))
    summary.seconds = time.perf_counter() - started
    return summary


def summarise(prepared: Prepared, classified: pl.DataFrame) -> ImportSummary:
    """The counts of a prepared and classified file (see `plan_import`)."""
    rejected_records = classified.filter(pl.col(ACTION) == REJECT)
    kept = classified.filter(pl.col(ACTION) != REJECT)
    return ImportSummary(
        created=kept.filter(pl.col(ACTION) == CREATE).height,
        updated=kept.filter(pl.col(ACTION) == UPDATE).height,
        merged=int(kept[COUNT].sum() or 0) - kept.height,
        rejected=prepared.rejects.height + int(rejected_records[COUNT].sum() or 0),
        warned=prepared.warnings.height,
        rows=prepared.rows_total,
        kept_as_written=prepared.kept_as_written,
    )


def _existing_for(chunk: pl.DataFrame, options: ImportOptions, freed: pl.Series) -> pl.DataFrame:
    """The stored leads the chunk's records name: by email or external id, and keyed on
    email, the survivors of merges that freed a record's address."""
    emails = chunk["email"].drop_nulls()
    existing = apply.fetch_existing(emails.to_list(), chunk["external_id"].drop_nulls().to_list())
    if options.key == "email":
        existing = apply.with_survivors(existing, emails, freed)
    return existing


def classify_all(prepared: Prepared) -> pl.DataFrame:
    parts = []
    records = prepared.records
    size = prepared.options.chunk_size
    freed = apply.freed_emails()
    for start in range(0, records.height, size):
        chunk = records.slice(start, size)
        existing = _existing_for(chunk, prepared.options, freed)
        parts.append(
            classify(chunk, existing, prepared.options.key).select(
                KEY, ROW, LINE, COUNT, ACTION, LEAD_ID, REASON
            )
        )
    if not parts:
        return pl.DataFrame(
            schema={
                KEY: pl.String,
                ROW: pl.Int64,
                LINE: pl.Int64,
                COUNT: pl.UInt32,
                ACTION: pl.String,
                LEAD_ID: pl.Int64,
                REASON: pl.String,
            }
        )
    return pl.concat(parts, how="vertical_relaxed")


def outcomes(
    prepared: Prepared, classified: pl.DataFrame, *, limit: int | None = None
) -> list[RowOutcome]:
    """Row by row: rejected, the first row of a record (create / update), or merged."""
    rows = prepared.rows.head(limit) if limit is not None else prepared.rows
    decided = rows.join(
        classified.select(
            KEY, pl.col(ROW).alias("__first"), ACTION, LEAD_ID, pl.col(REASON).alias("__why")
        ),
        on=KEY,
        how="left",
    ).sort(ROW)
    value_columns = [
        c
        for c in prepared.rows.columns
        if c not in (KEY, ROW, LINE, REASON, WARNINGS, "website") and not c.startswith(KEPT)
    ]
    kept_columns = [c for c in prepared.rows.columns if c.startswith(KEPT)]
    result = []
    for row in decided.iter_rows(named=True):
        values = {c: row[c] for c in value_columns if row.get(c) is not None}
        warned = row[WARNINGS] or ""
        kept = "; ".join(
            f"{c[len(KEPT) :]}: {row[c]!r}" for c in kept_columns if row[c] is not None
        )
        if row[REASON] is not None:
            result.append(RowOutcome(row[LINE], REJECT, row[REASON], values))
        elif row[ACTION] == REJECT:
            result.append(RowOutcome(row[LINE], REJECT, row["__why"] or "", values))
        elif row["__first"] is not None and row["__first"] != row[ROW]:
            result.append(RowOutcome(row[LINE], MERGE, "", values, row[LEAD_ID], warned, kept))
        else:
            action = row[ACTION] or CREATE
            result.append(RowOutcome(row[LINE], action, "", values, row[LEAD_ID], warned, kept))
    return result


# --- jobs ----------------------------------------------------------------------------------


def imports_dir() -> Path:
    folder = Path(settings.DATA_DIR) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def create_import_job(
    path: str | Path,
    options: ImportOptions,
    *,
    now: datetime,
    by: User | None = None,
    file_name: str | None = None,
    rejects_path: str | Path | None = None,
) -> ImportJob:
    """A queued job for a stored file (the UI stores uploads under DATA_DIR/imports).
    FieldError for a consent purpose that does not exist."""
    options.check()
    nurture_consent.get_purpose(options.consent_purpose, field="consent_purpose")
    path = Path(path).resolve()
    job = ImportJob.objects.create(
        created_by=by,
        file_name=file_name or path.name,
        file_path=str(path),
        options=options.to_dict(),
        created_at=now,
    )
    if rejects_path is None:
        rejects_path = imports_dir() / f"import-{job.pk}-rejects.csv"
    job.rejects_path = str(rejects_path)
    job.save(update_fields=["rejects_path"])
    return job


def run_import(job: ImportJob, *, now: datetime, progress: Progress | None = None) -> ImportSummary:
    """Run (or resume) the job to the end and return its counts."""
    if job.status == ImportStatus.DONE:
        return _summary(job, 0.0)
    started = time.perf_counter()
    timings = Laps()
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.RUNNING, started_at=job.started_at or now, error=""
    )
    try:
        apply.tune_connection()
        options = ImportOptions.from_dict(job.options)
        prepared = prepare(job.file_path, options, now=now)
        timings.update(prepared.timings)
        _start(job, prepared)
        campaign = (
            Campaign.objects.filter(pk=options.campaign_id).first()
            if options.campaign_id is not None
            else None
        )
        records = prepared.records
        size = options.chunk_size
        book = apply.AccountBook()
        freed = apply.freed_emails()
        if progress:
            progress(job.rows_done, job.rows_total)
        with apply.deferred_checkpoints():
            while job.records_done < records.height:
                chunk = records.slice(job.records_done, size)
                if progress:
                    timings.within(job, int(chunk[COUNT].sum() or 0), progress)
                _apply_chunk_with_retry(
                    job, prepared, chunk, campaign, now=now, timings=timings, book=book, freed=freed
                )
                if progress:
                    progress(job.rows_done, job.rows_total)
            tick = time.perf_counter()
        timings["checkpoint"] = time.perf_counter() - tick
        tick = time.perf_counter()
        write_rejects(prepared, job)
        timings["rejects"] = time.perf_counter() - tick
        # `now` is when this run started; the finish is that plus the run's own duration.
        finished_at = now + timedelta(seconds=time.perf_counter() - started)
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.DONE, finished_at=finished_at
        )
        job.refresh_from_db()
    except ConcurrentRun:
        log.warning("import job %s is being run by another worker; this one stops", job.pk)
        job.refresh_from_db()
    except Exception as exc:
        ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.FAILED, error=str(exc))
        job.refresh_from_db()
        raise
    summary = _summary(job, time.perf_counter() - started)
    summary.timings = timings
    return summary


def _summary(job: ImportJob, seconds: float) -> ImportSummary:
    return ImportSummary(
        created=job.created,
        updated=job.updated,
        merged=job.merged,
        rejected=job.rejected,
        warned=job.warned,
        rows=job.rows_total,
        seconds=seconds,
        rejects_path=job.rejects_path,
        job_id=job.pk,
        kept_as_written=[KeptValues.from_json(kept) for kept in job.kept_as_written],
    )


def kept_as_written_lines(job: ImportJob) -> list[str]:
    """What the job kept as written, per choice column, in words (as the preview says)."""
    return [KeptValues.from_json(kept).describe() for kept in job.kept_as_written]


def _start(job: ImportJob, prepared: Prepared) -> None:
    """Count the file's rows and the rows refused on reading, once per job."""
    if job.rows_total:
        return
    rejected = prepared.rejects.height
    ImportJob.objects.filter(pk=job.pk, rows_total=0).update(
        rows_total=prepared.rows_total,
        rows_done=rejected,
        rejected=rejected,
        warned=prepared.warnings.height,
        kept_as_written=[kept.as_json() for kept in prepared.kept_as_written],
    )
    job.refresh_from_db()


def _apply_chunk_with_retry(
    job: ImportJob,
    prepared: Prepared,
    chunk: pl.DataFrame,
    campaign: Campaign | None,
    *,
    now: datetime,
    timings: dict[str, float],
    book: apply.AccountBook,
    freed: pl.Series,
) -> None:
    # A lead created by someone else between our look-up and our insert (PostgreSQL,
    # where other writers run alongside) fails the chunk: the retry finds it and updates.
    for attempt in range(3):
        try:
            with transaction.atomic():
                _apply_chunk(
                    job, prepared, chunk, campaign, now=now, timings=timings, book=book, freed=freed
                )
                tick = time.perf_counter()
            # Foreign keys are checked at commit (Django makes them deferred).
            _timed(timings, "commit", tick)
            book.commit()
            return
        except (IntegrityError, OperationalError):
            book.rollback()
            if attempt == 2:
                raise
            log.warning("import job %s: chunk at %s retried", job.pk, job.records_done)
            job.refresh_from_db()


# How far through a chunk each timed step is, roughly, by the time it ends (from the
# 1M-row benchmark): the command line's bar moves while a big chunk is written.
CHUNK_SHARE = {
    "match": 0.08,
    "accounts": 0.14,
    "score": 0.15,
    "route": 0.17,
    "write: insert leads": 0.52,
    "write: update leads": 0.65,
    "write: stage changes": 0.75,
    "write: submissions": 0.84,
    "write: members": 0.92,
    "write: foreign keys": 0.98,
}


class Laps(dict[str, float]):
    """Seconds per step of a run, and the progress inside the chunk being written."""

    progress: Progress | None = None
    base = total = rows = 0

    def within(self, job: ImportJob, rows: int, progress: Progress) -> None:
        self.base, self.total, self.rows, self.progress = (
            job.rows_done,
            job.rows_total,
            rows,
            progress,
        )

    def reached(self, name: str) -> None:
        share = CHUNK_SHARE.get(name)
        if self.progress is not None and share is not None:
            self.progress(self.base + int(self.rows * share), self.total)


def _timed(timings: dict[str, float], name: str, started: float) -> float:
    now = time.perf_counter()
    timings[name] = timings.get(name, 0.0) + now - started
    if isinstance(timings, Laps):
        timings.reached(name)
    return now


def _apply_chunk(
    job: ImportJob,
    prepared: Prepared,
    chunk: pl.DataFrame,
    campaign: Campaign | None,
    *,
    now: datetime,
    timings: dict[str, float],
    book: apply.AccountBook,
    freed: pl.Series,
) -> None:
    """`freed`: the addresses merges freed (apply.freed_emails), read once per run."""
    options = prepared.options
    tick = time.perf_counter()
    existing = _existing_for(chunk, options, freed)
    classified = classify(chunk, existing, options.key)
    tick = _timed(timings, "match", tick)

    # Accounts: a lead without one gets its company's, found or created by domain.
    wanted = (
        classified.filter(
            (pl.col(ACTION) != REJECT)
            & pl.col("ex_account_id").is_null()
            & pl.col(DOMAIN).is_not_null()
        )
        .group_by(DOMAIN, maintain_order=True)
        .agg(pl.col("company_name").drop_nulls().first().alias("name"))
        .select(pl.col(DOMAIN).alias("domain"), pl.coalesce("name", DOMAIN).alias("name"))
    )
    by_domain = book.for_domains(wanted, now=now)
    classified = classified.join(
        by_domain.select(pl.col("domain").alias(DOMAIN), pl.col("id").alias("__domain_account")),
        on=DOMAIN,
        how="left",
    ).with_columns(pl.coalesce("ex_account_id", "__domain_account").alias("account_id"))
    account_ids = classified["account_id"].drop_nulls().unique().to_list()
    accounts = book.for_ids(account_ids)
    tick = _timed(timings, "accounts", tick)

    # The file's activity columns: events not stored yet add to the engagement now.
    events = activity_events(classified.filter(pl.col(ACTION) != REJECT), now=now)
    if events.height:
        known = events.filter(pl.col(LEAD_ID).is_not_null()).select(event_key().alias("key"))["key"]
        stored = stored_event_keys(known.to_list())
        if stored:
            events = events.filter(pl.col(LEAD_ID).is_null() | ~event_key().is_in(sorted(stored)))
        classified = classified.join(
            events.group_by(KEY).agg(pl.col("points").sum().alias(ACTIVITY_POINTS)),
            on=KEY,
            how="left",
        )
    tick = _timed(timings, "events", tick)

    planned = plan_changes(classified, accounts, now=now)
    tick = _timed(timings, "score", tick)

    # New leads in the order of their email (ids too): each index then takes its entries
    # in runs instead of at random places, so SQLite walks each B-tree page once.
    creates = planned.filter(pl.col(ACTION) == CREATE).sort("email", "external_id", nulls_last=True)
    updates = planned.filter(pl.col(ACTION) == UPDATE).sort(LEAD_ID)
    ids = bulk.next_lead_ids(creates.height)
    creates = creates.with_columns(pl.Series(LEAD_ID, ids, dtype=pl.Int64))
    planned = pl.concat([creates, updates], how="vertical_relaxed")

    # Routing: leads becoming MQL get a team, an owner and an SLA clock.
    to_route = planned.filter(pl.col("__to_stage") == Stage.MQL).join(
        accounts.select(
            pl.col("id").alias("account_id"),
            "owner_id",
            "owner_team_id",
            "owner_is_active",
            pl.col("domain").alias("account.domain"),
            pl.col("employees").alias("account.employees"),
        ),
        on="account_id",
        how="left",
    )
    routed = apply.assign_in_bulk(
        to_route.select(
            pl.col(LEAD_ID).alias("id"),
            pl.col("ex_team_id").alias("team_id"),
            "country",
            "owner_id",
            "owner_team_id",
            "owner_is_active",
            *[c for c in apply.ROUTING_FACTS if c in to_route.columns],
        ),
        now=now,
        campaign=campaign.name if campaign else None,
    )
    planned = planned.join(
        routed.select(
            pl.col("id").alias(LEAD_ID),
            pl.col("team_id").alias("__team"),
            pl.col("owner_id").alias("__owner"),
            pl.col("sla_due_at").alias("__sla"),
            pl.col("how").alias("__how"),
            pl.col("rule_id").alias("__rule_id"),
            pl.col("rule_name").alias("__rule_name"),
            *[pl.col(c).alias(f"__{c}") for c in apply.LADDER_SCHEMA],
            pl.lit(1).alias("__assigned"),
        ),
        on=LEAD_ID,
        how="left",
    )
    tick = _timed(timings, "route", tick)

    with apply.references_checked_per_chunk(updates[LEAD_ID].to_list()):
        _write(job, prepared, planned, campaign, now=now, timings=timings)
        if events.height:
            started = time.perf_counter()
            _write_events(events, planned, now=now)
            _timed(timings, "write: events", started)
        written = time.perf_counter()
    _timed(timings, "write: foreign keys", written)
    _record_consent(job, options, planned, campaign, now=now)
    tick = _timed(timings, "write", tick)
    # A known lead's engagement reasons are its signals' (read at now, faded or not): the
    # bulk scorer knows only their total, so those leads are rescored one by one.
    rescore_engagement(
        updates.filter(pl.col("ex_engagement_score").fill_null(0) != 0)[LEAD_ID].to_list(),
        now=now,
        by=job.created_by,
    )

    rejected_here = classified.filter(pl.col(ACTION) == REJECT)
    kept = planned
    rows_done = int(chunk[COUNT].sum() or 0)
    merged = int(kept[COUNT].sum() or 0) - kept.height
    new_rejects = [[line, reason] for line, reason in rejected_here.select(LINE, REASON).rows()]
    rejected_rows = int(rejected_here[COUNT].sum() or 0)
    changed = ImportJob.objects.filter(pk=job.pk, records_done=job.records_done).update(
        records_done=F("records_done") + chunk.height,
        rows_done=F("rows_done") + rows_done,
        created=F("created") + creates.height,
        updated=F("updated") + updates.height,
        merged=F("merged") + merged,
        rejected=F("rejected") + rejected_rows,
        write_rejects=job.write_rejects + new_rejects,
    )
    if not changed:
        raise ConcurrentRun(job.pk)
    job.refresh_from_db()
    _timed(timings, "write", tick)


def _record_consent(
    job: ImportJob,
    options: ImportOptions,
    planned: pl.DataFrame,
    campaign: Campaign | None,
    *,
    now: datetime,
) -> None:
    """The file's consent columns, through nurture.consent (source "import", or
    "trade_show" for a trade show's list; the job as reference): a "yes" in a consent
    column grants the import's purpose, a "yes" in an opted-out column withdraws it; a
    "no" or an empty cell in either says nothing."""
    columns = [c for c in ("consent", "opted_out") if c in planned.columns]
    if not columns:
        return
    said = planned.select(
        pl.col(LEAD_ID),
        *[pl.col(c) for c in columns],
    ).filter(pl.any_horizontal([pl.col(c).fill_null(False) for c in columns]))
    if not said.height:
        return
    purpose = nurture_consent.get_purpose(options.consent_purpose, field="consent_purpose")
    leads = Lead.objects.only("id", "email").in_bulk(said[LEAD_ID].to_list())
    reference = f"import #{job.pk} ({job.file_name})"
    source = ConsentSource.IMPORT
    if campaign is not None and campaign.channel == Channel.TRADE_SHOW:
        source, reference = ConsentSource.TRADE_SHOW, f"{campaign.name}: {reference}"
    items = []
    for row in said.iter_rows(named=True):
        lead = leads.get(row[LEAD_ID])
        if lead is None:
            continue
        # An opt-out beside a "yes" in the same row: the opt-out wins.
        granted = not row.get("opted_out") and bool(row.get("consent"))
        items.append(
            nurture_consent.ConsentInput(
                lead,
                purpose,
                granted,
                source,
                reference=reference,
                by=job.created_by,
            )
        )
    nurture_consent.record_many(items, now=now)


def _write(
    job: ImportJob,
    prepared: Prepared,
    planned: pl.DataFrame,
    campaign: Campaign | None,
    *,
    now: datetime,
    timings: dict[str, float] | None = None,
) -> None:
    timings = timings if timings is not None else {}
    tick = time.perf_counter()
    dt = db_datetime
    now_lit = pl.lit(now).dt.cast_time_unit("us").dt.convert_time_zone("UTC")
    assigned = pl.col("__assigned").fill_null(0) == 1
    moved = pl.col("__to_stage").is_not_null()
    by_id = job.created_by_id
    campaign_id = campaign.pk if campaign else None
    text = [pl.col(c).fill_null("") for c in LEAD_TEXT]

    creates = planned.filter(pl.col(ACTION) == CREATE)
    bulk.insert_leads(
        creates.select(
            pl.col(LEAD_ID).alias("id"),
            "email",
            "external_id",
            *text,
            "employees",
            "budget",
            "account_id",
            pl.col("custom_fields").fill_null("{}"),
            pl.col("source").fill_null(Channel.IMPORT),
            pl.lit(campaign_id, dtype=pl.Int64).alias("first_campaign_id"),
            pl.coalesce("__to_stage", pl.lit(Stage.NEW)).alias("stage"),
            dt(pl.when(moved).then(now_lit).otherwise(pl.col("arrived_at"))).alias(
                "stage_changed_at"
            ),
            "segment",
            "fit_score",
            "engagement_score",
            "score",
            "grade",
            "score_reasons",
            pl.col("__team").alias("team_id"),
            pl.col("__owner").alias("owner_id"),
            dt(pl.when(pl.col("__owner").is_not_null()).then(now_lit)).alias("assigned_at"),
            dt(pl.col("__sla")).alias("sla_due_at"),
            dt(pl.col("arrived_at")).alias("arrived_at"),
        ),
        now=now,
    )
    tick = _timed(timings, "write: insert leads", tick)
    updates = planned.filter(pl.col(ACTION) == UPDATE)
    bulk.update_leads(
        updates.select(
            pl.col(LEAD_ID).alias("id"),
            "email",
            "external_id",
            *text,
            "employees",
            "budget",
            "account_id",
            dt(pl.col("arrived_at")).alias("arrived_at"),
            "fit_score",
            "engagement_score",
            "score",
            "segment",
            "grade",
            "score_reasons",
            pl.col("__to_stage").alias("to_stage"),
            assigned.cast(pl.Int64).alias("assigned"),
            pl.col("__team").alias("team_id"),
            pl.col("__owner").alias("owner_id"),
            dt(pl.when(pl.col("__owner").is_not_null()).then(now_lit)).alias("assigned_at"),
            dt(pl.col("__sla")).alias("sla_due_at"),
            "custom_fields",
        ),
        now=now,
        key=prepared.options.key,
    )

    forget_match_keys(
        updates.filter(
            pl.any_horizontal([pl.col(c).ne_missing(pl.col(f"ex_{c}")) for c in MATCH_FIELDS])
        )[LEAD_ID].to_list()
    )
    tick = _timed(timings, "write: update leads", tick)
    apply.record_routed(
        planned.filter(assigned).select(
            pl.col(LEAD_ID).alias("id"),
            pl.col("ex_owner_id").alias("from_owner_id"),
            pl.col("ex_team_id").alias("from_team_id"),
            pl.col("__owner").alias("to_owner_id"),
            pl.col("__team").alias("to_team_id"),
            pl.col("__how").alias("how"),
            pl.col("__rule_id").alias("rule_id"),
            pl.col("__rule_name").alias("rule_name"),
            pl.col("__sla").alias("sla_due_at"),
            *[pl.col(f"__{c}").alias(c) for c in apply.LADDER_SCHEMA],
        ),
        now=now,
    )
    tick = _timed(timings, "write: assignments", tick)
    # History: the arrival of each new lead, then every stage move.
    stamp = db_now(now)
    ids = creates[LEAD_ID]
    contiguous = creates.height > 0 and int(ids.max()) - int(ids.min()) + 1 == creates.height  # type: ignore[arg-type]
    if contiguous and not is_postgres():
        bulk.insert_arrivals_and_moves(
            int(ids.min()),  # type: ignore[arg-type]
            int(ids.max()),  # type: ignore[arg-type]
            by_id=by_id,
            now=now,
            arrival_reason=ARRIVAL_REASON,
            move_reason_sql=move_reason_sql("score", "stage"),
        )
        history = updates
    else:
        history = planned
        bulk.insert_stage_changes(
            creates.select(
                pl.col(LEAD_ID).alias("lead_id"), dt(pl.col("arrived_at")).alias("changed_at")
            ),
            {"from_stage": "", "to_stage": Stage.NEW, "changed_by_id": by_id,
             "reason": ARRIVAL_REASON},
        )  # fmt: skip
    bulk.insert_stage_changes(
        history.filter(moved).select(
            pl.col(LEAD_ID).alias("lead_id"),
            pl.col("__from_stage").alias("from_stage"),
            pl.col("__to_stage").alias("to_stage"),
            pl.col("__stage_reason").alias("reason"),
        ),
        {"changed_at": stamp, "changed_by_id": by_id},
    )
    tick = _timed(timings, "write: stage changes", tick)

    # Score history: every new lead, and each updated one whose score, grade or segment
    # changed (qualify.services.score_lead keeps the same).
    scored = planned.filter(
        (pl.col(ACTION) == CREATE)
        | pl.col("score").ne_missing(pl.col("ex_score"))
        | pl.col("grade").ne_missing(pl.col("ex_grade"))
        | pl.col("segment").ne_missing(pl.col("ex_segment"))
    )
    insert_score_changes(
        scored.select(
            pl.col(LEAD_ID).alias("lead_id"),
            "score",
            "fit_score",
            "engagement_score",
            "grade",
            "segment",
        ),
        now=now,
    )
    tick = _timed(timings, "write: score history", tick)

    # Every accepted row is a submission: the job (which keeps the file) and the line.
    keys = planned.select(KEY, LEAD_ID, ACTION, pl.col(ROW).alias("__first"))
    rows = prepared.rows.filter(pl.col(REASON).is_null()).select(KEY, ROW, LINE)
    submissions = rows.join(keys, on=KEY).sort(LEAD_ID, ROW)
    insert_submissions(
        submissions.select(
            pl.col(LEAD_ID).alias("lead_id"),
            pl.col(LINE).alias("line"),
            ((pl.col(ACTION) == CREATE) & (pl.col(ROW) == pl.col("__first"))).alias("was_created"),
        ),
        {
            "source": "import",
            "campaign_id": campaign_id,
            "payload": "{}",
            "import_job_id": job.pk,
            "received_at": stamp,
            "submitted_by_id": by_id,
        },
    )
    tick = _timed(timings, "write: submissions", tick)
    if campaign is not None:
        bulk.upsert_members(
            planned.sort(LEAD_ID).select(
                pl.lit(campaign.pk, dtype=pl.Int64).alias("campaign_id"),
                pl.col(LEAD_ID).alias("lead_id"),
                pl.col("member_status").alias("status"),
                dt(pl.coalesce("__file_arrived", now_lit)).alias("joined_at"),
            ),
            now=now,
        )
    _timed(timings, "write: members", tick)


def _write_events(events: pl.DataFrame, planned: pl.DataFrame, *, now: datetime) -> None:
    """The chunk's activity events, with the ids of the leads it made, through qualify."""
    with_ids = events.drop(LEAD_ID).join(planned.select(KEY, LEAD_ID), on=KEY, how="inner")
    insert_events(
        with_ids.select(
            pl.col(LEAD_ID).alias("lead_id"),
            "kind",
            "occurred_at",
            "points",
            "properties",
            event_key().alias("idempotency_key"),
        ),
        now=now,
    )


# --- rejects -------------------------------------------------------------------------------


def safe_cell_expr(expr: pl.Expr) -> pl.Expr:
    """`leads.exports.safe_cell`, vectorised."""
    pattern = "^[" + "".join("\\" + c if c in "-" else c for c in FORMULA_PREFIXES) + "]"
    return pl.when(expr.str.contains(pattern)).then(pl.lit("'") + expr).otherwise(expr)


def rejects_frame(prepared: Prepared, extra: list[list[Any]] | None = None) -> pl.DataFrame:
    """Each rejected row (its line, why) and each row kept with values left empty (its
    line, the warnings), with its cells as read (neutralised)."""
    parse = prepared.rejects.select(LINE, REASON)
    more = pl.DataFrame(extra or [], schema={LINE: pl.Int64, REASON: pl.String}, orient="row")
    # A record refused at write time takes every row folded into it.
    if more.height:
        refused = prepared.rows.join(
            prepared.records.join(more, on=LINE).select(KEY, pl.col(REASON).alias("__why")),
            on=KEY,
        ).select(LINE, pl.col("__why").alias(REASON))
        parse = pl.concat([parse, refused])
    warned = prepared.warnings.select(LINE, WARNINGS).join(parse, on=LINE, how="anti")
    listed = pl.concat(
        [parse.with_columns(pl.lit(None, dtype=pl.String).alias(WARNINGS)), warned],
        how="diagonal_relaxed",
    )
    table = prepared.table
    cells = table.frame.select(LINE, *table.columns).join(listed, on=LINE).sort(LINE)
    return cells.select(
        pl.col(LINE).alias("_line"),
        safe_cell_expr(pl.col(REASON)).alias("_reason"),
        safe_cell_expr(pl.col(WARNINGS)).alias("_warnings"),
        *[safe_cell_expr(pl.col(c).str.slice(0, 32_767)).alias(c) for c in table.columns],
    )


def write_rejects(
    prepared: Prepared, job: ImportJob | None = None, path: str | Path | None = None
) -> int:
    """Write the rejects CSV (UTF-8 with a BOM, for Excel); returns its number of rows."""
    target = path or (job.rejects_path if job else None)
    if not target:
        return 0
    frame = rejects_frame(prepared, job.write_rejects if job else None)
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as out:
        out.write(b"\xef\xbb\xbf")
        frame.write_csv(out)
    return frame.height
