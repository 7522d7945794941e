"""The pieces of the import that need no database: headers, emails, phones."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import phonenumbers
import polars as pl
import pytest

from capture.rules import clean_lead_fields, quarter_timeline
from imports.mapping import suggest_field
from imports.normalise import (
    AUTHORITY_VALUES,
    TIMELINE_VALUES,
    clean_choice,
    clean_country,
    clean_email,
    clean_phone,
    fast_e164,
)
from leads.errors import FieldError
from leads.exports import safe_cell


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Email Address", "email"),
        ("E-mail", "email"),
        ("Person - Email", "email"),
        ("First Name", "first_name"),
        ("FirstName", "first_name"),
        ("Last name", "last_name"),
        ("Full Name", "full_name"),
        ("Company", "company_name"),
        ("Company Name", "company_name"),
        ("Organization - Name", "company_name"),
        ("Organization", "company_name"),
        ("Job Title", "title"),
        ("Designation", "title"),
        ("Phone Number", "phone"),
        ("Mobile", "phone"),
        ("Mobile Phone Number", "phone"),
        ("Country/Region", "country"),
        ("Create Date", "arrived_at"),
        ("Created Date", "arrived_at"),
        ("Created Time", "arrived_at"),
        ("Registration Time", "arrived_at"),
        ("OPTIN_TIME", "arrived_at"),
        ("Attended", "member_status"),
        ("Lead Source", "source"),
        ("Website", "website"),
        ("Website URL", "website"),
        ("Number of Employees", "employees"),
        ("No. of Employees", "employees"),
        ("Record ID", "external_id"),
        ("Lead ID", "external_id"),
        ("Annual Revenue", "custom:annual_revenue"),
        ("Lead Status", "custom:lead_status"),
        ("Favourite Colour!", "custom:favourite_colour"),
        ("Status", "custom:status"),
    ],
)
def test_headers_of_common_exports_are_recognised(header: str, field: str) -> None:
    assert suggest_field(header) == field


EMAILS = [
    "ann@acme.io",
    "a.b+tag@sub.acme.co.uk",
    "o'hara@acme.io",
    "x@localhost",
    "x@[127.0.0.1]",
    "x@xn--bcher-kva.example",
    "x@bücher.de",
    '"quoted"@acme.io',
    "no-at-sign",
    "two@@acme.io",
    "dot.@acme.io",
    ".dot@acme.io",
    "a@b",
    "a@b.c",
    "a@-b.io",
    "a@b-.io",
    "a@b.io-",
    "a@b.c0m",
    "a@" + "b" * 64 + ".io",
    "a" * 250 + "@b.io",
    "bob@localhost",
    "bob@intranet",
    "bob@acme.test",
    "bob@printer.local",
    "bob@site.onion",
    "bob@ab--cd.com",
    "bob@xn--zz.com",
    "bob@123.com",
    "bob@x.123",
    "a..b@acme.io",
    "{}|~@acme.io",
    "a" * 65 + "@acme.io",
]


@pytest.mark.parametrize("email", EMAILS)
def test_email_verdict_is_the_capture_rules(email: str) -> None:
    try:
        clean_lead_fields({"email": email})
        rule_ok = True
    except FieldError:
        rule_ok = False

    values, errors = clean_email(pl.Series([email]))

    assert values[0] == email.lower()
    assert (errors[0] is None) == rule_ok


def test_an_address_at_a_host_mail_cannot_reach_is_refused_with_the_reason() -> None:
    with pytest.raises(FieldError) as raised:
        clean_lead_fields({"email": "bob@localhost"})
    assert raised.value.field == "email"
    assert raised.value.message == (
        "'bob@localhost' is not a valid email address:"
        " The part after the @-sign is not valid. It should have a period."
    )
    _, errors = clean_email(pl.Series(["bob@localhost"]))
    assert errors[0] == f"email: {raised.value.message}"


def test_emails_are_normalised() -> None:
    values, errors = clean_email(pl.Series([" Ann.Lee @ACME.io\u00a0", "mailto:B@x.io", None]))
    assert values.to_list() == ["ann.lee@acme.io", "b@x.io", None]
    assert errors.to_list() == [None, None, None]


def test_the_e164_fast_path_agrees_with_phonenumbers() -> None:
    rng = random.Random(7)
    codes = list(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
    samples = [
        "+"
        + str(rng.choice(codes))
        + "".join(rng.choice("0123456789") for _ in range(rng.randint(3, 13)))
        for _ in range(20_000)
    ]

    fast = fast_e164(pl.Series(samples)).to_list()

    for number, is_fast in zip(samples, fast, strict=True):
        if not is_fast:
            continue
        parsed = phonenumbers.parse(number, None)
        assert phonenumbers.is_possible_number(parsed), number
        assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == number
    assert sum(fast) > 2000
    common = ["+49301234567", "+12025550123", "+442079460958", "+33142685300", "+61291234567"]
    assert fast_e164(pl.Series(common)).to_list() == [True] * 5


def test_phones_become_e164_with_the_rows_country() -> None:
    phones = pl.Series(
        ["+49 (30) 123-4567", "0049 30 1234567", "(202) 555-0123", "030 1234567", ""]
    )
    regions = pl.Series(["DE", None, "US", "DE", None])

    values, errors = clean_phone(phones, regions)

    assert values.to_list() == [
        "+49301234567",
        "+49301234567",
        "+12025550123",
        "+49301234567",
        None,
    ]
    assert errors.to_list() == [None] * 5


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+49", "'+49"),
        ("-x", "'-x"),
        ("@a", "'@a"),
        ("\tx", "'\tx"),
        ("ok", "ok"),
        (3, 3),
    ],
)
def test_safe_cell(value: object, expected: object) -> None:
    assert safe_cell(value) == expected


COUNTRIES = [
    "Germany", "Deutschland", " allemagne ", "DE", "de", "UK", "U.K.", "USA", "usa",
    "United States of America", "Royaume-Uni", "Niemcy", "Côte d'Ivoire", "ドイツ",
    "Narnia", "Europe", "EU", "ZZ", "123", "x" * 101,
]  # fmt: skip


@pytest.mark.parametrize("typed", COUNTRIES)
def test_the_imports_country_is_the_capture_rules(typed: str) -> None:
    try:
        expected: str | None = clean_lead_fields({"country": typed})["country"]
    except FieldError:
        expected = None

    values, errors = clean_country(pl.Series([typed.strip()]))

    assert values[0] == expected
    assert (errors[0] is None) == (expected is not None)


IN_Q4 = datetime(2026, 11, 16, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "timeline"),
    [("Q4", "quarter"), ("q1 2027", "year"), ("2027 Q3", "year"), ("Q4 '27", "later"),
     ("Q3", None), ("Q3 2025", None), ("Q5", None)],
)  # fmt: skip
def test_a_calendar_quarter_is_a_timeline_seen_from_now(typed: str, timeline: str | None) -> None:
    assert quarter_timeline(typed, IN_Q4) == timeline


CHOICES = [
    ("timeline", "this_quarter"), ("timeline", "This year"), ("timeline", "within 6 months"),
    ("timeline", "ASAP"), ("timeline", "quarter"), ("timeline", "Q3"), ("timeline", "unknown"),
    ("timeline", "Q4"), ("timeline", "q1 2027"), ("timeline", "2027 Q3"), ("timeline", "Q4 '27"),
    ("timeline", "whenever"), ("authority", "Decision-Maker"), ("authority", "END_USER"),
    ("authority", "economic buyer"), ("authority", "influencer"), ("authority", "boss"),
]  # fmt: skip


@pytest.mark.parametrize(("field", "typed"), CHOICES)
def test_the_imports_choices_are_the_capture_rules(field: str, typed: str) -> None:
    try:
        expected: str | None = clean_lead_fields({field: typed}, now=IN_Q4).get(field)
        readable = True
    except FieldError:
        expected, readable = None, False
    table = AUTHORITY_VALUES if field == "authority" else TIMELINE_VALUES

    values, errors = clean_choice(pl.Series([typed]), field, table, now=IN_Q4)

    assert values[0] == expected
    assert (errors[0] is None) == readable
