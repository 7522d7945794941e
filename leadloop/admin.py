"""What every app's admin shares: history stays as it was written, and a row that leads
hang on is not deleted from under them.

The admin is one more door next to the UI, the API and the CLI: it may show anything, but
a change the services record as history (a stage move, a hand-over, a touch) is made on
the lead's page in the app, never by editing or deleting rows here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest


class HistoryAdmin(admin.ModelAdmin):
    """A history table (stage changes, touches, events, submissions, …): its rows are
    written by the services in the same transaction as the change they record, and the
    funnel, SLA and audit reports are computed from them. The admin lists and shows them;
    nobody adds, edits or deletes one here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class KeepsLeadsAdmin(admin.ModelAdmin):
    """A model whose rows leads hang on (a campaign, a team): deleting one that has leads
    would change those leads with no history of it, so the admin refuses, naming how
    many, on the delete page and in the "delete selected" action alike."""

    delete_confirmation_template = "admin/keeps_leads/delete_confirmation.html"
    delete_selected_confirmation_template = "admin/keeps_leads/delete_selected_confirmation.html"

    def leads_count(self, obj: Any) -> int:
        raise NotImplementedError

    def refusal(self, obj: Any, leads: int) -> str:
        """Why `obj`, with `leads` leads, stays: shown under its name."""
        raise NotImplementedError

    def get_deleted_objects(
        self, objs: Sequence[Any] | QuerySet[Any], request: HttpRequest
    ) -> tuple[list[Any], dict[Any, Any], set[Any], list[Any]]:
        # Django deletes nothing that get_deleted_objects calls protected: the single
        # delete and the bulk action both ask here, on the confirmation page and on POST.
        refusals = [self.refusal(obj, leads) for obj in objs if (leads := self.leads_count(obj))]
        if refusals:
            return [], {}, set(), refusals
        return super().get_deleted_objects(objs, request)
