"""Forms of the content stream screens: a stream (rule, cadence, slot, purpose) and a
piece. nurture.streams decides what may be saved; its refusals come back next to the
field."""

from __future__ import annotations

from typing import Any

from django import forms

from nurture.choices import PieceKind, StreamStatus
from nurture.models import ContentPiece, ContentStream, EmailTemplate, LeadList
from nurture.rules_streams import WEEKDAYS
from nurture.streams import ENROL_SEGMENTS

WEEKDAY_CHOICES = [("", "any day"), *((str(i), day.capitalize()) for i, day in enumerate(WEEKDAYS))]
HOUR_CHOICES = [("", "any hour"), *((str(h), f"{h:02d}:00") for h in range(24))]


class StreamForm(forms.Form):
    name = forms.CharField(max_length=100)
    status = forms.ChoiceField(choices=StreamStatus.choices, initial=StreamStatus.ACTIVE)
    enrol_list = forms.ModelChoiceField(
        queryset=LeadList.objects.order_by("name"),
        required=False,
        label="Enrol the members of list",
    )
    enrol_segment = forms.ChoiceField(
        choices=[("", "—"), *((s, s.replace("_", " ")) for s in ENROL_SEGMENTS)],
        required=False,
        label="… and/or the leads of segment",
    )
    cadence_days = forms.IntegerField(min_value=1, max_value=365, initial=7, label="Every (days)")
    send_weekday = forms.ChoiceField(
        choices=WEEKDAY_CHOICES, required=False, label="On (lead's time zone)"
    )
    send_hour = forms.ChoiceField(
        choices=HOUR_CHOICES, required=False, label="At (lead's time zone)"
    )
    purpose = forms.SlugField(max_length=50, initial="newsletter", label="Consent purpose")

    @classmethod
    def initial_for(cls, stream: ContentStream) -> dict[str, Any]:
        return {
            "name": stream.name,
            "status": stream.status,
            "enrol_list": stream.enrol_list_id,
            "enrol_segment": stream.enrol_segment,
            "cadence_days": stream.cadence_days,
            "send_weekday": "" if stream.send_weekday is None else str(stream.send_weekday),
            "send_hour": "" if stream.send_hour is None else str(stream.send_hour),
            "purpose": stream.purpose,
        }

    def fields_for_service(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["send_weekday"] = data["send_weekday"] or None
        data["send_hour"] = data["send_hour"] or None
        return data


class PieceForm(forms.Form):
    title = forms.CharField(max_length=200)
    url = forms.CharField(max_length=500, label="URL")
    kind = forms.ChoiceField(choices=PieceKind.choices, initial=PieceKind.WHITEPAPER)
    template = forms.ModelChoiceField(
        queryset=EmailTemplate.objects.order_by("name"),
        label="Email template",
        help_text="It reads {{ piece.title }} and {{ piece.url }} beside the lead's merge fields.",
    )

    @classmethod
    def initial_for(cls, piece: ContentPiece) -> dict[str, Any]:
        return {
            "title": piece.title,
            "url": piece.url,
            "kind": piece.kind,
            "template": piece.template_id,
        }
