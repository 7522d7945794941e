"""The lists pages: marketing builds a smart list from text lines and sees its live count,
everyone sees members only within what they may see, the leads page filters by a list and
puts ticked leads into a static list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.test import Client
from django.utils import timezone

from nurture import lists
from nurture.models import LeadList, ListMember
from users.models import User
from web.tests.conftest import MakeLead


def test_marketing_creates_a_smart_list_and_opens_its_members(
    org: Any, make_lead: MakeLead, client_for: Callable[[User], Client]
) -> None:
    make_lead("de@x.io", org.rep1, country="DE")
    make_lead("us@x.io", org.rep3, country="US")
    client = client_for(org.marketer)

    count = client.get("/lists/count/", {"conditions": "country is de"})
    assert count.content.decode() == "<strong>1</strong> lead match now"
    answer = client.post(
        "/lists/", {"name": "Germany", "kind": "smart", "conditions": "country is de"}
    )

    made = LeadList.objects.get(name="Germany")
    assert answer.status_code == 302 and answer["Location"] == f"/lists/{made.pk}/"
    page = client.get(f"/lists/{made.pk}/").content.decode()
    assert "de@x.io" in page and "us@x.io" not in page
    assert "Refresh now" in page


def test_a_bad_line_comes_back_next_to_the_conditions(
    org: Any, client_for: Callable[[User], Client]
) -> None:
    client = client_for(org.marketer)

    answer = client.post("/lists/", {"name": "Bad", "kind": "smart", "conditions": "grade is Q"})

    assert answer.status_code == 400
    assert "line 1: grade has no value &#x27;Q&#x27;" in answer.content.decode()
    assert (
        client.get("/lists/count/", {"conditions": "colour is red"})
        .content.decode()
        .startswith('<span class="field-error">')
    )
    assert not LeadList.objects.exists()


def test_a_rep_sees_only_their_own_members_and_no_form(
    org: Any, make_lead: MakeLead, client_for: Callable[[User], Client]
) -> None:
    make_lead("mine@x.io", org.rep1)
    make_lead("theirs@x.io", org.rep3)
    everyone = lists.create_list(
        by=org.marketer, name="Everyone", definition=[], now=timezone.now()
    )
    client = client_for(org.rep1)

    page = client.get(f"/lists/{everyone.pk}/").content.decode()

    assert "mine@x.io" in page and "theirs@x.io" not in page
    assert 'id="list-form"' not in page
    assert client.post("/lists/", {"name": "Mine", "kind": "static"}).status_code == 404
    assert client.post(f"/lists/{everyone.pk}/refresh/").status_code == 302
    assert "only marketing" in str(list(client.get("/lists/").context["messages"]))


def test_the_leads_page_filters_by_list_and_fills_a_static_list(
    org: Any, make_lead: MakeLead, client_for: Callable[[User], Client]
) -> None:
    mine = make_lead("mine@x.io", org.rep1)
    other = make_lead("other@x.io", org.rep2)
    vip = lists.create_list(by=org.marketer, name="VIP", kind="static", now=timezone.now())
    client = client_for(org.marketer)

    page = client.get("/leads/").content.decode()
    assert 'id="bulk-actions"' in page
    answer = client.post(
        "/lists/bulk/",
        {
            "action": "add",
            "target": vip.pk,
            "lead": [mine.pk],
            "next": "/leads/?list=" + str(vip.pk),
        },
    )

    assert answer.status_code == 302 and answer["Location"] == f"/leads/?list={vip.pk}"
    assert list(ListMember.objects.values_list("lead_id", flat=True)) == [mine.pk]
    filtered = client.get("/leads/", {"list": vip.pk}).content.decode()
    assert "mine@x.io" in filtered and "other@x.io" not in filtered
    # A rep filtering by the list sees its members among their own leads only.
    lists.add_leads(vip, [other.pk], by=org.marketer, now=timezone.now())
    rep_view = client_for(org.rep1).get("/leads/", {"list": vip.pk}).content.decode()
    assert "mine@x.io" in rep_view and "other@x.io" not in rep_view
    assert 'id="bulk-actions"' not in rep_view
    # A rep cannot use the bulk action either.
    client_for(org.rep1).post(
        "/lists/bulk/", {"action": "remove", "target": vip.pk, "lead": [mine.pk]}
    )
    assert ListMember.objects.count() == 2
