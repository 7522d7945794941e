"""The demo story: ninety days of a small B2B seller's leads, told through the real services.

`leadloop seed_demo` calls `build_demo`. Every change goes through the service a user's
action would call — capture, engagement events, touches, sales feedback, the SLA sweep —
each with the simulated moment as `now`, walked strictly in time order. So the history is
one the rules themselves could have produced, and every report built on it is honest:
breaches were marked by the sweep, stage moves are StageChange rows, and so on.

The story, as the product's numbers tell it (DESIGN.md, "The problem, in numbers"):

- marketing runs a webinar (exactly 250 registrants, 83 attend), a trade show whose
  badge scans are imported days later, a contact form, paid ads, an ebook, a newsletter;
- roughly a quarter of leads are sales-ready on arrival, about half are nurtured (and
  engagement lifts some of them to sales-ready later), the rest are disqualified;
- reps answer most leads, some within the hour, some after the SLA, and some never: those
  sit overdue in the inbox right now, several per rep, and managers were notified;
- accepted leads become opportunities; some are won, some lost, some rejected back to
  nurture with a reason.

`--leads N` is the number of people. The webinar always has its 250 registrants and at
least 50 people come through other channels, so at least 300 leads are created. Then
the follow-up habits (`follow_up_habits`): a few more sales-ready leads per EMEA rep,
from the "Reseller intros" campaign, worked through their cadence in each rep's habit.

This module sits above every app (it drives them all); only the command imports it.
"""

from __future__ import annotations

import heapq
import itertools
import random
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Count, Q, Sum

from capture.models import WebForm
from capture.services import EventInput, capture_lead, record_events, record_form_event
from followup.choices import OpportunityStatus, TaskStatus, TouchKind, TouchOutcome
from followup.models import Opportunity, Task, Touch
from followup.services import (
    accept_lead,
    complete_task,
    convert_lead,
    lose_lead,
    record_touch,
    reject_lead,
    win_lead,
)
from followup.services import run_due as followup_run_due
from followup.setup import ensure_default_cadence
from identity.rules import FREE_MAIL_DOMAINS
from leads.choices import Authority, Channel, MemberStatus, Segment, Stage, Timeline
from leads.countries import country_code
from leads.lifecycle import SALES_STAGES
from leads.models import Account, Campaign, CampaignMember, Lead, StageChange
from leads.services import add_to_campaign
from nurture import consent
from nurture.choices import ConsentSource
from qualify.document import default_document
from qualify.services import rescore_all, save_model
from routing.availability import add_leave
from routing.rulebook import create_rule
from routing.rules import BusinessCalendar, add_business_hours
from routing.services import assign_lead, calendar_of, reassign_lead, run_due
from routing.sla import create_sla_policy
from users.choices import Role
from users.models import Notification, Team, User
from users.services import emails_held, update_team

from .nurture_story import NurtureStory

DAYS = 90
WEBINAR_REGISTRANTS = 250
WEBINAR_ATTENDEES = 83
MIN_OTHER_LEADS = 50
DEFAULT_LEADS = 3000
DEFAULT_PASSWORD = "demo"
# Actions per transaction: SQLite commits are the expensive part of a write.
CHUNK = 250
# Every rep keeps this many recent leads they never touched: the inbox shows them overdue.
BACKLOG_PER_REP = 3

ProgressCallback = Callable[[float, str], None]


# --- The cast ---------------------------------------------------------------------------

FIRST_NAMES = (
    "Anna", "Ben", "Clara", "David", "Elena", "Felix", "Greta", "Hugo", "Inès", "Jonas",
    "Katrin", "Lukas", "Marta", "Nils", "Olivia", "Paul", "Quentin", "Rosa", "Sven", "Tanja",
    "Ulrich", "Vera", "William", "Xavier", "Yara", "Zoë", "Amelia", "Brandon", "Chloé",
    "Diego", "Emma", "Frank", "Grace", "Henry", "Isabel", "Jack", "Kevin", "Laura", "Mason",
    "Nora", "Oscar", "Priya", "Ryan", "Sofia", "Thomas", "Uma", "Victor", "Wendy", "Aisha",
    "Bruno", "Camille", "Dmitri", "Fatima", "Giulia", "Hannah", "Ivan", "Jana", "Kofi",
    "Lea", "Mateo", "Noah", "Pierre", "Rahul", "Sara", "Tobias", "Lars", "Ingrid", "João",
    "Lucía", "Marco",
)  # fmt: skip
LAST_NAMES = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
    "Dubois", "Martin", "Bernard", "Moreau", "Rossi", "Russo", "García", "Fernández", "López",
    "Jansen", "de Vries", "Andersson", "Johansson", "Nielsen", "O'Brien", "Murphy", "Smith",
    "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
    "Thomas", "Moore", "Jackson", "White", "Harris", "Clark", "Lewis", "Walker", "Young",
    "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Carter", "Mitchell",
    "Silva", "Santos", "Oliveira", "Costa", "Novak", "Kowalski", "Horvat", "Berg",
)  # fmt: skip
COMPANY_WORDS = (
    "Northwind", "Contoso", "Fabrikam", "Globex", "Initech", "Acme", "Blue Sky", "Redwood",
    "Silverline", "Brightpath", "Evergreen", "Ironclad", "Lighthouse", "Pinnacle", "Quantum",
    "Riverstone", "Summit", "Trident", "Vertex", "Zenith", "Alpine", "Beacon", "Cobalt",
    "Delta", "Ember", "Falcon", "Granite", "Harbor", "Helix", "Juniper", "Keystone", "Lumen",
    "Meridian", "Nimbus", "Orchid", "Polaris", "Quartz", "Sterling", "Tundra", "Wavelength",
)  # fmt: skip
# (company name suffix, industry)
COMPANY_KINDS = (
    ("Logistics", "Logistics"), ("Analytics", "Software"), ("Systems", "Software"),
    ("Robotics", "Manufacturing"), ("Health", "Healthcare"), ("Capital", "Financial services"),
    ("Retail", "Retail"), ("Energy", "Energy"), ("Media", "Media"),
    ("Consulting", "Professional services"), ("Labs", "Software"), ("Foods", "Retail"),
    ("Industries", "Manufacturing"), ("Insurance", "Financial services"),
    ("Learning", "Education"),
)  # fmt: skip
# country: (share of leads, phone prefix, web domain ending)
COUNTRIES: dict[str, tuple[float, str, str]] = {
    "Germany": (0.16, "+49", "de"),
    "United Kingdom": (0.12, "+44", "co.uk"),
    "France": (0.08, "+33", "fr"),
    "Netherlands": (0.05, "+31", "nl"),
    "Spain": (0.04, "+34", "es"),
    "Italy": (0.03, "+39", "it"),
    "Sweden": (0.03, "+46", "se"),
    "Switzerland": (0.02, "+41", "ch"),
    "Austria": (0.02, "+43", "at"),
    "Ireland": (0.02, "+353", "ie"),
    "United States": (0.30, "+1", "com"),
    "Canada": (0.07, "+1", "ca"),
    "Brazil": (0.04, "+55", "com.br"),
    "Mexico": (0.02, "+52", "mx"),
}
EMEA_COUNTRIES = [
    "Germany", "United Kingdom", "France", "Netherlands", "Spain", "Italy", "Sweden",
    "Switzerland", "Austria", "Ireland",
]  # fmt: skip
AMERICAS_COUNTRIES = ["United States", "Canada", "Brazil", "Mexico"]
EMPLOYEE_SIZES = (8, 15, 30, 60, 120, 250, 500, 1200, 3000, 12000)
EMPLOYEE_WEIGHTS = (8, 12, 14, 14, 13, 11, 9, 8, 6, 5)
FREE_MAIL = ("gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "gmx.de", "icloud.com")

DECISION_MAKER_TITLES = (
    "CEO", "Founder", "VP Sales", "VP Marketing", "Head of Sales Operations",
    "Chief Revenue Officer", "Director of Marketing", "Head of Growth", "Managing Director",
)  # fmt: skip
INFLUENCER_TITLES = (
    "Marketing Operations Manager", "Sales Operations Manager", "Demand Generation Manager",
    "RevOps Lead", "CRM Manager", "Marketing Manager",
)  # fmt: skip
USER_TITLES = (
    "Sales Development Rep", "Account Executive", "Marketing Specialist", "Inside Sales Rep",
)  # fmt: skip
JUNK_TITLES = ("Student", "Intern", "Job seeker", "Freelance writer", "Account Executive")
NEEDS = (
    "Leads from our webinars go nowhere after the event.",
    "We want to replace the spreadsheet we route leads with.",
    "Inbound demo requests wait days before anyone calls.",
    "Route leads to the right rep by country and account.",
    "We cannot tell which campaigns produce revenue.",
    "Our reps ignore marketing leads; we need an SLA.",
    "Consolidate lead capture from events, ads and forms.",
    "Nurture leads that are not ready to buy yet.",
)
REJECT_REASONS = (
    "Student, not a buyer",
    "No budget this year",
    "Wrong contact, passed to a colleague",
    "Under contract with a competitor until next year",
    "Just researching, no project",
)
LOSS_REASONS = (
    "Chose a competitor",
    "No budget after all",
    "Project postponed",
    "Built it in-house",
)


@dataclass
class Person:
    """Someone who will become a lead, with everything they would ever tell us."""

    first_name: str
    last_name: str
    email: str
    title: str
    authority: str
    company_name: str
    country: str
    industry: str
    employees: int | None
    need: str
    budget: int | None
    timeline: str
    phone: str
    temperature: str  # "hot", "warm", "cold" or "junk": how good a fit they really are


@dataclass
class Arrival:
    """One time a person reaches us through a channel."""

    at: datetime
    person: Person
    channel: str
    campaign: str  # key into Story.campaigns
    imported_at: datetime | None = None  # trade show scans reach Leadloop later


@dataclass
class Step:
    """One thing sales will do to a lead, if the lead is still where the plan expects."""

    at: datetime
    action: str  # touch, accept, reject, convert, win, lose, recycle
    kind: str = ""
    outcome: str = ""
    reason: str = ""
    amount: Decimal | None = None


@dataclass
class Plan:
    lead_id: int
    steps: list[Step]
    number: int


@dataclass(frozen=True)
class DemoSummary:
    created: bool
    message: str
    leads: int = 0
    stages: dict[str, int] = field(default_factory=dict)
    segments: dict[str, int] = field(default_factory=dict)
    reached_mql: int = 0  # leads that were sales-ready at some point, now or before
    webinar: tuple[int, int, int] = (0, 0, 0)  # registrants, attended, no-show
    overdue_by_rep: dict[str, int] = field(default_factory=dict)
    breached: int = 0
    notifications: int = 0
    touches: int = 0
    opportunities: dict[str, int] = field(default_factory=dict)
    won_revenue: Decimal = Decimal("0")
    campaigns: list[tuple[str, int, Decimal]] = field(default_factory=list)
    logins: list[tuple[str, str, str, bool]] = field(default_factory=list)
    password: str = DEFAULT_PASSWORD


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


# --- The story --------------------------------------------------------------------------


class Story:
    """Builds the cast, then walks ninety days of actions in time order."""

    def __init__(
        self,
        *,
        people: int,
        seed: int,
        now: datetime,
        password: str,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.rng = random.Random(seed)
        self.now = now
        self.start = now - timedelta(days=DAYS)
        self.people = max(people, WEBINAR_REGISTRANTS + MIN_OTHER_LEADS)
        self.password = password
        self.password_hash = make_password(password)
        self.progress = progress
        self.heap: list[tuple[datetime, int, Callable[..., None], tuple[Any, ...]]] = []
        self.sequence = itertools.count()
        self.plan_numbers = itertools.count(1)
        self.current_plan: dict[int, int] = {}
        self.backlog: Counter[int] = Counter()
        self.away_since: dict[int, datetime] = {}
        self.emails: set[str] = set()
        self.sweeps: set[datetime] = set()
        self.uploads: dict[datetime, list[EventInput]] = {}
        self.logins: list[tuple[str, str, str, bool]] = []
        self.nurture = NurtureStory(self)

    # Scheduling ------------------------------------------------------------------------

    def at(self, when: datetime, action: Callable[..., None], *args: Any) -> None:
        """Do `action(when, *args)` at `when`; the future past `now` is never reached."""
        if when <= self.now:
            heapq.heappush(self.heap, (when, next(self.sequence), action, args))

    def later(self, team_id: int | None, start: datetime, hours: float) -> datetime:
        """`hours` working hours of the team after `start`: reps work office hours."""
        return add_business_hours(
            start, hours, self.calendars.get(team_id or 0, BusinessCalendar())
        )

    def run(self) -> None:
        total = (self.now - self.start).total_seconds()
        reported = -1
        while self.heap:
            with transaction.atomic():
                for _ in range(CHUNK):
                    if not self.heap:
                        break
                    when, _, action, args = heapq.heappop(self.heap)
                    action(when, *args)
            if self.progress is not None:
                done = min(max((when - self.start).total_seconds() / total, 0.0), 1.0)
                if int(done * 1000) != reported:
                    reported = int(done * 1000)
                    self.progress(done, f"{when:%a %d %b}")
        run_due(now=self.now)
        if self.progress is not None:
            self.progress(1.0, "done")

    # The organisation ------------------------------------------------------------------

    def build_org(self) -> None:
        emea, _ = Team.objects.get_or_create(
            name="EMEA",
            defaults={
                "timezone": "Europe/Berlin",
                "workday_start": time(9),
                "workday_end": time(17, 30),
                "countries": [country_code(name) for name in EMEA_COUNTRIES],
                "sla_hours": 8,
                "holidays": self._holidays(american=False),
            },
        )
        americas, _ = Team.objects.get_or_create(
            name="Americas",
            defaults={
                "timezone": "America/New_York",
                "workday_start": time(8, 30),
                "workday_end": time(17),
                "countries": [country_code(name) for name in AMERICAS_COUNTRIES],
                "sla_hours": 8,
                "holidays": self._holidays(american=True),
            },
        )
        self.teams = {"EMEA": emea, "Americas": americas}
        self.teams_by_pk = {team.pk: team for team in self.teams.values()}
        self.calendars = {team.pk: calendar_of(team) for team in self.teams.values()}
        joined = self.start - timedelta(days=120)
        self._user("admin", Role.ADMIN, None, "Ada", "Admin", joined, superuser=True)
        self._user("marketing", Role.MARKETING, None, "Mia", "Marketer", joined)
        self.managers = {
            emea.pk: self._user("manager1", Role.SALES_MANAGER, emea, "Greta", "Hoffmann", joined),
            americas.pk: self._user(
                "manager2", Role.SALES_MANAGER, americas, "Marcus", "Reed", joined
            ),
        }
        reps = [
            ("rep1", emea, "Jonas", "Becker"),
            ("rep2", emea, "Camille", "Laurent"),
            ("rep3", emea, "Oliver", "Hughes"),
            ("rep4", americas, "Emily", "Carter"),
            ("rep5", americas, "Daniel", "Ortiz"),
            ("rep6", americas, "Sophie", "Nguyen"),
        ]
        self.reps = [
            self._user(name, Role.SALES_REP, team, first, last, joined)
            for name, team, first, last in reps
        ]
        self.away_rep = self.reps[-1]

    def _holidays(self, *, american: bool) -> list[str]:
        """Public holidays from the story's first day to a year ahead: no SLA clock runs."""
        found: list[date] = []
        for year in range(self.start.year, self.now.year + 2):
            found += [date(year, 1, 1), date(year, 12, 25)]
            if american:
                found += [
                    date(year, 7, 4),
                    _nth_weekday(year, 5, 0, -1),  # Memorial Day
                    _nth_weekday(year, 9, 0, 1),  # Labor Day
                    _nth_weekday(year, 11, 3, 4),  # Thanksgiving
                ]
            else:
                found += [date(year, 12, 26)]
        horizon = self.now.date() + timedelta(days=365)
        return sorted(d.isoformat() for d in found if self.start.date() <= d <= horizon)

    def _user(
        self,
        username: str,
        role: str,
        team: Team | None,
        first: str,
        last: str,
        joined: datetime,
        *,
        superuser: bool = False,
    ) -> User:
        existing = User.objects.filter(username=username).first()
        team_name = team.name if team else ""
        if existing is not None:
            # Someone made this account already: keep it (and its password) as it is.
            self.logins.append((username, existing.role, team_name, False))
            return existing
        user = User.objects.create_user(
            username=username,
            password=None,
            email=f"{username}@leadloop.example",
            first_name=first,
            last_name=last,
            role=role,
            team=team,
            is_staff=superuser,
            is_superuser=superuser,
            timezone=team.timezone if team else "UTC",
            date_joined=joined,
        )
        # One hash for every demo login: hashing is slow on purpose (~0.4 s each).
        User.objects.filter(pk=user.pk).update(password=self.password_hash)
        self.logins.append((username, role, team_name, True))
        return user

    # Marketing -------------------------------------------------------------------------

    def build_campaigns(self) -> None:
        today = self.now.date()
        first_day = self.start.date()
        webinar_day = _weekday_on_or_after(first_day + timedelta(days=50), 3)  # a Thursday
        show_day = _weekday_on_or_after(first_day + timedelta(days=18), 1)  # Tue–Thu
        self.webinar_at = datetime.combine(webinar_day, time(16), UTC)
        self.show_days = [show_day + timedelta(days=i) for i in range(3)]
        # The booth's scanner export reaches marketing the Monday after the show.
        import_day = _weekday_on_or_after(show_day + timedelta(days=3), 0)
        self.show_import_at = datetime.combine(import_day, time(8, 40), UTC)
        specs = {
            "webinar": (
                "Webinar: No lead left behind",
                Channel.WEBINAR,
                4800,
                webinar_day,
                webinar_day,
            ),
            "show": ("SaaS Expo Berlin", Channel.TRADE_SHOW, 24000, show_day, self.show_days[-1]),
            "form": ("Website contact form", Channel.WEB_FORM, 3000, first_day, None),
            "google": ("Google Ads: lead management", Channel.PAID, 16500, first_day, today),
            "linkedin": ("LinkedIn Ads: speed to lead", Channel.PAID, 9800, first_day, today),
            "ebook": ("Ebook: The speed-to-lead playbook", Channel.CONTENT, 2200, first_day, None),
            "newsletter": ("Newsletter", Channel.EMAIL, 600, first_day, None),
            "referral": ("Partner referrals", Channel.REFERRAL, 0, first_day, None),
        }
        self.campaigns: dict[str, Campaign] = {}
        for key, (name, channel, cost, starts, ends) in specs.items():
            self.campaigns[key], _ = Campaign.objects.get_or_create(
                name=name,
                defaults={
                    "channel": channel,
                    "cost": Decimal(cost),
                    "starts_on": starts,
                    "ends_on": ends,
                },
            )
        WebForm.objects.get_or_create(
            slug="contact-us",
            defaults={
                "name": "Contact us",
                "campaign": self.campaigns["form"],
                "fields": [
                    "first_name",
                    "last_name",
                    "email",
                    "company_name",
                    "title",
                    "country",
                    "need",
                ],
                "consent_text": (
                    "I agree that Leadloop Demo Co may contact me about my enquiry "
                    "and store my details for that purpose."
                ),
            },
        )

    def build_accounts(self) -> None:
        count = min(400, max(60, self.people // 9))
        names = [f"{w} {k}" for w in COMPANY_WORDS for k, _ in COMPANY_KINDS]
        self.rng.shuffle(names)
        industries = dict(COMPANY_KINDS)
        countries = list(COUNTRIES)
        country_weights = [COUNTRIES[c][0] for c in countries]
        accounts = []
        self.country_of_domain: dict[str, str] = {}
        for name in names[:count]:
            country = self.rng.choices(countries, country_weights)[0]
            self.country_of_domain[f"{_ascii(name)}.{COUNTRIES[country][2]}"] = country
            accounts.append(
                Account(
                    name=name,
                    domain=f"{_ascii(name)}.{COUNTRIES[country][2]}",
                    industry=industries[name.rsplit(" ", 1)[1]],
                    employees=self.rng.choices(EMPLOYEE_SIZES, EMPLOYEE_WEIGHTS)[0],
                )
            )
        # A handful of marquee accounts sales always wants to hear from; the biggest
        # European one has a named account owner, so its leads go straight to that rep.
        big = [a for a in accounts if (a.employees or 0) >= 1200]
        for account in big[:5]:
            account.is_marquee = True
        emea_big = [a for a in big[:5] if a.domain and not a.domain.endswith((".com", ".ca"))]
        if emea_big:
            emea_big[0].owner = self.reps[0]
        Account.objects.bulk_create(accounts, ignore_conflicts=True)
        self.accounts = list(Account.objects.filter(domain__in=[a.domain for a in accounts]))
        # Bigger companies, and marquee ones, send more people.
        self.account_weights = [
            (3.0 if a.is_marquee else 1.0) * (1 + (a.employees or 0) ** 0.3) for a in self.accounts
        ]

    # People ----------------------------------------------------------------------------

    def person(self, temperature: str | None = None) -> Person:
        rng = self.rng
        temperature = (
            temperature or rng.choices(("hot", "warm", "cold", "junk"), (0.30, 0.22, 0.19, 0.29))[0]
        )
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        free_mail_share = {"hot": 0.04, "warm": 0.1, "cold": 0.2, "junk": 0.5}[temperature]
        account = None
        if rng.random() >= free_mail_share:
            account = rng.choices(self.accounts, self.account_weights)[0]
        if temperature == "hot":
            is_boss = rng.random() < 0.7
            title = rng.choice(DECISION_MAKER_TITLES if is_boss else INFLUENCER_TITLES)
            authority = Authority.DECISION_MAKER if is_boss else Authority.INFLUENCER
            need = rng.choice(NEEDS)
            budget: int | None = rng.randrange(10_000, 120_000, 1_000)
            timeline = rng.choice((Timeline.NOW, Timeline.NOW, Timeline.QUARTER))
        elif temperature == "warm":
            pick = rng.random()
            titles = (
                INFLUENCER_TITLES
                if pick < 0.55
                else USER_TITLES
                if pick < 0.8
                else DECISION_MAKER_TITLES
            )
            title = rng.choice(titles)
            authority = (
                Authority.INFLUENCER
                if pick < 0.55
                else Authority.USER
                if pick < 0.8
                else Authority.DECISION_MAKER
            )
            need = rng.choice(NEEDS) if rng.random() < 0.7 else ""
            budget = rng.choice((None, None, 2_000, 5_000, 8_000, 15_000))
            timeline = rng.choice((Timeline.QUARTER, Timeline.YEAR, Timeline.YEAR, Timeline.LATER))
        elif temperature == "cold":
            title = rng.choice(INFLUENCER_TITLES + USER_TITLES + DECISION_MAKER_TITLES[:2])
            authority = rng.choice((Authority.UNKNOWN, Authority.UNKNOWN, Authority.USER))
            need = rng.choice(NEEDS) if rng.random() < 0.25 else ""
            budget = None
            timeline = rng.choice((Timeline.UNKNOWN, Timeline.YEAR, Timeline.LATER))
        else:
            title = rng.choice(JUNK_TITLES)
            authority = Authority.NONE
            need = rng.choice(NEEDS) if rng.random() < 0.1 else ""
            budget = None
            timeline = Timeline.NEVER
        if account is not None and account.domain:
            domain = account.domain
            company, industry = account.name, account.industry
            country = self.country_of_domain.get(domain, "United States")
            employees = account.employees
        else:
            domain = rng.choice(FREE_MAIL)
            company = rng.choice(("", f"{rng.choice(COMPANY_WORDS)} Studio", "Self-employed"))
            industry = ""
            countries = list(COUNTRIES)
            country = rng.choices(countries, [COUNTRIES[c][0] for c in countries])[0]
            employees = rng.choice((None, 1, 5))
        local = f"{_ascii(first)}.{_ascii(last)}"
        if domain in FREE_MAIL_DOMAINS:
            local = f"{_ascii(first)}{_ascii(last)}{rng.randrange(10, 99)}"
        email = f"{local}@{domain}"
        serial = 2
        while email in self.emails:
            email = f"{local}{serial}@{domain}"
            serial += 1
        self.emails.add(email)
        phone_prefix = COUNTRIES[country][1]
        phone = f"{phone_prefix} {rng.randrange(20, 99)} {rng.randrange(1_000_000, 9_999_999)}"
        return Person(
            first_name=first,
            last_name=last,
            email=email,
            title=title,
            authority=authority,
            company_name=company,
            country=country,
            industry=industry,
            employees=employees,
            need=need,
            budget=budget,
            timeline=timeline,
            phone=phone,
            temperature=temperature,
        )

    def moment(self, day: int, *, weekend_share: float = 0.3) -> datetime:
        """A plausible arrival time on day `day` of the story (0 = ninety days ago)."""
        rng = self.rng
        while True:
            day_start = datetime.combine(self.start.date() + timedelta(days=day), time(), UTC)
            if day_start.weekday() >= 5 and rng.random() > weekend_share:
                day = min(day + rng.choice((-2, -1, 1, 2)), DAYS)
                continue
            # Busy from the European morning to the American afternoon (UTC hours).
            hour = rng.choices(range(24), HOUR_WEIGHTS)[0]
            when = day_start + timedelta(hours=hour, minutes=rng.randrange(60))
            if self.start < when < self.now - timedelta(minutes=5):
                return when
            day = rng.randrange(1, DAYS)

    def day_of_arrival(self) -> int:
        """Later days are busier: marketing spend grows over the quarter."""
        return self.rng.choices(range(DAYS + 1), [0.6 + 0.8 * d / DAYS for d in range(DAYS + 1)])[0]

    def plan_arrivals(self) -> None:
        rng = self.rng
        # Returning webinar registrants: people who reached us earlier by another channel.
        returning = 25 if self.people >= 1000 else 10
        others = self.people - WEBINAR_REGISTRANTS + returning
        channels = ("show", "form", "google", "linkedin", "ebook", "referral")
        channel_weights = (0.13, 0.17, 0.24, 0.14, 0.26, 0.06)
        arrivals: list[Arrival] = []
        # Last week's LinkedIn push: decision makers, many of them still waiting for a call.
        push = max(12, others // 50)
        for _ in range(push):
            at = self.moment(DAYS - rng.randrange(4, 12))
            arrivals.append(Arrival(at, self.person("hot"), Channel.PAID, "linkedin"))
        for _ in range(others - push):
            key = rng.choices(channels, channel_weights)[0]
            person = self.person()
            if key == "show":
                day = rng.choice(self.show_days)
                at = datetime.combine(day, time(rng.randrange(7, 16), rng.randrange(60)), UTC)
                arrivals.append(
                    Arrival(at, person, Channel.TRADE_SHOW, key, imported_at=self.show_import_at)
                )
                continue
            at = self.moment(self.day_of_arrival())
            channel = self.campaigns[key].channel
            arrivals.append(Arrival(at, person, channel, key))
        # The webinar: registrations build up over the three weeks before it.
        window_start = self.webinar_at - timedelta(days=21)
        earlier = [
            a
            for a in arrivals
            if a.at < window_start - timedelta(days=2)
            and a.person.temperature in {"warm", "cold"}
            and a.imported_at is None
        ]
        rng.shuffle(earlier)
        registrants = [a.person for a in earlier[:returning]]
        if len(registrants) < returning:
            # Too few people came early: drop some newcomers so the total stays exact.
            shortfall = returning - len(registrants)
            keep = {id(person) for person in registrants}
            newcomers = [a for a in arrivals if id(a.person) not in keep]
            spare = {id(a) for a in newcomers[-shortfall:]}
            arrivals = [a for a in arrivals if id(a) not in spare]
        registrants += [self.person() for _ in range(WEBINAR_REGISTRANTS - len(registrants))]
        self.webinar_registrants = registrants
        for person in registrants:
            lead_days = 21 * (1 - rng.random() ** 0.6)  # more sign-ups close to the day
            at = self.webinar_at - timedelta(days=lead_days, minutes=rng.randrange(30, 600))
            arrivals.append(Arrival(at, person, Channel.WEBINAR, "webinar"))
        # A few nurtured people come back through the contact form asking for a demo.
        for arrival in rng.sample(arrivals, k=len(arrivals) // 25):
            if arrival.person.temperature in {"warm", "cold"}:
                again = arrival.at + timedelta(days=rng.uniform(7, 60))
                if again < self.now:
                    arrivals.append(Arrival(again, arrival.person, Channel.WEB_FORM, "form"))
        for arrival in arrivals:
            self.at(arrival.imported_at or arrival.at, self.arrive, arrival)
        self.at(self.webinar_at + timedelta(hours=1), self.webinar_happens)
        for send in range(7):
            when = datetime.combine(
                _weekday_on_or_after(self.start.date() + timedelta(days=7 + 13 * send), 1),
                time(9, 30),
                UTC,
            )
            self.at(when, self.newsletter)
        # The SLA sweep runs every minute in production; the story runs it only at the
        # minutes where a deadline passes (see `after_routing`), plus once a day.
        for hour in range(24, DAYS * 24 + 1, 24):
            self.sweep_at(self.start + timedelta(hours=hour))
        self.at(self.now - timedelta(days=4, hours=3), self.rep_goes_away)

    # Actions ---------------------------------------------------------------------------

    def arrive(self, when: datetime, arrival: Arrival) -> None:
        person, key = arrival.person, arrival.campaign
        data = _fields_for(person, arrival.channel)
        status = {
            "webinar": MemberStatus.REGISTERED,
            "show": MemberStatus.ATTENDED,
        }.get(key, MemberStatus.RESPONDED)
        result = capture_lead(
            data,
            source=arrival.channel,
            now=when,
            arrived_at=arrival.at,
            campaign=self.campaigns[key],
            member_status=status,
        )
        lead = result.lead
        if arrival.channel == Channel.WEB_FORM:
            # As the public form page does: the submission itself is engagement.
            record_form_event(lead, form_slug="contact-us", now=when)
            lead.refresh_from_db()
        give_demo_consent(lead, arrival.channel, self.campaigns[key], when)
        self.after_routing(lead, when)
        # What the person did on the way in, seen by the tracking a little later.
        kinds = _arrival_events(arrival.channel, person, self.rng)
        if kinds:
            self.track(when, lead.pk, kinds, self.campaigns[key].pk)
        # Some nurtured people keep reading: website visits over the following weeks.
        keeps_reading = {"warm": 0.5, "cold": 0.15}.get(person.temperature, 0.0)
        if self.rng.random() < keeps_reading:
            for _ in range(self.rng.randrange(1, 3)):
                visit = when + timedelta(days=self.rng.uniform(1, 45), hours=self.rng.uniform(0, 9))
                kinds = ["page_view"] * self.rng.randrange(1, 4)
                if self.rng.random() < 0.35:
                    kinds.append("pricing_page_view")
                self.track(visit, lead.pk, kinds, None)

    def track(
        self, when: datetime, lead_id: int, kinds: list[str], campaign_id: int | None
    ) -> None:
        """Tracking uploads what people do in batches, at the top of every hour."""
        if when > self.now:
            return
        upload = when.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        upload = min(upload, self.now)
        if upload not in self.uploads:
            self.uploads[upload] = []
            self.at(upload, self.upload)
        self.uploads[upload] += [
            EventInput(kind=kind, occurred_at=when, lead_id=lead_id, campaign_id=campaign_id)
            for kind in kinds
        ]

    def upload(self, when: datetime) -> None:
        self.record(self.uploads.pop(when), when)

    def engage(
        self, when: datetime, lead_ids: list[int], kinds: list[str], campaign_id: int | None
    ) -> None:
        items = [
            EventInput(kind=kind, occurred_at=when, lead_id=lead_id, campaign_id=campaign_id)
            for lead_id in lead_ids
            for kind in kinds
        ]
        self.record(items, when)

    def record(self, items: list[EventInput], when: datetime) -> None:
        outcomes = record_events(items, now=when)
        ids = {o.lead_id for o in outcomes if o.lead_id is not None}
        for lead in Lead.objects.filter(pk__in=ids, stage=Stage.MQL, assigned_at=when):
            self.after_routing(lead, when)

    def webinar_happens(self, when: datetime) -> None:
        webinar = self.campaigns["webinar"]
        members = {m.lead_id: m for m in CampaignMember.objects.filter(campaign=webinar)}
        leads = Lead.objects.in_bulk(list(members))
        # Warmer people are likelier to show up.
        ids = sorted(members)
        weights = [
            1.6 if leads[i].segment == Segment.SALES_READY else 1.0 if leads[i].score > 0 else 0.6
            for i in ids
        ]
        attended = set(_weighted_sample(self.rng, ids, weights, WEBINAR_ATTENDEES))
        for lead_id in ids:
            status = MemberStatus.ATTENDED if lead_id in attended else MemberStatus.NO_SHOW
            add_to_campaign(leads[lead_id], webinar, status=status, now=when)
        self.engage(when, sorted(attended), ["webinar_attended"], webinar.pk)
        # The no-shows get the recording the next morning; some watch it.
        recording = when + timedelta(hours=17)
        watchers = [i for i in ids if i not in attended and self.rng.random() < 0.3]
        self.at(recording, self.nurture.recording_morning, watchers)

    def newsletter(self, when: datetime) -> None:
        """Nurture: the newsletter goes to everyone nurtured; opens and clicks add points."""
        rng = self.rng
        items: list[EventInput] = []
        newsletter = self.campaigns["newsletter"].pk
        clicked: list[int] = []
        # Recycled leads are left out on purpose, see the report on re-qualification.
        for lead_id in Lead.objects.filter(stage=Stage.NURTURING).values_list("pk", flat=True):
            roll = rng.random()
            kinds = []
            if roll < 0.25:
                kinds.append("email_open")
            if roll < 0.1:
                kinds.append("email_click")
            if roll < 0.03:
                kinds.append("pricing_page_view")
            if roll < 0.012:
                kinds.append("demo_request")
            if "email_click" in kinds:
                clicked.append(lead_id)
            for n, kind in enumerate(kinds):
                items.append(
                    EventInput(
                        kind=kind,
                        occurred_at=when + timedelta(minutes=n),
                        lead_id=lead_id,
                        campaign_id=newsletter,
                    )
                )
        campaign = self.campaigns["newsletter"]
        for lead in Lead.objects.in_bulk(clicked).values():
            add_to_campaign(lead, campaign, status=MemberStatus.RESPONDED, now=when)
        self.record(items, when)

    def sweep_at(self, when: datetime) -> None:
        minute = when.replace(second=0, microsecond=0) + timedelta(minutes=1)
        if minute not in self.sweeps:
            self.sweeps.add(minute)
            self.at(minute, self.sweep)

    def sweep(self, when: datetime) -> None:
        run_due(now=when)

    def rep_goes_away(self, when: datetime) -> None:
        """One rep goes on holiday: round robin skips them, their manager hands a few on."""
        rep = self.away_rep
        User.objects.filter(pk=rep.pk).update(is_accepting_leads=False)
        self.away_since[rep.pk] = when
        open_leads = list(
            Lead.objects.filter(owner=rep, stage=Stage.MQL, first_touch_at__isnull=True)
            .select_related("team")
            .order_by("-assigned_at")
        )
        colleagues = [r for r in self.reps if r.team_id == rep.team_id and r.pk != rep.pk]
        manager = self.managers.get(rep.team_id or 0)
        for n, lead in enumerate(open_leads[: len(open_leads) // 2]):
            to = colleagues[n % len(colleagues)]
            reassign_lead(lead, to, now=when, by=manager)
            self.plan_followup(lead, when, first_touch_hours=self.rng.uniform(0.3, 3))

    # Sales -----------------------------------------------------------------------------

    def after_routing(self, lead: Lead, when: datetime) -> None:
        if lead.stage == Stage.MQL and lead.owner_id and lead.assigned_at == when:
            if lead.sla_due_at is not None:
                self.sweep_at(lead.sla_due_at)
            self.plan_followup(lead, when)

    def plan_followup(
        self, lead: Lead, when: datetime, *, first_touch_hours: float | None = None
    ) -> None:
        """Decide now what the owner will do with this lead, and when."""
        rng = self.rng
        team_id = lead.team_id
        sla = float(self.teams_by_pk[team_id].sla_hours if team_id else 8)
        owner_id = lead.owner_id or 0
        number = next(self.plan_numbers)
        self.current_plan[lead.pk] = number

        def later(start: datetime, hours: float) -> datetime:
            return self.later(team_id, start, hours)

        steps: list[Step] = []
        recent = self.now - timedelta(days=14) <= when <= self.now - timedelta(days=3)
        if first_touch_hours is None and (
            (recent and self.backlog[owner_id] < BACKLOG_PER_REP) or rng.random() < 0.08
        ):
            # Never touched. The inbox shows it overdue; old ones a manager sends back.
            if recent:
                self.backlog[owner_id] += 1
            if when < self.now - timedelta(days=20) and rng.random() < 0.6:
                steps.append(
                    Step(
                        later(when, rng.uniform(40, 80)),
                        "recycle",
                        reason="Never worked within the SLA: back to nurture",
                    )
                )
            self.start_plan(Plan(lead.pk, steps, number))
            return

        speed = rng.random()
        if first_touch_hours is not None:
            first = later(when, first_touch_hours)
        elif speed < 0.4:
            first = later(when, rng.uniform(0.05, 0.95))  # speed to lead: within the hour
        elif speed < 0.78:
            first = later(when, rng.uniform(1, sla * 0.95))
        else:
            first = later(when, sla + rng.uniform(1, 24))  # late: the sweep has breached it
        cursor = first

        def touch(kind: str, outcome: str, gap: tuple[float, float] = (3, 20)) -> None:
            nonlocal cursor
            steps.append(Step(cursor, "touch", kind=kind, outcome=outcome))
            cursor = later(cursor, rng.uniform(*gap))

        def attempt() -> None:
            if rng.random() < 0.7:
                touch(
                    TouchKind.CALL,
                    rng.choice((TouchOutcome.NO_ANSWER, TouchOutcome.LEFT_VOICEMAIL)),
                )
            else:
                touch(TouchKind.EMAIL, TouchOutcome.SENT)

        fate = rng.random()
        if fate < 0.5:
            for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
                attempt()
            touch(TouchKind.CALL, TouchOutcome.CONNECTED, gap=(0.1, 0.3))
            steps.append(Step(cursor, "accept"))
            sub = rng.random()
            if sub < 0.6:
                meeting = later(cursor, rng.uniform(8, 60))
                steps.append(Step(meeting, "touch", TouchKind.MEETING, TouchOutcome.HELD))
                opened = later(meeting, rng.uniform(1, 4))
                amount = Decimal(rng.randrange(6_000, 90_000, 500))
                steps.append(Step(opened, "convert", amount=amount))
                closed = later(opened, rng.uniform(60, 280))
                end = rng.random()
                if end < 0.42:
                    final = (amount * Decimal(str(rng.uniform(0.85, 1.1)))).quantize(Decimal(1))
                    steps.append(Step(closed, "win", amount=final))
                elif end < 0.72:
                    steps.append(Step(closed, "lose", reason=rng.choice(LOSS_REASONS)))
                else:
                    follow = later(opened, rng.uniform(16, 60))
                    steps.append(Step(follow, "touch", TouchKind.EMAIL, TouchOutcome.REPLIED))
            elif sub < 0.85:
                cursor = later(cursor, rng.uniform(8, 40))
                touch(TouchKind.EMAIL, TouchOutcome.REPLIED)
            else:
                cursor = later(cursor, rng.uniform(16, 80))
                touch(TouchKind.CALL, TouchOutcome.CONNECTED)
                steps.append(Step(cursor, "reject", reason="Timeline slipped to next year"))
        elif fate < 0.75:
            reason = rng.choice((*REJECT_REASONS, "No answer after 5 attempts"))
            if reason.startswith("No answer"):
                for _ in range(5):
                    touch(TouchKind.CALL, TouchOutcome.NO_ANSWER, gap=(6, 24))
            else:
                for _ in range(rng.choice((0, 1, 2))):
                    attempt()
                touch(TouchKind.CALL, TouchOutcome.CONNECTED, gap=(0.1, 0.5))
            steps.append(Step(cursor, "reject", reason=reason))
        else:
            # Still being worked: a handful of attempts, no answer yet.
            for _ in range(rng.randrange(1, 7)):
                attempt()
        self.start_plan(Plan(lead.pk, steps, number))

    def start_plan(self, plan: Plan) -> None:
        if plan.steps:
            self.at(plan.steps[0].at, self.do_step, plan, 0)

    def do_step(self, when: datetime, plan: Plan, index: int) -> None:
        if self.current_plan.get(plan.lead_id) != plan.number:
            return  # the lead was rerouted; another plan is in charge
        step = plan.steps[index]
        lead = Lead.objects.select_related("owner").get(pk=plan.lead_id)
        rep = lead.owner
        if step.action == "recycle":
            manager = self.managers.get(lead.team_id or 0)
            if manager and lead.stage == Stage.MQL and lead.first_touch_at is None:
                reject_lead(lead, by=manager, reason=step.reason, now=when)
            return
        if rep is None or lead.stage not in SALES_STAGES:
            return
        away = self.away_since.get(rep.pk)
        if away is not None and when >= away:
            return  # on holiday: nothing more happens to this lead
        expected = {
            "accept": {Stage.MQL},
            "reject": {Stage.MQL, Stage.ACCEPTED},
            "convert": {Stage.ACCEPTED},
            "win": {Stage.OPPORTUNITY},
            "lose": {Stage.OPPORTUNITY},
        }.get(step.action, SALES_STAGES)
        if lead.stage not in expected:
            return
        match step.action:
            case "touch":
                record_touch(lead, by=rep, kind=step.kind, outcome=step.outcome, now=when)
            case "accept":
                accept_lead(lead, by=rep, now=when)
            case "reject":
                reject_lead(lead, by=rep, reason=step.reason, now=when)
            case "convert":
                assert step.amount is not None
                convert_lead(lead, by=rep, amount=step.amount, now=when)
            case "win":
                win_lead(lead, by=rep, amount=step.amount, now=when)
            case "lose":
                lose_lead(lead, by=rep, reason=step.reason, now=when)
        if index + 1 < len(plan.steps):
            self.at(plan.steps[index + 1].at, self.do_step, plan, index + 1)


HOUR_WEIGHTS = (
    1, 1, 1, 1, 1, 2, 3, 6, 9, 10, 10, 9, 8, 9, 11, 12, 11, 9, 7, 5, 4, 3, 2, 1,
)  # fmt: skip


# Who agrees to marketing email on the way in, by channel: (share, purpose, source).
DEMO_CONSENT: dict[str, tuple[float, str, ConsentSource]] = {
    Channel.WEB_FORM: (0.7, "newsletter", ConsentSource.FORM),
    Channel.CONTENT: (0.8, "newsletter", ConsentSource.FORM),
    Channel.WEBINAR: (0.6, "events", ConsentSource.FORM),
    Channel.TRADE_SHOW: (0.5, "newsletter", ConsentSource.TRADE_SHOW),
}


def give_demo_consent(lead: Lead, channel: str, campaign: Campaign, when: datetime) -> None:
    """Some people tick the consent box (a form, a webinar's registration, a badge scan at
    the stand). Decided by the address alone, so the story's own dice roll as before."""
    share, purpose, source = DEMO_CONSENT.get(channel, (0.0, "", ConsentSource.FORM))
    if not share or random.Random(f"consent:{lead.email}").random() >= share:
        return
    consent.record(
        lead,
        purpose,
        granted=True,
        source=source,
        now=when,
        reference=campaign.name,
        text="Send me occasional emails about this; I can unsubscribe at any time.",
    )


def _fields_for(person: Person, channel: str) -> dict[str, Any]:
    """What each channel's form or scanner actually asks for."""
    data: dict[str, Any] = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "company_name": person.company_name,
        "title": person.title,
        "country": person.country,
    }
    if channel == Channel.WEB_FORM:
        # The contact-us form: the fields of the "contact-us" WebForm.
        data["need"] = person.need
        return data
    data["employees"] = person.employees
    data["timeline"] = person.timeline
    if channel == Channel.CONTENT:
        return data
    data["authority"] = person.authority
    if channel == Channel.WEBINAR:
        return data
    data["budget"] = person.budget
    if channel in {Channel.TRADE_SHOW, Channel.REFERRAL}:
        data["need"] = person.need
        data["phone"] = person.phone
        data["industry"] = person.industry
    return data


def _arrival_events(channel: str, person: Person, rng: random.Random) -> list[str]:
    match channel:
        case Channel.WEB_FORM:
            hand_raiser = {"hot": 0.6, "warm": 0.45, "cold": 0.15, "junk": 0.02}
            if rng.random() < hand_raiser[person.temperature]:
                return ["demo_request"]
            return []
        case Channel.CONTENT:
            return ["content_download"]
        case Channel.TRADE_SHOW:
            return ["trade_show_visit"]
        case Channel.WEBINAR:
            return ["webinar_registered"]
        case Channel.PAID:
            return ["page_view", "pricing_page_view"] if rng.random() < 0.3 else ["page_view"]
    return []


def _weighted_sample(
    rng: random.Random, items: list[int], weights: list[float], k: int
) -> list[int]:
    """k distinct items, drawn without replacement in proportion to their weights."""
    keys = {item: rng.random() ** (1 / weight) for item, weight in zip(items, weights, strict=True)}
    return sorted(items, key=keys.__getitem__, reverse=True)[:k]


def _weekday_on_or_after(day: date, weekday: int) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th `weekday` of a month (n = -1: the last one)."""
    if n > 0:
        return _weekday_on_or_after(date(year, month, 1), weekday) + timedelta(weeks=n - 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    last = following - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


# --- Entry point ------------------------------------------------------------------------


def build_demo(
    *,
    leads: int = DEFAULT_LEADS,
    seed: int = 2026,
    now: datetime,
    password: str = DEFAULT_PASSWORD,
    if_empty: bool = False,
    progress: ProgressCallback | None = None,
) -> DemoSummary:
    """Seed the demo story ending at `now`. With `if_empty`, do nothing if leads exist."""
    existing = Lead.objects.count()
    if existing:
        message = f"The database already has {existing} leads; the demo was not seeded."
        if if_empty:
            return DemoSummary(created=False, message=message)
        raise DemoError(message + " Use an empty database (or --if-empty to skip quietly).")
    story = Story(people=leads, seed=seed, now=now, password=password, progress=progress)
    with transaction.atomic():
        ensure_default_cadence(now=now - timedelta(days=DAYS + 1))
        story.build_org()
        story.build_campaigns()
        story.build_accounts()
    story.plan_arrivals()
    # Months of the past replayed: their notifications stay in the app, never emailed.
    with emails_held():
        story.run()
        follow_up_habits(story)
    set_up_routing(now=now)
    add_sla_policies(story)
    adopt_demo_scoring_model(now=now)
    return summarize(now=now, logins=story.logins, password=password)


def set_up_routing(*, now: datetime) -> None:
    """The routing a sales manager would have set up by now (after the story's leads
    were routed, so the story reads as before): DACH enterprise leads round robin in
    EMEA, US enterprise leads to Emily, students to the Americas queue; Camille capped
    at 40 open leads; Oliver on leave over the coming holidays (the availability sweep
    hands his leads on when it begins: try `leadloop run_due --now …`)."""
    manager = User.objects.filter(username="manager1").first()
    emea = Team.objects.filter(name="EMEA").first()
    americas = Team.objects.filter(name="Americas").first()
    emily = User.objects.filter(username="rep4").first()
    if manager is None or emea is None or americas is None or emily is None:
        return
    with transaction.atomic():
        create_rule(by=manager, now=now, name="DACH enterprise", target="team", to_team=emea,
                    conditions=[{"field": "country", "op": "in", "value": ["DE", "AT", "CH"]},
                                {"field": "account.employees", "op": "at_least", "value": 1000}])  # fmt: skip
        create_rule(by=manager, now=now, name="US enterprise", target="user", to_user=emily,
                    conditions=[{"field": "country", "op": "is", "value": "US"},
                                {"field": "employees", "op": "at_least", "value": 1000}])  # fmt: skip
        create_rule(by=manager, now=now, name="Students", target="queue", to_team=americas,
                    conditions=[{"field": "title", "op": "contains", "value": "student"}])  # fmt: skip
        User.objects.filter(username="rep2").update(max_open_leads=40)
        oliver = User.objects.filter(username="rep3").first()
        if oliver is not None:
            christmas = date(now.year, 12, 24)
            if christmas < now.date():
                christmas = date(now.year + 1, 12, 24)
            add_leave(oliver, by=manager, starts_on=christmas,
                             ends_on=christmas + timedelta(days=7), note="holidays", now=now)  # fmt: skip


def add_sla_policies(story: Story) -> None:
    """The SLA part of the story, set up once the past has played out (so it does not
    rewrite it): each team's public holidays come from its country, and marquee and
    grade A leads get one business hour with a reminder and a ladder; the rest keep the
    team's 8 hours. A presenter sees the ladder climb with `leadloop run_due --now …`."""
    admin = User.objects.get(username="admin")
    for name, country in (("EMEA", "DE"), ("Americas", "US")):
        team = story.teams[name]
        update_team(team, by=admin, holiday_country=country)
        create_sla_policy(
            team,
            by=admin,
            name="Marquee or grade A",
            marquee=True,
            grades=["A"],
            hours=1,
            remind_before_minutes=15,
            reassign_after_hours=4,
            recycle_after_hours=16,
        )


# --- Follow-up habits (issue 11) -------------------------------------------------------------

# How each EMEA rep works their cadence tasks: how late after the due time they do a step
# (working hours), how many steps they do at all, and how often a step reaches the person.
HABITS: dict[str, tuple[tuple[float, float], int, float]] = {
    # Jonas works every step on the day it is due: the follow-up page's model rep.
    "rep1": ((0.1, 2.0), 99, 0.18),
    # Camille gets there, a day or so late.
    "rep2": ((6.0, 14.0), 99, 0.15),
    # Oliver calls once and gives up: the 80 % the seeds talk about.
    "rep3": ((0.5, 3.0), 1, 0.0),
}
DILIGENT = "rep1"
# The campaign the habit leads come from (a partner's intros, outside the story's budget).
HABIT_CAMPAIGN = "Reseller intros"
# Arrivals of the habit leads, in days before now: some fresh, some past their cadence.
HABIT_ARRIVALS = (30, 26, 19, 12, 8, 4, 2, 0.6)


def follow_up_habits(story: Story) -> None:
    """A few sales-ready leads per EMEA rep over the last three weeks, each enrolled in the
    default cadence, its tasks done (or not) in the rep's habit through the Today page's
    service: so the Today page has overdue work for the rep who gave up after one call, and
    a cadence run out without contact has handed its lead back to marketing (the sweep)."""
    rng = story.rng
    reps = {rep.username: rep for rep in story.reps}
    emea = story.teams["EMEA"]
    campaign, _ = Campaign.objects.get_or_create(
        name=HABIT_CAMPAIGN,
        defaults={
            "channel": Channel.REFERRAL,
            "starts_on": (story.now - timedelta(days=31)).date(),
        },
    )
    for username, (delay, steps_done, contact_rate) in HABITS.items():
        rep = reps[username]
        for days in HABIT_ARRIVALS:
            # Jonas's oldest lead never answers: every step done, the cadence runs out and
            # the lead goes back to marketing whatever the dice say (and whatever the hour
            # the demo is seeded at).
            reach = 0.0 if username == DILIGENT and days == HABIT_ARRIVALS[0] else contact_rate
            arrived = story.later(emea.pk, story.now - timedelta(days=days), 0.01)
            if arrived >= story.now:
                continue
            person = story.person("hot")
            person.country = rng.choice(EMEA_COUNTRIES)
            with transaction.atomic():
                lead = capture_lead(
                    _fields_for(person, Channel.REFERRAL),
                    source=Channel.REFERRAL,
                    now=arrived,
                    campaign=campaign,
                    member_status=MemberStatus.RESPONDED,
                ).lead
                if lead.stage != Stage.MQL:
                    continue
                assign_lead(lead, now=arrived, to=rep)
                _work_cadence(story, lead, rep, delay, steps_done, reach)
    run_due(now=story.now)
    followup_run_due(now=story.now)


def _work_cadence(
    story: Story,
    lead: Lead,
    rep: User,
    delay: tuple[float, float],
    steps_done: int,
    contact_rate: float,
) -> None:
    """Do the lead's tasks in the rep's habit, each at its due time plus the rep's delay,
    until contact, the rep's last step, or the present."""
    rng = story.rng
    for _ in range(steps_done):
        task = Task.objects.filter(lead=lead, status=TaskStatus.OPEN).first()
        if task is None:
            return
        when = story.later(lead.team_id, task.due_at, rng.uniform(*delay))
        if when >= story.now:
            return
        if task.channel == "call":
            reached = rng.random() < contact_rate
            outcome = (
                TouchOutcome.CONNECTED
                if reached
                else rng.choice((TouchOutcome.NO_ANSWER, TouchOutcome.LEFT_VOICEMAIL))
            )
        else:
            reached = rng.random() < contact_rate / 2
            outcome = TouchOutcome.REPLIED if reached else TouchOutcome.SENT
        complete_task(task, by=rep, outcome=outcome, now=when)


def demo_scoring_document() -> dict[str, Any]:
    """The demo's scoring model: the default BANT points, plus the industry the product
    sells best to and pricing-page visits (at most 3 a week), fading with a 90-day
    half-life, so the first page shows grades, decay and reasons beyond BANT."""
    document = default_document()
    document["fit"].append(
        {"label": "software company", "field": "industry", "operator": "equals",
         "value": "Software", "points": 10}
    )  # fmt: skip
    document["engagement"]["half_life_days"] = 90
    for rule in document["engagement"]["rules"]:
        if rule["kind"] == "pricing_page_view":
            rule.update(label="visited pricing", points=12, cap={"count": 3, "days": 7})
    add_email_tracking_rules(document)
    return document


def add_email_tracking_rules(document: dict[str, Any]) -> None:
    """Email engagement as marketing tunes it: a click on a pricing link is worth most
    (first match wins, so it stands before the plain click), opens count at most three a
    week (image proxies open on the reader's behalf). Bounces, complaints and unsubscribes
    count against a lead in the default model already."""
    rules = document["engagement"]["rules"]
    kinds = [rule["kind"] for rule in rules]
    rules.insert(
        kinds.index("email_click"),
        {"label": "clicked a pricing link in an email", "kind": "email_click",
         "property": {"name": "url", "operator": "contains", "value": "/pricing"},
         "points": 20},
    )  # fmt: skip
    for rule in rules:
        if rule["kind"] == "email_open":
            rule["cap"] = {"count": 3, "days": 7}


def adopt_demo_scoring_model(*, now: datetime) -> None:
    """Marketing tunes the model at the end of the story: a new version, every lead
    rescored with it (and the ones it makes sales-ready routed)."""
    marketing = User.objects.filter(username="marketing").first()
    version = save_model(
        demo_scoring_document(),
        by=marketing,
        now=now,
        note="software companies buy; pricing visits count, old activity fades",
    )
    rescore_all(version, now=now)


class DemoError(Exception):
    """The demo cannot be seeded here (for example, the database already has leads)."""


def overdue_leads(now: datetime) -> Q:
    """Leads in a rep's inbox whose first touch is late right now."""
    return Q(
        stage__in=SALES_STAGES,
        owner__isnull=False,
        first_touch_at__isnull=True,
        sla_due_at__lt=now,
    )


def summarize(
    *, now: datetime, logins: list[tuple[str, str, str, bool]], password: str
) -> DemoSummary:
    stages = dict(Lead.objects.values("stage").annotate(n=Count("pk")).values_list("stage", "n"))
    segments = dict(
        Lead.objects.values("segment").annotate(n=Count("pk")).values_list("segment", "n")
    )
    webinar = Campaign.objects.filter(channel=Channel.WEBINAR).order_by("pk").first()
    figures = (0, 0, 0)
    if webinar is not None:
        statuses = Counter(
            CampaignMember.objects.filter(campaign=webinar).values_list("status", flat=True)
        )
        figures = (
            sum(statuses.values()),
            statuses[MemberStatus.ATTENDED],
            statuses[MemberStatus.NO_SHOW],
        )
    overdue = dict(
        Lead.objects.filter(overdue_leads(now))
        .values("owner__username")
        .annotate(n=Count("pk"))
        .values_list("owner__username", "n")
    )
    reps = User.objects.filter(role=Role.SALES_REP).order_by("username")
    opportunities = dict(
        Opportunity.objects.values("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    won = Opportunity.objects.filter(status=OpportunityStatus.WON).aggregate(s=Sum("amount"))["s"]
    campaigns = [
        (c.name, c.n, c.cost)
        for c in Campaign.objects.annotate(n=Count("members")).order_by("-n", "name")
    ]
    return DemoSummary(
        created=True,
        message="Demo data seeded.",
        leads=Lead.objects.count(),
        stages={stage: stages.get(stage, 0) for stage in Stage.values},
        segments={segment: segments.get(segment, 0) for segment in Segment.values},
        reached_mql=StageChange.objects.filter(to_stage=Stage.MQL)
        .values("lead_id")
        .distinct()
        .count(),
        webinar=figures,
        overdue_by_rep={rep.username: overdue.get(rep.username, 0) for rep in reps},
        breached=Lead.objects.filter(sla_breached_at__isnull=False).count(),
        notifications=Notification.objects.count(),
        touches=Touch.objects.count(),
        opportunities={s: opportunities.get(s, 0) for s in OpportunityStatus.values},
        won_revenue=won or Decimal("0"),
        campaigns=campaigns,
        logins=logins,
        password=password,
    )
