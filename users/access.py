"""Who may see which lead: one rule for the UI, the API and every export. What they may
do to a lead they see is the permission table's (`users.permissions`).

- admin and marketing: every lead;
- sales manager: the leads of their team (owned by a member or waiting in the team queue),
  and, read-only, the leads their team handed back (recycled, the move there made by a
  member of the team), so they can coach on the reasons;
- sales rep: their own leads and their team's unassigned queue;
- nobody: a lead merged into another (it lives on in the lead it was merged into).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import OuterRef, Q, QuerySet, Subquery

from .choices import Capability, Role

if TYPE_CHECKING:
    from leads.models import Lead

    from .models import Team, User


def lead_scope(user: User) -> Q | None:
    """The filter that limits leads to what `user` may see; None means everything."""
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if user.sees_everything:
        return None
    if user.is_manager:
        if user.team_id is None:
            return Q(pk__in=[])
        return Q(team_id=user.team_id) | Q(owner__team_id=user.team_id)
    own = Q(owner_id=user.pk)
    if user.team_id is not None:
        own |= Q(owner__isnull=True, team_id=user.team_id)
    return own


def handed_back_scope(user: User) -> Q | None:
    """The leads `user` sees read-only: for a manager, the recycled leads whose move to
    recycled (the last stage change of a recycled lead) was made by a member of the
    manager's team, so the reasons reps give can be coached. None: no such leads."""
    from leads.choices import Stage
    from leads.models import Lead, StageChange

    if not user.is_authenticated or not user.is_active or not user.is_manager:
        return None
    if user.team_id is None:
        return None
    last_mover_team = Subquery(
        StageChange.objects.filter(lead_id=OuterRef("pk"))
        .order_by("-changed_at", "-pk")
        .values("changed_by__team_id")[:1]
    )
    handed_back = Lead.objects.filter(stage=Stage.RECYCLED).alias(mover_team=last_mover_team)
    return Q(pk__in=handed_back.filter(mover_team=user.team_id).values("pk"))


def visible_leads(user: User, queryset: QuerySet[Lead] | None = None) -> QuerySet[Lead]:
    """The leads `user` may see: the ones they work (`workable_leads`) and the ones they
    see read-only (`handed_back_scope`). A lead merged into another (a duplicate) is seen
    by no one: its history lives on the lead it was merged into, and so it is in no list
    or report."""
    from leads.models import Lead

    qs = queryset if queryset is not None else Lead.objects.all()
    qs = qs.filter(merged_into__isnull=True)
    scope = lead_scope(user)
    if scope is None:
        return qs
    read_only = handed_back_scope(user)
    return qs.filter(scope if read_only is None else scope | read_only)


def workable_leads(user: User, queryset: QuerySet[Lead] | None = None) -> QuerySet[Lead]:
    """The leads `user` sees and may act on (within the permission table): visible leads
    less the ones seen read-only."""
    from leads.models import Lead

    qs = queryset if queryset is not None else Lead.objects.all()
    qs = qs.filter(merged_into__isnull=True)
    scope = lead_scope(user)
    return qs if scope is None else qs.filter(scope)


def can_access_lead(user: User, lead: Lead) -> bool:
    """Whether `user` sees `lead` (perhaps read-only)."""
    return visible_leads(user).filter(pk=lead.pk).exists()


def is_read_only(user: User, lead: Lead) -> bool:
    """Whether `user` sees `lead` only read-only, given that they see it: no query for
    those who see nothing read-only."""
    if handed_back_scope(user) is None:
        return False
    return not workable_leads(user).filter(pk=lead.pk).exists()


def may_work_lead(user: User, lead: Lead) -> bool:
    """Whether `user` sees `lead` and may act on it: not a lead seen read-only."""
    return workable_leads(user).filter(pk=lead.pk).exists()


def reassign_targets(user: User, lead: Lead | None = None) -> QuerySet[User]:
    """The reps `user` may hand a lead to: a manager's own team; for an admin, the lead's
    team (or every rep, for a lead in no team). Whether `user` may reassign at all is the
    permission table's (`users.permissions`, "reassign")."""
    from .models import User

    reps = User.objects.filter(is_active=True, role=Role.SALES_REP).order_by("username")
    if user.is_manager:
        return reps.filter(team_id=user.team_id) if user.team_id else reps.none()
    if lead is not None and lead.team_id:
        return reps.filter(team_id=lead.team_id)
    return reps


def editable_users(user: User) -> QuerySet[User]:
    """The people whose settings `user` may change: an admin everyone, a manager the reps
    of their own team (and themselves), anyone else nobody (but their own time zone:
    `users.services.update_user`)."""
    from .models import User
    from .permissions import may, role_of

    people = User.objects.order_by("username")
    if not may(user, Capability.MANAGE_USERS):
        return people.none()
    if role_of(user) == Role.ADMIN:
        return people
    if user.team_id is None:
        return people.filter(pk=user.pk)
    return people.filter(Q(team_id=user.team_id, role=Role.SALES_REP) | Q(pk=user.pk))


def editable_teams(user: User) -> QuerySet[Team]:
    """The teams whose calendar `user` may change: an admin every team, a manager their
    own."""
    from .models import Team
    from .permissions import may, role_of

    teams = Team.objects.order_by("name")
    if not may(user, Capability.MANAGE_TEAMS):
        return teams.none()
    if role_of(user) == Role.ADMIN:
        return teams
    return teams.filter(pk=user.team_id) if user.team_id else teams.none()


def user_fields(user: User, person: User) -> frozenset[str]:
    """What `user` may change of `person`: an admin name, email, role, team, lead intake
    and time zone;
    a manager a rep's lead intake and time zone (never a role or another team); anyone
    their own time zone."""
    from .permissions import role_of

    if role_of(user) == Role.ADMIN:
        return USER_FIELDS
    if editable_users(user).filter(pk=person.pk).exists():
        return frozenset({"is_accepting_leads", "max_open_leads", "timezone"})
    if user.is_authenticated and user.is_active and user.pk == person.pk:
        return frozenset({"timezone"})
    return frozenset()


# The settings of a person the app lets one change; an admin also corrects their name
# and email (passwords are set by the person, through a set-password link).
USER_FIELDS = frozenset(
    {
        "first_name",
        "last_name",
        "email",
        "role",
        "team",
        "is_accepting_leads",
        "max_open_leads",
        "timezone",
    }
)
