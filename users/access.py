"""Who may see which lead: one rule for the UI, the API and every export. What they may
do to a lead they see is the permission table's (`users.permissions`).

- admin and marketing: every lead;
- sales manager: the leads of their team (owned by a member or waiting in the team queue);
- sales rep: their own leads and their team's unassigned queue;
- nobody: a lead merged into another (it lives on in the lead it was merged into).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from .choices import Role

if TYPE_CHECKING:
    from leads.models import Lead

    from .models import User


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


def visible_leads(user: User, queryset: QuerySet[Lead] | None = None) -> QuerySet[Lead]:
    """The leads `user` may see. A lead merged into another (a duplicate) is seen by no one:
    its history lives on the lead it was merged into, and so it is in no list or report."""
    from leads.models import Lead

    qs = queryset if queryset is not None else Lead.objects.all()
    qs = qs.filter(merged_into__isnull=True)
    scope = lead_scope(user)
    return qs if scope is None else qs.filter(scope)


def can_access_lead(user: User, lead: Lead) -> bool:
    return visible_leads(user).filter(pk=lead.pk).exists()


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
