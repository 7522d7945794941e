"""The public lead form: one lead per person, tracked, and hard to abuse."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import close_old_connections, connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from capture.models import Submission, WebForm
from capture.services import capture_lead, record_form_event
from conftest import HOT
from followup.services import accept_lead, reject_lead
from leads.models import CampaignMember, Lead, StageChange
from nurture.models import Consent
from qualify.models import Event


@pytest.fixture(autouse=True)
def fresh_rate_limit(db: None) -> Iterator[None]:
    # The rate counters live in the cache table, which test transactions do not cover.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def webform(org) -> WebForm:
    return WebForm.objects.create(
        slug="demo",
        name="Request a demo",
        campaign=org.webinar,
        fields=["first_name", "email", "company_name", "timeline"],
        consent_text="Send me product news",
    )


def post(client: Client, data: dict[str, str], query: str = "", **extra: Any) -> Any:
    return client.post(reverse("capture:form", args=["demo"]) + query, data, **extra)


def test_form_page_shows_the_fields_consent_and_a_hidden_honeypot(client, webform) -> None:
    response = client.get(
        reverse("capture:form", args=["demo"]) + "?utm_source=newsletter",
        headers={"referer": "https://blog.example.com/post"},
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert 'name="email"' in body
    assert 'name="timeline"' in body
    assert "Send me product news" in body
    assert '<div class="hp" aria-hidden="true">' in body
    assert 'name="utm_source" value="newsletter"' in body
    assert 'name="referrer" value="https://blog.example.com/post"' in body


def test_submit_creates_one_lead_in_the_campaign_with_tracking(client, webform) -> None:
    response = post(
        client,
        {
            "first_name": "Ann",
            "email": "Ann@Acme.io",
            "company_name": "Acme",
            "consent": "on",
            "utm_source": "newsletter",
            "utm_medium": "email",
            "referrer": "https://blog.example.com/post",
        },
        query="?utm_campaign=spring",
    )

    assert response.status_code == 200
    assert "Thank you! We will be in touch shortly." in response.content.decode()
    lead = Lead.objects.get()
    assert (lead.email, lead.first_name, lead.source) == ("ann@acme.io", "Ann", "web_form")
    assert lead.custom_fields == {
        "utm_source": "newsletter",
        "utm_medium": "email",
        "utm_campaign": "spring",
        "referrer": "https://blog.example.com/post",
    }
    [given] = Consent.objects.filter(lead=lead)
    assert (given.granted, given.source, given.text) == (True, "form", "Send me product news")
    member = CampaignMember.objects.get(lead=lead)
    assert (member.campaign.name, member.status) == ("Webinar", "responded")
    submission = Submission.objects.get()
    assert (submission.source, submission.payload["form"], submission.payload["consent"]) == (
        "web_form",
        "demo",
        True,
    )
    assert list(Event.objects.values_list("kind", "properties")) == [
        ("form_submit", {"form": "demo"})
    ]


def test_utm_parameters_come_from_the_referrer_when_the_snippet_has_no_script(
    client, webform
) -> None:
    post(
        client,
        {"email": "ann@acme.io"},
        HTTP_REFERER="https://www.example.com/pricing?utm_source=google&utm_medium=cpc",
    )

    lead = Lead.objects.get()
    assert lead.custom_fields == {
        "utm_source": "google",
        "utm_medium": "cpc",
        "referrer": "https://www.example.com/pricing?utm_source=google&utm_medium=cpc",
    }


def test_form_submission_points_count_towards_the_score(client, webform) -> None:
    post(client, {"email": "ann@acme.io"})

    lead = Lead.objects.get()
    assert (lead.engagement_score, lead.score) == (10, 10)


def test_second_submit_with_the_same_email_is_the_same_lead(client, webform) -> None:
    post(client, {"email": "ann@acme.io", "first_name": "Ann"})
    post(client, {"email": "ANN@acme.io", "company_name": "Acme"})

    lead = Lead.objects.get()
    assert (lead.first_name, lead.company_name) == ("Ann", "Acme")
    assert list(Submission.objects.order_by("pk").values_list("lead_id", "was_created")) == [
        (lead.pk, True),
        (lead.pk, False),
    ]
    assert CampaignMember.objects.count() == 1


def test_honeypot_pretends_success_and_creates_nothing(client, webform) -> None:
    response = post(client, {"email": "bot@spam.io", "homepage": "http://spam.example"})

    assert response.status_code == 200
    assert "Thank you! We will be in touch shortly." in response.content.decode()
    assert (Lead.objects.count(), Submission.objects.count(), Event.objects.count()) == (0, 0, 0)


def test_rate_limit_answers_429_after_the_limit(client, webform, settings) -> None:
    settings.LEADLOOP_FORM_RATE_PER_MINUTE = 3

    codes = [post(client, {"email": f"p{i}@acme.io"}).status_code for i in range(5)]

    assert codes == [200, 200, 200, 429, 429]
    assert Lead.objects.count() == 3


def test_rate_limit_is_per_address(client, webform, settings) -> None:
    settings.LEADLOOP_FORM_RATE_PER_MINUTE = 1
    post(client, {"email": "a@acme.io"}, REMOTE_ADDR="10.0.0.1")

    response = post(client, {"email": "b@acme.io"}, REMOTE_ADDR="10.0.0.2")

    assert response.status_code == 200
    assert Lead.objects.count() == 2


def test_behind_a_trusted_proxy_the_forwarded_address_is_limited(client, webform, settings) -> None:
    settings.LEADLOOP_FORM_RATE_PER_MINUTE = 1
    settings.LEADLOOP_TRUSTED_PROXIES = 1
    proxy = {"REMOTE_ADDR": "127.0.0.1"}
    post(client, {"email": "a@acme.io"}, HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy)

    other = post(client, {"email": "b@acme.io"}, HTTP_X_FORWARDED_FOR="203.0.113.8", **proxy)
    # A client cannot dodge the limit by sending its own X-Forwarded-For entry first.
    spoofed = post(
        client, {"email": "c@acme.io"}, HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7", **proxy
    )

    assert (other.status_code, spoofed.status_code) == (200, 429)


def test_bad_email_is_400_with_the_message_next_to_the_field(client, webform) -> None:
    response = post(client, {"email": "not-an-email", "first_name": "Ann"})

    body = response.content.decode()
    assert response.status_code == 400
    assert (
        '<p class="field-error" id="id_email_error">'
        "&#x27;not-an-email&#x27; is not a valid email address:"
        " An email address must have an @-sign.</p>" in body
    )
    assert 'value="Ann"' in body
    assert Lead.objects.count() == 0


def test_missing_email_is_400(client, webform) -> None:
    response = post(client, {"first_name": "Ann"})

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


def test_an_oversized_body_is_refused(client, webform) -> None:
    response = post(client, {"email": "ann@acme.io", "company_name": "x" * 40_000})

    assert response.status_code == 413
    assert Lead.objects.count() == 0


def test_an_inactive_or_unknown_form_is_404(client, webform) -> None:
    WebForm.objects.filter(pk=webform.pk).update(is_active=False)

    assert post(client, {"email": "ann@acme.io"}).status_code == 404
    assert client.get(reverse("capture:form", args=["nope"])).status_code == 404


def test_thank_you_url_redirects(client, webform) -> None:
    WebForm.objects.filter(pk=webform.pk).update(thank_you_url="https://acme.io/thanks")

    response = post(client, {"email": "ann@acme.io"})

    assert (response.status_code, response["Location"]) == (302, "https://acme.io/thanks")


def test_form_is_csrf_exempt_for_embedding(webform) -> None:
    client = Client(enforce_csrf_checks=True)

    response = post(client, {"email": "ann@acme.io"})

    assert response.status_code == 200
    assert Lead.objects.count() == 1


def test_embed_page_needs_login_and_shows_a_plain_form_snippet(client, org, webform) -> None:
    anonymous = client.get(reverse("capture:embed", args=["demo"]))
    client.force_login(org.marketer)

    response = client.get(reverse("capture:embed", args=["demo"]))

    assert anonymous.status_code == 302
    snippet = response.context["snippet"]
    assert snippet.startswith('<form action="http://testserver/f/demo/" method="post"')
    assert 'name="email"' in snippet
    assert 'name="homepage" tabindex="-1"' in snippet
    assert "csrfmiddlewaretoken" not in snippet
    page = response.content.decode()
    assert (
        '<button type="button" class="small" data-copy="snippet" id="copy-snippet">Copy</button>'
        in page
    )
    assert "/static/web/copy.js" in page


def test_a_snippet_post_creates_the_lead(client, org, webform) -> None:
    client.force_login(org.marketer)
    client.get(reverse("capture:embed", args=["demo"]))
    client.logout()

    response = post(client, {"email": "ann@acme.io", "homepage": "", "utm_source": ""})

    assert response.status_code == 200
    assert Lead.objects.get().email == "ann@acme.io"


# --- A known address: anyone may fill in what a lead lacks, nobody may take it over -----


def stages(lead: Lead) -> list[str]:
    return list(StageChange.objects.filter(lead=lead).values_list("to_stage", flat=True))


def test_a_post_for_a_known_address_fills_in_only_what_the_lead_lacks(
    client, clock, webform
) -> None:
    # given a lead with a name and a company, but no timeline
    lead = capture_lead(
        {"email": "ann@acme.io", "first_name": "Ann", "company_name": "Acme"},
        source="api",
        now=clock,
    ).lead
    # when someone posts the form with that address, another name and company, a timeline
    response = post(
        client,
        {
            "email": "ann@acme.io",
            "first_name": "Mallory",
            "company_name": "Evil",
            "timeline": "year",
        },
    )
    # then the timeline is filled in, the name and company stay, the post is kept as sent
    assert response.status_code == 200
    lead.refresh_from_db()
    assert (lead.first_name, lead.company_name, lead.timeline) == ("Ann", "Acme", "year")
    submission = Submission.objects.order_by("pk").last()
    assert submission is not None
    assert (submission.lead_id, submission.was_created, submission.payload["first_name"]) == (
        lead.pk,
        False,
        "Mallory",
    )


@pytest.mark.parametrize("timeline", ["year", ""])
def test_a_post_for_a_known_address_cannot_disqualify_the_lead(
    client, clock, webform, timeline
) -> None:
    # given a nurtured lead, with or without a timeline
    lead = capture_lead(
        {"email": "ann@acme.io", "need": "forecasting", "timeline": timeline},
        source="api",
        now=clock,
    ).lead
    # when someone posts the form with its address saying it will never buy
    post(client, {"email": "ann@acme.io", "timeline": "never"})
    # then it stays in nurture with the timeline it had, the post counting as engagement
    lead.refresh_from_db()
    assert (lead.stage, lead.segment, lead.timeline) == ("nurturing", "nurture", timeline)
    assert (lead.engagement_score, stages(lead)) == (10, ["new", "nurturing"])


def test_a_post_for_a_lead_sales_accepted_changes_neither_its_stage_nor_its_answers(
    client, clock, org, webform
) -> None:
    # given a hot lead rep1 accepted
    lead = capture_lead({"email": "hot@buyer.de", **HOT}, source="api", now=clock).lead
    accept_lead(lead, by=org.rep1, now=clock)
    # when someone posts the form with its address saying it will never buy
    post(client, {"email": "hot@buyer.de", "timeline": "never"})
    # then it is still accepted, sales-ready, buying now, and rep1's
    lead.refresh_from_db()
    assert (lead.stage, lead.segment, lead.timeline, lead.owner) == (
        "accepted",
        "sales_ready",
        "now",
        org.rep1,
    )
    assert stages(lead) == ["new", "mql", "accepted"]


def test_two_posts_do_not_bring_a_recycled_lead_back_to_sales(client, clock, org, webform) -> None:
    # given a hot lead sales handed back (it must earn 20 points of engagement to return)
    lead = capture_lead({"email": "hot@buyer.de", **HOT}, source="api", now=clock).lead
    reject_lead(lead, by=org.rep1, reason="not now", now=clock)
    # when the form is posted twice with its address on the same day
    post(client, {"email": "hot@buyer.de"})
    post(client, {"email": "hot@buyer.de"})
    # then the form counted once: 10 points, still recycled, nobody's
    lead.refresh_from_db()
    assert (lead.stage, lead.engagement_score, lead.owner) == ("recycled", 10, None)
    assert stages(lead) == ["new", "mql", "recycled"]
    assert Submission.objects.filter(lead=lead).count() == 3


def test_form_engagement_counts_once_per_lead_and_form_a_day(
    client, clock, monkeypatch, webform
) -> None:
    # given a person who posted the form twice today
    post(client, {"email": "ann@acme.io"})
    post(client, {"email": "ann@acme.io"})
    today = Lead.objects.get().engagement_score
    # when they post it again the next day
    monkeypatch.setattr(timezone, "now", lambda: clock + timedelta(days=1))
    post(client, {"email": "ann@acme.io"})
    # then today counted 10 points and the next day 10 more, one event each
    lead = Lead.objects.get()
    assert (today, lead.engagement_score) == (10, 20)
    assert Event.objects.filter(lead=lead, kind="form_submit").count() == 2
    assert Submission.objects.filter(lead=lead).count() == 3


@pytest.mark.django_db(transaction=True)
def test_two_posts_at_once_count_as_one_form_submission(now: datetime) -> None:
    # given a known lead
    lead = capture_lead({"email": "ann@acme.io"}, source="api", now=now).lead
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def submit() -> None:
        try:
            barrier.wait()
            record_form_event(lead, form_slug="demo", now=now)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    # when its form engagement is recorded twice at the same moment
    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then one event counts
    assert errors == []
    assert Event.objects.filter(lead=lead).count() == 1
    assert Lead.objects.get(pk=lead.pk).engagement_score == 10


def test_the_thank_you_page_is_the_same_for_a_known_and_a_new_address(
    client, clock, webform
) -> None:
    capture_lead({"email": "known@acme.io"}, source="api", now=clock)

    known = post(client, {"email": "known@acme.io"})
    new = post(client, {"email": "new@acme.io"})

    assert (known.status_code, known.content) == (new.status_code, new.content)


def test_every_fields_error_is_shown_at_once(client, org) -> None:
    WebForm.objects.create(
        slug="demo",
        name="Request a demo",
        fields=["email", "first_name", "employees", "budget", "country"],
        required_fields=["email", "first_name"],
    )

    response = post(client, {"email": "bob@localhost", "employees": "many", "budget": "-5"})

    body = response.content.decode()
    assert response.status_code == 400
    assert '<p class="field-error" id="id_email_error">&#x27;bob@localhost&#x27; is not' in body
    assert '<p class="field-error" id="id_first_name_error">This field is required.' in body
    assert (
        '<p class="field-error" id="id_employees_error">&#x27;many&#x27; is not a whole number'
        in body
    )
    assert '<p class="field-error" id="id_budget_error">must be a positive amount' in body
    assert Lead.objects.count() == 0


def test_the_country_is_a_list_named_in_the_visitors_language(client, org) -> None:
    WebForm.objects.create(slug="demo", name="Demo", fields=["email", "country"])

    page = client.get(reverse("capture:form", args=["demo"]), headers={"accept-language": "de"})
    sent = post(client, {"email": "ann@acme.de", "country": "DE"})

    assert '<option value="DE">Deutschland</option>' in page.content.decode()
    assert sent.status_code == 200
    assert Lead.objects.get().country == "DE"
