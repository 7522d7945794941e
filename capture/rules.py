"""Pure intake rules: which fields a lead has, how values are cleaned, what a submission
may change on a lead already known, what a web form asks. How people and companies are
recognised is in `identity.rules`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from email_validator import EmailNotValidError, validate_email

from identity.rules import normalise_email
from leads.choices import Authority, Timeline
from leads.countries import country_code
from leads.errors import FieldError

from .choices import Submitter

TEXT_FIELDS = {
    "first_name": 100,
    "last_name": 100,
    "phone": 40,
    "title": 150,
    "company_name": 200,
    "website": 253,
    "country": 100,
    "industry": 100,
    "need": 2000,
}
# What the columns hold (Lead.employees, Lead.budget with 12 digits, 2 decimal places):
# larger values would fail in the database instead of being refused here.
MAX_EMPLOYEES = 2_147_483_647
MAX_BUDGET = Decimal(10**10)
LEAD_FIELDS = frozenset(
    {"email", *TEXT_FIELDS, "employees", "authority", "budget", "timeline", "custom_fields"}
)


EMAIL_MAX_LENGTH = 254

# What a form's unanswered drop-down or an export's empty cell says instead of nothing
# ("Select", "-- Select --", "Please select", "N/A", "none", "-"): its words, in any case,
# with any punctuation and space around and between them ("" is punctuation alone). Such
# a value is empty at every door: forms, the API, webhooks and imports (which run the
# same expression over a whole column, `imports.normalise.blank_placeholders`).
PLACEHOLDERS = frozenset(
    {"", "select", "select one", "select an option", "select option", "please select",
     "please select one", "please choose", "choose", "choose one", "choose an option",
     "n a", "na", "not applicable", "none", "null", "nil"}
)  # fmt: skip
# People are called Na, Nil or Null: in a name, only the placeholders no one is called.
NAME_FIELDS = frozenset({"first_name", "last_name", "full_name"})
NAMES_PEOPLE_HAVE = frozenset({"na", "nil", "null", "none"})
_SEPARATOR = r"[\W_]"  # anything but a letter or digit of any script, in Python and Rust


@cache
def placeholder_pattern(field: str = "") -> str:
    """The regular expression of the values that are no answer in `field` (Python's and
    Rust's engines read it alike). A choice field's own value is never one (an authority
    of "none" means no buying authority), nor a name people have in a name field."""
    keys = PLACEHOLDERS - NAMES_PEOPLE_HAVE if field in NAME_FIELDS else PLACEHOLDERS
    own = CHOICE_SPELLINGS.get(field, {})
    words = sorted((key for key in keys if key and not own.get(key)), key=len, reverse=True)
    spelled = "|".join(f"{_SEPARATOR}+".join(map(re.escape, key.split())) for key in words)
    return rf"(?i)^{_SEPARATOR}*(?:(?:{spelled}){_SEPARATOR}*)?$"


def is_placeholder(raw: Any, field: str = "") -> bool:
    """Whether a value only says that nothing was chosen or given ("Select", "N/A", "-")."""
    return isinstance(raw, str) and re.match(placeholder_pattern(field), raw) is not None


def choice_key(raw: str) -> str:
    """How a choice is looked up: "This_Quarter", "this-quarter", " this quarter" alike."""
    return " ".join(raw.replace("_", " ").replace("-", " ").casefold().split())


def _spellings(choices: Any, extra: dict[str, str]) -> dict[str, str]:
    table = {}
    for value, label in choices.choices:
        table[choice_key(value)] = value
        table[choice_key(str(label))] = value
    table.update({choice_key(spelling): value for spelling, value in extra.items()})
    return table


# What CRM exports and people write for the choice fields ("" = unknown, left empty).
CHOICE_SPELLINGS: dict[str, dict[str, str]] = {
    "authority": _spellings(
        Authority,
        {"decision-maker": "decision_maker", "dm": "decision_maker",
         "economic buyer": "decision_maker", "budget holder": "decision_maker",
         "final say": "decision_maker", "champion": "influencer",
         "recommender": "influencer", "evaluator": "influencer", "end user": "user",
         "no authority": "none", "no": "none", "not sure": "", "n/a": "", "tbd": ""},
    ),
    "timeline": _spellings(
        Timeline,
        {"immediately": "now", "asap": "now", "right away": "now", "this month": "now",
         "within 1 month": "now", "within a month": "now", "this quarter": "quarter",
         "within 3 months": "quarter", "within three months": "quarter",
         "0-3 months": "quarter", "1-3 months": "quarter", "next 3 months": "quarter",
         "this year": "year", "next quarter": "year", "within 6 months": "year",
         "within six months": "year", "3-6 months": "year", "6-12 months": "year",
         "within 12 months": "year", "within a year": "year", "next 6 months": "year",
         "next 12 months": "year", "next year": "later", "12+ months": "later",
         "more than a year": "later", "someday": "later", "not interested": "never",
         "no plans": "never", "not sure": "", "n/a": "", "tbd": ""},
    ),
}  # fmt: skip


_QUARTER = re.compile(r"^(?:(?:fy)?(\d{4}) )?q([1-4])(?: (?:fy)?'?(\d{4}|\d{2}))?$")


def quarter_timeline(raw: str, now: datetime) -> str | None:
    """A calendar quarter ("Q3", "Q1 2027", "2027 Q1") as a timeline seen from `now`:
    this quarter, within the year ahead, later; None for a quarter already past."""
    match = _QUARTER.match(choice_key(raw))
    if match is None:
        return None
    before, quarter, after = match.groups()
    year = int(before or after or now.year)
    if year < 100:
        year += 2000
    ahead = (year - now.year) * 4 + int(quarter) - ((now.month - 1) // 3 + 1)
    if ahead < 0:
        return None
    if ahead == 0:
        return Timeline.QUARTER.value
    return Timeline.YEAR.value if ahead <= 3 else Timeline.LATER.value


def read_choice(field: str, raw: str, *, now: datetime | None = None) -> str | None:
    """The value of a choice field as typed ("" when it says unknown), None if unread;
    with `now`, a timeline may be a calendar quarter."""
    value = CHOICE_SPELLINGS[field].get(choice_key(raw))
    if value is None and field == "timeline" and now is not None:
        return quarter_timeline(raw, now)
    return value


def choice_problem(field: str, raw: str) -> str:
    allowed = ", ".join(sorted({v for v in CHOICE_SPELLINGS[field].values() if v}))
    return f"{raw.strip()!r} is not one of {allowed}"


def email_problem(email: str) -> str | None:
    """Why a (normalised) address cannot be an email address, or None when it can: its
    syntax only, as `email-validator` reads it (no look-up of the domain). A host that
    mail cannot reach from the internet ("localhost", "intranet", "x.test") is refused."""
    if len(email) > EMAIL_MAX_LENGTH:
        return f"longer than {EMAIL_MAX_LENGTH} characters"
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        return str(exc)
    return None


def clean_email(raw: str) -> str:
    """The address as stored (trimmed, lower case), or FieldError saying what is wrong."""
    email = normalise_email(raw)
    problem = email_problem(email)
    if problem is not None:
        raise FieldError("email", f"{raw.strip()!r} is not a valid email address: {problem}")
    return email


def clean_country(raw: str) -> str:
    """The country's ISO 3166-1 alpha-2 code, from a code, a name in one of many
    languages or a common short form ("UK", "USA"); FieldError when none fits."""
    code = country_code(raw)
    if code is None:
        raise FieldError(
            "country",
            f"{raw.strip()!r} is not a country we recognise: give its name,"
            " in one of many languages, or its two-letter code (DE, GB, US)",
        )
    return code


def clean_lead_fields(data: dict[str, Any], *, now: datetime | None = None) -> dict[str, Any]:
    """Check and normalise incoming lead fields; raise FieldError naming the first bad one.
    `now` reads a timeline given as a calendar quarter ("Q3")."""
    cleaned, errors = check_lead_fields(data, now=now)
    if errors:
        raise errors[0]
    return cleaned


def check_lead_fields(
    data: dict[str, Any], *, now: datetime | None = None
) -> tuple[dict[str, Any], list[FieldError]]:
    """The fields that are fine, cleaned, and an error for each field that is not (a
    form shows them all at once)."""
    cleaned: dict[str, Any] = {}
    errors = [FieldError(name, "unknown field") for name in sorted(set(data) - LEAD_FIELDS)]
    for name, raw in data.items():
        if name not in LEAD_FIELDS:
            continue
        try:
            _clean_field(cleaned, name, raw, now)
        except FieldError as error:
            errors.append(error)
    return cleaned, errors


def _clean_field(cleaned: dict[str, Any], name: str, raw: Any, now: datetime | None) -> None:
    """Clean one field into `cleaned`, or raise FieldError saying what is wrong."""
    if raw is None or raw == "" or is_placeholder(raw, name):
        return
    if name == "email":
        cleaned["email"] = clean_email(str(raw))
    elif name == "country":
        cleaned["country"] = clean_country(str(raw))
    elif name in TEXT_FIELDS:
        text = str(raw).strip()
        if len(text) > TEXT_FIELDS[name]:
            raise FieldError(name, f"longer than {TEXT_FIELDS[name]} characters")
        cleaned[name] = text
    elif name == "employees":
        try:
            employees = int(raw)
        except (TypeError, ValueError) as exc:
            raise FieldError(name, f"{raw!r} is not a whole number") from exc
        if employees < 0:
            raise FieldError(name, "cannot be negative")
        if employees > MAX_EMPLOYEES:
            raise FieldError(name, f"must be at most {MAX_EMPLOYEES:,}")
        cleaned[name] = employees
    elif name == "budget":
        try:
            budget = Decimal(str(raw).replace(",", "").strip())
        except InvalidOperation as exc:
            raise FieldError(name, f"{raw!r} is not a number") from exc
        # Finite first: comparing NaN raises.
        if not budget.is_finite() or budget < 0:
            raise FieldError(name, "must be a positive amount")
        if budget >= MAX_BUDGET:
            raise FieldError(name, f"must be less than {MAX_BUDGET:,}")
        cleaned[name] = budget
    elif name in CHOICE_SPELLINGS:
        value = read_choice(name, str(raw), now=now)
        if value is None:
            raise FieldError(name, choice_problem(name, str(raw)))
        if value:
            cleaned[name] = value
    elif name == "custom_fields":
        if not isinstance(raw, dict):
            raise FieldError(name, "must be an object of name → value")
        cleaned[name] = {str(k): v for k, v in raw.items() if not is_placeholder(v)}


# --- What a submission may change on a lead already known ------------------------------

# The lead's own fields a capture writes (email finds the lead, website its account).
PROFILE_FIELDS = (
    "first_name", "last_name", "phone", "title", "company_name", "country", "industry",
    "employees", "need", "authority", "budget", "timeline",
)  # fmt: skip
EMPTY = ("", None)


@dataclass(frozen=True)
class Rights:
    """What a submission may change on a lead Leadloop already knows."""

    # Replace values the lead has; without it, a submission only fills in empty fields.
    overwrite: bool
    # Take an answer that takes the lead out of the funnel (see `disqualifies`), and move
    # the lead to `disqualified` when its score says so.
    disqualify: bool
    # Score the lead afresh and move it to its segment's stage (routing it when it becomes
    # an MQL). Those moves only go forward, except disqualification.
    move: bool


# Someone in charge of the lead: what they send is what the lead is.
IN_CHARGE = Rights(overwrite=True, disqualify=True, move=True)
# Anyone at a public door (a form, a webinar tool): the person may be who they say and
# answer what we did not know yet, so the lead may move on; but the address may be someone
# else's, so nothing a person decided is overwritten, downgraded or disqualified.
STRANGER = Rights(overwrite=False, disqualify=False, move=True)
# A user who may not see the lead: their data is kept, and fills in what the lead lacks,
# but they decide nothing about it: not rescored, not moved, not routed (to them) now.
OUTSIDER = Rights(overwrite=False, disqualify=False, move=False)


def rights_of(submitter: str, *, is_new: bool, sees_lead: bool) -> Rights:
    """What a submission from `submitter` may change: everything on a lead it creates;
    on a known one, as `submitter` is trusted (`sees_lead`: a user may see the lead)."""
    if is_new or submitter == Submitter.INTERNAL:
        return IN_CHARGE
    if submitter == Submitter.USER:
        return IN_CHARGE if sees_lead else OUTSIDER
    return STRANGER


def disqualifies(name: str, value: Any) -> bool:
    """Whether an answer alone takes a lead out of the funnel (as
    `qualify.rules.score_profile` decides: a lead that will never buy)."""
    return name == "timeline" and value == Timeline.NEVER


def merge_fields(
    lead: Mapping[str, Any], sent: Mapping[str, Any], rights: Rights
) -> dict[str, Any]:
    """The fields a submission changes on a lead: name → new value.

    `lead` holds the lead's PROFILE_FIELDS and custom_fields, `sent` the cleaned fields
    submitted. Without `rights.overwrite` only empty fields (and custom fields the lead
    lacks) are filled in; without `rights.disqualify` an answer that would disqualify the
    lead is not taken (the submission keeps it for a person to read).
    """
    changes: dict[str, Any] = {}
    for name in PROFILE_FIELDS:
        if name not in sent:
            continue
        value = sent[name]
        if not rights.disqualify and disqualifies(name, value):
            continue
        if (rights.overwrite or lead.get(name) in EMPTY) and value != lead.get(name):
            changes[name] = value
    if "custom_fields" in sent:
        before = lead.get("custom_fields") or {}
        after = dict(before)
        for key, value in sent["custom_fields"].items():
            if rights.overwrite or before.get(key) in EMPTY:
                after[key] = value
        if after != before:
            changes["custom_fields"] = after
    return changes


# --- Web forms marketing builds ---------------------------------------------------------

# Lead fields a web form may ask for, in the order the form builder lists them.
FORM_FIELDS: tuple[str, ...] = (
    "email", "first_name", "last_name", "phone", "title", "company_name", "website",
    "country", "industry", "employees", "need", "authority", "budget", "timeline",
)  # fmt: skip


@dataclass(frozen=True)
class FormDefinition:
    """What a web form asks, cleaned: its fields in order, which are required, consent."""

    fields: list[str]
    required_fields: list[str]
    consent_text: str
    consent_purpose: str


def clean_form_definition(
    fields: list[str], required: list[str], consent_text: str, consent_purpose: str
) -> FormDefinition:
    """Check a form's fields as marketing chose them; email is always asked and required.

    The order chosen is kept (duplicates dropped); a consent checkbox needs its purpose,
    so that what a person agreed to is stored with their consent.
    """
    unknown = [name for name in [*fields, *required] if name not in FORM_FIELDS]
    if unknown:
        raise FieldError("fields", f"{unknown[0]!r} is not a lead field a form can ask for")
    ordered = list(dict.fromkeys(["email", *fields] if "email" not in fields else fields))
    missing = [name for name in required if name not in ordered]
    if missing:
        raise FieldError("required_fields", f"{missing[0]!r} is required but not on the form")
    required_set = {"email", *required}
    consent_text, consent_purpose = consent_text.strip(), consent_purpose.strip()
    if consent_text and not consent_purpose:
        raise FieldError("consent_purpose", "say what the consent is for")
    if consent_purpose and not consent_text:
        raise FieldError("consent_text", "the checkbox needs a text people agree to")
    return FormDefinition(
        fields=ordered,
        required_fields=[name for name in ordered if name in required_set],
        consent_text=consent_text,
        consent_purpose=consent_purpose,
    )


def consent_record(*, text: str, purpose: str, given: bool, now: datetime) -> dict[str, Any]:
    """What a form submission keeps about consent: whether it was given and, if it was,
    the words agreed to, what for, and when."""
    if not given:
        return {"consent": False}
    return {
        "consent": True,
        "consent_text": text,
        "consent_purpose": purpose,
        "consent_at": now.isoformat(),
    }
