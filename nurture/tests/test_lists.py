"""Smart and static lists through the service: every kind of condition, engagement
windows at an injected now, refusals, static add/remove, the sweep's diffs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from leads.errors import FieldError, NotPermitted
from leads.models import Account, CampaignMember, Lead
from nurture import lists
from nurture.models import LeadList, ListMember


def emails(qs: Any) -> list[str]:
    return sorted(qs.values_list("email", flat=True))


def matched(definition: Any, now: datetime) -> list[str]:
    return emails(lists.matching_leads(definition, now=now))


@pytest.fixture
def people(org: Any, add_lead: Callable[..., Lead], now: datetime) -> dict[str, Lead]:
    soft = Account.objects.create(name="Softco", domain="soft.co", industry="Software")
    return {
        "de": add_lead(
            "de@x.io",
            country="DE",
            grade="A",
            score=80,
            stage="nurturing",
            segment="nurture",
            custom_fields={"state": "Bavaria", "seats": 40},
            account=soft,
        ),
        "fr": add_lead(
            "fr@x.io",
            country="FR",
            grade="B",
            score=40,
            stage="new",
            segment="nurture",
            custom_fields={"state": "Alsace"},
            account=org.marquee,
        ),
        "us": add_lead(
            "us@x.io",
            country="US",
            grade="C",
            score=10,
            stage="mql",
            segment="sales_ready",
        ),
    }


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        ([{"field": "country", "op": "in", "value": ["de", "FR"]}], ["de@x.io", "fr@x.io"]),
        ([{"field": "country", "op": "is_not", "value": "de"}], ["fr@x.io", "us@x.io"]),
        ([{"field": "grade", "op": "is", "value": "A"}], ["de@x.io"]),
        ([{"field": "score", "op": "at_least", "value": 40}], ["de@x.io", "fr@x.io"]),
        ([{"field": "score", "op": "at_most", "value": "40"}], ["fr@x.io", "us@x.io"]),
        ([{"field": "stage", "op": "in", "value": "new, mql"}], ["fr@x.io", "us@x.io"]),
        ([{"field": "segment", "op": "is", "value": "sales_ready"}], ["us@x.io"]),
        ([{"field": "custom.state", "op": "is", "value": "bavaria"}], ["de@x.io"]),
        ([{"field": "custom.state", "op": "is_not", "value": "Bavaria"}], ["fr@x.io", "us@x.io"]),
        ([{"field": "custom.state", "op": "is_set"}], ["de@x.io", "fr@x.io"]),
        ([{"field": "custom.seats", "op": "at_least", "value": 30}], ["de@x.io"]),
        ([{"field": "account.industry", "op": "contains", "value": "soft"}], ["de@x.io"]),
        ([{"field": "account.is_marquee", "op": "is", "value": "true"}], ["fr@x.io"]),
        ([{"field": "account.name", "op": "is_empty"}], ["us@x.io"]),
        (
            [
                {"field": "segment", "op": "is", "value": "nurture"},
                {
                    "any": [
                        {"field": "grade", "op": "is", "value": "B"},
                        {"field": "country", "op": "is", "value": "US"},
                    ]
                },
            ],
            ["fr@x.io"],
        ),
        ([], ["de@x.io", "fr@x.io", "us@x.io"]),
    ],
)
def test_each_field_condition_picks_its_leads(
    people: dict[str, Lead], now: datetime, definition: Any, expected: list[str]
) -> None:
    assert matched(definition, now) == expected


def test_campaign_membership_with_and_without_status(
    org: Any, people: dict[str, Lead], now: datetime
) -> None:
    CampaignMember.objects.create(
        campaign=org.webinar, lead=people["de"], status="no-show", joined_at=now
    )
    CampaignMember.objects.create(
        campaign=org.webinar, lead=people["fr"], status="attended", joined_at=now
    )

    assert matched([{"field": "campaign", "op": "is", "value": "webinar"}], now) == [
        "de@x.io",
        "fr@x.io",
    ]
    assert matched(
        [{"field": "campaign", "op": "is", "value": "Webinar", "status": "no-show"}], now
    ) == ["de@x.io"]
    assert matched([{"field": "campaign", "op": "is_not", "value": "Webinar"}], now) == ["us@x.io"]


def test_engagement_windows_and_counts_at_an_injected_now(
    people: dict[str, Lead], now: datetime, add_event: Callable[..., Any]
) -> None:
    add_event(people["de"], "email_click", days_ago=29)
    add_event(people["fr"], "email_click", days_ago=31)
    add_event(people["us"], "page_view", days_ago=1, url="https://x.io/pricing")
    add_event(people["us"], "page_view", days_ago=2, url="https://x.io/pricing/")
    add_event(people["fr"], "page_view", days_ago=1, url="https://x.io/pricing")
    add_event(people["fr"], "page_view", days_ago=1, url="https://x.io/blog")
    clicked = [{"field": "event", "kind": "email_click", "days": 30}]
    pricing_twice = [
        {
            "field": "event",
            "kind": "page_view",
            "count": 2,
            "property": {"name": "url", "op": "contains", "value": "/pricing"},
        }
    ]

    assert matched(clicked, now) == ["de@x.io"]
    # Two days later the click of 29 days ago has left the window.
    assert matched(clicked, now + timedelta(days=2)) == []
    # An event after `now` has not happened yet.
    assert matched(clicked, now - timedelta(days=30)) == ["fr@x.io"]
    assert matched(pricing_twice, now) == ["us@x.io"]
    assert matched([{"field": "event", "kind": "any", "count": 3}], now) == ["fr@x.io"]


def test_text_lines_read_as_the_same_definition(people: dict[str, Lead], now: datetime) -> None:
    text = (
        "country in DE, FR\n\n"
        "any: grade is A; score at_least 90\n"
        "event page_view where url contains /pricing at_least 2 in 30 days\n"
        "campaign is Webinar with status no-show"
    )

    definition = lists.definition_from_text(text)

    assert definition[0] == {"field": "country", "op": "in", "value": ["DE", "FR"]}
    assert definition[2] == {
        "field": "event",
        "kind": "page_view",
        "count": 2,
        "days": 30,
        "property": {"name": "url", "op": "contains", "value": "/pricing"},
    }
    assert lists.definition_from_text(lists.definition_as_text(definition)) == definition


@pytest.mark.parametrize(
    ("definition", "field", "message"),
    [
        ("grade is A", "conditions", "must be a list"),
        (
            [{"field": "colour", "op": "is", "value": "red"}],
            "conditions[0].field",
            "unknown field 'colour'",
        ),
        (
            [{"field": "grade", "op": "is", "value": "Z"}],
            "conditions[0].value",
            "grade has no value 'Z'",
        ),
        (
            [{"field": "score", "op": "at_least", "value": "lots"}],
            "conditions[0].value",
            "'lots' is not a number",
        ),
        (
            [{"field": "country", "op": "like", "value": "DE"}],
            "conditions[0].op",
            "unknown operator 'like'",
        ),
        (
            [{"field": "custom.a__regex", "op": "is", "value": "x"}],
            "conditions[0].field",
            "letters, digits and _ only",
        ),
        (
            [{"field": "campaign", "op": "is", "value": "Nope"}],
            "conditions[0].value",
            "no campaign called 'Nope'",
        ),
        (
            [{"field": "campaign", "op": "is", "value": "Webinar", "status": "bored"}],
            "conditions[0].status",
            "no campaign status 'bored'",
        ),
        (
            [{"field": "event", "kind": "email_click", "days": 0}],
            "conditions[0].days",
            "between 1 and",
        ),
        ([{"field": "event", "kind": ""}], "conditions[0].kind", "name the event kind"),
        (
            [
                {"field": "country", "op": "is", "value": "DE"},
                {"any": [{"field": "grade", "op": "is", "value": "A"}]},
            ],
            "conditions[1].any",
            "at least 2",
        ),
    ],
)
def test_a_bad_definition_is_refused_whole_naming_the_condition(
    org: Any, definition: Any, field: str, message: str, now: datetime
) -> None:
    with pytest.raises(FieldError) as error:
        lists.create_list(by=org.marketer, name="Bad", definition=definition, now=now)

    assert error.value.field == field
    assert message in error.value.message
    assert not LeadList.objects.exists()


def test_a_bad_text_line_is_named(org: Any) -> None:
    with pytest.raises(FieldError) as error:
        lists.definition_from_text("country is DE\n\ngrade is Q")
    assert error.value.message.startswith("line 3: grade has no value 'Q'")


def test_only_marketing_and_admins_manage_lists(org: Any, now: datetime) -> None:
    for user in (org.rep1, org.manager):
        with pytest.raises(NotPermitted):
            lists.create_list(by=user, name="Mine", definition=[], now=now)
    assert lists.create_list(by=org.admin, name="Admin's", definition=[], now=now).pk


def test_the_sweep_keeps_members_up_to_date_and_counts_the_difference(
    org: Any, people: dict[str, Lead], now: datetime, add_event: Callable[..., Any]
) -> None:
    hot = lists.create_list(
        by=org.marketer,
        name="Clicked lately",
        definition=[{"field": "event", "kind": "email_click", "days": 30}],
        now=now,
    )
    add_event(people["de"], "email_click", days_ago=29)
    add_event(people["fr"], "email_click", days_ago=0)

    assert lists.run_due(now=now) == 2
    assert emails(Lead.objects.filter(list_memberships__lead_list=hot)) == ["de@x.io", "fr@x.io"]
    first_added = ListMember.objects.get(lead_list=hot, lead=people["de"]).added_at
    # Idempotent: the same moment again changes nothing.
    assert lists.run_due(now=now) == 0
    hot.refresh_from_db()
    assert (hot.last_joined, hot.last_left) == (0, 0)

    # Two days on, de's click is older than 30 days: de leaves, fr stays as it was.
    later = now + timedelta(days=2)
    assert lists.run_due(now=later) == 1
    hot.refresh_from_db()
    assert (hot.refreshed_at, hot.last_joined, hot.last_left) == (later, 0, 1)
    assert emails(Lead.objects.filter(list_memberships__lead_list=hot)) == ["fr@x.io"]
    assert ListMember.objects.get(lead_list=hot, lead=people["fr"]).added_at == now
    assert first_added == now


def test_a_changed_lead_joins_at_the_next_refresh(
    org: Any, people: dict[str, Lead], now: datetime
) -> None:
    grade_a = lists.create_list(
        by=org.marketer,
        name="A leads",
        definition=[{"field": "grade", "op": "is", "value": "A"}],
        now=now,
    )
    assert (grade_a.last_joined, grade_a.last_left) == (1, 0)
    Lead.objects.filter(pk=people["us"].pk).update(grade="A")
    Lead.objects.filter(pk=people["de"].pk).update(grade="B")

    done = lists.refresh_now(grade_a, by=org.marketer, now=now)

    assert (done.joined, done.left) == (1, 1)
    assert emails(lists.members(grade_a, viewer=org.marketer)) == ["us@x.io"]


def test_static_lists_take_and_give_up_leads_by_hand(
    org: Any, people: dict[str, Lead], now: datetime
) -> None:
    vip = lists.create_list(by=org.marketer, name="VIP", kind="static", now=now)

    assert lists.add_leads(vip, [people["de"].pk, people["us"].pk], by=org.marketer, now=now) == 2
    assert lists.add_leads(vip, [people["de"].pk], by=org.marketer, now=now) == 0
    assert lists.remove_leads(vip, [people["us"].pk], by=org.marketer) == 1
    assert emails(lists.members(vip, viewer=org.marketer)) == ["de@x.io"]
    # The sweep leaves a static list alone.
    lists.run_due(now=now)
    assert emails(lists.members(vip, viewer=org.marketer)) == ["de@x.io"]


def test_a_smart_list_takes_no_leads_by_hand(
    org: Any, people: dict[str, Lead], now: datetime
) -> None:
    smart = lists.create_list(by=org.marketer, name="All", definition=[], now=now)
    with pytest.raises(FieldError, match="smart list"):
        lists.add_leads(smart, [people["de"].pk], by=org.marketer, now=now)


def test_members_are_seen_only_within_what_the_viewer_sees(
    org: Any, people: dict[str, Lead], now: datetime
) -> None:
    Lead.objects.filter(pk=people["us"].pk).update(owner=org.rep3, team=org.americas)
    Lead.objects.filter(pk=people["de"].pk).update(owner=org.rep1, team=org.emea)
    everyone = lists.create_list(by=org.marketer, name="Everyone", definition=[], now=now)

    assert emails(lists.members(everyone, viewer=org.marketer)) == ["de@x.io", "fr@x.io", "us@x.io"]
    assert emails(lists.members(everyone, viewer=org.rep1)) == ["de@x.io"]
    assert emails(lists.members(everyone, viewer=org.us_manager)) == ["us@x.io"]


def test_the_lists_sweep_runs_before_outgoing_webhooks_and_on_beat(settings: Any) -> None:
    sweeps = settings.LEADLOOP_SWEEPS
    assert sweeps.index("nurture.lists.run_due") < sweeps.index(
        "outgoing_webhooks.services.run_due"
    )
    assert sweeps[-1] == "outgoing_webhooks.services.run_due"
    assert (
        settings.CELERY_BEAT_SCHEDULE["lists-sweep"]["task"] == "nurture.tasks.refresh_lists_task"
    )


def test_a_merge_moves_list_memberships_and_its_undo_gives_them_back(
    org: Any, people: dict[str, Lead], now: datetime
) -> None:
    from identity.merging import merge_leads, undo_merge

    vip = lists.create_list(by=org.marketer, name="VIP", kind="static", now=now)
    both = lists.create_list(by=org.marketer, name="Both", kind="static", now=now)
    survivor, duplicate = people["de"], people["fr"]
    lists.add_leads(vip, [duplicate.pk], by=org.marketer, now=now)
    lists.add_leads(both, [survivor.pk, duplicate.pk], by=org.marketer, now=now)

    record = merge_leads(survivor, duplicate, by=org.marketer, now=now)

    assert emails(lists.members(vip, viewer=org.marketer)) == ["de@x.io"]
    assert emails(lists.members(both, viewer=org.marketer)) == ["de@x.io"]
    undo_merge(record, by=org.marketer, now=now)
    assert emails(lists.members(vip, viewer=org.marketer)) == ["fr@x.io"]
    assert emails(lists.members(both, viewer=org.marketer)) == ["de@x.io", "fr@x.io"]
