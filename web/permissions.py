"""What a signed-in person may do to a lead they can see, and which actions its stage allows.

Seeing a lead is decided by `users.access.visible_leads` (outside it, pages answer 404).
On top of that: sales work (touches, accept, reject, convert, win, lose) is for sales
people and admins; marketing reads and may disqualify; reassigning is for managers and
admins.
"""

from __future__ import annotations

from dataclasses import dataclass

from leads.choices import Stage
from leads.lifecycle import ALLOWED
from leads.models import Lead
from users.choices import Role
from users.models import User


@dataclass(frozen=True)
class Action:
    name: str  # URL slug and form prefix
    label: str
    to_stage: str
    from_stages: frozenset[str]  # where the verb makes sense (a subset of ALLOWED)
    sales_only: bool = True


ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action("accept", "Accept", Stage.ACCEPTED, frozenset({Stage.MQL})),
        Action("reject", "Reject", Stage.RECYCLED, frozenset({Stage.MQL, Stage.ACCEPTED})),
        Action("convert", "Convert to opportunity", Stage.OPPORTUNITY, frozenset({Stage.ACCEPTED})),
        Action("win", "Won", Stage.CUSTOMER, frozenset({Stage.OPPORTUNITY})),
        Action("lose", "Lost", Stage.RECYCLED, frozenset({Stage.OPPORTUNITY})),
        Action(
            "disqualify",
            "Disqualify",
            Stage.DISQUALIFIED,
            frozenset(ALLOWED),
            sales_only=False,
        ),
    )
}


def does_sales_work(user: User) -> bool:
    return user.is_superuser or user.role in {Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP}


def may_reassign(user: User) -> bool:
    return user.is_superuser or user.role in {Role.ADMIN, Role.SALES_MANAGER}


def may_log_touch(user: User) -> bool:
    return does_sales_work(user)


def may_take(user: User, lead: Lead, action: Action) -> bool:
    """True when `user` may do `action` to `lead` in its current stage."""
    if action.sales_only and not does_sales_work(user):
        return False
    return lead.stage in action.from_stages and action.to_stage in ALLOWED.get(
        lead.stage, frozenset()
    )


def available_actions(user: User, lead: Lead) -> list[Action]:
    return [action for action in ACTIONS.values() if may_take(user, lead, action)]


def may_build_forms(user: User) -> bool:
    """Web forms are marketing's: marketing and admins create and change them."""
    return user.is_superuser or user.role in {Role.ADMIN, Role.MARKETING}


def may_import(user: User) -> bool:
    """Bulk imports create leads for everyone: marketing and admins run them."""
    return user.is_superuser or user.role in {Role.ADMIN, Role.MARKETING}


def may_connect_webhooks(user: User) -> bool:
    """Webhook sources connect marketing's webinar and form tools: as for web forms,
    marketing and admins set them up."""
    return user.is_superuser or user.role in {Role.ADMIN, Role.MARKETING}
