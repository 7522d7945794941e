"""Operations on people's own records: notifications."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.db import models

from leads.history import history_ids, move_rows
from leads.models import Lead

from .models import Notification

# Notifications about a lead: its history, which follows the person when leads are merged.
LEAD_HISTORY: dict[str, type[models.Model]] = {"notifications": Notification}


def lead_history_ids(lead: Lead) -> dict[str, list[int]]:
    """The ids of the notifications about the lead, as identity.merging records them."""
    return history_ids(LEAD_HISTORY, lead)


def move_lead_history(
    ids: Mapping[str, Sequence[int]], *, to: Lead, only_from: Lead | None = None
) -> dict[str, int]:
    """Give the notifications named by `ids` to the lead `to` (a merge, or its undo)."""
    return move_rows(LEAD_HISTORY, ids, to=to, only_from=only_from)
