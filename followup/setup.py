"""Managers' settings of follow-up: cadences and their steps, the ordered cadence rules,
each team's minimum attempts. One service per change for the cadence pages, the API and
`leadloop cadences`; who may is the permission table's ("manage_cadences"), and a manager
sets the minimum attempts of their own team only (`users.access.editable_teams`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from leads.choices import Grade, Segment
from leads.errors import FieldError, NotPermitted
from leads.models import Campaign
from users.access import editable_teams
from users.choices import Capability
from users.models import Team, User
from users.permissions import may

from .choices import CadenceChannel
from .models import AttemptPolicy, Cadence, CadenceRule, CadenceStep
from .rules import StepSpec

MAX_STEPS = 50
MAX_DAY = 365

# The default cadence an installation starts with (migration 0006 writes the same):
# six touches over fourteen days across calls and emails.
STANDARD_NAME = "Standard follow-up"
STANDARD_STEPS = (
    StepSpec(0, "call", "Call within the hour: introduce yourself, ask what made them reach out."),
    StepSpec(
        0,
        "email",
        "Subject: Your enquiry\n\nHi {first name},\n\nThank you for getting in touch. I tried"
        " to call you today: when suits you for 15 minutes this week?\n\nBest regards",
    ),
    StepSpec(2, "call", "Call again at another time of day; leave a short voicemail."),
    StepSpec(
        5, "email", "Send something useful for their need (a case study, a guide) and offer a call."
    ),
    StepSpec(9, "call", "Call; if no answer, leave a voicemail saying you will write once more."),
    StepSpec(
        14,
        "email",
        "Last email: ask whether to close the file for now. Replies often come to this one.",
    ),
)


def ensure_default_cadence(*, now: datetime) -> Cadence:
    """The default cadence, made as migration 0006 makes it if there is none (a database
    emptied by `flush`, before `seed_demo`)."""
    with transaction.atomic():
        found = Cadence.objects.select_for_update().filter(is_default=True).first()
        if found is not None:
            return found
        cadence = Cadence.objects.create(
            name=STANDARD_NAME,
            description="6 touches over 14 days across calls and emails.",
            is_default=True,
            created_at=now,
            updated_at=now,
        )
        CadenceStep.objects.bulk_create(
            CadenceStep(
                cadence=cadence,
                position=position,
                day_offset=step.day_offset,
                channel=step.channel,
                instructions=step.instructions,
            )
            for position, step in enumerate(STANDARD_STEPS, start=1)
        )
    return cadence


@dataclass(frozen=True)
class RuleSpec:
    """A cadence rule as people give it: the cadence, and conditions ("" / None: any)."""

    cadence: str
    segment: str = ""
    grade: str = ""
    campaign: str = ""


def _may_manage(by: User) -> None:
    if not may(by, Capability.MANAGE_CADENCES):
        raise NotPermitted("cadence", "your role may not change cadences")


def _check_steps(steps: Sequence[StepSpec]) -> None:
    if not steps:
        raise FieldError("steps", "a cadence needs at least one step")
    if len(steps) > MAX_STEPS:
        raise FieldError("steps", f"at most {MAX_STEPS} steps")
    previous = 0
    for number, step in enumerate(steps, start=1):
        if step.channel not in CadenceChannel.values:
            raise FieldError(
                f"steps.{number}.channel", f"one of {', '.join(CadenceChannel.values)}"
            )
        if not 0 <= step.day_offset <= MAX_DAY:
            raise FieldError(f"steps.{number}.day_offset", f"a day from 0 to {MAX_DAY}")
        if step.day_offset < previous:
            raise FieldError(
                f"steps.{number}.day_offset",
                f"day {step.day_offset} comes before the step above it (day {previous}):"
                " steps go in the order they are done",
            )
        if len(step.instructions) > 5000:
            raise FieldError(f"steps.{number}.instructions", "at most 5000 characters")
        previous = step.day_offset


def save_cadence(
    *,
    by: User,
    now: datetime,
    cadence: Cadence | None = None,
    name: str | None = None,
    description: str | None = None,
    is_default: bool | None = None,
    steps: Sequence[StepSpec] | None = None,
) -> Cadence:
    """Create a cadence (`cadence` None: name and steps required) or change one. Its steps
    are replaced as given; leads already in it keep their open task and go on with the
    new steps after it. Making it the default takes the flag from the one before; the
    default cannot be un-made, only replaced (every assigned lead needs a cadence)."""
    _may_manage(by)
    creating = cadence is None
    target = cadence or Cadence(created_at=now)
    if name is not None or creating:
        clean = (name or "").strip()
        if not clean:
            raise FieldError("name", "a cadence needs a name")
        if len(clean) > 100:
            raise FieldError("name", "at most 100 characters")
        if Cadence.objects.filter(name__iexact=clean).exclude(pk=target.pk).exists():
            raise FieldError("name", f"there is already a cadence called {clean!r}")
        target.name = clean
    if creating and steps is None:
        raise FieldError("steps", "a cadence needs at least one step")
    if steps is not None:
        _check_steps(steps)
    if is_default is False and target.is_default:
        raise FieldError(
            "is_default", "the default cadence stays the default until another is made default"
        )
    with transaction.atomic():
        if description is not None:
            target.description = description.strip()
        if is_default:
            Cadence.objects.filter(is_default=True).exclude(pk=target.pk).update(is_default=False)
            target.is_default = True
        target.updated_at = now
        target.save()
        if steps is not None:
            CadenceStep.objects.filter(cadence=target).delete()
            CadenceStep.objects.bulk_create(
                CadenceStep(
                    cadence=target,
                    position=position,
                    day_offset=step.day_offset,
                    channel=step.channel,
                    instructions=step.instructions,
                )
                for position, step in enumerate(steps, start=1)
            )
    return target


def set_cadence_rules(rules: Sequence[RuleSpec], *, by: User) -> list[CadenceRule]:
    """Replace the ordered cadence rules with `rules`, first one first. A rule names its
    cadence and campaign by name; an empty condition holds for every lead."""
    _may_manage(by)
    cadences = {c.name.lower(): c for c in Cadence.objects.all()}
    rows = []
    for number, rule in enumerate(rules, start=1):
        cadence = cadences.get(rule.cadence.strip().lower())
        if cadence is None:
            raise FieldError(f"rules.{number}.cadence", f"no cadence called {rule.cadence!r}")
        if rule.segment and rule.segment not in Segment.values:
            raise FieldError(f"rules.{number}.segment", f"one of {', '.join(Segment.values)}")
        if rule.grade and rule.grade not in Grade.values:
            raise FieldError(f"rules.{number}.grade", f"one of {', '.join(Grade.values)}")
        campaign = None
        if rule.campaign:
            campaign = Campaign.objects.filter(name__iexact=rule.campaign.strip()).first()
            if campaign is None:
                raise FieldError(
                    f"rules.{number}.campaign", f"no campaign called {rule.campaign!r}"
                )
        rows.append(
            CadenceRule(
                position=number,
                cadence=cadence,
                segment=rule.segment,
                grade=rule.grade,
                campaign=campaign,
            )
        )
    with transaction.atomic():
        CadenceRule.objects.all().delete()
        return CadenceRule.objects.bulk_create(rows)


def set_attempt_policy(
    team: Team, *, by: User, min_attempts: int, min_channels: int
) -> AttemptPolicy:
    """Set `team`'s minimum attempts before a lead may be dropped for no response."""
    if (
        not may(by, Capability.MANAGE_CADENCES)
        or not editable_teams(by).filter(pk=team.pk).exists()
    ):
        raise NotPermitted("team", f"you may not set the minimum attempts of team {team.name}")
    if not 1 <= min_attempts <= 50:
        raise FieldError("min_attempts", "from 1 to 50 attempts")
    if not 1 <= min_channels <= len(CadenceChannel.values):
        raise FieldError("min_channels", f"from 1 to {len(CadenceChannel.values)} channels")
    if min_channels > min_attempts:
        raise FieldError("min_channels", "cannot be more than the attempts")
    policy, _ = AttemptPolicy.objects.update_or_create(
        team=team, defaults={"min_attempts": min_attempts, "min_channels": min_channels}
    )
    return policy
