"""Forms of the settings screens: people, teams, campaigns, one's own settings.

They parse what a page posts; the services (`users.services.update_user`,
`update_team`, `leads.services.create_campaign`, `update_campaign`) decide what may be
changed and whether a value is good, and their refusals come back next to the field.
"""

from __future__ import annotations

import re
import zoneinfo
from typing import Any

from django import forms
from django.conf import settings

from leads.choices import Channel
from leads.countries import country_name
from leads.models import Campaign
from users.choices import Role
from users.models import Team

WEEKDAYS = [
    (0, "Mon"), (1, "Tue"), (2, "Wed"), (3, "Thu"), (4, "Fri"), (5, "Sat"), (6, "Sun"),
]  # fmt: skip


def timezone_choices() -> list[tuple[str, str]]:
    return [(zone, zone) for zone in sorted(zoneinfo.available_timezones())]


def split_list(text: str) -> list[str]:
    """Values typed one a line or separated by commas."""
    return [part.strip() for part in re.split(r"[,\n]", text or "") if part.strip()]


class PersonForm(forms.Form):
    """A person's settings; only the fields the viewer may change are offered."""

    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.CharField(max_length=254, required=False)
    role = forms.ChoiceField(choices=Role.choices)
    team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"), required=False, empty_label="— no team —"
    )
    is_accepting_leads = forms.BooleanField(
        label="Accepting leads (round robin skips reps who are away)", required=False
    )
    max_open_leads = forms.IntegerField(
        label="Open-lead cap (round robin gives no more; empty: no cap)",
        required=False,
        min_value=1,
    )
    timezone = forms.ChoiceField(label="Time zone", choices=timezone_choices)

    def __init__(self, *args: Any, fields: frozenset[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in list(self.fields):
            if name not in fields:
                del self.fields[name]


class NewPersonForm(forms.Form):
    """A new person; a manager is offered no role or team (a rep of their own team)."""

    username = forms.CharField(max_length=150, help_text="What they log in with")
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.CharField(max_length=254, required=False)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.SALES_REP)
    team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"), required=False, empty_label="— no team —"
    )
    timezone = forms.ChoiceField(
        label="Time zone",
        choices=lambda: [("", "— the team's —"), *timezone_choices()],
        required=False,
    )
    is_accepting_leads = forms.BooleanField(
        label="Accepting leads (round robin skips reps who are away)", required=False, initial=True
    )

    def __init__(self, *args: Any, may_set_role: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not may_set_role:
            del self.fields["role"]
            del self.fields["team"]


class TeamForm(forms.Form):
    timezone = forms.ChoiceField(label="Calendar time zone", choices=timezone_choices)
    workday_start = forms.TimeField(
        label="Working day starts", widget=forms.TimeInput(format="%H:%M")
    )
    workday_end = forms.TimeField(label="Working day ends", widget=forms.TimeInput(format="%H:%M"))
    workdays = forms.TypedMultipleChoiceField(
        label="Working days",
        choices=WEEKDAYS,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    holidays = forms.CharField(
        label="Holidays (YYYY-MM-DD, one a line)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    countries = forms.CharField(
        label="Countries whose leads the team works (one a line)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    sla_hours = forms.IntegerField(label="SLA (business hours to the first touch)")

    @classmethod
    def initial_for(cls, team: Team) -> dict[str, Any]:
        return {
            "timezone": team.timezone,
            "workday_start": team.workday_start,
            "workday_end": team.workday_end,
            "workdays": list(team.workdays),
            "holidays": "\n".join(team.holidays),
            "countries": "\n".join(country_name(code) for code in team.countries),
            "sla_hours": team.sla_hours,
        }

    def changes(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["holidays"] = split_list(data["holidays"])
        data["countries"] = split_list(data["countries"])
        return data


class NewTeamForm(TeamForm):
    name = forms.CharField(max_length=100)

    field_order = ["name"]

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {
            "timezone": "UTC",
            "workday_start": "09:00",
            "workday_end": "17:00",
            "workdays": [0, 1, 2, 3, 4],
            "sla_hours": settings.LEADLOOP_DEFAULT_SLA_HOURS,
        }

    def changes(self) -> dict[str, Any]:
        data = super().changes()
        data.pop("name")
        return data


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=200)
    channel = forms.ChoiceField(choices=Channel.choices)
    cost = forms.DecimalField(max_digits=12, decimal_places=2, min_value=0, initial=0)
    starts_on = forms.DateField(
        label="Starts on", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    ends_on = forms.DateField(
        label="Ends on", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    @classmethod
    def initial_for(cls, campaign: Campaign) -> dict[str, Any]:
        return {
            "name": campaign.name,
            "channel": campaign.channel,
            "cost": campaign.cost,
            "starts_on": campaign.starts_on,
            "ends_on": campaign.ends_on,
        }


class MySettingsForm(forms.Form):
    timezone = forms.ChoiceField(
        label="My time zone (every page shows times in it)", choices=timezone_choices
    )
