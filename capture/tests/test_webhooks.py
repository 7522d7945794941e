"""Mapping webhook payloads to events: pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from capture.webhooks import (
    ItemError,
    MappingConfigError,
    PayloadError,
    example_payload,
    item_key,
    map_payload,
    mapping_errors,
)

from .webhook_samples import (
    FLAT_FORM,
    FLAT_MAPPING,
    TYPEFORM_MAPPING,
    ZOOM_MAPPING,
    typeform,
    zoom,
)

NOW = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)


def test_a_webinar_delivery_maps_every_participant_to_an_event() -> None:
    mapped, errors = map_payload(zoom(), ZOOM_MAPPING, now=NOW)

    assert errors == []
    assert [(m.index, m.email, m.kind, m.member_status) for m in mapped] == [
        (0, "warm@de.de", "webinar_attended", "attended"),
        (1, "bo@beta.io", "webinar_attended", "attended"),
        (2, "cy@gamma.io", "webinar_no_show", "no-show"),
    ]
    # join_time when they came, else when they registered
    assert [m.occurred_at for m in mapped] == [
        datetime(2026, 11, 16, 9, 1, 40, tzinfo=UTC),
        datetime(2026, 11, 16, 9, 0, 5, tzinfo=UTC),
        datetime(2026, 11, 14, 19, 40, tzinfo=UTC),
    ]
    assert mapped[0].idempotency_key == "86172659103:Warm@DE.de:attended"
    assert mapped[0].properties == {"webinar": "Forecasting without spreadsheets", "seconds": 3382}
    assert mapped[2].properties == {"webinar": "Forecasting without spreadsheets"}
    assert mapped[1].lead == {
        "first_name": "Bo",
        "last_name": "Berg",
        "company_name": "Beta",
        "title": "Head of Finance",
        "country": "FR",
    }


def test_a_form_response_picks_answers_by_their_question_ref() -> None:
    mapped, errors = map_payload(typeform(), TYPEFORM_MAPPING, now=NOW)

    assert errors == []
    [item] = mapped
    assert (item.email, item.kind, item.idempotency_key) == (
        "ann@acme.io",
        "form_submit",
        "a3a12ec67a1365927098a606107fac15",
    )
    assert item.occurred_at == datetime(2026, 11, 16, 9, 30, 5, tzinfo=UTC)
    assert item.member_status == "responded"
    assert item.properties == {"form": "Book a demo", "utm_source": "newsletter"}
    assert item.lead == {
        "first_name": "Ann",
        "company_name": "Acme",
        "employees": 250,
        "need": "Forecast pipeline per region",
        "country": "DE",
        "timeline": "now",
        "authority": "decision_maker",
        "custom_fields": {"utm_campaign": "q4-demo"},
    }


def test_a_flat_single_object_payload_with_local_times() -> None:
    mapped, errors = map_payload(FLAT_FORM, FLAT_MAPPING, now=NOW)

    assert errors == []
    [item] = mapped
    # 10:45 in Berlin in November is 09:45 UTC
    assert item.occurred_at == datetime(2026, 11, 16, 9, 45, tzinfo=UTC)
    assert item.idempotency_key == "240123456789012:5821093847561234567"
    assert item.lead == {"first_name": "Li", "last_name": "Wu"}


def test_each_bad_item_is_an_error_naming_its_index_and_field_and_the_rest_map() -> None:
    payload = {
        "items": [
            {"mail": "a@x.io", "at": "2026-11-16T09:00:00Z", "what": "attended"},
            {"at": "2026-11-16T09:00:00Z", "what": "attended"},
            "not an object",
            {"mail": "c@x.io", "at": "yesterday", "what": "attended"},
            {"mail": "d@x.io", "at": "2026-11-16T09:00:00Z", "what": "left early"},
            {"mail": "not-an-email", "at": "2026-11-16T09:00:00Z", "what": "attended"},
            {"mail": "g@x.io", "at": "2026-11-16T09:00:00", "what": "attended"},
            {"mail": "h@x.io", "at": 1794819600, "what": "attended", "size": "lots"},
            {"mail": "i@x.io", "at": 1794819600000, "what": "attended", "note": "a\x00b"},
        ]
    }
    mapping = {
        "items": "items",
        "email": "mail",
        "occurred_at": "at",
        "kind": {"path": "what", "map": {"attended": "webinar_attended"}},
        "idempotency_key": "{mail}:{what}",
        "properties": {"note": "note"},
        "lead": {"employees": "size"},
    }

    mapped, errors = map_payload(payload, mapping, now=NOW)

    assert [m.index for m in mapped] == [0]
    assert errors == [
        ItemError(1, "email", "missing (no value at 'mail')"),
        ItemError(2, "item", "must be a JSON object"),
        ItemError(3, "occurred_at", "'yesterday' is not an ISO 8601 time"),
        ItemError(4, "kind", "'left early' is not mapped (expected one of 'attended')"),
        ItemError(
            5,
            "email",
            "'not-an-email' is not a valid email address: An email address must have an @-sign.",
        ),
        ItemError(
            6,
            "occurred_at",
            "'2026-11-16T09:00:00' has no UTC offset (set the mapping's timezone for this source)",
        ),
        ItemError(7, "employees", "'lots' is not a whole number"),
        ItemError(8, "item", "contains the NUL character or an unpaired surrogate"),
    ]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("participant.email", "a@x.io"),
        ("answers.1.text", "second"),
        ("answers[field.ref=company].text", "Acme"),
        ("answers[field.ref=nobody].text", None),
        ("answers[id=7].text", "second"),
        ("$.meeting.id", 42),
        ("participant.missing", None),
        ("participant.email.deeper", None),
        ("answers.9.text", None),
        ("flag", True),
    ],
)
def test_paths_read_keys_list_positions_selections_and_the_payload_root(
    path: str, expected: Any
) -> None:
    payload = {
        "meeting": {"id": 42},
        "items": [
            {
                "participant": {"email": "a@x.io"},
                "flag": True,
                "answers": [
                    {"id": 3, "text": "Acme", "field": {"ref": "company"}},
                    {"id": 7, "text": "second", "field": {"ref": "other"}},
                ],
            }
        ],
    }
    mapping = {
        "items": "items",
        "email": "participant.email",
        "kind": "page_view",
        "properties": {"value": path},
    }

    [item], errors = map_payload(payload, mapping, now=NOW)

    assert errors == []
    assert item.properties.get("value") == expected


@pytest.mark.parametrize(
    ("spec", "status", "kind"),
    [
        ("webinar_attended", "attended", "webinar_attended"),
        ({"path": "status"}, "registered", "registered"),
        ({"path": "status", "map": {"registered": "webinar_registered"}}, "registered",
         "webinar_registered"),
        ({"path": "status", "map": {"x": "y"}, "default": "page_view"}, "other", "page_view"),
        ({"value": "demo_request"}, "whatever", "demo_request"),
        ({"template": "zoom_{status}"}, "attended", "zoom_attended"),
    ],
)  # fmt: skip
def test_kind_is_a_constant_or_read_and_mapped(spec: Any, status: str, kind: str) -> None:
    [item], errors = map_payload({"email": "a@x.io", "status": status}, {"kind": spec}, now=NOW)
    assert errors == []
    assert item.kind == kind


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-16T09:00:00Z", datetime(2026, 11, 16, 9, 0, tzinfo=UTC)),
        ("2026-11-16T10:00:00+01:00", datetime(2026, 11, 16, 9, 0, tzinfo=UTC)),
        ("2026-11-16 09:00:00.250Z", datetime(2026, 11, 16, 9, 0, 0, 250000, tzinfo=UTC)),
        (1794819600, datetime(2026, 11, 16, 9, 0, tzinfo=UTC)),
        (1794819600000, datetime(2026, 11, 16, 9, 0, tzinfo=UTC)),
    ],
)
def test_times_with_an_offset_or_epoch_seconds_or_millis(value: Any, expected: datetime) -> None:
    [item], errors = map_payload(
        {"email": "a@x.io", "at": value}, {"kind": "x", "occurred_at": "at"}, now=NOW
    )
    assert errors == []
    assert item.occurred_at == expected


def test_without_occurred_at_in_the_mapping_the_event_happened_on_arrival() -> None:
    [item], _ = map_payload({"email": "a@x.io"}, {"kind": "form_submit"}, now=NOW)
    assert item.occurred_at == NOW


def test_without_a_configured_key_the_item_content_is_the_key() -> None:
    first = {"email": "a@x.io", "answer": 1}
    [a], _ = map_payload(first, {"kind": "form_submit"}, now=NOW)
    [again], _ = map_payload(dict(reversed(first.items())), {"kind": "form_submit"}, now=NOW)
    [other], _ = map_payload({"email": "a@x.io", "answer": 2}, {"kind": "form_submit"}, now=NOW)

    assert a.idempotency_key == again.idempotency_key == item_key(first)
    assert a.idempotency_key != other.idempotency_key


def test_a_template_key_with_a_missing_part_refuses_the_item() -> None:
    _, errors = map_payload(
        {"email": "a@x.io"}, {"kind": "x", "idempotency_key": "{meeting_id}:{email}"}, now=NOW
    )
    assert errors == [
        ItemError(
            0,
            "idempotency_key",
            "no value at 'meeting_id' for template '{meeting_id}:{email}'",
        )
    ]


def test_a_bad_profile_answer_names_its_lead_field() -> None:
    payload = typeform()
    payload["form_response"]["answers"][4]["choice"]["label"] = "Next decade"

    mapped, errors = map_payload(payload, TYPEFORM_MAPPING, now=NOW)

    assert mapped == []
    assert errors == [
        ItemError(
            0,
            "timeline",
            "'Next decade' is not mapped (expected one of 'Right now', 'This quarter',"
            " 'This year', 'Just looking')",
        )
    ]


def test_budget_is_cleaned_like_any_other_capture() -> None:
    [item], _ = map_payload(
        {"email": "a@x.io", "budget": "12,500"},
        {"kind": "x", "lead": {"budget": "budget"}},
        now=NOW,
    )
    assert item.lead == {"budget": Decimal("12500")}


def test_a_country_from_a_tool_becomes_its_code_and_an_unknown_one_is_named() -> None:
    mapping = {"kind": "x", "lead": {"country": "land"}}

    mapped, errors = map_payload(
        [{"email": "a@x.io", "land": "Deutschland"}, {"email": "b@x.io", "land": "Narnia"}],
        mapping,
        now=NOW,
    )

    assert [item.lead for item in mapped] == [{"country": "DE"}]
    assert [(error.index, error.field) for error in errors] == [(1, "country")]


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"event": "ping"}, "payload.object.participants", "not found in the payload"),
        ({"payload": {"object": {"participants": "none"}}}, "payload.object.participants",
         "must be a list of objects or one object"),
        ({"payload": {"object": {"participants": [{}] * 1001}}}, "payload.object.participants",
         "1001 items; at most 1000 per request"),
    ],
)  # fmt: skip
def test_a_payload_without_items_where_the_mapping_says_is_refused_whole(
    payload: Any, field: str, message: str
) -> None:
    with pytest.raises(PayloadError) as caught:
        map_payload(payload, ZOOM_MAPPING, now=NOW)
    assert caught.value.field == field
    assert caught.value.message.startswith(message)


def test_an_empty_list_of_items_is_nothing_to_do() -> None:
    assert map_payload(zoom(payload={"object": {"participants": []}}), ZOOM_MAPPING, now=NOW) == (
        [],
        [],
    )


@pytest.mark.parametrize(
    ("mapping", "errors"),
    [
        ({"email": "email"}, [("mapping.kind", "required: an event kind, or a path and a map")]),
        ({"kind": "x", "colour": "red"}, [("mapping.colour", "unknown key")]),
        ({"kind": {"map": {"a": "b"}}}, [("mapping.kind", "needs a path (or value, or template)")]),
        ({"kind": "x", "email": "a..b"}, [("mapping.email", "cannot read a path from 'a..b'")]),
        ({"kind": "x", "lead": {"shoe_size": "s"}},
         [("mapping.lead.shoe_size", "not a lead profile field (email is mapped above)")]),
        ({"kind": "x", "member_status": "vip"},
         [("mapping.member_status",
           "'vip' is not one of registered, attended, no-show, responded")]),
        ({"kind": "x", "timezone": "Mars/Olympus"},
         [("mapping.timezone", "unknown time zone 'Mars/Olympus'")]),
        ({"kind": "x", "idempotency_key": {"template": "static"}},
         [("mapping.idempotency_key", "template 'static' has no {path} placeholder")]),
        ({"kind": "x", "items": 3},
         [("mapping.items", 'must be a path, or "" for a single-object payload')]),
        ([], [("mapping", "must be a JSON object")]),
        (ZOOM_MAPPING, []),
        (TYPEFORM_MAPPING, []),
        (FLAT_MAPPING, []),
    ],
)  # fmt: skip
def test_a_mapping_is_checked_naming_each_bad_key(mapping: Any, errors: Any) -> None:
    assert mapping_errors(mapping) == errors
    if errors:
        with pytest.raises(MappingConfigError):
            map_payload({}, mapping, now=NOW)


@pytest.mark.parametrize(
    ("mapping", "kind"),
    [
        (ZOOM_MAPPING, "webinar_no_show"),  # "absent": a map's keys are taken in order
        (TYPEFORM_MAPPING, "form_submit"),
        (FLAT_MAPPING, "form_submit"),
        ({"kind": "demo_booked"}, "demo_booked"),
        ({"items": "data.0", "kind": {"path": "type", "map": {"signup": "trial"}}}, "trial"),
        (
            {"email": ["contact.email", "email"], "kind": {"template": "{type}_done"}},
            "example_event_done",
        ),
    ],
)
def test_the_example_delivery_maps_to_one_event_for_jane(mapping: Any, kind: str) -> None:
    payload = example_payload(mapping, now=NOW)

    mapped, errors = map_payload(payload, mapping, now=NOW)

    assert errors == []
    assert [(m.email, m.kind) for m in mapped] == [("jane.doe@example.com", kind)]


def test_the_example_fills_in_what_the_mapping_reads() -> None:
    payload = example_payload(TYPEFORM_MAPPING, now=NOW)

    mapped, _ = map_payload(payload, TYPEFORM_MAPPING, now=NOW)

    assert mapped[0].occurred_at == NOW
    assert mapped[0].lead == {
        "first_name": "Jane",
        "company_name": "Example Inc",
        "employees": 50,
        "need": "Replace our spreadsheets",
        "country": "DE",
        "timeline": "later",
        "authority": "decision_maker",
        "custom_fields": {"utm_campaign": "example"},
    }


@pytest.mark.parametrize(
    "mapping",
    [
        {"email": "email"},  # no kind: not a valid mapping
        {"items": "people[role=guest]", "kind": "visit"},  # the items path picks one object
        {"kind": "visit", "email": "a", "idempotency_key": "a.b"},  # "a" cannot be both
    ],
)
def test_no_example_when_the_mapping_cannot_be_turned_around(mapping: Any) -> None:
    assert example_payload(mapping, now=NOW) is None
