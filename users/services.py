"""Operations on people's own records: new people and teams, their settings, their
teams' calendars, people who leave, notifications."""

from __future__ import annotations

import json
import logging
import zoneinfo
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import holidays as public_holiday_calendars
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, connection, models, transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from email_validator import EmailNotValidError, validate_email

from leads.countries import country_code
from leads.errors import FieldError, NotPermitted
from leads.history import history_ids, move_rows
from leads.lifecycle import SALES_STAGES
from leads.models import Lead

from .access import editable_teams, editable_users, user_fields
from .choices import Capability, EmailState, NotificationKind, Role
from .models import Leave, Notification, Team, User
from .permissions import may, role_of

log = logging.getLogger(__name__)

NOTIFY_BATCH_SIZE = 2000
# Off while a past is replayed (the demo's story): its messages are history, not news.
_EMAILING: ContextVar[bool] = ContextVar("leadloop_emailing", default=True)


@contextmanager
def emails_held() -> Iterator[None]:
    """Leave messages in the app only while inside: none of them is emailed, ever (the
    demo seeds months of notifications that nobody should receive)."""
    token = _EMAILING.set(False)
    try:
        yield
    finally:
        _EMAILING.reset(token)


# Emails claimed and sent per round of send_notification_emails.
EMAIL_BATCH_SIZE = 200

# Notifications about a lead: its history, which follows the person when leads are merged.
LEAD_HISTORY: dict[str, type[models.Model]] = {"notifications": Notification}


def notify(
    recipient: User,
    *,
    kind: str,
    message: str,
    lead_id: int | None,
    key: str,
    now: datetime,
) -> Notification:
    """Leave `recipient` a message, once per `key`.

    The key names the event ("sla_breach:<lead>:<deadline>"), so a sweep or a retry that
    tells the same thing again finds the first message instead of writing a second; the
    unique constraint (recipient, dedupe_key) settles two callers racing for it.
    """
    wanted = _EMAILING.get() and recipient.wants_email(kind)
    email = EmailState.PENDING if wanted else EmailState.NOT_WANTED
    notification, created = Notification.objects.get_or_create(
        recipient=recipient,
        dedupe_key=key[:120],
        defaults={
            "kind": kind,
            "message": message[:300],
            "lead_id": lead_id,
            "created_at": now,
            "email_state": email,
        },
    )
    if created and email == EmailState.PENDING:
        _email_after_commit(now)
    return notification


@dataclass(frozen=True)
class Message:
    """One notification to leave, for `notify_many`."""

    recipient_id: int
    kind: str
    message: str
    lead_id: int | None
    key: str


def notify_many(messages: Iterable[Message], *, now: datetime) -> int:
    """`notify` for many people at once, in one INSERT per NOTIFY_BATCH_SIZE rows: a
    message whose (recipient, key) is already there is skipped (the unique constraint
    decides, so a retry or a racing sweep writes nothing twice). Each message is also
    emailed if its recipient wants its kind by email. Returns how many were asked for."""
    messages = list(messages)
    emailed = _email_choices({m.recipient_id for m in messages}, {m.kind for m in messages})
    rows = [
        Notification(
            recipient_id=message.recipient_id,
            kind=message.kind,
            message=message.message[:300],
            lead_id=message.lead_id,
            dedupe_key=message.key[:120],
            created_at=now,
            email_state=(
                EmailState.PENDING
                if (message.recipient_id, message.kind) in emailed
                else EmailState.NOT_WANTED
            ),
        )
        for message in messages
    ]
    Notification.objects.bulk_create(rows, batch_size=NOTIFY_BATCH_SIZE, ignore_conflicts=True)
    if any(row.email_state == EmailState.PENDING for row in rows):
        _email_after_commit(now)
    return len(rows)


def _email_choices(recipient_ids: Collection[int], kinds: Collection[str]) -> set[tuple[int, str]]:
    """The (person, kind) pairs among these that are also emailed: one query for all."""
    if not recipient_ids or not _EMAILING.get():
        return set()
    people = User.objects.filter(pk__in=list(recipient_ids)).only(
        "pk", "email", "is_active", "email_notifications"
    )
    return {(person.pk, kind) for person in people for kind in kinds if person.wants_email(kind)}


def _email_after_commit(now: datetime) -> None:
    """Send the waiting emails once the messages are committed (never for a message
    rolled back). Beat's outbox sweep sends whatever this misses (a crash, a worker
    down): the notifications are the outbox."""
    transaction.on_commit(lambda: send_notification_emails(now=now), robust=True)


def send_notification_emails(*, now: datetime, batch_size: int = EMAIL_BATCH_SIZE) -> int:
    """Email the notifications waiting for it (the outbox sweep, in LEADLOOP_SWEEPS).

    Each batch is claimed first, pending -> sending in its own transaction with the rows
    locked (SKIP LOCKED: workers share the work, never a message), then sent; a message
    is sent at most once, even if the sending worker dies (it stays `sending`, logged
    there). A refused message is marked failed. Returns how many were sent."""
    sent = 0
    while True:
        with transaction.atomic():
            candidates = list(
                Notification.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(email_state=EmailState.PENDING, created_at__lte=now)
                .select_related("recipient")
                .order_by("created_at", "pk")[:batch_size]
            )
            # The claim itself is one conditional UPDATE per message: only one worker
            # sees it change, on SQLite (no row locks) as on PostgreSQL.
            claimed = [
                notification
                for notification in candidates
                if Notification.objects.filter(
                    pk=notification.pk, email_state=EmailState.PENDING
                ).update(email_state=EmailState.SENDING)
            ]
        if not candidates:
            return sent
        for notification in claimed:
            state = EmailState.SENT if _send_email(notification) else EmailState.FAILED
            Notification.objects.filter(pk=notification.pk).update(email_state=state)
            sent += state == EmailState.SENT
        if len(candidates) < batch_size:
            return sent


def _send_email(notification: Notification) -> bool:
    recipient = notification.recipient
    if not recipient.email:
        return False
    subject = f"[Leadloop] {notification.kind_label}"
    body = notification.message
    if notification.lead_id is not None:
        body += f"\n\n{settings.LEADLOOP_BASE_URL}/leads/{notification.lead_id}/"
    try:
        EmailMessage(subject, body, to=[recipient.email]).send()
    except Exception:  # the mail server's refusal must not stop the others
        log.exception("could not email notification %s to %s", notification.pk, recipient.email)
        return False
    return True


def set_email_notifications(person: User, *, by: User, choices: Mapping[str, bool]) -> User:
    """`person` chooses which kinds of notification also come by email ({kind: on/off};
    kinds not named keep their setting). Only for oneself. Raises FieldError naming an
    unknown kind or a value that is not true/false."""
    if by.pk != person.pk:
        raise NotPermitted("email_notifications", "you may only choose your own emails")
    clean: dict[str, bool] = {}
    for kind, value in choices.items():
        if kind not in NotificationKind.values:
            known = ", ".join(NotificationKind.values)
            raise FieldError("email_notifications", f"{kind!r} is not a kind ({known})")
        if not isinstance(value, bool):
            raise FieldError(f"email_notifications.{kind}", "must be true or false")
        clean[kind] = value
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=person.pk)
        locked.email_notifications = {**(locked.email_notifications or {}), **clean}
        locked.save(update_fields=["email_notifications"])
    person.email_notifications = locked.email_notifications
    return person


def email_choices(person: User) -> list[tuple[str, str, bool]]:
    """Each kind of notification with its label and whether `person` gets it by email."""
    return [
        (str(value), str(label), person.wants_email(value) if person.email else False)
        for value, label in NotificationKind.choices
    ]


# "New lead for you: <Lead.display_name>", in SQL that SQLite and PostgreSQL both read.
ASSIGNED_MESSAGE_SQL = (
    "SUBSTR('New lead for you: ' || COALESCE(NULLIF(TRIM(l.first_name || ' ' || l.last_name),"
    " ''), NULLIF(l.email, ''), 'Lead #' || l.id), 1, 300)"
)
ASSIGNED_BATCH_SIZE = 20_000


def notify_assigned(assignments: Iterable[tuple[int, int]], *, now: datetime) -> int:
    """Tell each rep of the leads just given to them: (lead id, rep id) pairs, one
    "assigned" message each, keyed by lead and moment (so a retry tells it once).

    Set-based, for the bulk paths (an import routes ~100,000 leads): one INSERT … SELECT
    per ASSIGNED_BATCH_SIZE pairs, the lead's name read from its row in the same
    statement; model instances (bulk_create) would cost seconds there. Returns how many
    pairs were given."""
    pairs = [(int(lead_id), int(owner_id)) for lead_id, owner_id in assignments]
    emailed = {
        owner for owner, _ in _email_choices({p[1] for p in pairs}, [NotificationKind.ASSIGNED])
    }
    states = [
        (EmailState.PENDING if owner in emailed else EmailState.NOT_WANTED).value
        for _, owner in pairs
    ]
    table = connection.ops.quote_name(Notification._meta.db_table)
    leads = connection.ops.quote_name(Lead._meta.db_table)
    head = (
        f"INSERT INTO {table}"
        " (recipient_id, kind, message, lead_id, dedupe_key, created_at, email_state)"
        f" SELECT a.owner_id, %s, {ASSIGNED_MESSAGE_SQL}, l.id, %s || l.id || %s, %s, a.email"
    )
    # WHERE true: SQLite needs it to tell the upsert's ON CONFLICT from a join's ON.
    tail = f" JOIN {leads} l ON l.id = a.lead_id WHERE true ON CONFLICT DO NOTHING"
    constants = [
        NotificationKind.ASSIGNED.value,
        "assigned:",
        f":{now.isoformat()}",
        connection.ops.adapt_datetimefield_value(now),
    ]
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        for start in range(0, len(pairs), ASSIGNED_BATCH_SIZE):
            batch = pairs[start : start + ASSIGNED_BATCH_SIZE]
            email = states[start : start + ASSIGNED_BATCH_SIZE]
            if connection.vendor == "postgresql":
                source = (
                    " FROM unnest(%s::bigint[], %s::bigint[], %s::text[])"
                    " AS a(lead_id, owner_id, email)"
                )
                values: list[Any] = [[p[0] for p in batch], [p[1] for p in batch], email]
            else:
                source = (
                    " FROM (SELECT json_extract(value, '$[0]') AS lead_id,"
                    " json_extract(value, '$[1]') AS owner_id,"
                    " json_extract(value, '$[2]') AS email FROM json_each(%s)) a"
                )
                values = [json.dumps([[*p, e] for p, e in zip(batch, email, strict=True)])]
            cursor.execute(head + source + tail, [*constants, *values])
    if emailed:
        _email_after_commit(now)
    return len(pairs)


def open_notification(user: User, notification_id: int, *, now: datetime) -> Notification | None:
    """`user` opens one of their messages: it is marked read and returned (None: no
    such message of theirs)."""
    found = user.notifications.filter(pk=notification_id).first()
    if found is not None and found.read_at is None:
        mark_notifications_read(user, [found.pk], now=now)
        found.read_at = now
    return found


def mark_notifications_read(
    user: User, ids: Collection[int] | None = None, *, now: datetime
) -> int:
    """Mark `user`'s unread messages read: those with `ids`, or all of them when None.
    Someone else's messages are never touched. Returns how many were marked."""
    with transaction.atomic():
        unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
        if ids is not None:
            unread = unread.filter(pk__in=list(ids))
        return unread.update(read_at=now)


def lead_history_ids(lead: Lead) -> dict[str, list[int]]:
    """The ids of the notifications about the lead, as identity.merging records them."""
    return history_ids(LEAD_HISTORY, lead)


def move_lead_history(
    ids: Mapping[str, Sequence[int]], *, to: Lead, only_from: Lead | None = None
) -> dict[str, int]:
    """Give the notifications named by `ids` to the lead `to` (a merge, or its undo)."""
    return move_rows(LEAD_HISTORY, ids, to=to, only_from=only_from)


# --- People's settings and their teams' calendars ---------------------------------------


def _check_timezone(field: str, value: Any) -> str:
    zone = str(value or "").strip()
    if zone not in zoneinfo.available_timezones():
        raise FieldError(field, f"{zone!r} is not a time zone (e.g. Europe/Berlin)")
    return zone


def update_user(person: User, *, by: User, **changes: Any) -> User:
    """Change `person`'s name, email, role, team, lead intake, open-lead cap or time zone, as far as `by` may
    (`users.access.user_fields`: admins everything, a manager their own reps' intake and
    zone, anyone their own zone). Raises NotPermitted naming the first field `by` may not
    change, FieldError naming a bad value; changes nothing then."""
    allowed = user_fields(by, person)
    if not allowed:
        raise NotPermitted("user", "you may not change this person's settings")
    for field in changes:
        if field not in allowed:
            raise NotPermitted(field, f"you may not change {field.replace('_', ' ')}")
    clean: dict[str, Any] = {}
    for field in ("first_name", "last_name"):
        if field in changes:
            clean[field] = str(changes[field] or "").strip()[:150]
    if "email" in changes:
        clean["email"] = _check_email(changes["email"])
    if "role" in changes:
        if changes["role"] not in Role.values:
            raise FieldError("role", f"must be one of: {', '.join(Role.values)}")
        clean["role"] = changes["role"]
    if "team" in changes:
        team = changes["team"]
        if team is not None and not isinstance(team, Team):
            raise FieldError("team", "must be a team or none")
        clean["team"] = team
    if "is_accepting_leads" in changes:
        if not isinstance(changes["is_accepting_leads"], bool):
            raise FieldError("is_accepting_leads", "must be true or false")
        clean["is_accepting_leads"] = changes["is_accepting_leads"]
    if "timezone" in changes:
        clean["timezone"] = _check_timezone("timezone", changes["timezone"])
    if "max_open_leads" in changes:
        cap = changes["max_open_leads"]
        if cap is not None and (
            not isinstance(cap, int) or isinstance(cap, bool) or not 1 <= cap <= 100_000
        ):
            raise FieldError("max_open_leads", "must be a whole number from 1, or empty for no cap")
        clean["max_open_leads"] = cap
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=person.pk)
        for field, value in clean.items():
            setattr(locked, field, value)
            setattr(person, field, value)
        if clean:
            locked.save(update_fields=[f for f in clean])
    return person


TEAM_FIELDS = frozenset(
    {
        "timezone",
        "workday_start",
        "workday_end",
        "workdays",
        "holidays",
        "countries",
        "sla_hours",
        "holiday_country",
        "holiday_region",
    }
)


def _team_values(team: Team, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The calendar `changes` would give `team`, checked, as the model stores it."""
    clean: dict[str, Any] = {}
    for field in changes:
        if field not in TEAM_FIELDS:
            raise FieldError(field, "not a setting of a team")
    if "timezone" in changes:
        clean["timezone"] = _check_timezone("timezone", changes["timezone"])
    for field in ("workday_start", "workday_end"):
        if field in changes:
            if not isinstance(changes[field], time):
                raise FieldError(field, "must be a time of day, e.g. 09:00")
            clean[field] = changes[field]
    start = clean.get("workday_start", team.workday_start)
    end = clean.get("workday_end", team.workday_end)
    if ("workday_start" in clean or "workday_end" in clean) and not start < end:
        raise FieldError("workday_end", "the working day must end after it starts")
    if "workdays" in changes:
        days = changes["workdays"]
        if (
            not isinstance(days, list | tuple)
            or not days
            or not all(isinstance(d, int) and 0 <= d <= 6 for d in days)
        ):
            raise FieldError("workdays", "name at least one day, 0 = Monday … 6 = Sunday")
        clean["workdays"] = sorted(set(days))
    if "holidays" in changes:
        holidays: list[str] = []
        for value in changes["holidays"] or []:
            try:
                day = value if isinstance(value, date) else date.fromisoformat(str(value).strip())
            except ValueError:
                raise FieldError("holidays", f"{value!r} is not a date (YYYY-MM-DD)") from None
            holidays.append(day.isoformat())
        clean["holidays"] = sorted(set(holidays))
    if "countries" in changes:
        # Routing matches leads' ISO codes: a team's countries are stored as codes too,
        # whatever was typed ("Deutschland", "UK", "de").
        codes: list[str] = []
        for typed in changes["countries"] or []:
            text = str(typed).strip()
            if not text:
                continue
            code = country_code(text)
            if code is None:
                raise FieldError(
                    "countries", f"{text!r} is not a country (a name such as Germany, or DE)"
                )
            codes.append(code)
        clean["countries"] = list(dict.fromkeys(codes))
    if "holiday_country" in changes or "holiday_region" in changes:
        country = str(changes.get("holiday_country", team.holiday_country) or "").strip().upper()
        region = str(changes.get("holiday_region", team.holiday_region) or "").strip().upper()
        supported = public_holiday_calendars.list_supported_countries()
        if country and country not in supported:
            raise FieldError("holiday_country", f"{country!r} has no public holiday calendar")
        if region and not country:
            raise FieldError("holiday_region", "name the country of the region first")
        regions = {r.upper(): r for r in supported.get(country, [])}
        if region and region not in regions:
            known = ", ".join(supported[country]) or "none"
            raise FieldError("holiday_region", f"{region!r} is not a region of {country} ({known})")
        clean["holiday_country"], clean["holiday_region"] = country, regions.get(region, "")
    if "sla_hours" in changes:
        hours = changes["sla_hours"]
        if not isinstance(hours, int) or isinstance(hours, bool) or not 1 <= hours <= 1000:
            raise FieldError("sla_hours", "must be a whole number of hours from 1 to 1000")
        clean["sla_hours"] = hours
    return clean


def update_team(team: Team, *, by: User, **changes: Any) -> Team:
    """Change `team`'s calendar (time zone, working hours and days, holidays), countries
    and SLA hours, if `by` may (an admin any team, a manager their own). New deadlines
    count in the new calendar; running clocks keep the deadline they were given."""
    if not editable_teams(by).filter(pk=team.pk).exists():
        raise NotPermitted("team", "you may not change this team")
    clean = _team_values(team, changes)
    with transaction.atomic():
        locked = Team.objects.select_for_update().get(pk=team.pk)
        for field, value in clean.items():
            setattr(locked, field, value)
            setattr(team, field, value)
        if clean:
            locked.save(update_fields=list(clean))
    return team


# --- Leave -----------------------------------------------------------------------------


def may_set_leave(by: User, person: User) -> bool:
    """A person sets their own leave; whoever may set them up (their manager, an admin)
    sets theirs."""
    if not by.is_authenticated or not by.is_active:
        return False
    return by.pk == person.pk or editable_users(by).filter(pk=person.pk).exists()


def add_leave(
    person: User, *, by: User, starts_on: Any, ends_on: Any, note: str = "", now: datetime
) -> Leave:
    """Record that `person` is away from `starts_on` to `ends_on` (both days included).
    Raises NotPermitted when `by` may not, FieldError naming a bad date. Routing reads it
    (routing.availability.add_leave also hands their open leads on when it has begun)."""
    if not may_set_leave(by, person):
        raise NotPermitted("user", "you may not set this person's leave")
    days: dict[str, date] = {}
    for field, value in (("starts_on", starts_on), ("ends_on", ends_on)):
        try:
            days[field] = (
                value if isinstance(value, date) else date.fromisoformat(str(value).strip())
            )
        except ValueError:
            raise FieldError(field, f"{value!r} is not a date (YYYY-MM-DD)") from None
    if days["ends_on"] < days["starts_on"]:
        raise FieldError("ends_on", "the leave must end on or after the day it starts")
    return Leave.objects.create(
        user=person,
        starts_on=days["starts_on"],
        ends_on=days["ends_on"],
        note=str(note or "").strip()[:200],
        created_by=by,
        created_at=now,
    )


def cancel_leave(leave: Leave, *, by: User) -> None:
    """Remove a leave `by` may set (see may_set_leave)."""
    if not may_set_leave(by, leave.user):
        raise NotPermitted("leave", "you may not change this person's leave")
    leave.delete()


# --- New people and teams, and people who leave ------------------------------------------


@dataclass(frozen=True)
class NewUser:
    """A person just added, and the path of the page where they choose their password
    (`set_password_path`): the admin hands it over; nobody else ever knows the password."""

    user: User
    set_password_path: str


def set_password_path(person: User) -> str:
    """The path of `person`'s set-password page: Django's password-reset token, valid for
    PASSWORD_RESET_TIMEOUT and spent once the password is set (the token hashes it)."""
    uid = urlsafe_base64_encode(force_bytes(person.pk))
    token = default_token_generator.make_token(person)
    return reverse("web:set_password", kwargs={"uidb64": uid, "token": token})


def _check_username(value: Any) -> str:
    username = str(value or "").strip()
    if not username:
        raise FieldError("username", "required")
    if len(username) > 150:
        raise FieldError("username", "at most 150 characters")
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError:
        raise FieldError("username", "letters, digits and @ . + - _ only") from None
    # Django compares user names exactly; "Rep1" beside "rep1" would be a login trap.
    if User.objects.filter(username__iexact=username).exists():
        raise FieldError("username", f"{username!r} is taken")
    return username


def _check_email(value: Any) -> str:
    email = str(value or "").strip()
    if not email:
        return ""
    try:
        return validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise FieldError("email", f"{email!r} is not an email address: {error}") from None


def create_user(
    *,
    by: User,
    username: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    role: str = Role.SALES_REP,
    team: Team | None = None,
    is_accepting_leads: bool = True,
    timezone: str | None = None,
) -> NewUser:
    """Add a person with no password yet, and the set-password link to hand them.

    An admin adds anyone to any team; a manager adds sales reps to their own team only
    (the team defaults to theirs). The time zone defaults to the team's calendar zone.
    Raises NotPermitted, or FieldError naming the field (a taken user name, a bad email
    or time zone, an unknown role)."""
    if not may(by, Capability.CREATE_USERS):
        raise NotPermitted("user", "you may not add people")
    is_admin = role_of(by) == Role.ADMIN
    if not is_admin:
        if by.team_id is None:
            raise NotPermitted("team", "you have no team to add people to")
        team = team if team is not None else by.team
    if role not in Role.values:
        raise FieldError("role", f"must be one of: {', '.join(Role.values)}")
    if team is not None and not isinstance(team, Team):
        raise FieldError("team", "must be a team or none")
    if not is_admin:
        if role != Role.SALES_REP:
            raise NotPermitted("role", "a manager adds sales reps only")
        if team is None or team.pk != by.team_id:
            raise NotPermitted("team", "a manager adds people to their own team only")
    if not isinstance(is_accepting_leads, bool):
        raise FieldError("is_accepting_leads", "must be true or false")
    clean = {
        "username": _check_username(username),
        "first_name": str(first_name or "").strip()[:150],
        "last_name": str(last_name or "").strip()[:150],
        "email": _check_email(email),
        "role": role,
        "team": team,
        "is_accepting_leads": is_accepting_leads,
        "timezone": _check_timezone(
            "timezone", timezone if timezone else (team.timezone if team else "UTC")
        ),
    }
    try:
        with transaction.atomic():
            person = User(**clean)
            person.set_unusable_password()
            person.save()
    except IntegrityError:
        # Another request took the name between the check and the insert.
        raise FieldError("username", f"{clean['username']!r} is taken") from None
    return NewUser(person, set_password_path(person))


def password_link(person: User, *, by: User) -> str:
    """A new set-password link for `person`: an admin's for anyone (a forgotten password
    too); a manager's only for a rep of their team who has not set a password yet (lost
    the first link), so a manager cannot take over an account in use. Not for oneself."""
    if not may(by, Capability.CREATE_USERS) or not editable_users(by).filter(pk=person.pk).exists():
        raise NotPermitted("user", "you may not make a password link for this person")
    if person.pk == by.pk:
        raise NotPermitted("user", "not for yourself")
    if role_of(by) != Role.ADMIN and person.has_usable_password():
        raise NotPermitted("user", "they have set a password already: ask an admin for a new link")
    if not person.is_active:
        raise FieldError("user", "this person is deactivated: reactivate them first")
    return set_password_path(person)


def set_user_active(person: User, *, by: User, is_active: bool) -> int:
    """Deactivate `person` (someone who left: they can no longer log in, their API tokens
    stop working, routing skips them; nothing of theirs is deleted) or reactivate them.
    An admin anyone but themselves, a manager their own team's reps. Returns how many open
    leads they still own, to be reassigned from the team page."""
    if (
        not may(by, Capability.DEACTIVATE_USERS)
        or not editable_users(by).filter(pk=person.pk).exists()
    ):
        raise NotPermitted("is_active", "you may not deactivate this person")
    if person.pk == by.pk:
        raise NotPermitted("is_active", "you may not deactivate yourself")
    if not isinstance(is_active, bool):
        raise FieldError("is_active", "must be true or false")
    with transaction.atomic():
        User.objects.filter(pk=person.pk).update(is_active=is_active)
        person.is_active = is_active
    return Lead.objects.filter(owner=person, stage__in=SALES_STAGES).count()


def create_team(*, by: User, name: str, **calendar: Any) -> Team:
    """Add a team (admins only) with its calendar, countries and SLA hours, checked as
    `update_team` checks them; what is not given takes the model's defaults."""
    if not may(by, Capability.CREATE_TEAMS):
        raise NotPermitted("team", "you may not create teams")
    team_name = str(name or "").strip()
    if not team_name:
        raise FieldError("name", "required")
    if len(team_name) > 100:
        raise FieldError("name", "at most 100 characters")
    if Team.objects.filter(name__iexact=team_name).exists():
        raise FieldError("name", f"a team called {team_name!r} exists")
    team = Team(name=team_name)
    for field, value in _team_values(team, calendar).items():
        setattr(team, field, value)
    if "sla_hours" not in calendar:
        team.sla_hours = settings.LEADLOOP_DEFAULT_SLA_HOURS
    try:
        with transaction.atomic():
            team.save()
    except IntegrityError:
        raise FieldError("name", f"a team called {team_name!r} exists") from None
    return team
