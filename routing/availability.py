"""Reps who cannot work their leads: on leave, or deactivated. Their open leads go to
others by the same routing (rules, round robin, capacity), each hand-over an Assignment
in the lead's history; a sweep (`run_due`) catches every way a rep becomes unavailable
(a leave beginning, a deactivation in any screen or the admin), and setting a leave that
has begun does it at once."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction

from leads.lifecycle import SALES_STAGES
from leads.models import Lead
from leads.services import update_leads
from users import services as people
from users.choices import NotificationKind
from users.models import Leave, User
from users.services import Message, notify_many

from .choices import AssignedHow
from .router import Router, lead_facts, on_leave_ids
from .services import Handover, alert_queued, decide_routable, record_assignments, routable_of


def add_leave(
    person: User,
    *,
    by: User,
    starts_on: date | str,
    ends_on: date | str,
    note: str = "",
    now: datetime,
) -> Leave:
    """Record a leave (users.services.add_leave checks who may and the dates); if it has
    begun, the person's open leads are handed on now."""
    with transaction.atomic():
        leave = people.add_leave(
            person, by=by, starts_on=starts_on, ends_on=ends_on, note=note, now=now
        )
    if person.pk in on_leave_ids([person.pk], now=now):
        reassign_open_leads(person, now=now, reason="owner on leave")
    return leave


def cancel_leave(leave: Leave, *, by: User) -> None:
    people.cancel_leave(leave, by=by)


def reassign_open_leads(
    rep: User, *, now: datetime, by: User | None = None, reason: str = ""
) -> int:
    """Hand each open (sales-stage) lead of `rep` to whoever routing picks now, `rep`
    left out: the rules, the team's round robin within capacity, else the team's queue
    (its managers told). A running SLA clock keeps its deadline. Returns how many moved."""
    with transaction.atomic():
        leads = list(
            Lead.objects.select_for_update(of=("self",))
            .filter(owner=rep, stage__in=SALES_STAGES, merged_into__isnull=True)
            .select_related("account__owner", "first_campaign")
            .order_by("pk")
        )
        if not leads:
            return 0
        router = Router(now=now, lock=True, exclude=[rep.pk], preload=True)
        facts = lead_facts(leads, campaigns=router.reads("campaign")) if router.rules else {}
        handovers: list[Handover] = []
        groups: dict[tuple[int | None, int | None], list[int]] = {}
        waiting: list[tuple[int, int | None]] = []
        for lead in leads:
            routable = routable_of(lead, facts.get(lead.pk))
            decision = decide_routable(router, routable)
            groups.setdefault((decision.team_id, decision.owner_id), []).append(lead.pk)
            if decision.alert or decision.owner_id is None:
                waiting.append((lead.pk, decision.team_id))
            handovers.append(
                Handover(
                    lead.pk,
                    to_owner_id=decision.owner_id,
                    to_team_id=decision.team_id,
                    how=AssignedHow.REASSIGNED,
                    from_owner_id=lead.owner_id,
                    from_team_id=lead.team_id,
                    reason=reason,
                    rule_name=decision.rule_name,
                    rule_id=decision.rule_id,
                )
            )
        router.save_pointers()
        for (team_id, owner_id), ids in groups.items():
            update_leads(
                ids,
                team_id=team_id,
                owner_id=owner_id,
                assigned_at=now if owner_id else None,
                updated_at=now,
            )
        record_assignments(handovers, by=by, now=now)
        names = {lead.pk: lead.display_name for lead in leads}
        notify_many(
            (
                Message(
                    h.to_owner_id,
                    NotificationKind.REASSIGNED,
                    f"{names[h.lead_id]} is yours now: {rep.display_name} is away ({reason})"
                    if reason
                    else f"{names[h.lead_id]} is yours now ({rep.display_name} is away)",
                    h.lead_id,
                    f"reassigned:{h.lead_id}:{now.isoformat()}",
                )
                for h in handovers
                if h.to_owner_id is not None
            ),
            now=now,
        )
        alert_queued(waiting, now=now)
    return len(leads)


def unavailable_owners(*, now: datetime) -> dict[int, str]:
    """Owners of open leads who cannot work them at `now`: deactivated, or on leave (by
    the day in their time zone). By id, with the reason."""
    holding = Lead.objects.filter(
        stage__in=SALES_STAGES, merged_into__isnull=True, owner__isnull=False
    )
    inactive = set(
        holding.filter(owner__is_active=False).values_list("owner_id", flat=True).distinct()
    )
    maybe_away = set(
        Leave.objects.filter(
            starts_on__lte=(now + timedelta(days=1)).date(),
            ends_on__gte=(now - timedelta(days=1)).date(),
        ).values_list("user_id", flat=True)
    )
    away = on_leave_ids(maybe_away, now=now) if maybe_away else set()
    away = set(holding.filter(owner_id__in=away).values_list("owner_id", flat=True).distinct())
    found: dict[int, str] = {owner: "owner deactivated" for owner in inactive}
    for owner in away - inactive:
        found[owner] = "owner on leave"
    return found


def run_due(*, now: datetime, **_: Any) -> int:
    """The sweep: hand on the open leads of every rep deactivated or on leave at `now`.
    Idempotent: once handed on, the leads are no longer theirs. Returns how many moved."""
    moved = 0
    owners = unavailable_owners(now=now)
    for user in User.objects.filter(pk__in=list(owners)).order_by("pk"):
        moved += reassign_open_leads(user, now=now, reason=owners[user.pk])
    return moved


def set_active(person: User, *, by: User, is_active: bool, now: datetime) -> int:
    """Deactivate (someone who left) or reactivate `person` (users.services.set_user_active
    checks who may); a deactivated rep's open leads are handed on at once by routing, as
    a leave's are. Returns how many open leads they still own afterwards (0 unless
    nobody could take them)."""
    people.set_user_active(person, by=by, is_active=is_active)
    if not is_active:
        reassign_open_leads(person, now=now, by=by, reason="owner deactivated")
    return Lead.objects.filter(owner=person, stage__in=SALES_STAGES).count()
