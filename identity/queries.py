"""What other apps read of identity's tables."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from .models import LeadMatchKeys


def lead_ids_with_phone(keys: list[str]) -> QuerySet[LeadMatchKeys, Any]:
    """The ids of the leads whose phone is one of `keys` (E.164), for a subquery.

    `~Q(phone_key="")` repeats the partial index's condition word for word: SQLite uses
    a partial index only when the query says its condition, and a million leads are
    then looked up, not scanned.
    """
    return LeadMatchKeys.objects.filter(~Q(phone_key=""), phone_key__in=keys).values("lead_id")
