"""Pure rules of identity: when two leads are one person, and what a merge keeps."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from capture.rules import clean_form_definition, consent_record
from identity.choices import DuplicateReason
from identity.rules import (
    DUPLICATE,
    SURVIVOR,
    LeadStanding,
    MatchKeys,
    company_key,
    compare_keys,
    default_choices,
    differing_fields,
    fold,
    merged_values,
    person_key,
    phone_key,
    suggest_survivor,
)
from leads.errors import FieldError

EARLY = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
LATE = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("phone", "country", "key"),
    [
        ("+49 30 1234567", "", "+49301234567"),
        ("0049 (30) 123-4567", "", "+49301234567"),
        ("030 1234567", "Germany", "+49301234567"),
        ("030 1234567", "DE", "+49301234567"),
        ("030 1234567", "Deutschland", "+49301234567"),
        ("030 1234567", "Allemagne", "+49301234567"),
        ("(415) 555-0100", "USA", "+14155550100"),
        ("415.555.0100", "United States", "+14155550100"),
        ("020 7946 0018", "UK", "+442079460018"),
        # No country code and no country: the digits alone, never equal to an E.164 key.
        ("030 1234567", "", "#0301234567"),
        ("030-1234567", "Atlantis", "#0301234567"),
        ("12 34", "", ""),
        ("", "Germany", ""),
        ("ext. 12", "", ""),
    ],
)
def test_phones_match_in_e164(phone: str, country: str, key: str) -> None:
    assert phone_key(phone, country) == key


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("José  Müller", "jose muller"),
        ("MÜLLER-Lüdenscheidt", "muller ludenscheidt"),
        ("Straße", "strasse"),
        ("  O'Brien ", "o brien"),
        ("", ""),
    ],
)
def test_fold_ignores_case_accents_and_punctuation(text: str, folded: str) -> None:
    assert fold(text) == folded


@pytest.mark.parametrize(
    ("first", "last", "key"),
    [
        ("Ann", "Lee", "ann|lee"),
        ("ÁNN", "lée", "ann|lee"),
        ("Ann", "", ""),
        ("", "Lee", ""),
    ],
)
def test_person_key_needs_both_names(first: str, last: str, key: str) -> None:
    assert person_key(first, last) == key


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Acme Inc.", "acme"),
        ("ACME", "acme"),
        ("Acme GmbH & Co. KG", "acme"),
        ("Société Générale SA", "societe generale"),
        ("Limited", "limited"),  # a name that is only a legal form stays a name
        ("", ""),
    ],
)
def test_company_key_drops_the_legal_form(name: str, key: str) -> None:
    assert company_key(name) == key


ANN_ACME = MatchKeys(phone="+49301234567", person="ann|lee", company="acme")


@pytest.mark.parametrize(
    ("mine", "account", "other", "other_account", "reason"),
    [
        (ANN_ACME, None, ANN_ACME, None, DuplicateReason.PHONE_NAME_COMPANY),
        (ANN_ACME, None, MatchKeys("+49301234567", "bob|king", "other"), None, "phone"),
        (ANN_ACME, None, MatchKeys("", "ann|lee", "acme"), None, "name_company"),
        # Same account, the company written differently.
        (ANN_ACME, 7, MatchKeys("", "ann|lee", "acme europe"), 7, "name_company"),
        # Same name at another company, or with no company at all: not enough.
        (ANN_ACME, 7, MatchKeys("", "ann|lee", "globex"), 8, None),
        (MatchKeys("", "ann|lee", ""), None, MatchKeys("", "ann|lee", ""), None, None),
        # Empty keys never match each other.
        (MatchKeys("", "", ""), None, MatchKeys("", "", ""), None, None),
    ],
)
def test_compare_keys(
    mine: MatchKeys,
    account: int | None,
    other: MatchKeys,
    other_account: int | None,
    reason: str | None,
) -> None:
    assert compare_keys(mine, account, other, other_account) == reason


def values(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "email": "ann@acme.io",
        "external_id": None,
        "first_name": "Ann",
        "last_name": "Lee",
        "phone": "",
        "title": "",
        "company_name": "Acme",
        "account_id": 1,
        "country": "",
        "industry": "",
        "employees": None,
        "need": "",
        "authority": "",
        "budget": None,
        "timeline": "",
        "arrived_at": EARLY,
        "source": "web_form",
        "first_campaign_id": None,
        "custom_fields": {},
    }
    return base | overrides


def test_only_fields_that_differ_are_offered() -> None:
    survivor = values(custom_fields={"a": 1, "b": 2})
    duplicate = values(
        email="ann.lee@acme.io", phone="+4930", custom_fields={"a": 1, "c": 3}, arrived_at=LATE
    )

    assert differing_fields(survivor, duplicate) == ["email", "phone", "origin"]


@pytest.mark.parametrize(
    ("survivor", "duplicate", "duplicate_is_newer", "expected"),
    [
        # The non-empty value, whoever is newer.
        (values(phone=""), values(phone="+4930"), False, {"phone": DUPLICATE}),
        (values(phone="+4930"), values(phone=""), True, {"phone": SURVIVOR}),
        # Both filled: the newer lead's.
        (values(title="CTO"), values(title="CEO"), True, {"title": DUPLICATE}),
        (values(title="CTO"), values(title="CEO"), False, {"title": SURVIVOR}),
        # Where the person first came from: the earlier arrival, for attribution.
        (values(arrived_at=LATE), values(arrived_at=EARLY), False, {"origin": DUPLICATE}),
        (values(arrived_at=EARLY), values(arrived_at=LATE), True, {"origin": SURVIVOR}),
        (values(), values(), True, {}),
        # A work address over free mail, whoever is newer.
        (values(), values(email="ann@gmail.com"), True, {"email": SURVIVOR}),
        (values(email="ann@gmail.com"), values(email="ann@acme.io"), False, {"email": DUPLICATE}),
        # One value spelled twice: the more precise spelling, whoever is newer.
        (values(first_name="Maria"), values(first_name="María"), False, {"first_name": DUPLICATE}),
        (values(last_name="Lee"), values(last_name="LEE"), True, {"last_name": SURVIVOR}),
        (
            values(phone="+49 30 1234567", country="Germany"),
            values(phone="030 1234567", country="Germany"),
            True,
            {"phone": SURVIVOR},
        ),
        # Two numbers, or a company on another account, are different values: the newer.
        (values(phone="+49301"), values(phone="+49302"), True, {"phone": DUPLICATE}),
        (values(company_name="acme"), values(company_name="ACME", account_id=2), True,
         {"company": DUPLICATE}),
    ],
)  # fmt: skip
def test_default_choices(
    survivor: dict[str, Any],
    duplicate: dict[str, Any],
    duplicate_is_newer: bool,
    expected: dict[str, str],
) -> None:
    assert default_choices(survivor, duplicate, duplicate_is_newer=duplicate_is_newer) == expected


def test_merged_values_take_the_chosen_side_and_unite_custom_fields() -> None:
    survivor = values(title="CTO", custom_fields={"a": 1, "b": 2}, budget=None)
    duplicate = values(
        title="CEO",
        company_name="Acme GmbH",
        account_id=2,
        budget=Decimal("5000"),
        custom_fields={"b": 9, "c": 3},
        arrived_at=LATE,
        source="import",
    )

    written = merged_values(
        survivor,
        duplicate,
        {"title": SURVIVOR, "company": DUPLICATE, "budget": DUPLICATE, "origin": SURVIVOR},
    )

    assert written == {
        "company_name": "Acme GmbH",
        "account_id": 2,
        "budget": Decimal("5000"),
        "custom_fields": {"a": 1, "b": 2, "c": 3},
    }


def test_custom_fields_of_the_duplicate_win_when_chosen() -> None:
    written = merged_values(
        values(custom_fields={"b": 2}),
        values(custom_fields={"b": 9}),
        {"custom_fields": DUPLICATE},
    )

    assert written == {"custom_fields": {"b": 9}}


@pytest.mark.parametrize(
    ("choices", "field"),
    [({"shoe_size": SURVIVOR}, "field_choices.shoe_size"), ({"title": "b"}, "field_choices.title")],
)
def test_a_bad_choice_is_refused_naming_it(choices: dict[str, str], field: str) -> None:
    with pytest.raises(FieldError) as error:
        merged_values(values(), values(), choices)

    assert error.value.field == field


@pytest.mark.parametrize(
    ("first", "second", "survivor"),
    [
        (LeadStanding(1, "nurturing", 0, EARLY), LeadStanding(2, "accepted", 0, LATE), 2),
        (LeadStanding(1, "mql", 1, LATE), LeadStanding(2, "mql", 3, LATE), 2),
        (LeadStanding(1, "mql", 1, LATE), LeadStanding(2, "mql", 1, EARLY), 2),
        (LeadStanding(1, "mql", 1, EARLY), LeadStanding(2, "mql", 1, EARLY), 1),
        (LeadStanding(1, "customer", 0, LATE), LeadStanding(2, "disqualified", 9, EARLY), 1),
    ],
)
def test_suggested_survivor_is_further_on_then_busier_then_older(
    first: LeadStanding, second: LeadStanding, survivor: int
) -> None:
    assert suggest_survivor(first, second) == survivor


# --- Web form definitions ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "required", "expected_fields", "expected_required"),
    [
        (["first_name", "email", "company_name"], [], ["first_name", "email", "company_name"], ["email"]),
        # Email is always asked (first, when it was not ticked) and always required.
        (["phone", "first_name"], ["phone"], ["email", "phone", "first_name"], ["email", "phone"]),
        (["title", "title", "email"], ["title"], ["title", "email"], ["title", "email"]),
    ],
)  # fmt: skip
def test_form_definition_keeps_the_order_and_requires_email(
    fields: list[str], required: list[str], expected_fields: list[str], expected_required: list[str]
) -> None:
    definition = clean_form_definition(fields, required, "", "")

    assert (definition.fields, definition.required_fields) == (expected_fields, expected_required)


@pytest.mark.parametrize(
    ("fields", "required", "text", "purpose", "field"),
    [
        (["email", "custom_fields"], [], "", "", "fields"),
        (["email", "shoe_size"], [], "", "", "fields"),
        (["email"], ["phone"], "", "", "required_fields"),
        (["email"], [], "Send me news", "", "consent_purpose"),
        (["email"], [], "", "newsletter", "consent_text"),
    ],
)
def test_form_definition_errors_name_the_field(
    fields: list[str], required: list[str], text: str, purpose: str, field: str
) -> None:
    with pytest.raises(FieldError) as error:
        clean_form_definition(fields, required, text, purpose)

    assert error.value.field == field


def test_consent_record_keeps_words_purpose_and_time_only_when_given() -> None:
    given = consent_record(text="Send me news", purpose="newsletter", given=True, now=EARLY)
    refused = consent_record(text="Send me news", purpose="newsletter", given=False, now=EARLY)

    assert given == {
        "consent": True,
        "consent_text": "Send me news",
        "consent_purpose": "newsletter",
        "consent_at": "2026-01-05T09:00:00+00:00",
    }
    assert refused == {"consent": False}
