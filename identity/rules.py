"""Pure identity rules: how two leads are recognised as one person, and how they merge."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

import phonenumbers

from leads.choices import Stage
from leads.countries import country_code
from leads.errors import FieldError

from .choices import DuplicateReason

# --- Companies: which email domains are a company's ----------------------------------

# Personal mailbox providers: their domain never becomes a company account.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "hotmail.com",
        "hotmail.co.uk", "hotmail.fr", "outlook.com", "live.com", "msn.com", "aol.com",
        "icloud.com", "me.com", "mac.com", "proton.me", "protonmail.com", "gmx.de", "gmx.net",
        "gmx.com", "web.de", "mail.com", "yandex.ru", "yandex.com", "zoho.com", "qq.com",
        "163.com", "126.com", "rediffmail.com", "free.fr", "orange.fr", "laposte.net",
        "libero.it", "t-online.de", "btinternet.com", "comcast.net", "fastmail.com", "hey.com",
    }
)  # fmt: skip


def normalise_email(value: str) -> str:
    return value.strip().lower()


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1] if "@" in email else ""


def company_domain(email: str | None, website: str = "") -> str | None:
    """The company's domain from its website, else from a work email; never free mail."""
    if website:
        host = website.strip().lower()
        for prefix in ("https://", "http://"):
            host = host.removeprefix(prefix)
        host = host.split("/", 1)[0].split(":", 1)[0].removeprefix("www.")
        if "." in host:
            return host
    domain = email_domain(email or "")
    if domain and domain not in FREE_MAIL_DOMAINS:
        return domain
    return None


# --- Identity: likely duplicates --------------------------------------------------------

# Words that only say what kind of company it is: "Acme Inc." and "ACME" are one company.
LEGAL_FORMS = frozenset(
    {
        "inc", "incorporated", "llc", "llp", "lp", "ltd", "limited", "plc", "corp",
        "corporation", "co", "company", "gmbh", "mbh", "ag", "kg", "ug", "se", "sa", "sas",
        "sarl", "sàrl", "spa", "srl", "bv", "nv", "oy", "oyj", "ab", "as", "asa", "aps",
        "pty", "pvt", "kk", "group",
    }
)  # fmt: skip
MIN_PHONE_DIGITS = 7
# How sure a match is, 0–100: a shared switchboard makes a phone alone the weakest sign.
MATCH_SCORES = {
    DuplicateReason.PHONE: 60,
    DuplicateReason.NAME_COMPANY: 80,
    DuplicateReason.PHONE_NAME_COMPANY: 95,
}


@dataclass(frozen=True)
class MatchKeys:
    """What a lead is matched on: "" where the lead does not say enough to match on it."""

    phone: str
    person: str
    company: str


def fold(text: str) -> str:
    """Lower case, no accents, words of letters and digits only: "Müller-Lüdenscheidt "
    and "muller ludenscheidt" fold alike."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(re.sub(r"[^\w]+", " ", plain).replace("_", " ").split())


def person_key(first_name: str, last_name: str) -> str:
    """The person's name to match on; both names are needed, one alone matches too much."""
    first, last = fold(first_name), fold(last_name)
    return f"{first}|{last}" if first and last else ""


def company_key(company_name: str) -> str:
    """The company's name to match on, without its legal form."""
    words = fold(company_name).split()
    while len(words) > 1 and words[-1] in LEGAL_FORMS:
        words.pop()
    return " ".join(words)


def phone_region(country: str) -> str | None:
    """The phone region (ISO code) of a lead's country: stored as a code, read as people
    write it (`leads.countries.country_code`) for values stored before codes were."""
    code = country_code(country)
    return code if code in phonenumbers.SUPPORTED_REGIONS else None


_PHONE_TYPED = re.compile(r"^\+?[\d\s()./-]+$")


def phone_search_keys(text: str, countries: list[str]) -> list[str]:
    """The E.164 keys a search for a phone number as typed may mean: as written when it
    has a country code, else read in each of `countries` (the searcher's); [] when the
    text is not a phone number."""
    raw = text.strip()
    if not _PHONE_TYPED.match(raw) or len(re.sub(r"\D", "", raw)) < MIN_PHONE_DIGITS:
        return []
    keys = [phone_key(raw, country) for country in ["", *countries]]
    return list(dict.fromkeys(key for key in keys if key.startswith("+")))


def phone_key(phone: str, country: str = "") -> str:
    """The phone in E.164 ("+493012345678"), read in the lead's country when it has no
    country code; a number that cannot be read that way matches on its digits alone
    ("#030123456"), which never equals an E.164 key."""
    raw = phone.strip()
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    if raw:
        try:
            number = phonenumbers.parse(raw, phone_region(country))
        except phonenumbers.NumberParseException:
            number = None
        if number is not None and phonenumbers.is_possible_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    digits = re.sub(r"\D", "", raw)
    if len(digits) < MIN_PHONE_DIGITS:
        return ""
    return ("+" if raw.startswith("+") else "#") + digits


def match_keys(
    *, phone: str, country: str, first_name: str, last_name: str, company_name: str
) -> MatchKeys:
    return MatchKeys(
        phone=phone_key(phone, country),
        person=person_key(first_name, last_name),
        company=company_key(company_name),
    )


def match_reason(*, same_phone: bool, same_person_and_company: bool) -> DuplicateReason | None:
    if same_phone and same_person_and_company:
        return DuplicateReason.PHONE_NAME_COMPANY
    if same_phone:
        return DuplicateReason.PHONE
    if same_person_and_company:
        return DuplicateReason.NAME_COMPANY
    return None


def same_company(
    keys: MatchKeys, account_id: int | None, other: MatchKeys, other_account_id: int | None
) -> bool:
    """One company: the same account, or the same company name."""
    if account_id is not None and account_id == other_account_id:
        return True
    return bool(keys.company) and keys.company == other.company


def compare_keys(
    keys: MatchKeys, account_id: int | None, other: MatchKeys, other_account_id: int | None
) -> DuplicateReason | None:
    """Why two leads look like one person, or None when they do not."""
    return match_reason(
        same_phone=bool(keys.phone) and keys.phone == other.phone,
        same_person_and_company=bool(keys.person)
        and keys.person == other.person
        and same_company(keys, account_id, other, other_account_id),
    )


# --- Identity: merging two leads into one -----------------------------------------------

Side = Literal["survivor", "duplicate"]
SURVIVOR: Final = "survivor"
DUPLICATE: Final = "duplicate"


@dataclass(frozen=True)
class MergeField:
    """A choice on the merge screen: one radio, one or more lead columns (by attname)."""

    key: str
    label: str
    columns: tuple[str, ...]


MERGE_FIELDS: tuple[MergeField, ...] = (
    MergeField("email", "Email", ("email",)),
    MergeField("external_id", "External id", ("external_id",)),
    MergeField("first_name", "First name", ("first_name",)),
    MergeField("last_name", "Last name", ("last_name",)),
    MergeField("phone", "Phone", ("phone",)),
    MergeField("title", "Job title", ("title",)),
    # The account comes from the email's or website's domain: it goes with the name.
    MergeField("company", "Company", ("company_name", "account_id")),
    MergeField("country", "Country", ("country",)),
    MergeField("industry", "Industry", ("industry",)),
    MergeField("employees", "Employees", ("employees",)),
    MergeField("need", "Need", ("need",)),
    MergeField("authority", "Authority", ("authority",)),
    MergeField("budget", "Budget", ("budget",)),
    MergeField("timeline", "Timeline", ("timeline",)),
    # Where the person first came from decides campaign attribution: one choice.
    MergeField("origin", "First arrival", ("arrived_at", "source", "first_campaign_id")),
    MergeField("custom_fields", "Custom fields", ("custom_fields",)),
)
MERGE_FIELD_KEYS = frozenset(field.key for field in MERGE_FIELDS)
# How far a lead got: the default survivor is the one further on.
STAGE_PROGRESS: dict[str, int] = {
    Stage.DISQUALIFIED: 0, Stage.NEW: 1, Stage.NURTURING: 2, Stage.RECYCLED: 2, Stage.MQL: 3,
    Stage.ACCEPTED: 4, Stage.OPPORTUNITY: 5, Stage.CUSTOMER: 6,
}  # fmt: skip


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == {} or value == []


def _conflicting_custom_fields(survivor: dict[str, Any], duplicate: dict[str, Any]) -> bool:
    return any(key in survivor and survivor[key] != value for key, value in duplicate.items())


def differing_fields(survivor: Mapping[str, Any], duplicate: Mapping[str, Any]) -> list[str]:
    """Keys of MERGE_FIELDS on which the two leads' values (by attname) disagree.

    Custom fields are united; they differ only where both have a key with other values.
    """
    keys = []
    for field in MERGE_FIELDS:
        if field.key == "custom_fields":
            if _conflicting_custom_fields(
                survivor["custom_fields"] or {}, duplicate["custom_fields"] or {}
            ):
                keys.append(field.key)
        elif any(survivor[column] != duplicate[column] for column in field.columns):
            keys.append(field.key)
    return keys


def _spelling(text: str) -> tuple[int, int, int]:
    """How precisely a value is written: accents kept, mixed case, an international "+"."""
    return (
        sum(1 for char in text if ord(char) > 127),
        int(not (text.islower() or text.isupper())),
        int(text.startswith("+")),
    )


def _better_written(
    key: str, survivor: Mapping[str, Any], duplicate: Mapping[str, Any]
) -> Side | None:
    """Of two spellings of one value ("Maria"/"María", "030 1234"/"+49 30 1234"), the more
    precise; None when they are different values or equally well written."""
    column = {"company": "company_name"}.get(key, key)
    ours, theirs = survivor.get(column), duplicate.get(column)
    if not isinstance(ours, str) or not isinstance(theirs, str) or key == "email":
        return None
    if key == "phone":
        same = phone_key(ours, survivor.get("country") or "") == phone_key(
            theirs, duplicate.get("country") or ""
        )
    else:
        same = key != "company" or survivor["account_id"] == duplicate["account_id"]
        same = same and fold(ours) == fold(theirs)
    if not same or _spelling(ours) == _spelling(theirs):
        return None
    return DUPLICATE if _spelling(theirs) > _spelling(ours) else SURVIVOR


def _is_free_mail(email: Any) -> bool:
    return isinstance(email, str) and email_domain(email) in FREE_MAIL_DOMAINS


def default_choices(
    survivor: Mapping[str, Any], duplicate: Mapping[str, Any], *, duplicate_is_newer: bool
) -> dict[str, Side]:
    """For each differing field, the side whose value to keep unless someone says otherwise:
    the non-empty one; for the email, a work address over free mail; of two spellings of
    one value, the more precise; else the newer lead's. The first arrival is the earlier."""
    choices: dict[str, Side] = {}
    differing = differing_fields(survivor, duplicate)
    for field in MERGE_FIELDS:
        if field.key not in differing:
            continue
        ours = [survivor[column] for column in field.columns]
        theirs = [duplicate[column] for column in field.columns]
        if field.key == "origin":
            choices[field.key] = (
                DUPLICATE if duplicate["arrived_at"] < survivor["arrived_at"] else SURVIVOR
            )
        elif all(_is_empty(value) for value in ours):
            choices[field.key] = DUPLICATE
        elif all(_is_empty(value) for value in theirs):
            choices[field.key] = SURVIVOR
        elif field.key == "email" and _is_free_mail(ours[0]) != _is_free_mail(theirs[0]):
            choices[field.key] = DUPLICATE if _is_free_mail(ours[0]) else SURVIVOR
        elif better := _better_written(field.key, survivor, duplicate):
            choices[field.key] = better
        else:
            choices[field.key] = DUPLICATE if duplicate_is_newer else SURVIVOR
    return choices


def merged_values(
    survivor: Mapping[str, Any], duplicate: Mapping[str, Any], choices: Mapping[str, str]
) -> dict[str, Any]:
    """The columns (by attname) to write on the survivor, and their values.

    Raises FieldError for a choice that names no field or no side. Custom fields are
    united, the chosen side winning where both have a key.
    """
    for key, side in choices.items():
        if key not in MERGE_FIELD_KEYS:
            raise FieldError(f"field_choices.{key}", "not a field a merge can choose")
        if side not in (SURVIVOR, DUPLICATE):
            raise FieldError(f"field_choices.{key}", f"must be {SURVIVOR!r} or {DUPLICATE!r}")
    values: dict[str, Any] = {}
    for field in MERGE_FIELDS:
        if field.key == "custom_fields":
            ours, theirs = survivor["custom_fields"] or {}, duplicate["custom_fields"] or {}
            united = (
                {**ours, **theirs}
                if choices.get("custom_fields") == DUPLICATE
                else {**theirs, **ours}
            )
            if united != ours:
                values["custom_fields"] = united
        elif choices.get(field.key) == DUPLICATE:
            for column in field.columns:
                if survivor[column] != duplicate[column]:
                    values[column] = duplicate[column]
    return values


@dataclass(frozen=True)
class LeadStanding:
    """What decides which of two leads should survive a merge."""

    pk: int
    stage: str
    touch_count: int
    arrived_at: datetime


def suggest_survivor(first: LeadStanding, second: LeadStanding) -> int:
    """The lead further on in the lifecycle, then the one worked more, then the older."""

    def rank(lead: LeadStanding) -> tuple[int, int, datetime, int]:
        # Negated so that min() picks the further, busier, older lead.
        return (-STAGE_PROGRESS.get(lead.stage, 0), -lead.touch_count, lead.arrived_at, lead.pk)

    return min(first, second, key=rank).pk
