"""Consent per purpose: the one service every door records consent through.

`record` (one) and `record_many` (an import's rows) write a `Consent` row per grant or
withdrawal and keep `ConsentState`, the current answer per lead and purpose, beside it in
the same transaction. The outbox asks `granted_pairs` for a batch; the public unsubscribe
and preference pages reach a message through its signed token (`message_for_token`).

Who may change what (`decide`, pure):
- a stranger's door (a web form, a webhook: anyone may post any address) may grant, never
  withdraw: a form sent without its box ticked says nothing about an earlier grant;
- a withdrawal by the person themself (the unsubscribe link, the preference page) wins:
  no later grant through a form, a webhook, the API, an import or a trade-show list gives
  it back; only the person (the preference page) or a colleague recording the person's
  word (source "person") does;
- a click on the same answer again (unsubscribe twice) writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import models, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.text import slugify

from leads.errors import FieldError, NotPermitted
from leads.models import Lead
from qualify.models import Event
from qualify.services import event_points, store_events
from users.access import visible_leads
from users.choices import Capability
from users.permissions import may

from . import tokens, tracking
from .choices import ConsentSource, Purpose
from .models import Consent, ConsentPurpose, ConsentState, Message

DEFAULT_PURPOSE = "newsletter"
# Anyone may post any address to these: they grant, never withdraw.
STRANGER_DOORS = frozenset({ConsentSource.FORM, ConsentSource.WEBHOOK})
# The person themself.
SELF_DOORS = frozenset({ConsentSource.PREFERENCE_PAGE, ConsentSource.UNSUBSCRIBE})
# What may give back a consent the person withdrew themself: the person, or a colleague
# recording what the person said (a call, a letter), with their name on it.
MAY_REGRANT = frozenset({ConsentSource.PREFERENCE_PAGE, ConsentSource.PERSON})
PURPOSE_FIELDS = ("slug", "name", "description", "is_active")
# The purposes every installation starts with (seeded by migration nurture 0005; made
# again on first use if a database was emptied, as tests do).
DEFAULT_PURPOSES = {
    "newsletter": ("Newsletter", "Our newsletter: articles, guides and news, about once a month."),
    "product_updates": ("Product updates", "What is new in the product: releases and features."),
    "events": ("Events", "Invitations to webinars, trade shows and other events."),
}


# --- Purposes ----------------------------------------------------------------------------


def check_may_manage(by: Any) -> None:
    """NotPermitted unless `by` may record consent and manage purposes (marketing, admins)."""
    if not may(by, Capability.MANAGE_CONSENT):
        raise NotPermitted("consent", "only marketing and admins record consent")


def purposes(*, active_only: bool = False) -> QuerySet[ConsentPurpose]:
    rows = ConsentPurpose.objects.all()
    return rows.filter(is_active=True) if active_only else rows


def get_purpose(value: Any, *, field: str = "purpose") -> ConsentPurpose:
    """The purpose `value` names (its slug, or its name in any case); FieldError naming
    `field` and the known slugs otherwise."""
    text = str(value or "").strip()
    found = ConsentPurpose.objects.filter(slug=text).first() if text else None
    if found is None and text:
        found = ConsentPurpose.objects.filter(name__iexact=text).first()
    if found is None and text in DEFAULT_PURPOSES:
        name, description = DEFAULT_PURPOSES[text]
        found, _ = ConsentPurpose.objects.get_or_create(
            slug=text,
            defaults={"name": name, "description": description, "created_at": timezone.now()},
        )
    if found is None:
        known = ", ".join(ConsentPurpose.objects.values_list("slug", flat=True))
        raise FieldError(field, f"no consent purpose {text!r} (known: {known or 'none'})")
    return found


def purpose_for_form(text: str, *, now: datetime) -> ConsentPurpose:
    """The purpose a web form's consent is for: the one its text names (slug or name), or
    a new purpose named so, since what people ticked is what they agreed to. None named:
    the newsletter."""
    text = (text or "").strip()
    try:
        return get_purpose(text or DEFAULT_PURPOSE)
    except FieldError:
        slug = slugify(text)[:50] or DEFAULT_PURPOSE
        purpose, _ = ConsentPurpose.objects.get_or_create(
            slug=slug, defaults={"name": text[:100], "description": text, "created_at": now}
        )
        return purpose


def create_purpose(*, by: Any, now: datetime, **fields: Any) -> ConsentPurpose:
    check_may_manage(by)
    clean = _clean_purpose(fields, current=None)
    return ConsentPurpose.objects.create(**clean, created_at=now)


def update_purpose(purpose: ConsentPurpose, *, by: Any, **changes: Any) -> ConsentPurpose:
    """Change a purpose's name, description or whether the preference page offers it; its
    slug stays (messages and history name it)."""
    check_may_manage(by)
    if "slug" in changes and changes["slug"] != purpose.slug:
        raise FieldError("slug", "a purpose's slug cannot change (messages name it)")
    merged = {name: getattr(purpose, name) for name in PURPOSE_FIELDS} | changes
    clean = _clean_purpose(merged, current=purpose)
    for name, value in clean.items():
        setattr(purpose, name, value)
    purpose.save()
    return purpose


def _clean_purpose(fields: dict[str, Any], *, current: ConsentPurpose | None) -> dict[str, Any]:
    unknown = set(fields) - set(PURPOSE_FIELDS)
    if unknown:
        raise FieldError(sorted(unknown)[0], "not a field of a consent purpose")
    slug = str(fields.get("slug") or "").strip()
    if not slug or slugify(slug).replace("-", "_") != slug.replace("-", "_") or len(slug) > 50:
        raise FieldError("slug", "a slug of lower-case letters, digits, - and _ (at most 50)")
    name = str(fields.get("name") or "").strip()
    if not name or len(name) > 100:
        raise FieldError("name", "a purpose needs a name (at most 100 characters)")
    taken = ConsentPurpose.objects.filter(slug=slug)
    if current is not None:
        taken = taken.exclude(pk=current.pk)
    if taken.exists():
        raise FieldError("slug", f"a purpose {slug!r} exists already")
    active = fields.get("is_active", True)
    return {
        "slug": slug,
        "name": name,
        "description": str(fields.get("description") or "").strip(),
        "is_active": active
        if isinstance(active, bool)
        else str(active).lower() in ("1", "true", "on", "yes"),
    }


# --- Recording ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentInput:
    """One grant or withdrawal to record, as a door heard it."""

    lead: Lead
    purpose: ConsentPurpose
    granted: bool
    source: str
    reference: str = ""
    text: str = ""
    by: Any = None


@dataclass(frozen=True)
class Recorded:
    """What became of one input: the row written, or why none was ("" if it was the
    answer already, from the person themself)."""

    consent: Consent | None
    refused: str = ""


def decide(current: ConsentState | None, *, granted: bool, source: str) -> str | None:
    """Why this grant or withdrawal is not recorded ("" : nothing to record, the same
    answer again from the person), or None: record it. See the module's docstring."""
    if source not in ConsentSource.values:
        raise ValueError(f"unknown consent source {source!r}")
    if not granted and source in STRANGER_DOORS:
        return "a form or webhook may grant consent, never withdraw it"
    if current is None:
        return None
    if current.granted == granted and source in SELF_DOORS and current.source in SELF_DOORS:
        return ""
    withdrawn_by_self = not current.granted and current.source in SELF_DOORS
    if granted and withdrawn_by_self and source not in MAY_REGRANT:
        return (
            "the person withdrew it themself; only they or a colleague on their word give it back"
        )
    return None


def record(
    lead: Lead,
    purpose: ConsentPurpose | str,
    *,
    granted: bool,
    source: str,
    now: datetime,
    reference: str = "",
    text: str = "",
    by: Any = None,
) -> Recorded:
    """Record one grant or withdrawal of `purpose` for `lead` (see `decide`)."""
    if not isinstance(purpose, ConsentPurpose):
        purpose = get_purpose(purpose)
    item = ConsentInput(lead, purpose, granted, source, reference, text, by)
    return record_many([item], now=now)[0]


def record_many(items: Sequence[ConsentInput], *, now: datetime) -> list[Recorded]:
    """Record many grants and withdrawals at once (an import's rows), in order: two rows
    for one lead and purpose are decided one after the other."""
    if not items:
        return []
    results: list[Recorded] = []
    with transaction.atomic():
        lead_ids = sorted({item.lead.pk for item in items})
        # Leads locked in id order (as events and merges lock them): two doors recording
        # for one lead at once decide one after the other, on the state the first left.
        list(
            Lead.objects.select_for_update(no_key=True, of=("self",))
            .filter(pk__in=lead_ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        states = {
            (state.lead_id, state.purpose_id): state
            for state in ConsentState.objects.filter(lead_id__in=lead_ids)
        }
        rows: list[Consent] = []
        for item in items:
            key = (item.lead.pk, item.purpose.pk)
            refused = decide(states.get(key), granted=item.granted, source=item.source)
            if refused is not None:
                results.append(Recorded(None, refused))
                continue
            row = Consent(
                lead=item.lead,
                email=item.lead.email or "",
                purpose=item.purpose,
                granted=item.granted,
                at=now,
                source=item.source,
                reference=item.reference[:300],
                by=item.by if getattr(item.by, "pk", None) else None,
                text=item.text,
            )
            rows.append(row)
            results.append(Recorded(row))
            states[key] = ConsentState(
                lead_id=item.lead.pk, purpose_id=item.purpose.pk, granted=item.granted,
                at=now, source=item.source,
            )  # fmt: skip
        Consent.objects.bulk_create(rows, batch_size=500)
        latest = {(row.lead_id, row.purpose_id): row for row in rows}
        ConsentState.objects.bulk_create(
            [
                ConsentState(
                    lead_id=lead_id,
                    purpose_id=purpose_id,
                    granted=row.granted,
                    at=row.at,
                    source=row.source,
                    consent=row,
                )
                for (lead_id, purpose_id), row in latest.items()
            ],
            update_conflicts=True,
            unique_fields=["lead", "purpose"],
            update_fields=["granted", "at", "source", "consent"],
            batch_size=500,
        )
    return results


def record_by_person(
    lead: Lead,
    purpose: Any,
    *,
    granted: bool,
    by: Any,
    now: datetime,
    text: str = "",
) -> Recorded:
    """A colleague records a grant or withdrawal (what the person said on a call, a
    letter): marketing and admins, on a lead they see."""
    check_may_manage(by)
    if not visible_leads(by).filter(pk=lead.pk).exists():
        raise NotPermitted("lead", "not a lead you can see")
    chosen = get_purpose(purpose)
    if granted and not chosen.is_active:
        raise FieldError("purpose", f"the purpose {chosen.slug!r} is not offered any more")
    name = getattr(by, "username", "") or ""
    return record(
        lead, chosen, granted=granted, source=ConsentSource.PERSON, now=now,
        reference=name, text=text, by=by,
    )  # fmt: skip


# --- Reading -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PurposeState:
    """One purpose as a lead's page shows it: granted or not, and the row that says so."""

    purpose: ConsentPurpose
    granted: bool
    consent: Consent | None


def current(lead: Lead) -> list[PurposeState]:
    """Every purpose (active ones, and inactive ones the lead answered) with the lead's
    current answer."""
    states = {
        state.purpose_id: state
        for state in ConsentState.objects.filter(lead=lead).select_related("consent__by")
    }
    return [
        PurposeState(
            purpose,
            bool(states[purpose.pk].granted) if purpose.pk in states else False,
            states[purpose.pk].consent if purpose.pk in states else None,
        )
        for purpose in ConsentPurpose.objects.all()
        if purpose.is_active or purpose.pk in states
    ]


def history(lead: Lead) -> QuerySet[Consent]:
    return Consent.objects.filter(lead=lead).select_related("purpose", "by")


def granted_pairs(messages: Iterable[Message]) -> set[tuple[int, str]]:
    """(lead id, purpose slug) of the messages' leads that granted their purposes: one
    query over the current-state table for a batch of the outbox."""
    leads = {m.lead_id for m in messages if m.lead_id is not None and m.consent_purpose}
    if not leads:
        return set()
    return set(
        ConsentState.objects.filter(lead_id__in=leads, granted=True).values_list(
            "lead_id", "purpose__slug"
        )
    )


def allows(message: Message, granted: set[tuple[int, str]]) -> bool:
    """Whether `message` may go as far as consent is concerned: a test send always; a
    marketing message when its lead granted its purpose."""
    if message.purpose != Purpose.MARKETING:
        return True
    return message.lead_id is not None and (message.lead_id, message.consent_purpose) in granted


# --- Links in messages -------------------------------------------------------------------


def unsubscribe_headers(message: Message) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe headers for a marketing message ({} for a test
    send): the ones nurture.tracking builds into every marketing message's bytes."""
    if message.purpose != Purpose.MARKETING or message.pk is None:
        return {}
    return tracking.list_unsubscribe_headers(message.pk)


def footer_links(message: Message) -> dict[str, str]:
    """The unsubscribe and preference page addresses of a message (the footer tracking
    adds to both parts links to the same)."""
    return {
        "unsubscribe_url": tracking.link("unsubscribe", message.pk),
        "preferences_url": tracking.link("preferences", message.pk),
    }


# --- The public pages --------------------------------------------------------------------


def message_for_token(kind: str, token: str) -> Message:
    """The marketing message a public link names; tokens.BadToken for a forged, altered or
    other-kind token, and for a message that is gone, a test send or has no lead."""
    pk, _ = tokens.read(kind, token)
    message = Message.objects.select_related("lead").filter(pk=pk).first()
    if message is None or message.lead is None or message.purpose != Purpose.MARKETING:
        raise tokens.BadToken("no such message")
    return message


def _person_of(message: Message) -> Lead:
    lead = message.lead
    assert lead is not None
    # The lead may have been merged since: the person is the survivor.
    seen = set()
    while lead.merged_into_id is not None and lead.pk not in seen:
        seen.add(lead.pk)
        lead = Lead.objects.get(pk=lead.merged_into_id)
    return lead


def unsubscribe(message: Message, *, now: datetime) -> Recorded:
    """One-click unsubscribe (RFC 8058): the person withdraws the message's purpose; an
    `unsubscribed` event tells the score (and programs) at once."""
    lead = _person_of(message)
    purpose = get_purpose(message.consent_purpose or DEFAULT_PURPOSE)
    result = record(
        lead, purpose, granted=False, source=ConsentSource.UNSUBSCRIBE, now=now,
        reference=f"message {message.pk}",
    )  # fmt: skip
    properties = {"purpose": purpose.slug, "message_id": message.pk}
    store_events(
        [
            Event(
                lead=lead,
                kind="unsubscribed",
                occurred_at=now,
                received_at=now,
                points=event_points("unsubscribed", properties),
                properties=properties,
                # One per message and purpose: a second click (a scanner, a double click)
                # adds nothing.
                idempotency_key=f"unsubscribe:{message.pk}:{purpose.slug}",
            )
        ],
        now=now,
    )
    return result


def preference_states(message: Message) -> list[PurposeState]:
    """The active purposes as the person's preference page shows them."""
    return [row for row in current(_person_of(message)) if row.purpose.is_active]


def set_preferences(
    message: Message, chosen: Iterable[str], *, now: datetime, everything_off: bool = False
) -> list[Recorded]:
    """The person's choice on the preference page: each active purpose ticked is granted,
    each unticked withdrawn (only changes are written). "Unsubscribe from all"
    (`everything_off`) withdraws every purpose, also the ones never answered: the person
    said no to all of them, and no stranger's form may say otherwise later."""
    lead = _person_of(message)
    wanted = set() if everything_off else set(chosen)
    items = []
    for row in current(lead):
        if not row.purpose.is_active:
            continue
        granted = row.purpose.slug in wanted
        unasked_no = everything_off and row.consent is None
        if granted == row.granted and not unasked_no:
            continue
        items.append(
            ConsentInput(
                lead,
                row.purpose,
                granted,
                ConsentSource.PREFERENCE_PAGE,
                reference=f"message {message.pk}",
            )
        )
    results = record_many(items, now=now)
    for item, result in zip(items, results, strict=True):
        if not item.granted and result.consent is not None:
            store_events(
                [
                    Event(
                        lead=lead, kind="unsubscribed", occurred_at=now, received_at=now,
                        points=event_points("unsubscribed", {"purpose": item.purpose.slug}),
                        properties={"purpose": item.purpose.slug, "message_id": message.pk},
                        idempotency_key=f"preferences:{result.consent.pk}",
                    )
                ],
                now=now,
            )  # fmt: skip
    return results


# --- Merges ------------------------------------------------------------------------------

# A lead's consent is its history: a merge moves it to the survivor (identity asks).
LEAD_HISTORY: dict[str, type[models.Model]] = {"consents": Consent}


def lead_history_ids(lead: Lead) -> dict[str, list[int]]:
    return {
        "consents": list(
            Consent.objects.filter(lead=lead).order_by("pk").values_list("pk", flat=True)
        )
    }


def move_lead_history(
    ids: Mapping[str, Sequence[int]], *, to: Lead, only_from: Lead | None = None
) -> dict[str, int]:
    """Give the consent rows named by `ids` to the lead `to` (a merge, or its undo), then
    recompute the current answer of every lead they left or joined: the latest row per
    purpose."""
    rows = Consent.objects.filter(pk__in=ids.get("consents", ()))
    if only_from is not None:
        rows = rows.filter(lead=only_from)
    touched = set(rows.values_list("lead_id", flat=True)) | {to.pk}
    moved = rows.update(lead=to)
    _rebuild_states(touched)
    return {"consents": moved}


def _rebuild_states(lead_ids: set[int]) -> None:
    ConsentState.objects.filter(lead_id__in=lead_ids).delete()
    latest: dict[tuple[int, int], Consent] = {}
    for row in Consent.objects.filter(lead_id__in=lead_ids).order_by("at", "pk"):
        latest[(row.lead_id, row.purpose_id)] = row
    ConsentState.objects.bulk_create(
        [
            ConsentState(
                lead_id=lead_id,
                purpose_id=purpose_id,
                granted=row.granted,
                at=row.at,
                source=row.source,
                consent=row,
            )
            for (lead_id, purpose_id), row in latest.items()
        ]
    )
