"""The nurture half of the demo story (issue 12), played inside the story's timeline.

The morning after the webinar marketing starts the "Webinar recording" program for the
no-shows (an email with the recording, two days' wait, a branch on a click: those who
clicked go to sales, the others get a reminder), a long-term program for the leads sales
handed back with "No budget this year", and a content stream for everyone nurtured. The
sweeps run as beat would run them (every few days of the story), the outbox delivers into
the mailbox page (`nurture.mailbox.MailboxBackend`: no SMTP server while seeding), and the
no-shows who watch the recording click its link through the tracking redirect: the click
is an engagement event like any other, and a click on the pricing link can make a lead
sales-ready and routed. The dice are this module's own, so the story's roll as before."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.test.utils import override_settings

from nurture import programs, services, streams, tokens, tracking
from nurture.choices import MessageStatus, PieceKind
from nurture.models import MailboxMessage, Message
from users.models import User

if TYPE_CHECKING:
    from .story import Story

RECORDING_URL = "https://leadloop.example/webinars/no-lead-left-behind/recording"
PRICING_URL = "https://leadloop.example/pricing"
RECORDING_PROGRAM = "Webinar recording"
LONG_TERM_PROGRAM = "Not this year"
STREAM = "Insights for revenue teams"
# How often the story's beat runs the nurture sweeps, in days after the first one.
SWEEP_EVERY_DAYS = 2
# Of the no-shows who watch the recording, how many also open the pricing page from it.
PRICING_SHARE = 0.35

TEMPLATES: dict[str, tuple[str, str]] = {
    "Webinar recording": (
        "The recording: No lead left behind",
        "<p>Hi {{ first_name|default:'there' }},</p><p>Sorry we missed you on Thursday. "
        f'Here is <a href="{RECORDING_URL}">the recording</a> (45 minutes).</p>'
        f'<p>If you are comparing tools, <a href="{PRICING_URL}">our plans</a> '
        "start with a free trial.</p><p>Mia, Leadloop marketing</p>",
    ),
    "Recording reminder": (
        "Still worth 45 minutes, {{ first_name|default:'there' }}?",
        "<p>Hi {{ first_name|default:'there' }},</p><p>The recording is still up: "
        f'<a href="{RECORDING_URL}">watch it here</a>. The part on follow-up cadences '
        "starts at minute 12.</p><p>Mia</p>",
    ),
    "Still planning for next year?": (
        "When next year's budget comes round",
        "<p>Hi {{ first_name|default:'there' }},</p><p>You told us the budget is not there "
        "this year. When planning starts, this is what teams like "
        "{{ company_name|default:'yours' }} compare: "
        f'<a href="{PRICING_URL}">plans and prices</a>.</p><p>Mia</p>',
    ),
    "Budget season": (
        "Budget season: a one-page business case",
        "<p>Hi {{ first_name|default:'there' }},</p><p>A one-page business case for a lead "
        'follow-up tool: <a href="https://leadloop.example/business-case">download it</a>.'
        "</p><p>Mia</p>",
    ),
    "Stream piece": (
        "{{ piece.title }}",
        "<p>Hi {{ first_name|default:'there' }},</p><p>New this week: "
        '<a href="{{ piece.url }}">{{ piece.title }}</a>.</p><p>Mia, Leadloop marketing</p>',
    ),
}

RECORDING_DOCUMENT: dict[str, Any] = {
    "name": RECORDING_PROGRAM,
    "description": "The webinar's no-shows get the recording; a click hands them to sales.",
    "status": "active",
    "purpose": "events",
    "entry": [{"campaign": "Webinar: No lead left behind", "status": "no-show"}],
    "goals": [{"event": "demo_request"}],
    "steps": [
        {"name": "recording", "kind": "send_email", "template": "Webinar recording"},
        {"name": "two days", "kind": "wait", "days": 2},
        {"name": "clicked?", "kind": "branch", "if": "clicked", "within_hours": 48,
         "yes_next": "tell the owner", "no_next": "reminder"},
        {"name": "reminder", "kind": "send_email", "template": "Recording reminder"},
        {"name": "done", "kind": "end"},
        {"name": "tell the owner", "kind": "notify", "to": "team",
         "message": "Watched the webinar recording"},
        {"name": "hand over", "kind": "hand_to_sales", "reason": "clicked the recording"},
    ],
}  # fmt: skip

LONG_TERM_DOCUMENT: dict[str, Any] = {
    "name": LONG_TERM_PROGRAM,
    "description": "Sales handed them back with no budget: stay in touch until it comes.",
    "status": "active",
    "purpose": "newsletter",
    "entry": [{"recycle_reason": "No budget this year"}],
    "steps": [
        {"name": "next year", "kind": "send_email", "template": "Still planning for next year?"},
        {"name": "a month", "kind": "wait", "days": 30},
        {"name": "business case", "kind": "send_email", "template": "Budget season"},
    ],
}  # fmt: skip

PIECES = (
    ("The 5-touch follow-up: a guide", "https://leadloop.example/guides/five-touches",
     PieceKind.WHITEPAPER),
    ("How Nordhaus answered every lead within the hour", "https://leadloop.example/cases/nordhaus",
     PieceKind.CASE_STUDY),
    ("Live next month: speed to lead, measured", "https://leadloop.example/webinars/speed",
     PieceKind.WEBINAR_INVITATION),
)  # fmt: skip


class NurtureStory:
    def __init__(self, story: Story) -> None:
        self.story = story
        self.rng = random.Random(f"nurture:{story.now.date()}")
        self.started = False

    @property
    def marketer(self) -> User:
        return User.objects.get(username="marketing")

    def start(self, when: datetime) -> None:
        """Templates, the two programs and the stream, as marketing would set them up."""
        by = self.marketer
        made = {
            name: services.create_template(
                by=by, now=when, name=name, subject=subject, html_body=html, text_body=""
            )
            for name, (subject, html) in TEMPLATES.items()
        }
        programs.apply_document(RECORDING_DOCUMENT, by=by, now=when)
        programs.apply_document(LONG_TERM_DOCUMENT, by=by, now=when)
        stream = streams.create_stream(
            by=by, now=when, name=STREAM, enrol_segment="nurture", cadence_days=14,
            purpose="newsletter",
        )  # fmt: skip
        for title, url, kind in PIECES:
            streams.add_piece(
                stream, by=by, now=when, title=title, url=url, kind=kind,
                template=made["Stream piece"],
            )  # fmt: skip
        self.started = True
        # Beat runs the sweeps every few minutes; the story now and every few days.
        self.sweep(when)
        day = when + timedelta(days=SWEEP_EVERY_DAYS)
        while day <= self.story.now:
            self.story.at(day, self.sweep)
            day += timedelta(days=SWEEP_EVERY_DAYS)

    def sweep(self, when: datetime) -> None:
        """The nurture sweeps once, the outbox delivering into the mailbox page."""
        with override_settings(MAILERS={"default": {"BACKEND": "nurture.mailbox.MailboxBackend"}}):
            programs.enrol_due(now=when)
            programs.run_due(now=when)
            streams.run_due(now=when)
            sent = list(
                Message.objects.filter(status__in=[MessageStatus.QUEUED, MessageStatus.SENDING])
                .filter(next_attempt_at__lte=when)
                .values_list("message_id", flat=True)
            )
            services.run_due(now=when)
        # Received when the story sent them, not when the demo was seeded.
        MailboxMessage.objects.filter(message_id__in=sent).update(received_at=when)

    def recording_morning(self, when: datetime, watchers: list[int]) -> None:
        """The morning after the webinar: the program starts and sends the recording; the
        no-shows who watch it click through in the hours after it arrived."""
        if not self.started:
            self.start(when)
        else:
            self.sweep(when)
        sent = dict(
            Message.objects.filter(
                lead_id__in=watchers,
                status=MessageStatus.SENT,
                template__name="Webinar recording",
            ).values_list("lead_id", "pk")
        )
        for lead_id in watchers:
            message = sent.get(lead_id)
            if message is None:  # no consent to email it, or held back by quiet hours
                continue
            at = when + timedelta(minutes=self.rng.randrange(20, 8 * 60))
            self.story.at(at, self.click, message, RECORDING_URL)
            if self.rng.random() < PRICING_SHARE:
                self.story.at(at + timedelta(minutes=7), self.click, message, PRICING_URL)

    def click(self, when: datetime, message: int, url: str) -> None:
        """A person following a link in the email: the tracking redirect's own service."""
        tracking.follow_click(tokens.make("click", message, url=url), now=when)
