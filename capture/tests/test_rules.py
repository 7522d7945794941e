"""What a submission may change on a lead already known: pure rules, no database."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from capture.choices import Submitter
from capture.rules import (
    IN_CHARGE,
    OUTSIDER,
    STRANGER,
    Rights,
    disqualifies,
    merge_fields,
    rights_of,
)
from leads.choices import Authority, Timeline
from qualify.rules import Profile, score_profile


@pytest.mark.parametrize(
    ("submitter", "is_new", "sees_lead", "rights"),
    [
        (Submitter.INTERNAL, False, False, IN_CHARGE),
        (Submitter.USER, False, True, IN_CHARGE),
        (Submitter.USER, False, False, OUTSIDER),
        (Submitter.TOOL, False, False, STRANGER),
        (Submitter.PUBLIC, False, False, STRANGER),
        # Whoever creates a lead says what it is.
        (Submitter.USER, True, False, IN_CHARGE),
        (Submitter.TOOL, True, False, IN_CHARGE),
        (Submitter.PUBLIC, True, False, IN_CHARGE),
    ],
)
def test_who_submits_decides_what_a_submission_may_change(
    submitter: str, is_new: bool, sees_lead: bool, rights: Rights
) -> None:
    assert rights_of(submitter, is_new=is_new, sees_lead=sees_lead) == rights


KNOWN = {
    "first_name": "Ann", "last_name": "", "phone": "", "employees": None,
    "budget": Decimal("5000"), "timeline": "", "custom_fields": {"utm_source": "ads", "note": ""},
}  # fmt: skip
SENT = {
    "first_name": "Eve", "phone": "+49 1", "employees": 0, "budget": Decimal("1"),
    "custom_fields": {"utm_source": "mail", "note": "hi", "ref": "x"},
}  # fmt: skip


@pytest.mark.parametrize(
    ("rights", "sent", "changes"),
    [
        (
            IN_CHARGE,
            SENT,
            {
                "first_name": "Eve", "phone": "+49 1", "employees": 0, "budget": Decimal("1"),
                "custom_fields": {"utm_source": "mail", "note": "hi", "ref": "x"},
            },
        ),
        (
            STRANGER,
            SENT,
            {
                "phone": "+49 1", "employees": 0,
                "custom_fields": {"utm_source": "ads", "note": "hi", "ref": "x"},
            },
        ),
        (IN_CHARGE, {"timeline": "never"}, {"timeline": "never"}),
        (STRANGER, {"timeline": "never"}, {}),
        (OUTSIDER, {"timeline": "never", "first_name": "Ann"}, {}),
        (OUTSIDER, {"timeline": "now"}, {"timeline": "now"}),
    ],
)  # fmt: skip
def test_a_stranger_fills_in_only_empty_fields_and_never_a_disqualifying_answer(
    rights: Rights, sent: dict[str, Any], changes: dict[str, Any]
) -> None:
    assert merge_fields(KNOWN, sent, rights) == changes


@pytest.mark.parametrize(
    ("name", "value"),
    [("timeline", value) for value in Timeline.values]
    + [("authority", value) for value in Authority.values],
)
def test_the_answers_held_back_from_strangers_are_those_scoring_disqualifies(
    name: str, value: str
) -> None:
    # The worst a lead can be otherwise: no authority, nothing else known or earned.
    profile = Profile(**{"authority": "none", name: value})  # type: ignore[arg-type]
    assert disqualifies(name, value) == (score_profile(profile).segment == "disqualified")
