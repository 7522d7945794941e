"""Who may do what: one table for the UI, the API and the CLI.

Seeing a lead is `users.access.visible_leads` (outside it, every door answers 404). On a
lead one sees, `may_act` answers whether one's role may take the action and the lead's
stage allows it; `may` answers for a role alone (which buttons a page offers, capabilities
that are not about one lead). Superusers act as admins; inactive users may do nothing.

The table is data, shown in the README ("Who may do what", checked by a test), so the
doors cannot drift apart. Pure: no database, nothing imported from the apps above `users`
but the lifecycle's pure table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from leads.choices import Stage
from leads.lifecycle import ALLOWED, SALES_STAGES

from .choices import Capability, LeadAction, Role


class Person(Protocol):
    """What the table reads of a user."""

    is_active: bool
    is_superuser: bool
    role: str

    @property
    def is_authenticated(self) -> bool: ...


class Staged(Protocol):
    """What the table reads of a lead."""

    stage: str


EVERYONE = frozenset(Role.values)
SALES = frozenset({Role.SALES_REP, Role.SALES_MANAGER, Role.ADMIN})
MANAGERS = frozenset({Role.SALES_MANAGER, Role.ADMIN})
MARKETING = frozenset({Role.MARKETING, Role.ADMIN})
ADMINS = frozenset({Role.ADMIN})

# action -> the roles that may take it (admins, and superusers, may do everything).
ROLES: dict[str, frozenset[str]] = {
    # A call, email or meeting stops the SLA clock: sales reports its own contact.
    LeadAction.LOG_TOUCH: SALES,
    # Marketing nurtures leads and notes what it learns (a webinar question, a reply); a
    # note is no contact and stops no clock, so it cannot make a rep's SLA look met.
    LeadAction.LOG_NOTE: EVERYONE,
    # Sales' feedback on a lead handed to it is sales' to give.
    LeadAction.ACCEPT: SALES,
    LeadAction.REJECT: SALES,
    LeadAction.CONVERT: SALES,
    LeadAction.WIN: SALES,
    LeadAction.LOSE: SALES,
    # Whoever sees a lead may say it will never buy (with a reason).
    LeadAction.DISQUALIFY: EVERYONE,
    # Nurture is marketing's program; sales hands a lead back with `reject`.
    LeadAction.NURTURE: MARKETING,
    # Marketing judges a lead sales-ready when the score has not seen it yet (a call at a
    # trade show); the lead is routed as if it had scored sales-ready.
    LeadAction.SEND_TO_SALES: MARKETING,
    # Moving work between reps is the manager's call.
    LeadAction.REASSIGN: MANAGERS,
    # Forms, imports, webhook sources and event feeds create leads for everyone: they are
    # marketing's tools.
    Capability.BUILD_FORMS: MARKETING,
    Capability.IMPORT: MARKETING,
    Capability.CONNECT_WEBHOOKS: MARKETING,
    Capability.POST_EVENTS: MARKETING,
    # Anyone who sees both leads; a rep only leads they own (`identity.dedup.may_merge`).
    Capability.MERGE_DUPLICATES: EVERYONE,
    # The leads one sees, as CSV.
    Capability.EXPORT: EVERYONE,
    # A manager sets their own team's reps (team, time zone, lead intake: never a role)
    # and their own team's calendar; admins everyone's (`users.services.may_edit_user`).
    Capability.MANAGE_USERS: MANAGERS,
    Capability.MANAGE_TEAMS: MANAGERS,
    # A manager adds reps to their own team (a new hire) and deactivates the ones who
    # leave, never anyone else nor a role above a rep; admins anyone
    # (`users.services.create_user`, `set_user_active`). A team is the installation's
    # shape (routing by country, calendars): admins only.
    Capability.CREATE_USERS: MANAGERS,
    Capability.DEACTIVATE_USERS: MANAGERS,
    Capability.CREATE_TEAMS: ADMINS,
    # Campaigns and their cost are marketing's budget.
    Capability.MANAGE_CAMPAIGNS: MARKETING,
    # Outgoing webhooks send every lead's data (email, owner, stage) to a URL outside
    # Leadloop, and their secrets sign for Leadloop: the installation's admins decide.
    Capability.MANAGE_WEBHOOK_SUBSCRIPTIONS: ADMINS,
    # Who gets which leads is the sales managers' call (rules, and why a lead went where).
    Capability.MANAGE_ROUTING: MANAGERS,
    # Cadence tasks are sales' follow-up: a rep sees and completes their own, a manager
    # sees their team's (and may complete one, e.g. covering for an absent rep).
    Capability.WORK_TASKS: SALES,
    # How sales follows up (cadences, which leads get which) and how much it must try
    # before dropping a lead is the managers' call; a manager sets their own team's
    # minimum attempts, an admin every team's.
    Capability.MANAGE_CADENCES: MANAGERS,
    # The scoring model decides which leads sales sees: marketing tunes it.
    Capability.EDIT_SCORING: MARKETING,
    # Marketing email (templates, test sends, the outbox and the local mailbox) is
    # marketing's voice.
    Capability.SEND_EMAIL: MARKETING,
    # Lists feed nurture programs and bulk actions: marketing's tools. Everyone sees the
    # members of a list within the leads they may see.
    Capability.MANAGE_LISTS: MARKETING,
    # Consent is what a person agreed to receive from marketing: marketing records what
    # a person said (a call, a letter) and names the purposes; sales reads it.
    Capability.MANAGE_CONSENT: MARKETING,
    # Nurture programs send marketing's email on their own: marketing builds and runs them.
    Capability.MANAGE_PROGRAMS: MARKETING,
}


@dataclass(frozen=True)
class StageRule:
    """The stages in which an action applies, and the stage it moves the lead to."""

    from_stages: frozenset[str]
    to_stage: str | None = None  # None: the lead stays where it is


def moves_to(to_stage: str, *, only_from: frozenset[str] | None = None) -> StageRule:
    """A move from the stages the lifecycle allows it from (of `only_from`, if given)."""
    sources = ALLOWED if only_from is None else only_from
    return StageRule(
        frozenset(stage for stage in sources if to_stage in ALLOWED.get(stage, frozenset())),
        to_stage,
    )


ANY_STAGE = frozenset(Stage.values)

# lead action -> where it applies. Moves are subsets of the lifecycle's table.
STAGES: dict[str, StageRule] = {
    # A touch records what happened; it moves nothing, so it fits every stage.
    LeadAction.LOG_TOUCH: StageRule(ANY_STAGE),
    LeadAction.LOG_NOTE: StageRule(ANY_STAGE),
    LeadAction.ACCEPT: moves_to(Stage.ACCEPTED, only_from=frozenset({Stage.MQL})),
    # An opportunity is not rejected: its deal is lost (`lose`), which closes the deal too.
    LeadAction.REJECT: moves_to(Stage.RECYCLED, only_from=frozenset({Stage.MQL, Stage.ACCEPTED})),
    # Only an accepted lead is converted (a customer's new deal is not a conversion).
    LeadAction.CONVERT: moves_to(Stage.OPPORTUNITY, only_from=frozenset({Stage.ACCEPTED})),
    LeadAction.WIN: moves_to(Stage.CUSTOMER),
    LeadAction.LOSE: moves_to(Stage.RECYCLED, only_from=frozenset({Stage.OPPORTUNITY})),
    LeadAction.DISQUALIFY: moves_to(Stage.DISQUALIFIED),
    # Not from an MQL, by anyone: an MQL sits in a rep's inbox with its SLA clock running,
    # and only sales' feedback takes it out (reject, with a reason, recycles it into
    # nurture and clears owner and clock). Pulled back by marketing, it would leave the
    # inbox with no reason given, still owned, its clock silently stopped, and the
    # follow-up reports would never count it as ignored: the leak this product closes.
    LeadAction.NURTURE: moves_to(Stage.NURTURING, only_from=frozenset(ALLOWED) - SALES_STAGES),
    # A lead marketing holds (new, in nurture, recycled) goes to sales as an MQL.
    LeadAction.SEND_TO_SALES: moves_to(
        Stage.MQL, only_from=frozenset({Stage.NEW, Stage.NURTURING, Stage.RECYCLED})
    ),
    # A lead changes hands while it is sales' work; in nurture it has no owner (sales gets
    # it back through routing).
    LeadAction.REASSIGN: StageRule(SALES_STAGES),
}


def role_of(user: Person) -> str | None:
    """The role the table reads: admin for a superuser, none for someone signed out or
    deactivated."""
    if not user.is_authenticated or not user.is_active:
        return None
    return Role.ADMIN if user.is_superuser else user.role


def may(user: Person, action: str) -> bool:
    """Whether `user`'s role may take `action` (a LeadAction or a Capability)."""
    role = role_of(user)
    return role is not None and role in ROLES[action]


def stage_allows(stage: str, action: str) -> bool:
    return stage in STAGES[action].from_stages


def may_act(user: Person, lead: Staged, action: str) -> bool:
    """Whether `user` may take `action` on `lead` in its current stage. The lead must be
    one `user` sees (`users.access.visible_leads`): doors look leads up through it."""
    return may(user, action) and stage_allows(lead.stage, action)


def lead_actions(user: Person, lead: Staged) -> list[LeadAction]:
    """The actions `user` may take on `lead` now, in the table's order."""
    return [action for action in LeadAction if may_act(user, lead, action)]


# --- The table as the README shows it -------------------------------------------------

ROLE_COLUMNS = (Role.SALES_REP, Role.SALES_MANAGER, Role.MARKETING, Role.ADMIN)


def _stages(action: str) -> str:
    rule = STAGES[action]
    if rule.from_stages == ANY_STAGE:
        stages = "any"
    else:
        stages = ", ".join(stage for stage in Stage.values if stage in rule.from_stages)
    return f"{stages} → {rule.to_stage}" if rule.to_stage else stages


def _table(first: list[str], rows: list[tuple[str, list[str]]]) -> list[str]:
    header = [*first, *(str(role.label) for role in ROLE_COLUMNS)]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for action, cells in rows:
        marks = ["yes" if role in ROLES[action] else "—" for role in ROLE_COLUMNS]
        lines.append("| " + " | ".join([*cells, *marks]) + " |")
    return lines


def markdown_table() -> str:
    """The table in Markdown, as the README shows it ("Who may do what"): lead actions
    with the stages they apply in, then the capabilities beyond one lead."""
    actions = _table(
        ["on a lead one sees", "in stage"],
        [(a, [f"{a.label} (`{a.value}`)", _stages(a)]) for a in LeadAction],
    )
    capabilities = _table(
        ["beyond one lead"], [(c, [f"{c.label} (`{c.value}`)"]) for c in Capability]
    )
    return "\n".join([*actions, "", *capabilities]) + "\n"
