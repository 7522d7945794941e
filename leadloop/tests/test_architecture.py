"""The app map of docs/architecture.md, checked against the code: which app may import
which, and that the core tables are written only by their owner."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# app → the apps its code may import (docs/architecture.md, "Who may call whom"). The
# journey reads downwards: capture → identity → qualify → routing → followup, nurture
# beside them, on the ground of leads and users; adapters (api, web, demo) on top.
MAY_IMPORT: dict[str, set[str]] = {
    "users": {"leads"},
    "leads": {"users"},
    "routing": {"leads", "users"},
    "followup": {"leads", "users", "routing"},
    "qualify": {"leads", "users", "routing"},
    # Merges ask each owner to move its rows of the lead's history.
    "identity": {"leads", "users", "capture", "qualify", "routing", "followup", "nurture"},
    # Consent is recorded where a lead comes in (nurture.consent.record).
    "capture": {"leads", "users", "identity", "qualify", "routing", "nurture"},
    "imports": {"leads", "users", "capture", "identity", "qualify", "routing", "nurture"},
    # Programs hand leads to sales (routing.services.send_to_sales).
    "nurture": {"leads", "users", "qualify", "routing"},
    "analytics": {"leads", "users", "routing", "followup"},
    # Reads the history others write (stage changes, assignments, breach notifications).
    "outgoing_webhooks": {"leads", "users", "routing"},
    "api": {"leads", "users", "capture", "imports", "identity", "qualify", "routing",
            "followup", "nurture", "analytics", "outgoing_webhooks"},
    "web": {"leads", "users", "capture", "imports", "identity", "qualify", "routing",
            "followup", "nurture", "analytics", "outgoing_webhooks"},
    "demo": {"leads", "users", "capture", "imports", "identity", "qualify", "routing",
             "followup", "nurture", "analytics", "outgoing_webhooks"},
    "leadloop": {"api"},
}  # fmt: skip
APPS = set(MAY_IMPORT)


def code_of(app: str) -> list[Path]:
    return [
        path
        for path in (ROOT / app).rglob("*.py")
        if "tests" not in path.parts and "migrations" not in path.parts
    ]


def imported_apps(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
    return found & APPS


@pytest.mark.parametrize("app", sorted(APPS))
def test_an_app_imports_only_the_apps_the_map_allows(app: str) -> None:
    wrong = {
        f"{path.relative_to(ROOT)} imports {other}"
        for path in code_of(app)
        for other in imported_apps(path) - MAY_IMPORT[app] - {app}
    }

    assert wrong == set()


def test_the_map_in_the_docs_is_the_map_in_the_code() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    documented: dict[str, set[str]] = {}
    for line in text.splitlines():
        if match := re.match(r"\| `(\w+)/` \|.*\| ([^|]*) \|$", line):
            documented[match[1]] = set(re.findall(r"`(\w+)`", match[2]))

    assert documented == MAY_IMPORT


# Writes of the lead, stage-change and membership tables: leads/ is their only writer.
CORE_WRITE = re.compile(
    r"\b(Lead|StageChange|CampaignMember)\.objects\b[^\n]*?"
    r"\.(update|delete|create|bulk_create|bulk_update|get_or_create|update_or_create)\("
    r"|\blead\.save\("
)


def test_only_leads_writes_the_lead_stage_change_and_membership_tables() -> None:
    writers = {
        f"{path.relative_to(ROOT)}:{number}"
        for app in APPS - {"leads"}
        for path in code_of(app)
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if CORE_WRITE.search(line)
    }

    assert writers == set()
