"""`seed_demo` tells the product's story, through the real services, and only once."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from analytics.services import funnel_report
from capture.models import WebForm
from capture.services import capture_lead
from demo.nurture_story import RECORDING_PROGRAM
from demo.story import HABIT_CAMPAIGN, overdue_leads
from followup.choices import OpportunityStatus
from followup.models import Enrolment, Opportunity, Task
from identity.rules import FREE_MAIL_DOMAINS
from leads.choices import Channel, MemberStatus, Stage
from leads.models import Account, CampaignMember, Lead, StageChange
from nurture.models import ConsentState, MailboxMessage, Message, PieceDelivery, Program
from nurture.models import Enrolment as Enrolment_
from routing import rollup
from users.choices import Role
from users.models import Notification, Team, User

pytestmark = pytest.mark.django_db


def test_seed_demo_tells_the_story_and_runs_only_once() -> None:
    out = StringIO()

    call_command("seed_demo", leads=150, seed=7, stdout=out)

    # --leads below the webinar's 250 registrants: 250 + the 50 others (and the follow-up
    # habits' leads, from their own campaign).
    story = Lead.objects.exclude(first_campaign__name=HABIT_CAMPAIGN)
    assert story.count() == 300
    webinar = CampaignMember.objects.filter(campaign__channel=Channel.WEBINAR)
    assert webinar.count() == 250
    assert webinar.filter(status=MemberStatus.ATTENDED).count() == 83
    assert webinar.filter(status=MemberStatus.NO_SHOW).count() == 167

    # Every lead arrived as `new` and moved on; every other stage holds leads now.
    assert (
        StageChange.objects.filter(from_stage="", to_stage=Stage.NEW).count()
        == Lead.objects.count()
    )
    present = set(Lead.objects.values_list("stage", flat=True))
    assert present == set(Stage.values) - {Stage.NEW}
    admin = User.objects.get(username="admin")
    steps = funnel_report(admin).steps
    assert [step.stage for step in steps] == ["new", "mql", "accepted", "opportunity", "customer"]
    assert all(step.reached > 0 for step in steps)
    # Nurture lifted some leads to sales-ready after they arrived.
    assert StageChange.objects.filter(from_stage=Stage.NURTURING, to_stage=Stage.MQL).exists()
    statuses = set(Opportunity.objects.values_list("status", flat=True))
    assert statuses == {OpportunityStatus.OPEN, OpportunityStatus.WON, OpportunityStatus.LOST}
    assert StageChange.objects.filter(to_stage=Stage.RECYCLED).exclude(reason="").exists()

    # Its scoring model reads more than BANT (industry, pricing visits) and old activity
    # fades: every lead has a grade and says why.
    labels = {
        reason["label"]
        for reasons in Lead.objects.values_list("score_reasons", flat=True)
        for reason in reasons
    }
    assert {"software company", "visited pricing", "engagement faded"} <= labels
    assert set(Lead.objects.values_list("grade", flat=True)) == {"A", "B", "C", "D"}

    # Right now, reps have untouched leads past their SLA, and managers heard of breaches.
    overdue = Lead.objects.filter(overdue_leads(timezone.now()))
    assert overdue.count() >= 5
    assert overdue.values("owner").distinct().count() >= 4
    assert set(overdue.values_list("owner__role", flat=True)) == {Role.SALES_REP}
    assert Notification.objects.filter(
        kind="sla_breach", recipient__role=Role.SALES_MANAGER
    ).exists()

    # Follow-up habits: the rep who gives up after one call has only overdue tasks and one
    # touch per lead; the diligent one's cadence ran out and the lead went back, recycled.
    habit = Lead.objects.filter(first_campaign__name=HABIT_CAMPAIGN)
    quitter = habit.filter(owner__username="rep3")
    assert quitter.count() >= 5
    # (A lead that arrived hours ago may not have had its first call yet, at some hours of
    # the day the demo is seeded at; every one older than two days has had exactly one.)
    assert {lead.touches.count() for lead in quitter} <= {0, 1}
    settled = quitter.filter(arrived_at__lt=timezone.now() - timedelta(days=2))
    assert settled.exists() and {lead.touches.count() for lead in settled} == {1}
    assert all(
        Task.objects.get(lead=lead, status="open").due_at < timezone.now() for lead in quitter
    )
    assert Enrolment.objects.filter(status="ran_out", lead__in=habit).exists()
    assert StageChange.objects.filter(
        lead__in=habit, to_stage=Stage.RECYCLED, reason__startswith="cadence 'Standard follow-up'"
    ).exists()
    # The follow-up page reads routing's roll-up: the story's services kept it.
    assert rollup.stored() == rollup.recount() != {}

    # Many people agreed to marketing email on the way in, each where they came from.
    given = set(ConsentState.objects.filter(granted=True).values_list("purpose__slug", "source"))
    assert {("newsletter", "form"), ("events", "form"), ("newsletter", "trade_show")} <= given
    assert 0 < ConsentState.objects.count() < Lead.objects.count()

    # Nurture: the no-shows got the recording from a program (those who said yes to event
    # emails), read in the mailbox page; some clicked, and a click made leads sales-ready
    # and handed them to sales; the nurtured get a content stream.
    recording = Program.objects.get(name=RECORDING_PROGRAM)
    runs = Enrolment_.objects.filter(program=recording)
    no_shows = set(webinar.filter(status=MemberStatus.NO_SHOW).values_list("lead_id", flat=True))
    assert runs.count() > 0 and set(runs.values_list("lead_id", flat=True)) <= no_shows
    sent = Message.objects.filter(template__name="Webinar recording", status="sent")
    assert sent.exists() and sent.filter(clicked_at__isnull=False).exists()
    assert MailboxMessage.objects.filter(subject="The recording: No lead left behind").exists()
    assert runs.filter(status="goal").exists()
    clicked_to_sales = Lead.objects.filter(
        pk__in=sent.filter(clicked_at__isnull=False).values("lead_id"),
        stage__in=[Stage.MQL, Stage.ACCEPTED, Stage.OPPORTUNITY, Stage.CUSTOMER],
    )
    assert clicked_to_sales.exists()
    assert PieceDelivery.objects.exists()

    # The people who log in to the demo.
    assert admin.is_superuser and admin.role == Role.ADMIN
    assert User.objects.get(username="marketing").role == Role.MARKETING
    teams = {team.name: team for team in Team.objects.all()}
    assert (teams["EMEA"].timezone, teams["Americas"].timezone) == (
        "Europe/Berlin",
        "America/New_York",
    )
    assert teams["EMEA"].countries and teams["Americas"].countries
    for name, manager in (("EMEA", "manager1"), ("Americas", "manager2")):
        assert User.objects.get(username=manager, role=Role.SALES_MANAGER).team == teams[name]
    reps = User.objects.filter(role=Role.SALES_REP)
    assert reps.count() >= 5
    assert reps.filter(is_accepting_leads=False).count() == 1
    assert User.objects.get(username="rep1").check_password("demo")
    # "demo" is weak on purpose: the validators judge passwords people choose (the admin,
    # createsuperuser), not seed_demo's, and the login page lets it in.
    login = Client().post(reverse("web:login"), {"username": "rep1", "password": "demo"})
    assert (login.status_code, login["Location"]) == (302, "/")
    assert "rep1" in out.getvalue() and "demo" in out.getvalue()

    # Companies by domain; free-mail leads have none; the public contact form works.
    assert Account.objects.filter(is_marquee=True, owner__role=Role.SALES_REP).exists()
    emails = [e for e in Lead.objects.values_list("email", flat=True) if e]
    free_mail = [e for e in emails if e.split("@")[1] in FREE_MAIL_DOMAINS]
    assert free_mail
    assert not Lead.objects.filter(email__in=free_mail, account__isnull=False).exists()
    form = WebForm.objects.get(slug="contact-us")
    assert form.is_active and form.campaign is not None and "email" in form.fields

    # Running it again with --if-empty changes nothing and says so.
    again = StringIO()
    before = Lead.objects.count()
    call_command("seed_demo", if_empty=True, stdout=again)

    assert Lead.objects.count() == before
    assert User.objects.count() == 10
    assert "not seeded" in again.getvalue()


def test_seed_demo_refuses_a_database_that_has_leads(now) -> None:
    capture_lead({"email": "someone@acme.io"}, source="api", now=now)

    with pytest.raises(CommandError, match="already has 1 leads"):
        call_command("seed_demo", leads=150, stdout=StringIO())

    assert Lead.objects.count() == 1
    assert not User.objects.exists()
