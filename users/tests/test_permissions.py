"""The permission table: who may take which action, in which stage. Pure: no database."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from leads.choices import Stage
from leads.lifecycle import ALLOWED
from users.choices import Capability, LeadAction, Role
from users.permissions import ROLES, STAGES, lead_actions, markdown_table, may, may_act


@dataclass
class Someone:
    role: str = Role.SALES_REP
    is_superuser: bool = False
    is_active: bool = True
    is_authenticated: bool = True


@dataclass
class AtStage:
    stage: str


def test_every_action_and_capability_has_a_row() -> None:
    assert set(ROLES) == set(LeadAction) | set(Capability)
    assert set(STAGES) == set(LeadAction)


@pytest.mark.parametrize("action", [a for a in LeadAction if STAGES[a].to_stage])
def test_every_move_is_one_the_lifecycle_allows(action: LeadAction) -> None:
    rule = STAGES[action]
    assert rule.from_stages
    assert all(rule.to_stage in ALLOWED[stage] for stage in rule.from_stages)


def test_admins_may_do_everything_and_superusers_act_as_admins() -> None:
    superuser = Someone(role=Role.SALES_REP, is_superuser=True)
    for action in [*LeadAction, *Capability]:
        assert may(Someone(role=Role.ADMIN), action)
        assert may(superuser, action)


def test_someone_deactivated_or_signed_out_may_do_nothing() -> None:
    for person in (
        Someone(role=Role.ADMIN, is_active=False),
        Someone(role=Role.ADMIN, is_authenticated=False),
    ):
        assert not any(may(person, action) for action in [*LeadAction, *Capability])


@pytest.mark.parametrize(
    ("role", "stage", "actions"),
    [
        (Role.SALES_REP, Stage.MQL, ["log_touch", "log_note", "accept", "reject", "disqualify"]),
        (Role.SALES_REP, Stage.ACCEPTED, ["log_touch", "log_note", "reject", "convert", "disqualify"]),
        (Role.SALES_REP, Stage.OPPORTUNITY, ["log_touch", "log_note", "win", "lose"]),
        (Role.SALES_MANAGER, Stage.MQL, ["log_touch", "log_note", "accept", "reject", "disqualify", "reassign"]),
        (Role.SALES_MANAGER, Stage.RECYCLED, ["log_touch", "log_note", "disqualify"]),
        # Marketing notes and disqualifies what it sees; an MQL is sales' to hand back.
        (Role.MARKETING, Stage.MQL, ["log_note", "disqualify"]),
        (Role.MARKETING, Stage.NEW, ["log_note", "disqualify", "nurture", "send_to_sales"]),
        (Role.MARKETING, Stage.NURTURING, ["log_note", "disqualify", "send_to_sales"]),
        (Role.MARKETING, Stage.RECYCLED, ["log_note", "disqualify", "nurture", "send_to_sales"]),
        (Role.MARKETING, Stage.DISQUALIFIED, ["log_note", "nurture"]),
        (Role.ADMIN, Stage.MQL, ["log_touch", "log_note", "accept", "reject", "disqualify", "reassign"]),
        (Role.ADMIN, Stage.CUSTOMER, ["log_touch", "log_note"]),
    ],
)  # fmt: skip
def test_the_actions_a_role_may_take_in_a_stage(role: str, stage: str, actions: list[str]) -> None:
    assert lead_actions(Someone(role=role), AtStage(stage)) == actions


def test_nobody_moves_an_mql_back_to_nurture() -> None:
    mql = AtStage(Stage.MQL)
    assert not any(may_act(Someone(role=role), mql, LeadAction.NURTURE) for role in Role.values)


NOT_MARKETINGS = {
    "manage_users",
    "create_users",
    "deactivate_users",
    "manage_teams",
    "create_teams",
    "manage_webhook_subscriptions",
    "manage_routing",
    "work_tasks",
    "manage_cadences",
}


@pytest.mark.parametrize(
    ("role", "capabilities"),
    [
        (Role.SALES_REP, ["merge_duplicates", "export", "work_tasks"]),
        (
            Role.SALES_MANAGER,
            [
                "merge_duplicates",
                "export",
                "manage_users",
                "create_users",
                "deactivate_users",
                "manage_teams",
                "manage_routing",
                "work_tasks",
                "manage_cadences",
            ],
        ),
        (Role.MARKETING, [c.value for c in Capability if c not in NOT_MARKETINGS]),
        (Role.ADMIN, [c.value for c in Capability]),
    ],
)
def test_the_capabilities_of_each_role(role: str, capabilities: list[str]) -> None:
    assert [c.value for c in Capability if may(Someone(role=role), c)] == capabilities


def test_the_table_stands_on_the_ground_only() -> None:
    # users is the ground every app stands on: of the apps above it, the table may read only
    # the lifecycle's pure table and the stage names.
    tree = ast.parse(Path(__file__).parents[1].joinpath("permissions.py").read_text())
    imported = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
    }
    assert imported == {"__future__", "dataclasses", "typing", "leads.choices", "leads.lifecycle"}


def test_the_readme_shows_the_table_of_the_code() -> None:
    # The README's "Who may do what" is the table people read: it must be this one.
    readme = Path(__file__).parents[2].joinpath("README.md").read_text()
    section = readme.split("\n## Who may do what\n", 1)[1].split("\n## ", 1)[0]
    shown = [line for line in section.splitlines() if line.startswith("|")]
    expected = [line for line in markdown_table().splitlines() if line]
    assert shown == expected, "paste users.permissions.markdown_table() into README.md:\n" + (
        markdown_table()
    )
