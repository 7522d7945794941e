"""Forms of the internal pages: list filters, funnel filters, disqualify, nurture and
reassign."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from analytics.followup import AGE_BUCKETS, ATTEMPT_BUCKETS, FIGURE_LABELS
from analytics.services import FOLLOWUP_BY, followup_lead_ids
from identity.queries import lead_ids_with_phone
from identity.rules import phone_search_keys
from leads.choices import Segment, Stage
from leads.lifecycle import FUNNEL
from leads.models import Campaign, Lead
from leads.queries import reached_stage
from nurture.models import LeadList, ListMember
from users.choices import Role
from users.models import User

UNASSIGNED = "none"


def owner_choices(viewer: User) -> list[tuple[str, str]]:
    """People whose leads `viewer` may filter by: everyone in sales, the team, or oneself."""
    people = User.objects.filter(is_active=True, role__in=[Role.SALES_REP, Role.SALES_MANAGER])
    if not viewer.sees_everything:
        people = (
            people.filter(team_id=viewer.team_id) if viewer.team_id else people.filter(pk=viewer.pk)
        )
    choices = [("", "Anyone"), (UNASSIGNED, "Unassigned")]
    choices += [
        (str(pk), (f"{first} {last}".strip() or username))
        for pk, username, first, last in people.order_by("username").values_list(
            "pk", "username", "first_name", "last_name"
        )
    ]
    return choices


class ArrivalPeriodForm(forms.Form):
    """The days leads arrived in, as the funnel counts them: from `since` to `until`,
    both inclusive, in the viewer's zone."""

    since = forms.DateField(
        required=False, label="Arrived from", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="to (inclusive)", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", "must not be before the start date")
        return data

    def period(self) -> tuple[datetime | None, datetime | None]:
        """The chosen days as aware datetimes in the viewer's zone; the end is exclusive."""
        tz = timezone.get_current_timezone()
        since, until = self.cleaned_data.get("since"), self.cleaned_data.get("until")
        start = datetime.combine(since, time.min, tz) if since else None
        end = datetime.combine(until + timedelta(days=1), time.min, tz) if until else None
        return start, end


STAGE_LABELS = dict(Stage.choices)


SEARCH_MAX = 200


class LeadFilterForm(ArrivalPeriodForm):
    """The lead list's filters, in the URL (GET) so a filtered list can be bookmarked and
    shared. The search box stops at SEARCH_MAX characters (maxlength); a longer search
    (a pasted or hand-made URL) is cut, and the page says so, rather than refused."""

    q = forms.CharField(
        required=False, label="Search", widget=forms.TextInput(attrs={"maxlength": SEARCH_MAX})
    )
    stage = forms.ChoiceField(choices=[("", "Any stage"), *Stage.choices], required=False)
    # Reached is not "in it now": a customer reached "new" too (the funnel's counts).
    reached = forms.ChoiceField(
        choices=[("", "Any"), *((stage, STAGE_LABELS[stage]) for stage in FUNNEL)],
        required=False,
        label="Reached stage",
    )
    segment = forms.ChoiceField(choices=[("", "Any segment"), *Segment.choices], required=False)
    owner = forms.ChoiceField(required=False)
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.order_by("name"), required=False, empty_label="Any campaign"
    )
    # The leads behind a number of the follow-up report (analytics.followup): the turns
    # given to reps on the chosen days, narrowed to one figure and one rep, team or
    # campaign. Kept as hidden fields, so other filters narrow them further.
    followup = forms.ChoiceField(
        choices=[("", ""), *FIGURE_LABELS.items()], required=False, widget=forms.HiddenInput
    )
    bucket = forms.ChoiceField(
        choices=[("", ""), *((b, b) for b in (*ATTEMPT_BUCKETS, *AGE_BUCKETS))],
        required=False,
        widget=forms.HiddenInput,
    )
    by = forms.ChoiceField(
        choices=[(b, b) for b in FOLLOWUP_BY], required=False, widget=forms.HiddenInput
    )
    # -1: the row of no team or no campaign (analytics.services.NONE_KEY).
    key = forms.IntegerField(required=False, min_value=-1, widget=forms.HiddenInput)
    given_to = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    given_since = forms.DateField(required=False, widget=forms.HiddenInput)
    given_until = forms.DateField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, viewer: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.viewer = viewer
        self.fields["owner"].choices = owner_choices(viewer)  # type: ignore[attr-defined]
        # The members of a list (nurture.lists), among the leads the viewer sees. Set here:
        # a class attribute named `list` would hide the builtin in the class body.
        self.fields["list"] = forms.ModelChoiceField(
            queryset=LeadList.objects.order_by("name"), required=False, empty_label="Any list"
        )
        self.search_was_cut = False
        # A number typed without its country code is read in the viewer's team's countries.
        self.countries = [str(c) for c in viewer.team.countries] if viewer.team else []

    def clean_q(self) -> str:
        search: str = self.cleaned_data["q"]
        if len(search) > SEARCH_MAX:
            self.search_was_cut = True
            return search[:SEARCH_MAX]
        return search

    def apply(self, leads: QuerySet[Lead]) -> QuerySet[Lead]:
        """Narrow `leads` (already limited to what the viewer may see) in the database."""
        if not self.is_valid():
            return leads.none()
        data = self.cleaned_data
        phones = phone_search_keys(data["q"], self.countries) if data["q"] else []
        if phones:
            # A phone number as typed: the lead's phone is stored as typed, its E.164
            # form is identity's match key (indexed).
            leads = leads.filter(pk__in=lead_ids_with_phone(phones))
        elif data["q"]:
            for word in data["q"].split()[:5]:
                leads = leads.filter(
                    Q(email__icontains=word)
                    | Q(first_name__icontains=word)
                    | Q(last_name__icontains=word)
                    | Q(company_name__icontains=word)
                )
        if data["stage"]:
            leads = leads.filter(stage=data["stage"])
        if data["reached"]:
            leads = reached_stage(leads, data["reached"])
        since, until = self.period()
        if since is not None:
            leads = leads.filter(arrived_at__gte=since)
        if until is not None:
            leads = leads.filter(arrived_at__lt=until)
        if data["segment"]:
            leads = leads.filter(segment=data["segment"])
        if data["owner"] == UNASSIGNED:
            leads = leads.filter(owner__isnull=True)
        elif data["owner"]:
            leads = leads.filter(owner_id=int(data["owner"]))
        if data["campaign"] is not None:
            # One membership per campaign and lead: this join never repeats a lead.
            leads = leads.filter(memberships__campaign=data["campaign"])
        if data["list"] is not None:
            leads = leads.filter(
                Exists(ListMember.objects.filter(lead_list=data["list"], lead_id=OuterRef("pk")))
            )
        if data["followup"]:
            leads = leads.filter(pk__in=self._followup_ids(data))
        return leads

    def _followup_ids(self, data: dict[str, Any]) -> QuerySet[Any, int]:
        tz = timezone.get_current_timezone()
        since, until = data["given_since"], data["given_until"]
        try:
            return followup_lead_ids(
                self.viewer,
                figure=data["followup"],
                bucket=data["bucket"],
                by=data["by"] or "rep",
                key=data["key"],
                since=datetime.combine(since, time.min, tz) if since else None,
                until=datetime.combine(until + timedelta(days=1), time.min, tz) if until else None,
                rep_id=data["given_to"],
                now=timezone.now(),
            )
        except ValueError as error:
            self.add_error("bucket", str(error))
            return Lead.objects.none().values_list("pk", flat=True)

    def followup_caption(self) -> str:
        """What the list shows when it came from the follow-up report, in words."""
        if not self.is_valid() or not self.cleaned_data["followup"]:
            return ""
        data = self.cleaned_data
        words = FIGURE_LABELS[data["followup"]]
        if data["bucket"]:
            words += f" ({data['bucket']}{' attempts' if data['bucket'][0].isdigit() else ''})"
        period = " – ".join(str(d) for d in (data["given_since"], data["given_until"]) if d)
        return f"Follow-up: {words}" + (f", given {period}" if period else "")


class FunnelFilterForm(ArrivalPeriodForm):
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.order_by("name"), required=False, empty_label="All campaigns"
    )
    field_order = ["campaign", "since", "until"]


class DisqualifyForm(forms.Form):
    reason = forms.CharField(
        label="Why will they never buy?",
        required=False,
        max_length=1000,
        widget=forms.TextInput(attrs={"required": True, "placeholder": "e.g. competitor, student"}),
    )


class NurtureForm(forms.Form):
    reason = forms.CharField(
        label="Why back to nurture? (required for a disqualified lead)",
        required=False,
        max_length=1000,
    )


class SendToSalesForm(forms.Form):
    reason = forms.CharField(label="Why is it sales-ready? (kept in its history)", max_length=1000)


class ReassignForm(forms.Form):
    """The rep to give a lead to, by username: the page offers the reps the viewer may
    give it to (`users.access.reassign_targets`), and `followup.actions.act_on_lead`
    decides, as for the API. The reason is optional and kept in the lead's history. Both
    pages show it through one include, `web/_reassign_form.html`."""

    to = forms.CharField(label="Give to", max_length=150, widget=forms.Select)
    reason = forms.CharField(
        label="Why?",
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs={"placeholder": "e.g. on leave"}),
    )

    def __init__(self, *args: Any, reps: Iterable[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to"].widget.choices = [  # type: ignore[attr-defined]
            (rep.username, rep.display_name) for rep in reps
        ]


class FollowupFilterForm(forms.Form):
    """The follow-up report's filters: the grouping and the days the leads were given to
    reps (both inclusive, in the viewer's zone)."""

    by = forms.ChoiceField(
        choices=[("rep", "Rep"), ("team", "Team"), ("campaign", "Campaign")],
        required=False,
        label="Per",
    )
    rep = forms.ChoiceField(required=False, label="Rep")
    since = forms.DateField(
        required=False, label="Given from", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="to (inclusive)", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, viewer: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The reps whose figures the viewer may see: owner_choices less "unassigned".
        self.fields["rep"].choices = [  # type: ignore[attr-defined]
            (value, label) for value, label in owner_choices(viewer) if value != UNASSIGNED
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", "must not be before the start date")
        return data

    def rep_id(self) -> int | None:
        rep = self.cleaned_data.get("rep")
        return int(rep) if rep else None

    def period(self) -> tuple[datetime | None, datetime | None]:
        tz = timezone.get_current_timezone()
        since, until = self.cleaned_data.get("since"), self.cleaned_data.get("until")
        start = datetime.combine(since, time.min, tz) if since else None
        end = datetime.combine(until + timedelta(days=1), time.min, tz) if until else None
        return start, end
