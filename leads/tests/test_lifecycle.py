from datetime import timedelta

import pytest

from capture.services import capture_lead
from leads.choices import Stage
from leads.lifecycle import ALLOWED, TransitionError, check_transition
from leads.models import Lead, StageChange
from leads.services import transition_lead


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        (Stage.NEW, Stage.MQL),
        (Stage.NEW, Stage.NURTURING),
        (Stage.NURTURING, Stage.MQL),
        (Stage.MQL, Stage.ACCEPTED),
        (Stage.ACCEPTED, Stage.OPPORTUNITY),
        (Stage.OPPORTUNITY, Stage.CUSTOMER),
        (Stage.RECYCLED, Stage.NURTURING),
    ],
)
def test_allowed_moves_pass(src: str, dst: str) -> None:
    check_transition(src, dst)


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        (Stage.NEW, Stage.CUSTOMER),
        (Stage.NEW, Stage.ACCEPTED),
        (Stage.NURTURING, Stage.OPPORTUNITY),
        (Stage.MQL, Stage.CUSTOMER),
        (Stage.CUSTOMER, Stage.NEW),
        (Stage.DISQUALIFIED, Stage.MQL),
    ],
)
def test_illegal_moves_are_refused_naming_the_field(src: str, dst: str) -> None:
    with pytest.raises(TransitionError) as error:
        check_transition(src, dst, reason="because")
    assert error.value.field == "to_stage"
    assert f"cannot move to '{dst}'" in error.value.message


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        (Stage.MQL, Stage.RECYCLED),
        (Stage.OPPORTUNITY, Stage.RECYCLED),
        (Stage.NEW, Stage.DISQUALIFIED),
    ],
)
def test_rejections_and_disqualifications_need_a_reason(src: str, dst: str) -> None:
    with pytest.raises(TransitionError) as error:
        check_transition(src, dst, reason="  ")
    assert error.value.field == "reason"


def test_unknown_stage_is_named() -> None:
    with pytest.raises(TransitionError, match="unknown stage 'won'"):
        check_transition(Stage.OPPORTUNITY, "won")


def test_every_stage_has_a_row_in_the_table() -> None:
    assert set(ALLOWED) == set(Stage.values)


def test_transition_writes_history_and_refuses_illegal_moves(org, now) -> None:
    lead = capture_lead({"email": "x@acme.io"}, source="api", now=now).lead
    assert lead.stage == Stage.NURTURING

    transition_lead(lead, Stage.MQL, now=now + timedelta(hours=1), by=org.marketer, reason="hot")
    with pytest.raises(TransitionError):
        transition_lead(lead, Stage.CUSTOMER, now=now + timedelta(hours=2))

    lead.refresh_from_db()
    assert lead.stage == Stage.MQL
    history = list(
        StageChange.objects.filter(lead=lead).values_list(
            "from_stage", "to_stage", "changed_by__username", "reason"
        )
    )
    assert history == [
        ("", Stage.NEW, None, "captured via api"),
        (Stage.NEW, Stage.NURTURING, None, "score 0"),
        (Stage.NURTURING, Stage.MQL, "marketer", "hot"),
    ]
    assert Lead.objects.count() == 1
