"""Intake: every way a lead or an engagement event enters Leadloop ends here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum

from leads.choices import Channel, Stage
from leads.models import Account, Campaign, Lead
from leads.services import add_to_campaign, record_arrival
from qualify.rules import event_points
from qualify.services import apply_segment, score_lead
from routing.services import assign_lead
from users.models import User

from .models import Event, Submission
from .rules import FieldError, clean_lead_fields, company_domain

PROFILE_FIELDS = (
    "first_name", "last_name", "phone", "title", "company_name", "country", "industry",
    "employees", "need", "authority", "budget", "timeline",
)  # fmt: skip


@dataclass
class CaptureResult:
    lead: Lead
    created: bool


def find_or_create_account(domain: str | None, company_name: str) -> Account | None:
    if not domain:
        return None
    account, _ = Account.objects.get_or_create(
        domain=domain, defaults={"name": company_name or domain}
    )
    return account


def capture_lead(
    data: dict[str, Any],
    *,
    source: str,
    now: datetime,
    campaign: Campaign | None = None,
    member_status: str | None = None,
    by: User | None = None,
    arrived_at: datetime | None = None,
    payload: dict[str, Any] | None = None,
) -> CaptureResult:
    """Create the lead, or update the one with the same email, then score and route it.

    The submission is recorded as received. A sales-ready lead leaves this function
    already assigned with its SLA deadline set. Raises FieldError on bad input.
    """
    fields = clean_lead_fields(data)
    email = fields.get("email")
    if not email and not (fields.get("phone") or fields.get("last_name")):
        raise FieldError("email", "an email, or a name or phone, is required")
    try:
        return _capture(
            fields, source, now, campaign, member_status, by, arrived_at, payload or data
        )
    except IntegrityError:
        # Another request created the same email between our look-up and insert: the
        # unique index decided; now it is an update.
        return _capture(
            fields, source, now, campaign, member_status, by, arrived_at, payload or data
        )


def _capture(
    fields: dict[str, Any],
    source: str,
    now: datetime,
    campaign: Campaign | None,
    member_status: str | None,
    by: User | None,
    arrived_at: datetime | None,
    payload: dict[str, Any],
) -> CaptureResult:
    email = fields.get("email")
    with transaction.atomic():
        lead = Lead.objects.select_for_update().filter(email=email).first() if email else None
        created = lead is None
        domain = company_domain(email, fields.get("website", ""))
        if lead is None:
            lead = Lead(
                email=email,
                stage=Stage.NEW,
                stage_changed_at=arrived_at or now,
                arrived_at=arrived_at or now,
                source=source if source in Channel.values else Channel.OTHER,
                first_campaign=campaign,
            )
        for name in PROFILE_FIELDS:
            if name in fields:
                setattr(lead, name, fields[name])
        if "custom_fields" in fields:
            lead.custom_fields = {**lead.custom_fields, **fields["custom_fields"]}
        if lead.account_id is None:
            lead.account = find_or_create_account(domain, lead.company_name)
        if created:
            with transaction.atomic():
                lead.save()
            record_arrival(lead, now=arrived_at or now, by=by, reason=f"captured via {source}")
        else:
            lead.save()
        Submission.objects.create(
            lead=lead,
            source=source,
            campaign=campaign,
            payload=_jsonable(payload),
            was_created=created,
            received_at=now,
            submitted_by=by,
        )
        if campaign is not None:
            add_to_campaign(lead, campaign, status=member_status or "registered", now=now)
        score_lead(lead)
        if apply_segment(lead, now=now, by=by):
            assign_lead(lead, now=now)
    return CaptureResult(lead=lead, created=created)


def _jsonable(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        str(k): (v if isinstance(v, (str, int, float, bool, type(None), list, dict)) else str(v))
        for k, v in payload.items()
    }


@dataclass
class EventInput:
    kind: str
    occurred_at: datetime
    email: str | None = None
    lead_id: int | None = None
    campaign_id: int | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None


@dataclass
class EventOutcome:
    index: int
    status: str  # "created", "duplicate" or "rejected"
    lead_id: int | None = None
    error: str = ""


def record_events(
    items: Iterable[EventInput], *, now: datetime, by: User | None = None
) -> list[EventOutcome]:
    """Store a batch of engagement events and rescore the leads they touch.

    Idempotency keys make a retried batch harmless: a key seen before is reported as a
    duplicate and adds no points. A lead's engagement score is recomputed from its stored
    events, so concurrent batches cannot double-count.
    """
    outcomes: list[EventOutcome] = []
    batch = list(items)
    keys = [item.idempotency_key for item in batch if item.idempotency_key]
    seen = set(
        Event.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True)
    )
    emails = {item.email.strip().lower() for item in batch if item.email}
    leads_by_email = {lead.email: lead for lead in Lead.objects.filter(email__in=emails)}
    lead_ids = {item.lead_id for item in batch if item.lead_id}
    leads_by_id = Lead.objects.in_bulk(lead_ids)
    # An unknown campaign id would only fail at commit (a deferred foreign key), taking
    # the whole batch down; refuse that event alone instead.
    campaign_ids = {item.campaign_id for item in batch if item.campaign_id is not None}
    known_campaigns = set(Campaign.objects.filter(pk__in=campaign_ids).values_list("pk", flat=True))
    to_insert: list[Event] = []
    batch_keys: set[str] = set()
    for index, item in enumerate(batch):
        key = item.idempotency_key
        if key and (key in seen or key in batch_keys):
            outcomes.append(EventOutcome(index, "duplicate"))
            continue
        if item.campaign_id is not None and item.campaign_id not in known_campaigns:
            outcomes.append(
                EventOutcome(
                    index, "rejected", error=f"campaign_id: no campaign {item.campaign_id}"
                )
            )
            continue
        lead = leads_by_id.get(item.lead_id) if item.lead_id else None
        if item.lead_id and lead is None:
            outcomes.append(
                EventOutcome(index, "rejected", error=f"lead_id: no lead {item.lead_id}")
            )
            continue
        if lead is None and item.email:
            email = item.email.strip().lower()
            lead = leads_by_email.get(email)
            if lead is None:
                if settings.LEADLOOP_UNKNOWN_EVENT_EMAIL != "create":
                    outcomes.append(
                        EventOutcome(index, "rejected", error=f"email: no lead {email}")
                    )
                    continue
                try:
                    lead = capture_lead({"email": email}, source=Channel.API, now=now, by=by).lead
                except FieldError as exc:
                    outcomes.append(EventOutcome(index, "rejected", error=str(exc)))
                    continue
                leads_by_email[email] = lead
        if lead is None:
            outcomes.append(
                EventOutcome(index, "rejected", error="email: lead_id or email is required")
            )
            continue
        if key:
            batch_keys.add(key)
        to_insert.append(
            Event(
                lead=lead,
                kind=item.kind,
                occurred_at=item.occurred_at,
                received_at=now,
                points=event_points(item.kind),
                campaign_id=item.campaign_id,
                properties=item.properties,
                idempotency_key=key,
            )
        )
        outcomes.append(EventOutcome(index, "created", lead_id=lead.pk))
    with transaction.atomic():
        Event.objects.bulk_create(to_insert, ignore_conflicts=True, batch_size=500)
    touched = {event.lead_id for event in to_insert}
    rescore_engagement(touched, now=now, by=by)
    return outcomes


def rescore_engagement(lead_ids: Iterable[int], *, now: datetime, by: User | None = None) -> None:
    """Recompute engagement from stored events; a lead that becomes sales-ready is routed."""
    ids = list(lead_ids)
    if not ids:
        return
    totals = dict(
        Event.objects.filter(lead_id__in=ids)
        .values("lead_id")
        .annotate(total=Sum("points"))
        .values_list("lead_id", "total")
    )
    for lead in Lead.objects.filter(pk__in=ids).select_related("account"):
        with transaction.atomic():
            lead.engagement_score = int(totals.get(lead.pk) or 0)
            Lead.objects.filter(pk=lead.pk).update(engagement_score=lead.engagement_score)
            score_lead(lead)
            if apply_segment(lead, now=now, by=by):
                assign_lead(lead, now=now)


def record_form_event(lead: Lead, *, form_slug: str, now: datetime) -> None:
    """A form submission is engagement: store it and let its points count at once."""
    Event.objects.create(
        lead=lead,
        kind="form_submit",
        occurred_at=now,
        received_at=now,
        points=event_points("form_submit"),
        properties={"form": form_slug},
    )
    rescore_engagement([lead.pk], now=now)
