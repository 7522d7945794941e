"""Operations on the core records: the only place a lead changes stage."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl
from django.db import connection, models, transaction

from users.choices import Capability
from users.models import User
from users.permissions import may

from .choices import Channel, MemberStatus
from .errors import FieldError, NotPermitted
from .history import history_ids, move_rows
from .lifecycle import check_transition
from .models import Account, Campaign, CampaignMember, Lead, StageChange
from .sql import db_now, load

# How far a membership status has gone: a later import of "registered" never undoes
# "attended".
MEMBER_STATUS_RANK: dict[str, int] = {
    MemberStatus.REGISTERED: 0,
    MemberStatus.NO_SHOW: 1,
    MemberStatus.RESPONDED: 2,
    MemberStatus.ATTENDED: 3,
}


def transition_lead(
    lead: Lead,
    to_stage: str,
    *,
    now: datetime,
    by: User | None = None,
    reason: str = "",
) -> Lead:
    """Move `lead` to `to_stage` if the lifecycle allows it, recording a StageChange.

    Raises `TransitionError` naming the offending field otherwise. The lead row is locked
    so two concurrent moves cannot both start from the same stage.
    """
    with transaction.atomic():
        locked = Lead.objects.select_for_update().get(pk=lead.pk)
        check_transition(locked.stage, to_stage, reason)
        StageChange.objects.create(
            lead=locked,
            from_stage=locked.stage,
            to_stage=to_stage,
            changed_at=now,
            changed_by=by,
            reason=reason.strip(),
        )
        Lead.objects.filter(pk=locked.pk).update(
            stage=to_stage, stage_changed_at=now, updated_at=now
        )
    lead.stage = to_stage
    lead.stage_changed_at = now
    return lead


def move_leads(
    leads: list[Lead],
    to_stage: str,
    *,
    now: datetime,
    by: User | None = None,
    reason: Callable[[Lead, str], str] | None = None,
) -> None:
    """transition_lead for many leads at once: a StageChange each (bulk) and one UPDATE.

    The caller holds the leads' rows (locked, or created in its transaction) and their
    current stage; `reason(lead, to_stage)` says why. A move the lifecycle does not allow
    raises TransitionError before anything is written."""
    why = {lead.pk: reason(lead, to_stage).strip() if reason else "" for lead in leads}
    for lead in leads:
        check_transition(lead.stage, to_stage, why[lead.pk])
    # Through the set-based loader, not bulk_create: compiling model instances into SQL
    # was most of the time when a model change moved tens of thousands of leads.
    with connection.cursor() as cursor:
        load(
            cursor,
            StageChange._meta.db_table,
            pl.DataFrame(
                {
                    "lead_id": [lead.pk for lead in leads],
                    "from_stage": [lead.stage for lead in leads],
                    "reason": [why[lead.pk] for lead in leads],
                },
                schema={"lead_id": pl.Int64, "from_stage": pl.String, "reason": pl.String},
            ),
            {
                "to_stage": to_stage,
                "changed_at": db_now(now),
                "changed_by_id": by.pk if by else None,
            },
        )
    Lead.objects.filter(pk__in=[lead.pk for lead in leads]).update(
        stage=to_stage, stage_changed_at=now, updated_at=now
    )
    for lead in leads:
        lead.stage, lead.stage_changed_at = to_stage, now


# Columns that change only with their history: the stage through transition_lead.
HISTORY_COLUMNS = frozenset({"stage", "stage_changed_at"})


def update_lead(lead_id: int, **values: Any) -> None:
    """Write some of a lead's columns (scores, assignment, clocks, fields) for the app
    that decides them. Not its stage, which moves only with a StageChange."""
    if HISTORY_COLUMNS & set(values):
        raise ValueError("a lead's stage moves only through transition_lead / move_leads")
    Lead.objects.filter(pk=lead_id).update(**values)


def create_lead(lead: Lead, *, now: datetime, by: User | None = None, reason: str) -> Lead:
    """Store a new lead (in stage `new`) with its arrival. The insert runs in a savepoint:
    a unique email taken meanwhile raises IntegrityError and leaves the caller's
    transaction usable (capture retries as an update)."""
    with transaction.atomic():
        lead.save()
    record_arrival(lead, now=now, by=by, reason=reason)
    return lead


def save_lead(lead: Lead) -> Lead:
    """Store the fields a capture changed on a known lead (its stage moves elsewhere)."""
    lead.save()
    return lead


def create_leads(
    leads: list[Lead], *, now: datetime, by: User | None = None, reason: str
) -> list[Lead]:
    """create_lead for many new leads at once: one insert, one insert of their arrivals."""
    created = Lead.objects.bulk_create(leads)
    StageChange.objects.bulk_create(
        StageChange(
            lead=lead, from_stage="", to_stage=lead.stage, changed_at=now, changed_by=by,
            reason=reason,
        )
        for lead in created
    )  # fmt: skip
    return created


def add_new_members(campaign: Campaign, statuses: dict[Lead, str], *, now: datetime) -> None:
    """Memberships of leads just created (none of them a member yet), each with its status."""
    CampaignMember.objects.bulk_create(
        CampaignMember(campaign=campaign, lead=lead, joined_at=now, status=status)
        for lead, status in statuses.items()
    )


def find_or_create_account(domain: str | None, company_name: str) -> Account | None:
    if not domain:
        return None
    account, _ = Account.objects.get_or_create(
        domain=domain, defaults={"name": company_name or domain}
    )
    return account


def accounts_for_domains(names: dict[str, str]) -> dict[str, Account]:
    """find_or_create_account for many domains (domain → name for a new account): the
    missing ones are created together (one created meanwhile by someone else is taken as
    it is)."""
    # With their owners: routing reads them (named accounts stay with their rep).
    accounts = Account.objects.select_related("owner")
    found = {a.domain or "": a for a in accounts.filter(domain__in=names)}
    missing = set(names) - set(found)
    if missing:
        Account.objects.bulk_create(
            [Account(domain=domain, name=names[domain]) for domain in sorted(missing)],
            ignore_conflicts=True,
        )
        found.update({a.domain or "": a for a in accounts.filter(domain__in=missing)})
    return found


def update_leads(lead_ids: Iterable[int], **values: Any) -> int:
    """update_lead for many leads given the same values; how many were written."""
    if HISTORY_COLUMNS & set(values):
        raise ValueError("a lead's stage moves only through transition_lead / move_leads")
    return Lead.objects.filter(pk__in=list(lead_ids)).update(**values)


def record_arrival(lead: Lead, *, now: datetime, by: User | None = None, reason: str = "") -> None:
    """The first StageChange of a new lead: from nothing to `new`."""
    StageChange.objects.create(
        lead=lead, from_stage="", to_stage=lead.stage, changed_at=now, changed_by=by, reason=reason
    )


def add_to_campaign(
    lead: Lead, campaign: Campaign, *, status: str = MemberStatus.REGISTERED, now: datetime
) -> CampaignMember:
    """Make `lead` a member of `campaign`; a status only ever moves forward."""
    member, created = CampaignMember.objects.get_or_create(
        campaign=campaign, lead=lead, defaults={"status": status, "joined_at": now}
    )
    if not created and MEMBER_STATUS_RANK.get(status, 0) > MEMBER_STATUS_RANK.get(member.status, 0):
        member.status = status
        member.save(update_fields=["status", "updated_at"])
    return member


def follow_merges(leads: dict[int, Lead]) -> dict[int, Lead]:
    """The same keys, each mapped to the lead it was merged into (along a chain of merges);
    a lead not merged maps to itself."""
    resolved = dict(leads)
    for _ in range(10):  # a chain longer than this is not made by people
        pending = {pk: lead.merged_into_id for pk, lead in resolved.items() if lead.merged_into_id}
        if not pending:
            break
        targets = Lead.objects.in_bulk(set(pending.values()))
        for pk, target_id in pending.items():
            if target_id in targets:
                resolved[pk] = targets[target_id]
    return resolved


# Stage changes: a lead's history, which follows the person when leads are merged.
LEAD_HISTORY: dict[str, type[models.Model]] = {"stage_changes": StageChange}


def lead_history_ids(lead: Lead) -> dict[str, list[int]]:
    """The ids of the lead's stage changes, as identity.merging records them."""
    return history_ids(LEAD_HISTORY, lead)


def move_lead_history(
    ids: Mapping[str, Sequence[int]], *, to: Lead, only_from: Lead | None = None
) -> dict[str, int]:
    """Give the stage changes named by `ids` to the lead `to` (a merge, or its undo)."""
    return move_rows(LEAD_HISTORY, ids, to=to, only_from=only_from)


# --- Merges: memberships of two leads that are one person --------------------------------


def _json_time(value: datetime) -> str:
    """Exactly as JSON keeps it (DjangoJSONEncoder would cut microseconds)."""
    return value.isoformat()


def merge_memberships(
    survivor: Lead, duplicate: Lead
) -> tuple[list[int], list[dict[str, Any]], list[dict[str, Any]]]:
    """Merges: move the duplicate's memberships to the survivor; where the survivor is
    already a member, keep its row with the furthest status and earliest join, and drop
    the duplicate's. Returns what restore_memberships needs to undo it: the ids moved,
    the rows dropped and the kept rows changed (before and after), as JSON."""
    ours = {m.campaign_id: m for m in CampaignMember.objects.filter(lead=survivor)}
    moved: list[int] = []
    dropped: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for member in CampaignMember.objects.filter(lead=duplicate).order_by("pk"):
        kept = ours.get(member.campaign_id)
        if kept is None:
            moved.append(member.pk)
            continue
        dropped.append(
            {
                "id": member.pk,
                "campaign_id": member.campaign_id,
                "status": member.status,
                "joined_at": _json_time(member.joined_at),
                "updated_at": _json_time(member.updated_at),
            }
        )
        status = member.status
        if MEMBER_STATUS_RANK.get(status, 0) <= MEMBER_STATUS_RANK.get(kept.status, 0):
            status = kept.status
        joined_at = min(kept.joined_at, member.joined_at)
        if (status, joined_at) != (kept.status, kept.joined_at):
            changed.append(
                {
                    "id": kept.pk,
                    "before": {"status": kept.status, "joined_at": _json_time(kept.joined_at)},
                    "after": {"status": status, "joined_at": _json_time(joined_at)},
                }
            )
            CampaignMember.objects.filter(pk=kept.pk).update(status=status, joined_at=joined_at)
    CampaignMember.objects.filter(pk__in=[d["id"] for d in dropped]).delete()
    CampaignMember.objects.filter(pk__in=moved).update(lead=survivor)
    return moved, dropped, changed


def restore_memberships(
    moved: Sequence[int],
    dropped_rows: Sequence[dict[str, Any]],
    kept_rows: Sequence[dict[str, Any]],
    *,
    survivor: Lead,
    duplicate: Lead,
) -> None:
    """Undo merge_memberships from what it returned; a campaign deleted since is skipped."""
    CampaignMember.objects.filter(pk__in=moved, lead=survivor).update(lead=duplicate)
    campaigns = set(
        Campaign.objects.values_list("pk", flat=True).filter(
            pk__in=[d["campaign_id"] for d in dropped_rows]
        )
    )
    for dropped in dropped_rows:
        if dropped["campaign_id"] not in campaigns:
            continue  # the campaign was deleted since, with its memberships
        member, _ = CampaignMember.objects.get_or_create(
            campaign_id=dropped["campaign_id"],
            lead=duplicate,
            defaults={
                "id": dropped["id"],
                "status": dropped["status"],
                "joined_at": datetime.fromisoformat(dropped["joined_at"]),
            },
        )
        CampaignMember.objects.filter(pk=member.pk).update(
            updated_at=datetime.fromisoformat(dropped["updated_at"])
        )
    for kept in kept_rows:
        after, before = kept["after"], kept["before"]
        CampaignMember.objects.filter(
            pk=kept["id"],
            status=after["status"],
            joined_at=datetime.fromisoformat(after["joined_at"]),
        ).update(status=before["status"], joined_at=datetime.fromisoformat(before["joined_at"]))


# --- Campaigns ----------------------------------------------------------------------------

CAMPAIGN_FIELDS = frozenset({"name", "channel", "cost", "starts_on", "ends_on"})


def _campaign_values(campaign: Campaign, changes: Mapping[str, Any]) -> dict[str, Any]:
    """What `changes` would set on `campaign`, checked: FieldError names the first bad
    field."""
    clean: dict[str, Any] = {}
    for field in changes:
        if field not in CAMPAIGN_FIELDS:
            raise FieldError(field, "not a setting of a campaign")
    if "name" in changes:
        name = str(changes["name"] or "").strip()
        if not name:
            raise FieldError("name", "a campaign needs a name")
        if len(name) > 200:
            raise FieldError("name", "at most 200 characters")
        if Campaign.objects.filter(name__iexact=name).exclude(pk=campaign.pk).exists():
            raise FieldError("name", f"there is already a campaign called {name!r}")
        clean["name"] = name
    if "channel" in changes:
        if changes["channel"] not in Channel.values:
            raise FieldError("channel", f"must be one of: {', '.join(Channel.values)}")
        clean["channel"] = changes["channel"]
    if "cost" in changes:
        try:
            cost = Decimal(str(changes["cost"] if changes["cost"] is not None else "0"))
        except InvalidOperation:
            raise FieldError("cost", "must be an amount, e.g. 1500.00") from None
        if not cost.is_finite() or cost < 0 or cost >= Decimal("1e10"):
            raise FieldError("cost", "must be an amount from 0 to 9,999,999,999.99")
        clean["cost"] = cost.quantize(Decimal("0.01"))
    for field in ("starts_on", "ends_on"):
        if field in changes:
            value = changes[field]
            if value is not None and not isinstance(value, date):
                raise FieldError(field, "must be a date (YYYY-MM-DD)")
            clean[field] = value
    starts = clean.get("starts_on", campaign.starts_on)
    ends = clean.get("ends_on", campaign.ends_on)
    if starts is not None and ends is not None and ends < starts:
        raise FieldError("ends_on", "a campaign cannot end before it starts")
    return clean


def _may_manage_campaigns(by: User) -> None:
    if not may(by, Capability.MANAGE_CAMPAIGNS):
        raise NotPermitted("campaign", "your role may not create or change campaigns")


def create_campaign(*, by: User, **values: Any) -> Campaign:
    """A new campaign (name, channel, cost, dates), if `by` may manage campaigns."""
    _may_manage_campaigns(by)
    if not str(values.get("name") or "").strip():
        raise FieldError("name", "a campaign needs a name")
    campaign = Campaign()
    clean = _campaign_values(campaign, values)
    with transaction.atomic():
        for field, value in clean.items():
            setattr(campaign, field, value)
        campaign.save()
    return campaign


def update_campaign(campaign: Campaign, *, by: User, **changes: Any) -> Campaign:
    """Change a campaign's name, channel, cost or dates, if `by` may manage campaigns."""
    _may_manage_campaigns(by)
    clean = _campaign_values(campaign, changes)
    with transaction.atomic():
        for field, value in clean.items():
            setattr(campaign, field, value)
        if clean:
            campaign.save(update_fields=list(clean))
    return campaign
