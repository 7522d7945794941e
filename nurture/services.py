"""Email templates and the outbox.

`queue_message` renders a template for a lead and queues it (`queue_messages` for a batch
of leads, as a program step or stream queues what it finds due): links tracked, footer
and unsubscribe headers added, the MIME bytes built once and stored (`nurture.tracking`).
`run_due`, the outbox sweep (LEADLOOP_SWEEPS, beat's "outbox"), claims the due messages
and hands their bytes to the SMTP connection of Django's email framework (MAILERS, from
EMAIL_URL; a provider's backend through django-anymail gets an EmailMessage instead).

Exactly once, honestly: a message is claimed (queued -> sending) in a short transaction
with its row locked (SKIP LOCKED on PostgreSQL; the claim is also one conditional UPDATE,
so on SQLite only one worker wins it), with a lease (`next_attempt_at` pushed
LEADLOOP_EMAIL_LEASE_SECONDS ahead), then sent outside any transaction and marked sent once
the server has accepted it (in groups of MARK_EVERY, never before its "250"). Two workers never send one message. A worker that dies
leaves its claims `sending`; when the lease runs out the message is taken up again:
- if the local mail server (the mailbox) holds its Message-ID, the server accepted it
  and it is marked sent without a resend: exactly once;
- otherwise it is sent again with the SAME Message-ID. Leadloop cannot ask an outside
  SMTP server whether it took a message, so across the milliseconds between the server's
  "250" and the UPDATE marking it sent the outbox is at-least-once, and the stable
  Message-ID lets the receiving side recognise the duplicate. We chose that over
  at-most-once (never retry a dead claim), which would lose every message a crash catches
  before the server got it.
"""

from __future__ import annotations

import logging
import smtplib
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.db import connection, models, transaction
from django.db.models import Count, F, Min, QuerySet
from email_validator import EmailNotValidError, validate_email

from leads.errors import FieldError, NotPermitted
from leads.history import history_ids, move_rows
from leads.models import Lead
from users.access import visible_leads
from users.choices import Capability
from users.permissions import may

from . import consent, rules, rules_programs, tracking
from .choices import PENDING, MessageStatus, Purpose
from .models import EmailTemplate, MailboxMessage, Message, Suppression
from .rendering import MERGE_FIELDS as MERGE_FIELDS
from .rendering import Rendered, check_template, lead_context, render

log = logging.getLogger(__name__)

BATCH_SIZE = 200
TEMPLATE_FIELDS = ("name", "subject", "html_body", "text_body")


# --- Templates ---------------------------------------------------------------------------


def check_may_send(by: Any) -> None:
    """NotPermitted unless `by` may write and send email (marketing, admins)."""
    if not may(by, Capability.SEND_EMAIL):
        raise NotPermitted("email", "only marketing and admins write and send email")


_require = check_may_send


def lead_seen_by(by: Any, lead_id: Any) -> Lead | None:
    """The lead `by` may see with that id (for a preview or a test send), else None."""
    try:
        pk = int(lead_id)
    except (TypeError, ValueError):
        return None
    return (
        visible_leads(by, Lead.objects.select_related("account", "owner", "team"))
        .filter(pk=pk)
        .first()
    )


def create_template(*, by: Any, now: datetime, **fields: Any) -> EmailTemplate:
    """A new template; FieldError names a missing field, a taken name or a line that does
    not compile."""
    _require(by)
    clean = _clean_template(fields, current=None)
    return EmailTemplate.objects.create(**clean, created_at=now, updated_at=now)


def update_template(
    template: EmailTemplate, *, by: Any, now: datetime, **changes: Any
) -> EmailTemplate:
    _require(by)
    merged = {name: getattr(template, name) for name in TEMPLATE_FIELDS} | changes
    clean = _clean_template(merged, current=template)
    for name, value in clean.items():
        setattr(template, name, value)
    template.updated_at = now
    template.save()
    return template


def delete_template(template: EmailTemplate, *, by: Any) -> None:
    """Delete a template; FieldError while a program's send step uses it."""
    _require(by)
    users = sorted(
        {f"{p} ({s})" for p, s in template.program_steps.values_list("program__name", "name")}
    )
    if users:
        raise FieldError("template", f"used by program steps: {', '.join(users)}")
    template.delete()


def _clean_template(fields: dict[str, Any], *, current: EmailTemplate | None) -> dict[str, str]:
    unknown = set(fields) - set(TEMPLATE_FIELDS)
    if unknown:
        raise FieldError(sorted(unknown)[0], "not a field of an email template")
    clean = {name: str(fields.get(name) or "") for name in TEMPLATE_FIELDS}
    clean["name"] = clean["name"].strip()
    if not clean["name"]:
        raise FieldError("name", "a template needs a name")
    taken = EmailTemplate.objects.filter(name=clean["name"])
    if current is not None:
        taken = taken.exclude(pk=current.pk)
    if taken.exists():
        raise FieldError("name", f"a template named {clean['name']!r} exists already")
    check_template(
        subject=clean["subject"], html_body=clean["html_body"], text_body=clean["text_body"]
    )
    return clean


def preview(template: EmailTemplate, lead: Lead) -> Rendered:
    """The template as `lead` would get it (the caller checks the viewer sees the lead)."""
    return render(template, lead_context(lead))


def test_send(
    template: EmailTemplate, *, to: str, lead: Lead | None, by: Any, now: datetime
) -> Message:
    """Queue the template, rendered as `lead` (or with empty fields), to `to`, and send it
    at once (a test send ignores the frequency cap and quiet hours, not suppression)."""
    _require(by)
    address = _check_address(to, field="to")
    message = queue_message(lead, template, purpose=Purpose.TEST, now=now, to_address=address)
    run_due(now=now, only=[message.pk])
    message.refresh_from_db()
    return message


# --- Queueing ----------------------------------------------------------------------------


def queue_message(
    lead: Lead | None,
    template: EmailTemplate,
    *,
    purpose: str,
    now: datetime,
    send_after: datetime | None = None,
    program_step: int | None = None,
    to_address: str | None = None,
    context: Mapping[str, Any] | None = None,
    consent_purpose: str | None = None,
) -> Message:
    """Render `template` for `lead` and queue it (sent by `run_due` from `send_after`, or
    now). The address is the lead's unless given (test sends). `context`: merge fields
    beside the lead's (a content stream's `piece`). A marketing message goes only to a
    lead that granted `consent_purpose` (default: the newsletter)."""
    _check_purpose(purpose)
    needs = _consent_purpose(purpose, consent_purpose)
    address = to_address or (lead.email if lead is not None else "") or ""
    if not address:
        raise FieldError("email", "the lead has no email address")
    fields = lead_context(lead) if lead is not None else {"base_url": settings.LEADLOOP_BASE_URL}
    rendered = render(template, fields | dict(context or {}))
    [message] = _queue(
        [(lead, address, rendered)], template, purpose=purpose, now=now,
        send_after=send_after, program_step=program_step, consent_purpose=needs,
    )  # fmt: skip
    return message


def queue_messages(
    leads: Iterable[Lead],
    template: EmailTemplate,
    *,
    purpose: str,
    now: datetime,
    send_after: datetime | None = None,
    program_step: int | None = None,
    context: Mapping[str, Any] | None = None,
    consent_purpose: str | None = None,
) -> list[Message]:
    """`queue_message` for many leads at once (a program step or a stream reaching a batch
    of due leads): one INSERT and one executemany UPDATE for all of them instead of a
    transaction per lead. Leads without an email address are skipped. `context`: merge
    fields beside each lead's (a content stream's `piece`)."""
    _check_purpose(purpose)
    extra = dict(context or {})
    needs = _consent_purpose(purpose, consent_purpose)
    items: list[tuple[Lead | None, str, Rendered]] = [
        (lead, str(lead.email), render(template, lead_context(lead) | extra))
        for lead in leads
        if lead.email
    ]
    return _queue(
        items, template, purpose=purpose, now=now, send_after=send_after,
        program_step=program_step, consent_purpose=needs,
    )  # fmt: skip


def _check_purpose(purpose: str) -> None:
    if purpose not in Purpose.values:
        raise FieldError("purpose", f"{purpose!r} is not one of {', '.join(Purpose.values)}")


def _consent_purpose(purpose: str, consent_purpose: str | None) -> str:
    """The consent purpose (slug) a message needs: marketing the one named (default the
    newsletter; FieldError for an unknown one), a test send none."""
    if purpose != Purpose.MARKETING:
        return ""
    return consent.get_purpose(
        consent_purpose or consent.DEFAULT_PURPOSE, field="consent_purpose"
    ).slug


def _queue(
    items: list[tuple[Lead | None, str, Rendered]],
    template: EmailTemplate,
    *,
    purpose: str,
    now: datetime,
    send_after: datetime | None,
    program_step: int | None,
    consent_purpose: str = "",
) -> list[Message]:
    """The rows with their bodies and bytes, in one transaction (nobody ever sees a message
    without them). The tracking links name the message, so its primary key comes first:
    on PostgreSQL taken from the table's sequence, then one INSERT of whole rows; on
    SQLite (no sequence) the rows are inserted, then their bodies set."""
    if not items:
        return []
    with transaction.atomic():
        messages = [
            Message(
                lead=lead,
                template=template,
                program_step=program_step,
                purpose=purpose,
                consent_purpose=consent_purpose,
                to_address=address,
                to_domain=address.rsplit("@", 1)[-1].lower(),
                subject=rendered.subject,
                next_attempt_at=send_after or now,
                created_at=now,
                message_id=f"<{uuid.uuid4().hex}@{settings.LEADLOOP_EMAIL_DOMAIN}>",
            )
            for lead, address, rendered in items
        ]
        reserved = _reserve_ids(messages)
        if not reserved:
            _insert(messages)
        base, sender = settings.LEADLOOP_BASE_URL, settings.DEFAULT_FROM_EMAIL
        for message, (_, _, rendered) in zip(messages, items, strict=True):
            _finish(message, rendered, base=base, sender=sender)
        if reserved:
            _insert(messages, with_pk=True)
        else:
            # Only quoted names are formatted into the statement; the values are bound.
            quote = connection.ops.quote_name
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"UPDATE {quote(Message._meta.db_table)} SET {quote('text_body')} = %s,"
                    f" {quote('html_body')} = %s, {quote('raw')} = %s WHERE {quote('id')} = %s",
                    [(m.text_body, m.html_body, bytes(m.raw), m.pk) for m in messages],
                )
    return messages


# Rows per INSERT statement: 500 x 20 columns stays under SQLite's and PostgreSQL's limits
# on bound parameters.
INSERT_ROWS = 500
_PLAIN = (str, int, bytes, type(None))


def _reserve_ids(messages: list[Message]) -> bool:
    """On PostgreSQL, primary keys for new messages from the table's own sequence (what
    the INSERT would have taken), so each row is written once, whole; False elsewhere."""
    if connection.vendor != "postgresql":
        return False
    table = Message._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, len(messages)],
        )
        for message, (pk,) in zip(messages, cursor.fetchall(), strict=True):
            message.pk = pk
    return True


def _insert(messages: list[Message], *, with_pk: bool = False) -> list[Message]:
    """`bulk_create` of new messages without bulk_create's compiling of every value of
    every row (~0.1 ms a message: a third of queueing's time). Values are bound as they
    are when they are plain (str, int, bytes, None), through their field's
    `get_db_prep_save` once per distinct value otherwise (the batch's datetimes).
    `with_pk` (PostgreSQL, keys taken by `_reserve_ids`): whole rows by one executemany
    (pipeline mode; a statement of thousands of placeholders is parsed by psycopg in
    Python). Otherwise (SQLite): `INSERT … VALUES (…), … RETURNING id` per INSERT_ROWS,
    the keys set from the RETURNING rows, which come back in the order given, as
    bulk_create relies on too."""
    if not connection.features.can_return_rows_from_bulk_insert:  # pragma: no cover
        return Message.objects.bulk_create(messages, batch_size=INSERT_ROWS)
    fields = [field for field in Message._meta.concrete_fields if with_pk or not field.primary_key]
    quote = connection.ops.quote_name
    insert = (
        f"INSERT INTO {quote(Message._meta.db_table)}"
        f" ({', '.join(quote(str(field.column)) for field in fields)})"
    )
    row = f"({', '.join(['%s'] * len(fields))})"
    prepared: dict[tuple[str, Any], Any] = {}

    def values_of(message: Message) -> list[Any]:
        values = []
        for field in fields:
            value = getattr(message, field.attname)
            if not isinstance(value, _PLAIN):
                key = (field.attname, value)
                if key not in prepared:
                    prepared[key] = field.get_db_prep_save(value, connection)
                value = prepared[key]
            values.append(value)
        return values

    with connection.cursor() as cursor:
        if with_pk:
            cursor.executemany(f"{insert} VALUES {row}", [values_of(m) for m in messages])
        else:
            for start in range(0, len(messages), INSERT_ROWS):
                chunk = messages[start : start + INSERT_ROWS]
                cursor.execute(
                    f"{insert} VALUES {', '.join([row] * len(chunk))} RETURNING {quote('id')}",
                    [value for message in chunk for value in values_of(message)],
                )
                for message, (pk,) in zip(chunk, cursor.fetchall(), strict=True):
                    message.pk = pk
    for message in messages:
        message._state.adding = False
        message._state.db = connection.alias
    return messages


def _finish(message: Message, rendered: Rendered, *, base: str, sender: str) -> None:
    """Links tracked, the footer added to both parts, the MIME bytes built (the message
    has its primary key)."""
    links = tracking.Links(message.pk, base=base)
    message.text_body = tracking.track_text(rendered.text, links) if rendered.text else ""
    message.html_body = tracking.track_html(rendered.html, links) if rendered.html else ""
    message.raw = tracking.build_raw(message, sender=sender, links=links)


def _check_address(value: Any, *, field: str) -> str:
    text = str(value or "").strip()
    if not text:
        raise FieldError(field, "an email address is needed")
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise FieldError(field, f"{text!r} is not an email address: {error}") from None


# --- The outbox sweep --------------------------------------------------------------------


@dataclass
class _Plan:
    send: list[Message]
    sent_already: list[int]


def run_due(
    *, now: datetime, batch_size: int = BATCH_SIZE, only: Iterable[int] | None = None
) -> int:
    """Send the due messages (the outbox sweep). Returns how many were sent."""
    sent = 0
    only_ids = list(only) if only is not None else None
    with _Connection(now=now) as smtp:
        while True:
            plan, seen = _claim(now=now, batch_size=batch_size, only=only_ids)
            sent += len(plan.sent_already)
            if plan.send:
                sent += smtp.send(plan.send)
            if seen < batch_size:
                return sent


def _claim(*, now: datetime, batch_size: int, only: list[int] | None) -> tuple[_Plan, int]:
    """Take one batch of due messages: each is sent now (claimed: sending, leased), found
    delivered already (a dead worker's claim the mailbox holds), suppressed, or deferred
    to when the cap, quiet hours or its domain's rate allow it."""
    lease = timedelta(seconds=settings.LEADLOOP_EMAIL_LEASE_SECONDS)
    plan = _Plan(send=[], sent_already=[])
    with transaction.atomic():
        due = Message.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            pk__in=_due_ids(now=now, batch_size=batch_size, only=only),
            status__in=PENDING,
            next_attempt_at__lte=now,
        )
        candidates = list(
            # The lead's country, state and team's time zone are all the checks read of the
            # lead (quiet hours, on the lead's clock: `rules_programs.lead_zone`).
            # The bodies stay behind: the stored bytes are what goes (a backend without an
            # SMTP connection loads them when it builds its message).
            due.annotate(
                team_timezone=F("lead__team__timezone"),
                lead_country=F("lead__country"),
                lead_custom=F("lead__custom_fields"),
            )
            .defer("text_body", "html_body")
            .order_by("next_attempt_at", "pk")[:batch_size]
        )
        if not candidates:
            return plan, 0
        suppressed = set(
            Suppression.objects.filter(
                address__in={m.to_address.lower() for m in candidates}
            ).values_list("address", flat=True)
        )
        delivered = set(
            MailboxMessage.objects.filter(
                message_id__in=[
                    m.message_id for m in candidates if m.status == MessageStatus.SENDING
                ]
            ).values_list("message_id", flat=True)
        )
        history = _recent_marketing(candidates, now=now)
        domain_sent = _recent_by_domain(candidates, now=now)
        quiet = rules.parse_quiet_hours(settings.LEADLOOP_EMAIL_QUIET_HOURS)
        wanted: list[Message] = []
        consented = consent.granted_pairs(candidates)
        for message in candidates:
            if message.message_id not in delivered and not consent.allows(message, consented):
                _claim_one(message).update(
                    status=MessageStatus.SUPPRESSED,
                    last_error=f"no consent for {message.consent_purpose}",
                )
                continue
            if message.message_id in delivered:
                if _claim_one(message).update(
                    status=MessageStatus.SENT, sent_at=now, last_error=""
                ):
                    plan.sent_already.append(message.pk)
                continue
            if message.to_address.lower() in suppressed:
                _claim_one(message).update(
                    status=MessageStatus.SUPPRESSED, last_error="the address is suppressed"
                )
                continue
            wait = _wait(message, now=now, history=history, domain_sent=domain_sent, quiet=quiet)
            if wait is not None:
                _claim_one(message).update(status=MessageStatus.QUEUED, next_attempt_at=wait)
                continue
            wanted.append(message)
            if message.purpose == Purpose.MARKETING and message.lead_id is not None:
                history[message.lead_id].append(now)
            domain_sent[message.to_domain] += 1
        plan.send = _take(wanted, now=now, lease=lease)
    return plan, len(candidates)


def _due_ids(*, now: datetime, batch_size: int, only: list[int] | None) -> list[int]:
    """The ids of the next `batch_size` due messages, in the order they are due, read from
    the partial index `nurture_message_due` in that order (and locked, SKIP LOCKED, where
    the database can). The index's condition is written as literals (a database proves a
    partial index usable only from literals), and on SQLite the index is named (`INDEXED
    BY`): its planner otherwise took the status index and sorted every pending message for
    every batch, 31 ms a batch at 20,000 queued against 0.7 ms, growing with the queue."""
    quote = connection.ops.quote_name
    statuses = ", ".join(f"'{status}'" for status in PENDING)  # constants, not input
    hint = " INDEXED BY nurture_message_due" if connection.vendor == "sqlite" else ""
    sql = (
        f"SELECT {quote('id')} FROM {quote(Message._meta.db_table)}{hint}"
        f" WHERE {quote('status')} IN ({statuses}) AND {quote('next_attempt_at')} <= %s"
    )
    params: list[Any] = [Message._meta.get_field("next_attempt_at").get_db_prep_value(
        now, connection
    )]  # fmt: skip
    if only is not None:
        if not only:
            return []
        sql += f" AND {quote('id')} IN ({', '.join(['%s'] * len(only))})"
        params += only
    sql += f" ORDER BY {quote('next_attempt_at')}, {quote('id')} LIMIT %s"
    if connection.features.has_select_for_update_skip_locked:
        # Another worker's claimed rows are passed over: it gets the next batch, as the
        # claim's own SKIP LOCKED would (this runs in the claim's transaction).
        sql += " FOR UPDATE SKIP LOCKED"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, batch_size])
        return [pk for (pk,) in cursor.fetchall()]


def _claim_one(message: Message) -> QuerySet[Message]:
    """The claim of one message: a conditional UPDATE, which only one worker sees change."""
    return Message.objects.filter(
        pk=message.pk, status=message.status, next_attempt_at=message.next_attempt_at
    )


def _take(wanted: list[Message], *, now: datetime, lease: timedelta) -> list[Message]:
    """Claim `wanted` for this worker: sending, leased, one more attempt. One UPDATE for
    the batch; if it did not change every row (another worker, on SQLite, took some since
    they were read), each row is claimed on its own and only the ones won are kept."""
    claimed = {"status": MessageStatus.SENDING, "next_attempt_at": now + lease}
    together = Message.objects.filter(
        pk__in=[m.pk for m in wanted], status__in=PENDING, next_attempt_at__lte=now
    ).update(**claimed, attempts=F("attempts") + 1)
    if together == len(wanted):
        taken = wanted
    else:
        # Rolled into the per-row check: the rows this UPDATE changed are ours already.
        ours = set(
            Message.objects.filter(
                pk__in=[m.pk for m in wanted], status=MessageStatus.SENDING,
                next_attempt_at=now + lease,
            ).values_list("pk", flat=True)
        ) if together else set()  # fmt: skip
        taken = [
            m
            for m in wanted
            if m.pk in ours
            or Message.objects.filter(
                pk=m.pk, status=m.status, next_attempt_at=m.next_attempt_at
            ).update(**claimed, attempts=F("attempts") + 1)
        ]
    for message in taken:
        message.attempts += 1
    return taken


def _recent_marketing(candidates: Sequence[Message], *, now: datetime) -> dict[int, list[datetime]]:
    leads = {m.lead_id for m in candidates if m.purpose == Purpose.MARKETING and m.lead_id}
    history: dict[int, list[datetime]] = defaultdict(list)
    if leads:
        # The status is checked here, not in SQL: given `status = 'sent'`, SQLite's planner
        # took the status index and read every message ever sent, for every batch (1.1 s
        # of a 20,000-message sweep, growing with the table); on (lead, purpose, sent_at)
        # it reads only these leads' week.
        rows = (
            Message.objects.filter(
                lead_id__in=leads, purpose=Purpose.MARKETING, sent_at__gt=now - rules.WEEK
            )
            .order_by()
            .values_list("lead_id", "sent_at", "status")
        )
        for lead_id, sent_at, status in rows:
            if sent_at is not None and status == MessageStatus.SENT:
                history[lead_id].append(sent_at)
    return history


def _recent_by_domain(candidates: Sequence[Message], *, now: datetime) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    rows = (
        Message.objects.filter(
            to_domain__in={m.to_domain for m in candidates},
            sent_at__gt=now - timedelta(minutes=1),
        )
        .order_by()
        .values("to_domain")
        .annotate(n=Count("pk"))
    )
    for row in rows:
        counts[row["to_domain"]] = row["n"]
    return counts


def _wait(
    message: Message,
    *,
    now: datetime,
    history: dict[int, list[datetime]],
    domain_sent: dict[str, int],
    quiet: Any,
) -> datetime | None:
    """When `message` may go, if not now."""
    if message.purpose == Purpose.MARKETING:
        if message.lead_id is not None:
            release = rules.cap_release(
                history[message.lead_id], now=now, cap=settings.LEADLOOP_EMAIL_WEEKLY_CAP
            )
            if release is not None:
                return release
        custom = getattr(message, "lead_custom", None)
        state = (
            (custom.get("state") or custom.get("region") or "") if isinstance(custom, dict) else ""
        )
        zone = rules_programs.lead_zone(
            country=str(getattr(message, "lead_country", "") or ""),
            state=str(state),
            team_zone=getattr(message, "team_timezone", None),
            default=settings.LEADLOOP_EMAIL_TIMEZONE,
        )
        ends = rules.quiet_until(now, zone=zone, quiet=quiet)
        if ends is not None:
            return ends
    if domain_sent[message.to_domain] >= settings.LEADLOOP_EMAIL_DOMAIN_RATE_PER_MINUTE:
        return now + timedelta(minutes=1)
    return None


# Sent messages are marked in groups of this many: one UPDATE per group, not per message.
MARK_EVERY = 50


class _Connection:
    """One connection to the mail server for a whole sweep, opened at its first batch
    (a sweep with nothing to send opens none) and again after a connection is lost."""

    def __init__(self, *, now: datetime) -> None:
        self.now = now
        self.backend: Any = None
        self.envelope_from = (
            parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or settings.DEFAULT_FROM_EMAIL
        )
        self.date = tracking.date_header(now)

    def __enter__(self) -> _Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        backend, self.backend = self.backend, None
        if backend is not None:
            try:
                backend.close()
            except Exception:  # closing a broken connection may fail too
                log.debug("closing the SMTP connection failed", exc_info=True)

    def send(self, messages: list[Message]) -> int:
        """Send claimed messages. A message counts as sent only once the server has
        accepted it (its "250"); the accepted ones are marked in groups of MARK_EVERY,
        and before any failure is handled. A worker killed between a send and its group's
        mark leaves that group's tail `sending`: after the lease it is resent with the
        same Message-ID (or, if the local mailbox has it, only marked)."""
        now = self.now
        if self.backend is None:
            backend = mailers.default  # a new backend instance, its own connection
            try:
                backend.open()
            except (OSError, smtplib.SMTPException) as error:
                for message in messages:
                    _failed(message, error, now=now)
                return 0
            self.backend = backend
        backend = self.backend
        # Django's SMTP backend: hand the stored bytes to its smtplib connection. Any other
        # backend (a provider's through anymail, console, locmem) gets an EmailMessage.
        smtp = backend.connection if isinstance(backend, SmtpBackend) else None
        accepted: list[int] = []
        sent = 0
        try:
            for position, message in enumerate(messages):
                try:
                    if smtp is not None and message.raw:
                        smtp.sendmail(
                            self.envelope_from, [message.to_address], self.date + message.raw
                        )
                    else:
                        backend.send_messages([_email_of(message)])
                except (OSError, smtplib.SMTPException) as error:
                    _mark_sent(accepted, now=now)
                    accepted = []
                    _failed(message, error, now=now)
                    gone = isinstance(error, smtplib.SMTPServerDisconnected) or not isinstance(
                        error, smtplib.SMTPException
                    )
                    if gone:
                        # The connection is gone: the rest wait for the next sweep's claim,
                        # the next batch of this one opens a new connection.
                        for other in messages[position + 1 :]:
                            _failed(other, error, now=now)
                        self.close()
                        break
                    continue  # smtplib has reset the refused transaction itself
                accepted.append(message.pk)
                sent += 1
                if len(accepted) >= MARK_EVERY:
                    _mark_sent(accepted, now=now)
                    accepted = []
        finally:
            _mark_sent(accepted, now=now)
        return sent


def _mark_sent(pks: list[int], *, now: datetime) -> None:
    if pks:
        Message.objects.filter(pk__in=pks, status=MessageStatus.SENDING).update(
            status=MessageStatus.SENT, sent_at=now, last_error=""
        )


def _email_of(message: Message) -> EmailMultiAlternatives:
    """The message for a backend that takes Django EmailMessages (anymail's, console)."""
    email = EmailMultiAlternatives(
        message.subject,
        message.text_body,
        settings.DEFAULT_FROM_EMAIL,
        [message.to_address],
        headers=tracking.message_headers(message),
    )
    if message.html_body:
        email.attach_alternative(message.html_body, "text/html")
    return email


def _smtp_code(error: BaseException) -> int | None:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return min(codes) if codes else None
    if isinstance(error, smtplib.SMTPResponseException):
        return int(error.smtp_code)
    return None


def _failed(message: Message, error: BaseException, *, now: datetime) -> None:
    """A permanent refusal (5xx) suppresses the address; anything else waits and retries
    (exponential back-off) until LEADLOOP_EMAIL_MAX_ATTEMPTS, then fails."""
    code = _smtp_code(error)
    text = f"{code} {error}" if code else f"{type(error).__name__}: {error}"
    claimed = Message.objects.filter(pk=message.pk, status=MessageStatus.SENDING)
    if rules.is_permanent(code):
        suppress(message.to_address, reason=text, now=now)
        claimed.update(status=MessageStatus.FAILED, last_error=text[:2000])
    elif message.attempts >= settings.LEADLOOP_EMAIL_MAX_ATTEMPTS:
        claimed.update(status=MessageStatus.FAILED, last_error=text[:2000])
    else:
        claimed.update(
            status=MessageStatus.QUEUED,
            next_attempt_at=now + rules.backoff(message.attempts),
            last_error=text[:2000],
        )


def suppress(address: str, *, reason: str, now: datetime) -> Suppression:
    """Nothing more goes to `address`: its queued messages are suppressed too."""
    address = address.strip().lower()
    row, _ = Suppression.objects.get_or_create(
        address=address, defaults={"reason": reason[:2000], "created_at": now}
    )
    Message.objects.filter(to_address__iexact=address, status=MessageStatus.QUEUED).update(
        status=MessageStatus.SUPPRESSED, last_error="the address is suppressed"
    )
    return row


# --- Merges ------------------------------------------------------------------------------

# A lead's messages are its history: a merge moves them to the survivor (identity asks).
LEAD_HISTORY: dict[str, type[models.Model]] = {"email_messages": Message}


def lead_history_ids(lead: Lead) -> dict[str, list[int]]:
    return history_ids(LEAD_HISTORY, lead)


def move_lead_history(
    ids: Mapping[str, Sequence[int]], *, to: Lead, only_from: Lead | None = None
) -> dict[str, int]:
    """Give the messages named by `ids` to the lead `to` (a merge, or its undo)."""
    return move_rows(LEAD_HISTORY, ids, to=to, only_from=only_from)


# --- Reading -----------------------------------------------------------------------------


def outbox(*, status: str | None = None) -> QuerySet[Message]:
    """The outbox, newest first, optionally one status (FieldError for an unknown one)."""
    # The bodies and the stored bytes stay in the database: a list shows neither.
    rows = Message.objects.select_related("lead", "template").defer("raw", "text_body", "html_body")
    if status:
        if status not in MessageStatus.values:
            raise FieldError(
                "status", f"{status!r} is not one of {', '.join(MessageStatus.values)}"
            )
        rows = rows.filter(status=status)
    return rows


def outbox_counts() -> dict[str, int]:
    counts = dict(Message.objects.values_list("status").annotate(n=Count("pk")).order_by())
    return {value: counts.get(value, 0) for value in MessageStatus.values}


def next_due() -> datetime | None:
    return Message.objects.filter(status__in=PENDING).aggregate(at=Min("next_attempt_at"))["at"]


# --- The local mail server's mailbox -----------------------------------------------------


def store_received(
    raw: bytes, *, mail_from: str, recipients: list[str], now: datetime
) -> MailboxMessage:
    """Keep a message the local SMTP server received, exactly as it came."""
    parsed = message_from_bytes(raw, policy=policy.default)
    return MailboxMessage.objects.create(
        message_id=str(parsed.get("Message-ID", "") or "").strip()[:300],
        mail_from=mail_from[:300],
        recipients=list(recipients),
        subject=str(parsed.get("Subject", "") or "")[:300],
        raw=raw,
        received_at=now,
    )


def mailbox() -> QuerySet[MailboxMessage]:
    return MailboxMessage.objects.defer("raw")
