"""Intake: every way a lead or an engagement event enters Leadloop ends here."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import polars as pl
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, connection, models, transaction
from django.utils.text import slugify

from identity.dedup import check_new_leads, find_duplicate_candidates, leads_for_freed_emails
from identity.rules import company_domain
from leads.choices import Channel, MemberStatus, Segment, Stage
from leads.errors import FieldError
from leads.history import history_ids, move_rows
from leads.lifecycle import arrival_reason
from leads.models import Campaign, Lead
from leads.services import (
    accounts_for_domains,
    add_new_members,
    add_to_campaign,
    create_lead,
    create_leads,
    find_or_create_account,
    follow_merges,
    save_lead,
)
from leads.sql import load
from nurture import consent as nurture_consent
from nurture.choices import ConsentSource
from qualify.models import Event
from qualify.services import (
    apply_segment,
    event_points,
    move_to_segments,
    score_lead,
    score_leads,
    store_events,
)
from routing.services import assign_lead
from users.access import may_work_lead
from users.models import User

from .choices import Submitter, UnknownEmail
from .models import Submission, WebForm, WebhookSource
from .rules import (
    IN_CHARGE,
    PROFILE_FIELDS,
    Rights,
    clean_form_definition,
    clean_lead_fields,
    merge_fields,
    rights_of,
)
from .webhooks import (
    MappedItem,
    MappingConfigError,
    find_items,
    map_payload,
    new_webhook_token,
    parse_mapping,
)
from .webhooks import (
    Mapping as HookMapping,
)

# Event.idempotency_key's length.
IDEMPOTENCY_KEY_MAX = 200


@dataclass
class CaptureResult:
    lead: Lead
    created: bool
    # Taken as from someone in charge of the lead (capture.rules.IN_CHARGE): its fields
    # overwrite, the lead moves as its score says. False: a stranger's, fill-in only.
    in_charge: bool = True


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
    submitter: str = Submitter.INTERNAL,
) -> CaptureResult:
    """Create the lead, or update the one with the same email, then score and route it.

    The submission is recorded as received. A sales-ready lead leaves this function
    already assigned with its SLA deadline set. Raises FieldError on bad input.

    What a submission may change on a lead already known depends on who sends it
    (`submitter`, see `capture.rules.rights_of`): Leadloop itself, or a user (`by`) who
    may see the lead, updates it; anyone else only fills in its empty fields, never
    disqualifies it or moves it back, and a user who may not see it does not move it at
    all. Every door from outside says who is submitting.
    """
    fields = clean_lead_fields(data, now=now)
    email = fields.get("email")
    if not email and not (fields.get("phone") or fields.get("last_name")):
        raise FieldError("email", "an email, or a name or phone, is required")
    try:
        return _capture(
            fields, source, now, campaign, member_status, by, arrived_at, payload or data,
            submitter,
        )  # fmt: skip
    except IntegrityError:
        # Another request created the same email between our look-up and insert: the
        # unique index decided; now it is an update.
        return _capture(
            fields, source, now, campaign, member_status, by, arrived_at, payload or data,
            submitter,
        )  # fmt: skip


def _capture(
    fields: dict[str, Any],
    source: str,
    now: datetime,
    campaign: Campaign | None,
    member_status: str | None,
    by: User | None,
    arrived_at: datetime | None,
    payload: dict[str, Any],
    submitter: str,
) -> CaptureResult:
    email = fields.get("email")
    with transaction.atomic():
        lead = Lead.objects.select_for_update().filter(email=email).first() if email else None
        if lead is None and email:
            lead = _survivor_of_freed_email(email)
        created = lead is None
        # Decided on the locked row: a lead handed to someone meanwhile is judged as it is.
        sees_lead = (
            submitter == Submitter.USER
            and lead is not None
            and by is not None
            and may_work_lead(by, lead)
        )
        rights = rights_of(submitter, is_new=created, sees_lead=sees_lead)
        match_before = _match_fields(lead) if lead is not None else None
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
        _take_fields(lead, fields, rights)
        if lead.account_id is None:
            lead.account = find_or_create_account(domain, lead.company_name)
        if created:
            create_lead(lead, now=arrived_at or now, by=by, reason=arrival_reason(source))
        else:
            save_lead(lead)
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
        if rights.move:
            score_lead(lead, now=now)
            # A stranger never takes a lead out of the funnel (see capture.rules).
            if (rights.disqualify or lead.segment != Segment.DISQUALIFIED) and apply_segment(
                lead, now=now, by=by
            ):
                assign_lead(lead, now=now)
        if created or _match_fields(lead) != match_before:
            # A new lead (or new phone, name or company) may be a person we already know.
            find_duplicate_candidates(lead, now=now, is_new=created)
    return CaptureResult(lead=lead, created=created, in_charge=rights == IN_CHARGE)


@dataclass(frozen=True)
class NewPerson:
    """Someone to capture_people: the fields capture_lead takes (with an email), the
    campaign status and the payload to keep as the submission."""

    data: dict[str, Any]
    member_status: str | None = None
    payload: dict[str, Any] | None = None


def capture_people(
    people: Sequence[NewPerson],
    *,
    source: str,
    now: datetime,
    campaign: Campaign | None = None,
    by: User | None = None,
    submitter: str = Submitter.INTERNAL,
) -> list[Lead | FieldError]:
    """Leads for people no lead holds yet, made together: for each, what capture_lead
    does (account by domain, arrival, submission, campaign membership, score, stage of
    its segment, routing, duplicate keys), with a few queries for all of them instead of
    some twenty per lead. A batch of events or a webhook delivery naming a thousand new
    people (a webinar's attendees) would otherwise make them one at a time.

    Returns, in order, each person's lead or the FieldError that refused them. The
    first person with an address is made here; a later one with the same address, an
    address a merge freed (it reaches a survivor), a person without an email, and
    everyone when another request creates one of the addresses meanwhile, go through
    capture_lead, which updates as `submitter` may.
    """
    results: list[Lead | FieldError | None] = [None] * len(people)
    cleaned: dict[int, dict[str, Any]] = {}
    for index, person in enumerate(people):
        try:
            cleaned[index] = clean_lead_fields(person.data, now=now)
        except FieldError as exc:
            results[index] = exc
    if not cleaned:
        return [r for r in results if r is not None]
    freed = leads_for_freed_emails(f["email"] for f in cleaned.values() if f.get("email"))
    together: dict[str, int] = {}  # address → the index of its first person
    for index, fields in cleaned.items():
        address = fields.get("email")
        if address and address not in freed:
            together.setdefault(address, index)
    try:
        with transaction.atomic():
            made = _create_leads(
                {index: cleaned[index] for index in together.values()},
                people,
                source=source,
                now=now,
                campaign=campaign,
                by=by,
            )
        for index, lead in made.items():
            results[index] = lead
    except IntegrityError:
        # Someone else created one of the addresses since we looked: capture_lead
        # settles each one, turning such an address into an update.
        pass
    for index in cleaned:
        if results[index] is not None:
            continue
        person = people[index]
        try:
            results[index] = capture_lead(
                person.data, source=source, now=now, campaign=campaign,
                member_status=person.member_status, by=by, payload=person.payload,
                submitter=submitter,
            ).lead  # fmt: skip
        except FieldError as exc:
            results[index] = exc
    return [r for r in results if r is not None]


def capture_emails(
    emails: Iterable[str], *, source: str, now: datetime, by: User | None = None
) -> dict[str, Lead | FieldError]:
    """capture_people for addresses alone (the events API's unknown emails): each
    address's lead, or the FieldError that refused it."""
    wanted = list(dict.fromkeys(emails))
    made = capture_people(
        [NewPerson({"email": email}) for email in wanted], source=source, now=now, by=by
    )
    return dict(zip(wanted, made, strict=True))


def _create_leads(
    fields_of: dict[int, dict[str, Any]],
    people: Sequence[NewPerson],
    *,
    source: str,
    now: datetime,
    campaign: Campaign | None,
    by: User | None,
) -> dict[int, Lead]:
    """capture_people's set-based part: a lead for each person (by index) in `fields_of`,
    their cleaned fields, each with an address no lead holds."""
    if not fields_of:
        return {}
    domains = {i: company_domain(f["email"], f.get("website", "")) for i, f in fields_of.items()}
    # As find_or_create_account: a new account is named after the first person's company.
    names: dict[str, str] = {}
    for index, domain in domains.items():
        if domain:
            names.setdefault(domain, fields_of[index].get("company_name") or domain)
    accounts = accounts_for_domains(names)
    leads: dict[int, Lead] = {}
    for index, fields in fields_of.items():
        lead = Lead(
            email=fields["email"],
            stage=Stage.NEW,
            stage_changed_at=now,
            arrived_at=now,
            source=source if source in Channel.values else Channel.OTHER,
            first_campaign=campaign,
            account=accounts.get(domains[index] or ""),
        )
        _take_fields(lead, fields, IN_CHARGE)
        leads[index] = lead
    created = create_leads(list(leads.values()), now=now, by=by, reason=arrival_reason(source))
    Submission.objects.bulk_create(
        Submission(
            lead=lead, source=source, campaign=campaign,
            payload=_jsonable(people[index].payload or people[index].data),
            was_created=True, received_at=now, submitted_by=by,
        )
        for index, lead in leads.items()
    )  # fmt: skip
    if campaign is not None:
        add_new_members(
            campaign,
            {lead: people[index].member_status or MemberStatus.REGISTERED
             for index, lead in leads.items()},
            now=now,
        )  # fmt: skip
    score_leads(created, {}, now=now)
    move_to_segments(created, now=now, by=by)
    check_new_leads(created, now=now)
    return leads


def _take_fields(lead: Lead, fields: dict[str, Any], rights: Rights) -> None:
    """The cleaned profile fields a capture brings, onto the lead, as far as `rights` let
    them (capture.rules.merge_fields); custom fields merge."""
    current = {name: getattr(lead, name) for name in (*PROFILE_FIELDS, "custom_fields")}
    for name, value in merge_fields(current, fields, rights).items():
        setattr(lead, name, value)


def _match_fields(lead: Lead) -> tuple[Any, ...]:
    """What duplicate matching reads of a lead."""
    return (
        lead.phone, lead.country, lead.first_name, lead.last_name, lead.company_name,
        lead.account_id,
    )  # fmt: skip


def _survivor_of_freed_email(email: str) -> Lead | None:
    """The lead that an address taken from a merged duplicate now reaches (locked), so that
    the person writing in again with it is not a new lead."""
    lead_id = leads_for_freed_emails([email]).get(email)
    return None if lead_id is None else Lead.objects.select_for_update().get(pk=lead_id)


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
    events, so concurrent batches cannot double-count. The leads of the duplicates are
    rescored too: when an earlier attempt stored its events and died before rescoring,
    the sender's retry finishes that work (a lead whose score is right costs no write).
    """
    outcomes: list[EventOutcome] = []
    batch = list(items)
    keys = [item.idempotency_key for item in batch if item.idempotency_key]
    stored = dict(
        Event.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", "lead_id")
    )
    seen = set(stored)
    emails = {item.email.strip().lower() for item in batch if item.email}
    leads_by_email = {lead.email: lead for lead in Lead.objects.filter(email__in=emails)}
    lead_ids = {item.lead_id for item in batch if item.lead_id}
    # An event for a merged lead belongs to the lead it was merged into.
    leads_by_id = follow_merges(Lead.objects.in_bulk(lead_ids))
    # An unknown campaign id would only fail at commit (a deferred foreign key), taking
    # the whole batch down; refuse that event alone instead.
    campaign_ids = {item.campaign_id for item in batch if item.campaign_id is not None}
    known_campaigns = set(Campaign.objects.filter(pk__in=campaign_ids).values_list("pk", flat=True))
    captured: dict[str, Lead | FieldError] = {}
    if settings.LEADLOOP_UNKNOWN_EVENT_EMAIL == "create":
        # The people the batch names by an address no lead has are made together.
        unknown = [
            email
            for item in batch
            if item.email
            and not item.lead_id
            and not (item.idempotency_key and item.idempotency_key in seen)
            and (item.campaign_id is None or item.campaign_id in known_campaigns)
            and (email := item.email.strip().lower()) not in leads_by_email
        ]
        captured = capture_emails(unknown, source=Channel.API, now=now, by=by)
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
                made = captured[email]
                if isinstance(made, FieldError):
                    outcomes.append(EventOutcome(index, "rejected", error=str(made)))
                    continue
                lead = leads_by_email[email] = made
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
                points=event_points(item.kind, item.properties),
                campaign_id=item.campaign_id,
                properties=item.properties,
                idempotency_key=key,
            )
        )
        outcomes.append(EventOutcome(index, "created", lead_id=lead.pk))
    # The leads of the duplicates are rescored too (see the docstring).
    store_events(to_insert, also_rescore=set(stored.values()), now=now, by=by)
    return outcomes


def record_form_event(lead: Lead, *, form_slug: str, now: datetime) -> None:
    """A form submission is engagement: store it and let its points count at once.

    It counts once per lead, form and day (UTC): the event's idempotency key says which,
    so posting the form again, or twice at the same moment (the unique key decides), adds
    no points. Otherwise anyone knowing an address could post a lead back to sales.
    """
    day = now.astimezone(UTC).date().isoformat()
    store_events(
        [
            Event(
                lead=lead,
                kind="form_submit",
                occurred_at=now,
                received_at=now,
                points=event_points("form_submit"),
                properties={"form": form_slug},
                idempotency_key=f"form:{form_slug}:{lead.pk}:{day}",
            )
        ],
        now=now,
    )


# --- Web forms marketing builds ----------------------------------------------------------

THANK_YOU_URL = URLValidator(schemes=["http", "https"])


def save_web_form(
    webform: WebForm | None,
    *,
    name: str,
    slug: str,
    campaign: Campaign | None,
    fields: list[str],
    required_fields: list[str],
    consent_text: str = "",
    consent_purpose: str = "",
    thank_you_message: str = "",
    thank_you_url: str = "",
    is_active: bool = True,
) -> WebForm:
    """Create a lead form (`webform` None) or change one, as marketing defines it.

    The slug is made from the name when left empty and must be unused; email is always
    asked and required; a consent checkbox must say its purpose. Raises FieldError naming
    the field that is wrong.
    """
    definition = clean_form_definition(fields, required_fields, consent_text, consent_purpose)
    name = name.strip()
    if not name:
        raise FieldError("name", "a form needs a name")
    longest = WebForm._meta.get_field("slug").max_length or 50
    clean_slug = slugify(slug.strip() or name)[:longest]
    if not clean_slug:
        raise FieldError("slug", "use letters, digits or hyphens")
    if not slug.strip():
        # Made from the name: the first free one of name, name-2, name-3 …
        others = WebForm.objects.all()
        if webform is not None:
            others = others.exclude(pk=webform.pk)
        base, number = clean_slug, 2
        while others.filter(slug=clean_slug).exists():
            clean_slug = f"{base[: longest - 4]}-{number}"
            number += 1
    thank_you_url = thank_you_url.strip()
    if thank_you_url:
        try:
            THANK_YOU_URL(thank_you_url)
        except ValidationError as exc:
            raise FieldError("thank_you_url", "must be a web address (http or https)") from exc
    target = webform if webform is not None else WebForm()
    target.name, target.slug, target.campaign = name, clean_slug, campaign
    target.fields, target.required_fields = definition.fields, definition.required_fields
    target.consent_text, target.consent_purpose = (
        definition.consent_text,
        definition.consent_purpose,
    )
    target.thank_you_message = (
        thank_you_message.strip() or WebForm._meta.get_field("thank_you_message").get_default()
    )
    target.thank_you_url, target.is_active = thank_you_url, is_active
    try:
        with transaction.atomic():
            target.save()
    except IntegrityError as exc:  # the unique slug decided between two concurrent saves
        raise FieldError("slug", f"{clean_slug!r} is used by another form") from exc
    return target


# --- Webhooks from webinar and form tools ------------------------------------------------


def hook_event_key(source_id: int, key: str) -> str:
    """A source's idempotency key, namespaced so two tools (or the API) never collide."""
    full = f"hook:{source_id}:{key}"
    if len(full) <= IDEMPOTENCY_KEY_MAX:
        return full
    return f"hook:{source_id}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def receive_webhook(source: WebhookSource, payload: Any, *, now: datetime) -> list[EventOutcome]:
    """Record the events one webhook delivery carries: one outcome per item, in order.

    Each item is mapped by the source's mapping; an item that does not map is rejected
    naming its field. A known email gets the event (and, if the source has a campaign, a
    membership); an unknown one makes a lead from the item's profile fields or is
    rejected, as the source says. A replayed delivery finds its keys already stored:
    every item is a duplicate and nothing is captured again.

    Raises MappingConfigError (the source's mapping is invalid) or PayloadError (no items
    where the mapping says, or too many) before writing anything.
    """
    mapping = parse_mapping(source.mapping)
    purpose = None
    if mapping.consent is not None:
        try:
            purpose = nurture_consent.get_purpose(mapping.consent.purpose)
        except FieldError as exc:
            raise MappingConfigError([("mapping.consent.purpose", exc.message)]) from exc
    mapped, errors = map_payload(payload, mapping, now=now)
    received = find_items(payload, mapping)
    outcomes = {
        e.index: EventOutcome(e.index, "rejected", error=f"{e.field}: {e.message}") for e in errors
    }
    keys = {item.index: hook_event_key(source.pk, item.idempotency_key) for item in mapped}
    seen = set(
        Event.objects.filter(idempotency_key__in=keys.values()).values_list(
            "idempotency_key", flat=True
        )
    )
    leads = {lead.email: lead for lead in Lead.objects.filter(email__in={i.email for i in mapped})}
    # The people the delivery names for the first time are made together.
    new: dict[str, MappedItem] = {}
    if source.unknown_email == UnknownEmail.CREATE:
        for item in mapped:
            if keys[item.index] not in seen and item.email not in leads:
                new.setdefault(item.email, item)
    made = dict(
        zip(
            [item.index for item in new.values()],
            capture_people(
                [
                    NewPerson(
                        {**item.lead, "email": item.email},
                        member_status=item.member_status,
                        payload={"webhook": source.slug, "item": received[item.index]},
                    )
                    for item in new.values()
                ],
                source=source.channel,
                now=now,
                campaign=source.campaign,
                submitter=Submitter.TOOL,
            ),
            strict=True,
        )
    )
    inputs: list[EventInput] = []
    positions: list[int] = []
    consents: list[nurture_consent.ConsentInput] = []
    for item in mapped:
        key = keys[item.index]
        lead_id: int | None = None
        if key not in seen:
            try:
                lead = made.get(item.index)
                if isinstance(lead, FieldError):
                    raise lead
                if lead is None:
                    lead = _hook_lead(
                        source, mapping, item, leads.get(item.email), received[item.index], now=now
                    )
            except FieldError as exc:
                outcomes[item.index] = EventOutcome(item.index, "rejected", error=str(exc))
                continue
            if lead is None:
                error = f"email: no lead {item.email}"
                outcomes[item.index] = EventOutcome(item.index, "rejected", error=error)
                continue
            leads[item.email] = lead
            lead_id = lead.pk
            if purpose is not None and item.consent_granted:
                # A "no" records nothing: a tool may grant consent, never withdraw it.
                consents.append(
                    nurture_consent.ConsentInput(
                        lead,
                        purpose,
                        True,
                        ConsentSource.WEBHOOK,
                        reference=f"webhook {source.slug}",
                        text=item.consent_text,
                    )
                )
            # Later items with this key are duplicates of this one (record_events says so).
            seen.add(key)
        inputs.append(
            EventInput(
                kind=item.kind,
                occurred_at=item.occurred_at,
                email=item.email,
                lead_id=lead_id,
                campaign_id=source.campaign_id,
                properties={"webhook": source.slug, **item.properties},
                idempotency_key=key,
            )
        )
        positions.append(item.index)
    nurture_consent.record_many(consents, now=now)
    for outcome in record_events(inputs, now=now):
        index = positions[outcome.index]
        outcomes[index] = replace(outcome, index=index)
    return [outcomes[index] for index in sorted(outcomes)]


def _hook_lead(
    source: WebhookSource,
    mapping: HookMapping,
    item: MappedItem,
    lead: Lead | None,
    raw: Any,
    *,
    now: datetime,
) -> Lead | None:
    """The lead an item's event belongs to, captured or updated as the source says.

    A tool is a stranger to the leads it names (capture.rules.STRANGER): its items fill
    in what a known lead lacks and may move it on, never overwrite, downgrade or
    disqualify it."""
    campaign = source.campaign
    if lead is None and source.unknown_email != UnknownEmail.CREATE:
        return None
    if lead is None or (mapping.update_known_leads and item.lead):
        return capture_lead(
            {**item.lead, "email": item.email},
            source=source.channel,
            now=now,
            campaign=campaign,
            member_status=item.member_status,
            payload={"webhook": source.slug, "item": raw},
            submitter=Submitter.TOOL,
        ).lead
    if campaign is not None:
        add_to_campaign(lead, campaign, status=item.member_status, now=now)
    return lead


def rotate_webhook_token(source: WebhookSource) -> str:
    """Give the source a new secret; the old one stops working at once."""
    source.token = new_webhook_token()
    source.save(update_fields=["token"])
    return source.token


def insert_submissions(frame: pl.DataFrame, constants: dict[str, Any]) -> None:
    """Submissions in bulk (an import chunk's rows): a row of `frame` each, its columns
    named as the table's, `constants` the columns with one value for all."""
    with connection.cursor() as cursor:
        load(cursor, Submission._meta.db_table, frame, constants)


# Submissions: a lead's history, which follows the person when leads are merged.
LEAD_HISTORY: dict[str, type[models.Model]] = {"submissions": Submission}


def lead_history_ids(lead: Lead) -> dict[str, list[int]]:
    """The ids of the lead's submissions, as identity.merging records them."""
    return history_ids(LEAD_HISTORY, lead)


def move_lead_history(
    ids: Mapping[str, Sequence[int]], *, to: Lead, only_from: Lead | None = None
) -> dict[str, int]:
    """Give the submissions named by `ids` to the lead `to` (a merge, or its undo)."""
    return move_rows(LEAD_HISTORY, ids, to=to, only_from=only_from)
