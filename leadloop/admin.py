"""What every app's admin shares: history stays as it was written.

The admin is one more door next to the UI, the API and the CLI: it may show anything, but
a change the services record as history (a stage move, a hand-over, a touch) is made on
the lead's page in the app, never by editing or deleting rows here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
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
