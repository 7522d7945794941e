"""Likely duplicates: leads that share no email but look like one person.

Two leads are candidates when they have the same phone (E.164) or the same first and last
name (case and accents aside) at the same company (the same account, or the same company
name without its legal form). The rules are in `capture.rules`; this module stores each
lead's match keys (`LeadMatchKeys`), finds the leads sharing them and records the pairs
(`DuplicateCandidate`) for people to review. Merging is in `identity.merging`.

`capture_lead` checks a lead when it is created (or its phone, name or company change);
leads written in bulk by imports are checked by the sweep `scan_duplicates`.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Q, QuerySet

from leads.models import Lead
from leads.services import follow_merges
from leads.sql import in_list
from users.access import lead_scope, visible_leads, workable_leads
from users.choices import Capability
from users.models import User
from users.permissions import may

from .choices import DuplicateStatus, MergeStatus
from .models import DuplicateCandidate, LeadMatchKeys, MergeRecord
from .rules import MATCH_SCORES, MatchKeys, compare_keys, match_keys

# A phone shared by many leads is a switchboard, not a person: pairs beyond this many per
# lead would flood the review queue and say little.
MAX_MATCHES_PER_LEAD = 20
# Namespace of the advisory locks taken on PostgreSQL (any constant unique to this use).
ADVISORY_LOCK_SPACE = 0x6C6C_6470  # "lldp"


class NotAllowed(Exception):
    """The user may not merge (or undo, or dismiss) these leads."""


# The lead fields its match keys are made of: a writer that changes one of them without
# re-keying the lead drops its LeadMatchKeys row, and the sweep checks it again.
MATCH_FIELDS = ("phone", "country", "first_name", "last_name", "company_name")


def keys_of(lead: Lead) -> MatchKeys:
    return match_keys(
        phone=lead.phone,
        country=lead.country,
        first_name=lead.first_name,
        last_name=lead.last_name,
        company_name=lead.company_name,
    )


def may_merge(user: User, first: Lead, second: Lead) -> bool:
    """Whoever sees both leads may merge them (or say they are different people), except a
    rep, who only merges leads they own. Merged leads are seen by no one."""
    if not may(user, Capability.MERGE_DUPLICATES):
        return False
    # Seen read-only (a manager's handed-back leads) is not enough: a merge changes both.
    if workable_leads(user).filter(pk__in=[first.pk, second.pk]).count() != 2:
        return False
    if user.is_rep:
        return first.owner_id == user.pk and second.owner_id == user.pk
    return True


def may_undo(user: User, survivor: Lead, duplicate: Lead) -> bool:
    """As `may_merge`, for a pair whose duplicate is hidden by the merge: its own scope
    (team, owner) is checked without the merged filter."""
    if not may(user, Capability.MERGE_DUPLICATES):
        return False
    if not workable_leads(user).filter(pk=survivor.pk).exists():
        return False
    scope = lead_scope(user)
    hidden = Lead.objects.filter(pk=duplicate.pk)
    if scope is not None and not hidden.filter(scope).exists():
        return False
    if user.is_rep:
        return survivor.owner_id == user.pk and duplicate.owner_id == user.pk
    return True


def _lock_keys(keys: Iterable[str]) -> None:
    """Serialise concurrent checks of the same keys, so that two leads with one phone
    arriving at the same moment still find each other. SQLite needs nothing: its write
    transactions are IMMEDIATE, one at a time."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for key in sorted(set(keys)):  # one order everywhere: no deadlocks
            digest = hashlib.blake2b(key.encode(), digest_size=4).digest()
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)",
                [ADVISORY_LOCK_SPACE, int.from_bytes(digest, "big", signed=True)],
            )


@dataclass(frozen=True)
class _Keyed:
    lead_id: int
    account_id: int | None
    keys: MatchKeys


def _record_candidates(
    leads: list[Lead], *, now: datetime, unchecked: bool = False
) -> set[tuple[int, int]]:
    """Store the leads' match keys and the pairs they form with every other lead (in the
    batch or not). A fixed number of queries per batch. Returns the pairs found.

    `unchecked`: the leads have no match keys yet, so there are none to replace."""
    keyed = [_Keyed(lead.pk, lead.account_id, keys_of(lead)) for lead in leads]
    _lock_keys(
        [f"p:{k.keys.phone}" for k in keyed if k.keys.phone]
        + [f"n:{k.keys.person}" for k in keyed if k.keys.person]
    )
    if not unchecked:
        LeadMatchKeys.objects.filter(lead_id__in=[k.lead_id for k in keyed]).delete()
    LeadMatchKeys.objects.bulk_create(
        LeadMatchKeys(
            lead_id=k.lead_id,
            phone_key=k.keys.phone,
            person_key=k.keys.person,
            company_key=k.keys.company,
            checked_at=now,
        )
        for k in keyed
    )
    phones = {k.keys.phone for k in keyed if k.keys.phone}
    persons = {k.keys.person for k in keyed if k.keys.person}
    if not phones and not persons:
        return set()
    by_phone: dict[str, list[_Keyed]] = defaultdict(list)
    by_person: dict[str, list[_Keyed]] = defaultdict(list)
    rows = (
        LeadMatchKeys.objects.filter(Q(phone_key__in=phones) | Q(person_key__in=persons))
        .filter(lead__merged_into__isnull=True)
        .order_by("-lead_id")
        .values_list("lead_id", "lead__account_id", "phone_key", "person_key", "company_key")
    )
    for lead_id, account_id, phone, person, company in rows:
        other = _Keyed(lead_id, account_id, MatchKeys(phone, person, company))
        if phone in phones:
            by_phone[phone].append(other)
        if person in persons:
            by_person[person].append(other)
    found: dict[tuple[int, int], DuplicateCandidate] = {}
    for mine in keyed:
        others = {o.lead_id: o for o in by_phone.get(mine.keys.phone, [])}
        others.update({o.lead_id: o for o in by_person.get(mine.keys.person, [])})
        matched = 0
        for other in others.values():
            if other.lead_id == mine.lead_id or matched >= MAX_MATCHES_PER_LEAD:
                continue
            reason = compare_keys(mine.keys, mine.account_id, other.keys, other.account_id)
            if reason is None:
                continue
            matched += 1
            pair = (min(mine.lead_id, other.lead_id), max(mine.lead_id, other.lead_id))
            found[pair] = DuplicateCandidate(
                lead_a_id=pair[0],
                lead_b_id=pair[1],
                reason=reason,
                score=MATCH_SCORES[reason],
                created_at=now,
            )
    # A pair seen before keeps its status: a dismissed pair is not asked about again.
    DuplicateCandidate.objects.bulk_create(found.values(), ignore_conflicts=True)
    return set(found)


def find_duplicate_candidates(
    lead: Lead, *, now: datetime, is_new: bool = False
) -> list[DuplicateCandidate]:
    """Check one lead: record its match keys and a candidate pair with every other lead it
    looks like. Returns those pairs (new or known before, whatever their status).

    `is_new`: the lead was created in this transaction (it has no match keys to replace)."""
    if lead.merged_into_id is not None:
        return []
    # No savepoint of its own: called inside capture_lead's transaction, it stands or falls
    # with the lead it checks.
    with transaction.atomic(savepoint=False):
        pairs = _record_candidates([lead], now=now, unchecked=is_new)
    if not pairs:
        return []
    others = [b if a == lead.pk else a for a, b in pairs]
    return list(
        DuplicateCandidate.objects.filter(
            Q(lead_a_id=lead.pk, lead_b_id__in=others) | Q(lead_b_id=lead.pk, lead_a_id__in=others)
        ).order_by("-score", "pk")
    )


def check_new_leads(leads: list[Lead], *, now: datetime) -> None:
    """find_duplicate_candidates for leads created together in this transaction, with a
    fixed number of queries for all of them."""
    if leads:
        with transaction.atomic(savepoint=False):
            _record_candidates(leads, now=now, unchecked=True)


def scan_duplicates(*, now: datetime, batch_size: int = 500) -> int:
    """The sweep for leads nobody has checked yet (bulk imports write rows directly).

    Idempotent and safe on several workers: a batch is claimed with SKIP LOCKED and a
    checked lead has match keys, so it is not claimed again. Returns how many it checked.
    """
    checked = 0
    while True:
        with transaction.atomic():
            batch = list(
                Lead.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(match_keys__isnull=True, merged_into__isnull=True)
                .order_by("pk")[:batch_size]
            )
            if not batch:
                return checked
            _record_candidates(batch, now=now, unchecked=True)
            checked += len(batch)
        if len(batch) < batch_size:
            return checked


# --- After a merge: where a merged lead's events and address go -----------------------


def leads_for_freed_emails(emails: Iterable[str]) -> dict[str, int]:
    """For addresses a merge took from a lead (MergeRecord.freed_email), the id of the lead
    they reach now; writers keyed on email (capture_lead, imports) use it so that a person
    writing in again with such an address is not made a new lead."""
    wanted = {email.strip().lower() for email in emails if email}
    latest: dict[str, int] = {}
    for email, survivor_id in (
        MergeRecord.objects.filter(freed_email__in=wanted, status=MergeStatus.APPLIED)
        .order_by("merged_at", "pk")
        .values_list("freed_email", "survivor_id")
    ):
        if email:
            latest[email] = survivor_id  # the latest merge decides
    if not latest:
        return {}
    leads = follow_merges(Lead.objects.in_bulk(set(latest.values())))
    return {email: leads[pk].pk for email, pk in latest.items() if pk in leads}


# --- The review queue -------------------------------------------------------------------


def open_candidates(user: User) -> QuerySet[DuplicateCandidate]:
    """Open pairs of which `user` sees both leads (so never one with a merged lead)."""
    visible = visible_leads(user).values("pk")
    return DuplicateCandidate.objects.filter(
        status=DuplicateStatus.OPEN, lead_a__in=visible, lead_b__in=visible
    )


def dismiss_candidate(
    candidate: DuplicateCandidate, *, by: User, now: datetime
) -> DuplicateCandidate:
    """Two different people after all: the pair leaves the queue for good."""
    with transaction.atomic():
        locked = DuplicateCandidate.objects.select_for_update().get(pk=candidate.pk)
        if not may_merge(by, locked.lead_a, locked.lead_b):
            raise NotAllowed("you may not decide about these leads")
        if locked.status == DuplicateStatus.OPEN:
            locked.status = DuplicateStatus.DISMISSED
            locked.resolved_by, locked.resolved_at = by, now
            locked.save(update_fields=["status", "resolved_by", "resolved_at"])
    return locked


def forget_match_keys(lead_ids: Sequence[int]) -> None:
    """Drop the duplicate-match keys of leads whose phone, name or company changed: the
    duplicate sweep (scan_duplicates) keys and checks them again."""
    if not lead_ids:
        return
    clause, params = in_list(lead_ids)
    table = LeadMatchKeys._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE lead_id {clause}", params)
