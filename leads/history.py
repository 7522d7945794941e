"""A lead's history rows follow the person when two leads are merged (and go back when
the merge is undone). Each app says which of its tables are a lead's history and moves
its own rows (`followup.services.move_lead_history`, …); these are the mechanics they
share: the ids of a lead's rows, and moving chosen rows to another lead."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from django.db import models

from .models import Lead


class HistoryOwner(Protocol):
    """An app (its services module) holding rows of a lead's history."""

    LEAD_HISTORY: dict[str, type[models.Model]]

    def lead_history_ids(self, lead: Lead) -> dict[str, list[int]]: ...

    def move_lead_history(
        self, ids: Mapping[str, Sequence[int]], *, to: Lead, only_from: Lead | None = None
    ) -> dict[str, int]: ...


def history_ids(tables: Mapping[str, type[models.Model]], lead: Lead) -> dict[str, list[int]]:
    """The ids of `lead`'s rows in each table (by the name the caller keeps them under)."""
    return {
        name: list(
            model._default_manager.filter(lead=lead).order_by("pk").values_list("pk", flat=True)
        )
        for name, model in tables.items()
    }


def move_rows(
    tables: Mapping[str, type[models.Model]],
    ids: Mapping[str, Sequence[int]],
    *,
    to: Lead,
    only_from: Lead | None = None,
) -> dict[str, int]:
    """Give the rows named by `ids` to the lead `to`; with `only_from`, only those still
    on that lead (an undo leaves rows that moved on since alone). How many moved, per
    table."""
    moved = {}
    for name, model in tables.items():
        rows = model._default_manager.filter(pk__in=ids.get(name, ()))
        if only_from is not None:
            rows = rows.filter(lead=only_from)
        moved[name] = rows.update(lead=to)
    return moved
