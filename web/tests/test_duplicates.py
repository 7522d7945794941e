"""The review queue, the side-by-side merge screen and the merge history, per role."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from followup.models import Touch
from followup.services import record_touch
from identity.choices import DuplicateStatus, MergeStatus
from identity.models import DuplicateCandidate, MergeRecord
from leads.models import Lead


@pytest.fixture
def twins(org: Any, make_lead: Any, real_now: Any) -> tuple[Lead, Lead, DuplicateCandidate]:
    """Ann twice, both rep1's: the same phone, one of them with a touch."""
    ann = make_lead(
        "ann@acme.io", org.rep1, days_ago=2, first_name="Ann", last_name="Lee",
        company_name="Acme", phone="+49 30 1234567", title="CTO",
    )  # fmt: skip
    dup = make_lead(
        "ann.lee@gmail.com", org.rep1, days_ago=1, first_name="Ann", last_name="Lee",
        company_name="Acme GmbH", phone="030 1234567", title="",
    )  # fmt: skip
    record_touch(dup, by=org.rep1, kind="call", now=real_now)
    return ann, dup, DuplicateCandidate.objects.get()


def merge_post(candidate: DuplicateCandidate, **data: str) -> tuple[str, dict[str, str]]:
    return reverse("web:duplicate_merge", args=[candidate.pk]), data


@pytest.mark.parametrize("role", ["rep1", "manager", "marketer", "admin"])
def test_queue_lists_the_pair_for_whoever_sees_both(org, client_for, twins, role) -> None:
    response = client_for(getattr(org, role)).get(reverse("web:duplicates"))

    assert response.status_code == 200
    assert [c.pk for c in response.context["page"].object_list] == [twins[2].pk]
    assert b'id="duplicate-count">1<' in response.content


def test_queue_hides_pairs_with_a_lead_the_viewer_cannot_see(org, client_for, twins) -> None:
    Lead.objects.filter(pk=twins[1].pk).update(owner=org.rep3, team=org.americas)

    rep = client_for(org.rep1)
    response = rep.get(reverse("web:duplicates"))

    assert list(response.context["page"].object_list) == []
    assert b"duplicate-count" not in response.content
    assert rep.get(reverse("web:duplicate", args=[twins[2].pk])).status_code == 404
    assert rep.post(reverse("web:duplicate_merge", args=[twins[2].pk])).status_code == 404


def test_merge_screen_shows_both_leads_side_by_side(org, client_for, twins) -> None:
    _ann, _dup, candidate = twins

    response = client_for(org.manager).get(reverse("web:duplicate", args=[candidate.pk]))

    body = response.content.decode()
    assert response.status_code == 200
    rows = {row["key"]: row for row in response.context["rows"]}
    assert (rows["email"]["first"], rows["email"]["second"]) == (
        ["ann@acme.io"],
        ["ann.lee@gmail.com"],
    )
    assert (rows["phone"]["first"], rows["phone"]["second"]) == (
        ["+49 30 1234567"],
        ["030 1234567"],
    )
    assert rows["title"]["checked"] == "first"  # the filled-in value
    assert rows["first_name"]["differs"] is False
    # Countries by name, not code (both captured as "Germany", stored as DE).
    assert (rows["country"]["first"], rows["country"]["second"]) == (["Germany"], ["Germany"])
    histories = {label: (a, b) for label, a, b in response.context["histories"]}
    assert histories["touches"] == ((0, "touches"), (1, "touch"))
    assert histories["stage changes"] == ((2, "stage changes"), (2, "stage changes"))
    # each routed on capture, then given to rep1
    assert histories["assignments"] == ((2, "assignments"), (2, "assignments"))
    assert 'name="keep_title" value="first" checked' in body
    assert 'name="survivor" value="second" checked' in body  # the one worked more
    assert "Not a duplicate" in body


def test_merge_through_the_screen(org, client_for, twins) -> None:
    ann, dup, candidate = twins
    client = client_for(org.manager)

    response = client.post(
        reverse("web:duplicate_merge", args=[candidate.pk]),
        {"survivor": "first", "keep_email": "first", "keep_title": "first",
         "keep_company": "second", "keep_origin": "first"},
    )  # fmt: skip

    assert response.status_code == 302
    assert response["Location"] == reverse("web:lead", args=[ann.pk])
    ann.refresh_from_db()
    assert (ann.company_name, ann.title, ann.touch_count) == ("Acme GmbH", "CTO", 1)
    assert Touch.objects.get().lead_id == ann.pk
    assert Lead.objects.get(pk=dup.pk).merged_into_id == ann.pk
    assert client.get(reverse("web:lead", args=[dup.pk])).status_code == 404
    assert client.get(reverse("web:duplicates")).context["page"].paginator.count == 0


def test_a_rep_sees_a_queue_pair_but_may_not_merge_it(org, client_for, twins) -> None:
    _ann, dup, candidate = twins
    Lead.objects.filter(pk=dup.pk).update(owner=None, team=org.emea)  # the team's queue
    client = client_for(org.rep1)

    page = client.get(reverse("web:duplicate", args=[candidate.pk]))
    merge = client.post(reverse("web:duplicate_merge", args=[candidate.pk]), {"survivor": "first"})
    dismiss = client.post(reverse("web:duplicate_dismiss", args=[candidate.pk]))

    assert page.status_code == 200
    assert page.context["may_merge"] is False
    assert (merge.status_code, dismiss.status_code) == (403, 403)
    assert Lead.objects.get(pk=dup.pk).merged_into_id is None
    assert DuplicateCandidate.objects.get().status == DuplicateStatus.OPEN


def test_a_bad_choice_is_a_400_on_the_screen(org, client_for, twins) -> None:
    response = client_for(org.admin).post(
        reverse("web:duplicate_merge", args=[twins[2].pk]), {"survivor": "third"}
    )

    assert response.status_code == 400
    assert response.context["form"].errors["survivor"]
    assert Lead.objects.filter(merged_into__isnull=False).count() == 0


def test_not_a_duplicate_closes_the_pair(org, client_for, twins) -> None:
    client = client_for(org.marketer)

    response = client.post(reverse("web:duplicate_dismiss", args=[twins[2].pk]))

    assert response.status_code == 302
    candidate = DuplicateCandidate.objects.get()
    assert (candidate.status, candidate.resolved_by) == (DuplicateStatus.DISMISSED, org.marketer)
    assert client.get(reverse("web:duplicates")).context["page"].paginator.count == 0
    assert client.get(reverse("web:duplicate", args=[candidate.pk])).status_code == 404


def test_merge_history_and_undo(org, client_for, twins) -> None:
    _ann, dup, candidate = twins
    client = client_for(org.manager)
    client.post(reverse("web:duplicate_merge", args=[candidate.pk]), {"survivor": "first"})
    record = MergeRecord.objects.get()

    history = client.get(reverse("web:merges"))
    undone = client.post(reverse("web:merge_undo", args=[record.pk]))
    again = client.post(reverse("web:merge_undo", args=[record.pk]), follow=True)

    assert [r.pk for r in history.context["page"].object_list] == [record.pk]
    assert f'action="/merges/{record.pk}/undo/"' in history.content.decode()
    assert undone.status_code == 302
    assert MergeRecord.objects.get().status == MergeStatus.UNDONE
    assert Lead.objects.get(pk=dup.pk).email == "ann.lee@gmail.com"
    assert Touch.objects.get().lead_id == dup.pk
    assert "Not undone: this merge has been undone already" in again.content.decode()
    assert client.get(reverse("web:duplicates")).context["page"].paginator.count == 1


def test_another_teams_manager_cannot_undo(org, client_for, twins) -> None:
    client_for(org.manager).post(
        reverse("web:duplicate_merge", args=[twins[2].pk]), {"survivor": "first"}
    )
    record = MergeRecord.objects.get()

    response = client_for(org.us_manager).post(reverse("web:merge_undo", args=[record.pk]))

    assert response.status_code == 404
    assert MergeRecord.objects.get().status == MergeStatus.APPLIED


def test_merge_pages_need_a_login(client, twins) -> None:
    for url in (reverse("web:duplicates"), reverse("web:merges")):
        assert client.get(url).status_code == 302


@pytest.mark.parametrize("pairs", [1, 8])
def test_queue_queries_do_not_grow_with_pairs(
    org, make_lead, client_for, django_assert_max_num_queries, pairs
) -> None:
    for i in range(pairs):
        make_lead(f"a{i}@acme.io", org.rep1, phone=f"+4930123456{i}")
        make_lead(f"b{i}@gmail.com", org.rep1, phone=f"+49 30 123456{i}")
    client = client_for(org.manager)

    # session, user, the top bar's counts, the page's count and rows
    with django_assert_max_num_queries(5):
        response = client.get(reverse("web:duplicates"))

    assert response.context["page"].paginator.count == pairs


def test_merge_screen_runs_a_fixed_number_of_queries(
    org, client_for, twins, django_assert_max_num_queries
) -> None:
    client = client_for(org.manager)

    # session, user, top bar, the pair, last submissions, 19 history counts (scoring's
    # signals and score changes, nurture's email messages, list and stream memberships,
    # content deliveries, consent rows and program runs among them), may_merge
    with django_assert_max_num_queries(25):
        response = client.get(reverse("web:duplicate", args=[twins[2].pk]))

    assert response.status_code == 200
