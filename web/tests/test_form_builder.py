"""Marketing builds lead forms in the UI; people fill them in on the hosted page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from capture.models import Submission, WebForm
from leads.models import Lead
from nurture.models import Consent


@pytest.fixture(autouse=True)
def fresh_rate_limit(db: None) -> Iterator[None]:
    # The public form's rate counters live in the cache table, outside test transactions.
    cache.clear()
    yield
    cache.clear()


def build(client: Client, url: str | None = None, **overrides: Any) -> Any:
    data: dict[str, Any] = {
        "name": "Request a demo",
        "slug": "",
        "campaign": "",
        "fields": ["first_name", "email", "company_name", "timeline"],
        "required_fields": ["email", "company_name"],
        "consent_text": "Send me product news by email",
        "consent_purpose": "newsletter",
        "thank_you_message": "Thanks, talk soon.",
        "thank_you_url": "",
        "is_active": "on",
    }
    return client.post(url or reverse("web:form_new"), data | overrides)


@pytest.mark.parametrize("role", ["marketer", "admin"])
def test_marketing_creates_a_form_with_hosted_page_and_snippet(org, client_for, role) -> None:
    client = client_for(getattr(org, role))

    response = build(client, campaign=str(org.webinar.pk))

    assert response.status_code == 302
    webform = WebForm.objects.get()
    assert (webform.slug, webform.campaign, webform.fields, webform.required_fields) == (
        "request-a-demo",
        org.webinar,
        ["first_name", "email", "company_name", "timeline"],
        ["email", "company_name"],
    )
    assert (webform.consent_text, webform.consent_purpose) == (
        "Send me product news by email",
        "newsletter",
    )
    listing = client.get(reverse("web:forms")).content.decode()
    assert 'href="/f/request-a-demo/"' in listing
    assert 'href="/f/request-a-demo/embed/"' in listing
    assert f'href="/forms/{webform.pk}/edit/"' in listing
    snippet = client.get(reverse("capture:embed", args=["request-a-demo"])).context["snippet"]
    assert snippet.startswith('<form action="http://testserver/f/request-a-demo/"')
    assert 'name="company_name"' in snippet and "Send me product news by email" in snippet


def test_the_hosted_page_shows_exactly_the_chosen_fields_in_order(org, client_for) -> None:
    build(client_for(org.marketer))

    page = Client().get(reverse("capture:form", args=["request-a-demo"]))

    visible = [f.name for f in page.context["form"].visible_fields()]
    assert visible == ["first_name", "email", "company_name", "timeline", "consent", "homepage"]
    required = {f.name for f in page.context["form"].visible_fields() if f.field.required}
    assert required == {"email", "company_name"}
    marked = page.content.decode().count('<span class="required-mark" title="required">*</span>')
    assert marked == 2


def test_a_required_field_left_empty_is_400_next_to_the_field(org, client_for) -> None:
    build(client_for(org.marketer))

    response = Client().post(
        reverse("capture:form", args=["request-a-demo"]), {"email": "ann@acme.io"}
    )

    body = response.content.decode()
    assert response.status_code == 400
    assert '<p class="field-error" id="id_company_name_error">This field is required.</p>' in body
    assert Lead.objects.count() == 0


def test_consent_is_stored_with_its_purpose_when_ticked(org, client_for) -> None:
    build(client_for(org.marketer))
    public = Client()

    public.post(
        reverse("capture:form", args=["request-a-demo"]),
        {"email": "ann@acme.io", "company_name": "Acme", "consent": "on"},
    )
    public.post(
        reverse("capture:form", args=["request-a-demo"]),
        {"email": "bob@acme.io", "company_name": "Acme"},
    )

    ann, bob = Lead.objects.get(email="ann@acme.io"), Lead.objects.get(email="bob@acme.io")
    [given] = Consent.objects.filter(lead=ann)
    assert (given.purpose.slug, given.granted, given.source, given.text) == (
        "newsletter",
        True,
        "form",
        "Send me product news by email",
    )
    assert given.reference == "Request a demo (request-a-demo)"
    assert not Consent.objects.filter(lead=bob).exists()
    assert not any(key.startswith("marketing_consent") for key in ann.custom_fields)
    payload = Submission.objects.get(lead=ann).payload
    assert (payload["consent"], payload["consent_purpose"]) == (True, "newsletter")
    assert payload["consent_at"] == given.at.isoformat()
    assert Submission.objects.get(lead=bob).payload["consent"] is False


@pytest.mark.parametrize("role", ["rep1", "manager"])
def test_sales_may_not_build_forms(org, client_for, role) -> None:
    webform = WebForm.objects.create(slug="demo", name="Demo", fields=["email"])
    client = client_for(getattr(org, role))

    assert client.get(reverse("web:form_new")).status_code == 403
    assert build(client).status_code == 403
    assert client.get(reverse("web:form_edit", args=[webform.pk])).status_code == 403
    assert build(client, reverse("web:form_edit", args=[webform.pk])).status_code == 403
    assert b"New form" not in client.get(reverse("web:forms")).content
    assert WebForm.objects.get().name == "Demo"


def test_editing_keeps_the_order_and_a_taken_slug_is_refused(org, client_for) -> None:
    client = client_for(org.marketer)
    WebForm.objects.create(slug="taken", name="Other", fields=["email"])
    webform = WebForm.objects.create(
        slug="demo", name="Demo", fields=["company_name", "email", "first_name"]
    )
    url = reverse("web:form_edit", args=[webform.pk])

    page = client.get(url)
    taken = build(client, url, slug="taken", fields=["phone", "email"], required_fields=[])
    saved = build(client, url, slug="demo", fields=["phone", "email"], required_fields=["phone"])

    assert [row["name"] for row in page.context["form"].rows()][:3] == [
        "company_name",
        "email",
        "first_name",
    ]
    assert taken.status_code == 400
    assert '<p class="field-error" id="id_slug_error">' in taken.content.decode()
    assert saved.status_code == 302
    webform.refresh_from_db()
    assert (webform.fields, webform.required_fields) == (["phone", "email"], ["phone", "email"])


def test_builder_errors_are_shown_next_to_their_field(org, client_for) -> None:
    client = client_for(org.marketer)

    no_purpose = build(client, consent_purpose="")
    bad_url = build(client, thank_you_url="javascript:alert(1)")
    not_asked = build(client, fields=["email"], required_fields=["phone"])

    assert no_purpose.status_code == bad_url.status_code == not_asked.status_code == 400
    assert 'id="id_consent_purpose_error">say what the consent is for<' in (
        no_purpose.content.decode()
    )
    assert 'id="id_thank_you_url_error"' in bad_url.content.decode()
    assert "&#x27;phone&#x27; is required but not on the form" in not_asked.content.decode()
    assert WebForm.objects.count() == 0


def test_a_slug_made_from_the_name_avoids_taken_ones(org, client_for) -> None:
    WebForm.objects.create(slug="request-a-demo", name="Old", fields=["email"])

    build(client_for(org.marketer))

    assert sorted(WebForm.objects.values_list("slug", flat=True)) == [
        "request-a-demo",
        "request-a-demo-2",
    ]


@pytest.mark.parametrize("role", ["marketer", "admin"])
def test_builder_pages_render(org, client_for, role) -> None:
    webform = WebForm.objects.create(slug="demo", name="Demo", fields=["email"])
    client = client_for(getattr(org, role))

    for url in (reverse("web:form_new"), reverse("web:form_edit", args=[webform.pk])):
        response = client.get(url)
        assert response.status_code == 200
        assert b'id="builder-fields"' in response.content
