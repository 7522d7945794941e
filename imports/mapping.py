"""Which lead field each column of an import file fills.

`suggest_mapping` recognises the headers of common CRM, marketing-automation, lead-gen
and webinar exports (HubSpot, Salesforce, Marketo, Pardot, Mailchimp, Zoho, Pipedrive,
LinkedIn lead-gen forms, Zoom, GoToWebinar …); a column it does not recognise is kept as
a custom field `custom:<name>`. The user may override any column with `COLUMN=FIELD`,
where FIELD may also be `ignore`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

IGNORE = "ignore"
CUSTOM_PREFIX = "custom:"

# Fields an import can fill. Beyond the lead's own: `full_name` is split into first and
# last name, `website` only finds the company account, `arrived_at` is the history date
# (when the lead really first came in), `member_status` the campaign membership status.
IMPORT_FIELDS: dict[str, str] = {
    "email": "Email",
    "external_id": "External id (CRM record id)",
    "first_name": "First name",
    "last_name": "Last name",
    "full_name": "Full name (split into first and last)",
    "phone": "Phone",
    "title": "Job title",
    "company_name": "Company",
    "website": "Website (finds the company account)",
    "country": "Country",
    "industry": "Industry",
    "employees": "Number of employees",
    "need": "Need",
    "authority": "Authority",
    "budget": "Budget",
    "timeline": "Timeline",
    "source": "Lead source",
    "arrived_at": "Created / first contact date",
    "member_status": "Campaign status (registered, attended …)",
    # Recorded through nurture.consent (source "import") for the purpose the import names.
    "consent": "Marketing consent (yes / opted in: granted)",
    "opted_out": "Opted out of email (yes: consent withdrawn)",
}

# Activity columns (a CRM's or web analytics' totals): each non-empty one becomes an
# engagement event of the lead (qualify's `capture_event`), so a scoring model can count
# it. field → (label, event kind, what the number is). The event's time is the row's
# `last_activity_at` when the file has it, else the time of the import.
ENGAGEMENT_FIELDS: dict[str, tuple[str, str, str]] = {
    "page_views": ("Engagement: page views (count)", "page_view", "count"),
    "visits": ("Engagement: visits / sessions (count)", "visit", "count"),
    "time_on_site": ("Engagement: total time on site (seconds or h:mm:ss)", "time_on_site",
                     "seconds"),
    "email_opens": ("Engagement: email opens (count)", "email_open", "count"),
    "email_clicks": ("Engagement: email clicks (count)", "email_click", "count"),
    "form_submissions": ("Engagement: form submissions (count)", "form_submit", "count"),
    "last_activity_at": ("Engagement: last activity date", "activity", "date"),
}  # fmt: skip
IMPORT_FIELDS.update({name: label for name, (label, _, _) in ENGAGEMENT_FIELDS.items()})

# A choice field's value that is none of its choices ("Olark Chat" as a lead source) is
# kept as written, in the lead's custom field named here, beside the mapped choice (a
# source of "other", an authority, timeline or country left unknown): a scoring rule can
# read it as that custom field, and the import's preview and summary list such values.
KEPT_AS_WRITTEN: dict[str, str] = {
    "source": "lead_source",
    "authority": "authority",
    "timeline": "timeline",
    "country": "country",
}

# Header spellings, compared after `header_key` (lower case, letters and digits only).
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "email": (
        "email", "emailaddress", "e-mail", "mail", "workemail", "businessemail",
        "emailid", "primaryemail", "contactemail", "personemail", "attendeeemail",
        "registrantemail",
    ),
    "external_id": (
        "recordid", "leadid", "contactid", "id", "prospectid", "crmid", "externalid",
        "salesforceid", "hubspotid", "leid", "personid", "zohoid",
    ),
    "first_name": ("firstname", "first", "givenname", "forename", "prenom", "vorname"),
    "last_name": ("lastname", "last", "surname", "familyname", "nom", "nachname"),
    "full_name": (
        "name", "fullname", "contactname", "personname", "leadname", "username",
        "usernameoriginalname", "attendeename", "registrantname",
    ),
    "phone": (
        "phone", "phonenumber", "telephone", "tel", "mobile", "mobilephone",
        "mobilephonenumber", "mobilenumber", "cellphone", "workphone", "businessphone",
        "directphone", "phone1",
    ),
    "title": ("title", "jobtitle", "position", "designation", "role", "jobrole", "jobposition"),
    "company_name": (
        "company", "companyname", "organization", "organisation", "organizationname",
        "account", "accountname", "employer", "business", "firm",
    ),
    "website": ("website", "websiteurl", "companywebsite", "url", "web", "domain", "companydomain"),
    "country": (
        "country", "countryregion", "countryname", "countryregionname", "countrycode",
        "nation", "ipcountry",
    ),
    "industry": ("industry", "sector", "vertical"),
    "employees": (
        "employees", "numberofemployees", "noofemployees", "numemployees", "companysize",
        "employeecount", "headcount", "size", "employeesize",
    ),
    "need": ("need", "needs", "comments", "comment", "message", "notes", "description", "question", "questions"),
    "authority": ("authority", "buyingrole", "decisionmaker"),
    "budget": ("budget", "projectbudget"),
    "timeline": ("timeline", "timeframe", "purchasetimeframe", "buyingtimeframe"),
    "source": ("leadsource", "source", "originalsource", "sourcedetail", "channel"),
    "arrived_at": (
        "createdate", "createddate", "createdat", "createdon", "creationdate", "createdtime",
        "datecreated", "dateadded", "firstcontact", "firstcontactdate", "registrationtime",
        "registrationdate", "registeredat", "registrationdatetime", "submittedon",
        "submittedat", "submissiondate", "optintime", "becamealeaddate",
        "originalcreatedate", "personcreated", "leadcreated", "signupdate", "timestamp",
    ),
    "page_views": (
        "pageviews", "numberofpageviews", "totalpageviews", "numpageviews", "pagevisits",
        "totalpagevisits",
    ),
    "visits": (
        "visits", "totalvisits", "numberofvisits", "sessions", "numberofsessions",
        "totalsessions", "websitevisits",
    ),
    "time_on_site": (
        "timeonsite", "totaltimeonsite", "totaltimespentonwebsite", "timespentonwebsite",
        "timeonwebsite", "totaltimeonwebsite",
    ),
    "email_opens": (
        "emailopens", "emailsopened", "marketingemailsopened", "numberofemailopens",
        "totalemailopens",
    ),
    "email_clicks": (
        "emailclicks", "emailsclicked", "marketingemailsclicked", "numberofemailclicks",
        "totalemailclicks",
    ),
    "form_submissions": ("formsubmissions", "numberofformsubmissions", "totalformsubmissions"),
    "last_activity_at": (
        "lastactivitydate", "lastactivityat", "lastactivitytime", "lastengagementdate",
        "lastengagementat", "lastvisitdate", "lastseen", "lastseenat",
    ),
    "member_status": (
        "attended", "attendance", "attendancestatus", "registrationstatus", "memberstatus",
        "campaignmemberstatus",
    ),
    "consent": (
        "marketingconsent", "consent", "optedin", "optin", "emailoptin", "marketingoptin",
        "marketingcontactstatus", "gdprconsent", "newsletterconsent", "acceptsmarketing",
        "subscribed", "emailconsent",
    ),
    "opted_out": (
        "hasoptedoutofemail", "optedout", "optout", "emailoptout", "unsubscribed",
        "donotemail", "emailoptedout", "optedoutofemail",
    ),
}  # fmt: skip

# Recognised columns with no lead field of their own: kept as named custom fields.
_CUSTOM_NAMES: dict[str, str] = {
    "annualrevenue": "annual_revenue",
    "revenue": "annual_revenue",
    "leadstatus": "lead_status",
    "lifecyclestage": "lifecycle_stage",
    "rating": "rating",
    "city": "city",
    "state": "state",
    "stateregion": "state",
    "postalcode": "postal_code",
    "zip": "postal_code",
    "zipcode": "postal_code",
    "linkedinprofile": "linkedin",
    "linkedinprofileurl": "linkedin",
}

# Pipedrive-style prefixes ("Person - Email", "Organization - Name").
_PREFIXES = ("person", "lead", "contact", "prospect", "deal")
_COMPANY_PREFIXES = ("organization", "organisation", "org", "company", "account")

_LOOKUP: dict[str, str] = {
    synonym: field for field, synonyms in _SYNONYMS.items() for synonym in synonyms
}


def header_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def custom_field_name(column: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", column.strip().lower()).strip("_")
    return slug or "column"


def suggest_field(column: str) -> str:
    """The field a column most likely fills, or `custom:<name>`."""
    key = header_key(column)
    if key in _LOOKUP:
        return _LOOKUP[key]
    if key in _CUSTOM_NAMES:
        return CUSTOM_PREFIX + _CUSTOM_NAMES[key]
    lowered = column.strip().lower()
    for separator in (" - ", ": ", "."):
        if separator in lowered:
            prefix, rest = lowered.split(separator, 1)
            prefix_key, rest_key = header_key(prefix), header_key(rest)
            if prefix_key in _COMPANY_PREFIXES:
                if rest_key in ("name", "", "title"):
                    return "company_name"
                if rest_key in ("website", "url", "domain", "industry", "employees"):
                    return _LOOKUP.get(rest_key, "website")
                if rest_key in ("numberofemployees", "size"):
                    return "employees"
            if prefix_key in _PREFIXES and rest_key in _LOOKUP:
                return _LOOKUP[rest_key]
    return CUSTOM_PREFIX + custom_field_name(column)


def suggest_mapping(columns: Iterable[str]) -> dict[str, str]:
    """A field for every column. A field two columns claim goes to both: the first
    non-empty value in column order wins (e.g. "Phone" then "Mobile")."""
    return {column: suggest_field(column) for column in columns}


class MappingError(ValueError):
    """A mapping that names a column the file lacks or a field Leadloop does not have."""


class MissingColumn(MappingError):
    """No column is mapped to a field the import needs (`field`). The message says what
    is missing; each door adds how to fix it with its own controls (`advice`)."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field

    def advice(self, door: str) -> str:
        """The message with how to fix it at `door` ("cli" or "wizard")."""
        if self.field == "campaign":
            how = (
                "choose the campaign with --campaign NAME"
                if door == "cli"
                else "go back to the upload step and choose a campaign, or ignore that column"
            )
        elif door == "cli":
            how = f"map one with --map COLUMN={self.field}"
        else:
            how = (
                f"choose “{IMPORT_FIELDS.get(self.field, self.field)}” for the column that holds it"
            )
        return f"{self}; {how}"


def resolve_mapping(columns: list[str], overrides: Mapping[str, str] | None) -> dict[str, str]:
    """The suggestion for every column with the user's overrides applied and checked."""
    mapping = suggest_mapping(columns)
    by_key = {header_key(c): c for c in columns}
    for column, field in (overrides or {}).items():
        target = column if column in mapping else by_key.get(header_key(column))
        if target is None:
            raise MappingError(
                f"--map {column}={field}: the file has no column {column!r}"
                f" (columns: {', '.join(columns)})"
            )
        mapping[target] = check_field(field, column)
    return mapping


def check_field(field: str, column: str = "") -> str:
    field = field.strip()
    if field == IGNORE or field in IMPORT_FIELDS:
        return field
    if field.startswith(CUSTOM_PREFIX) and field[len(CUSTOM_PREFIX) :].strip():
        return CUSTOM_PREFIX + custom_field_name(field[len(CUSTOM_PREFIX) :])
    raise MappingError(
        f"--map {column}={field}: unknown field {field!r}; use one of "
        f"{', '.join(IMPORT_FIELDS)}, custom:<name> or ignore"
    )


def parse_map_options(values: Iterable[str]) -> dict[str, str]:
    """`COLUMN=FIELD` strings (as given on the command line) to a dict."""
    overrides: dict[str, str] = {}
    for value in values:
        column, sep, field = value.rpartition("=")
        if not sep or not column.strip() or not field.strip():
            raise MappingError(f"--map {value!r}: expected COLUMN=FIELD")
        overrides[column.strip()] = field.strip()
    return overrides
