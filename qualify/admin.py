from django.contrib import admin

from leads.admin import HistoryAdmin

from .models import EngagementSignal, Event, ScoreChange, ScoringModelVersion


@admin.register(Event)
class EventAdmin(HistoryAdmin):
    """Engagement events: a lead's engagement score is summed from them."""

    list_display = ("lead", "kind", "points", "occurred_at", "campaign")
    list_filter = ("kind",)
    raw_id_fields = ("lead",)


@admin.register(ScoringModelVersion)
class ScoringModelVersionAdmin(HistoryAdmin):
    """Versions of the scoring model: edited and restored on the scoring page (or with
    `leadloop scoring`), so that every change is a new version and leads are rescored."""

    list_display = ("number", "is_active", "created_at", "created_by", "note")


@admin.register(EngagementSignal)
class EngagementSignalAdmin(HistoryAdmin):
    """A lead's decayed count of one engagement signal, kept as its events arrive."""

    list_display = ("lead", "key", "total", "count", "as_of")
    raw_id_fields = ("lead",)


@admin.register(ScoreChange)
class ScoreChangeAdmin(HistoryAdmin):
    """Each change of a lead's score, grade or segment, with the model version."""

    list_display = ("lead", "changed_at", "score", "grade", "segment", "model_version")
    raw_id_fields = ("lead",)
