"""Tracking of marketing email, and what mail servers report back.

When a message is queued (`services.queue_message`), its links are rewritten to click
redirects, an open pixel is appended, the footer with the unsubscribe and preference
links is added to both parts, and the whole MIME message is built once (`build_raw`, with
the RFC 8058 List-Unsubscribe headers), so the outbox only hands stored bytes to the SMTP
server. Every link carries a signed token (`nurture.tokens`) naming the message; a click
token also carries its target, so the redirect can never be pointed elsewhere.

The public endpoints are strangers' doors: `record_open` and `follow_click` record an
`email_open` / `email_click` engagement event on the message's lead and rescore it at
once (qualify's `store_events`: a click on pricing can make the lead sales-ready and
routed within the request). They never change what a person decided: the events only
add engagement, and a lead a person disqualified or that sales owns keeps its stage
(qualify's segment moves touch open leads only).

Bounces and complaints (`record_delivery_events`: the JSON webhook of the API, anymail's
tracking signal) suppress the address and are negative engagement events on its leads.
"""

from __future__ import annotations

import binascii
import hashlib
import logging
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.charset import QP, Charset
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import Compat32
from email.utils import formataddr, parseaddr
from functools import lru_cache
from html import escape
from typing import Any
from urllib.parse import unquote

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.html import Urlizer
from selectolax.lexbor import LexborHTMLParser

from leads.models import Lead
from qualify.models import Event
from qualify.services import event_points, store_events

from . import tokens
from .choices import DeliveryEventType, Purpose
from .models import Message
from .models_tracking import DeliveryEvent

log = logging.getLogger(__name__)

# The 1x1 transparent GIF the open pixel answers with, whatever the token.
PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00"
    b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
_URLIZER = Urlizer()
_WORDS = re.compile(r"(\s+)")
# Quoted-printable: the raw message stays readable (the mailbox page, a provider's log).
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP


class _WirePolicy(Compat32):
    """The MIME classes' own policy with the line ends SMTP wants (smtplib sends bytes as
    they are) and headers folded only past RFC 5322's 998 (List-Unsubscribe stays on one
    line). A plain ASCII header that fits is written as it is: compat32 builds a Header
    object per header to find that out, most of the cost of serialising a message."""

    def _fold(self, name: str, value: Any, sanitize: bool) -> str:
        if (
            isinstance(value, str)
            and value.isascii()
            and "\n" not in value
            and "\r" not in value
            and len(name) + len(value) + 2 <= (self.max_line_length or 998)
        ):
            return f"{name}: {value}{self.linesep}"
        return str(super()._fold(name, value, sanitize))  # type: ignore[misc]


_WIRE = _WirePolicy(linesep="\r\n", max_line_length=998)


# --- Links and footer, at queue time ------------------------------------------------------


class Links:
    """The signed links of one message, each signed once however often the message names
    it (the unsubscribe link is in both parts and a header), against the base URL read
    once. Queueing makes one per message; a caller with only a primary key passes that
    and gets one made for it."""

    __slots__ = ("_made", "base", "own", "pk")

    def __init__(self, message_pk: int, *, base: str | None = None) -> None:
        self.pk = message_pk
        self.base = (base if base is not None else settings.LEADLOOP_BASE_URL).rstrip("/")
        lowered = self.base.lower()
        # Leadloop's own public links, which must keep working as they are.
        self.own = tuple(f"{lowered}{path}" for path in ("/unsubscribe/", "/preferences/", "/t/"))
        self._made: dict[tuple[str, str | None], str] = {}

    def __call__(self, kind: str, url: str | None = None) -> str:
        made = self._made.get((kind, url))
        if made is None:
            made = self._made[kind, url] = tokens.link(kind, self.pk, url=url, base=self.base)
        return made

    def is_trackable(self, url: str) -> bool:
        """An http(s) link a person follows; not Leadloop's own public links (unsubscribe,
        preferences, tracking)."""
        lowered = url.strip().lower()
        return lowered.startswith(("http://", "https://")) and not lowered.startswith(self.own)


def _links(of: int | Links) -> Links:
    return of if isinstance(of, Links) else Links(of)


@lru_cache(maxsize=4096)
def _link(kind: str, message_pk: int, url: str | None, base: str, secret: str) -> str:
    return tokens.link(kind, message_pk, url=url, base=base)


def link(kind: str, message_pk: int, url: str | None = None) -> str:
    """tokens.link for one link of a message (the pages that show a message's
    unsubscribe and preference addresses). The cache key holds the settings the link
    depends on."""
    return _link(kind, message_pk, url, settings.LEADLOOP_BASE_URL, settings.SECRET_KEY)


def track_html(html: str, message: int | Links) -> str:
    """The HTML part with its `<a href>` links rewritten to click redirects, the footer and
    the open pixel appended at the end of the body (an HTML5 parser, not regexes: links in
    any quoting, entities in URLs, a missing body are the parser's business). `message`:
    its primary key or its Links."""
    links = _links(message)
    tree = LexborHTMLParser(html)
    for anchor in tree.css("a[href]"):
        url = anchor.attributes.get("href") or ""
        if links.is_trackable(url):
            anchor.attrs["href"] = links("click", url.strip())
    tracked = tree.html or html
    # The serialiser always closes the body: the footer and pixel go right before it.
    end = tracked.rfind("</body>")
    if end < 0:  # pragma: no cover - the parser always makes a body
        end = len(tracked)
    return tracked[:end] + footer_html(links) + pixel_html(links) + tracked[end:]


# format_html's escaping, without its lazy-string machinery (a few µs a call, per message).
def pixel_html(message: int | Links) -> str:
    src = escape(_links(message)("open"), quote=True)
    return f'<img src="{src}" width="1" height="1" alt="">'


def footer_html(message: int | Links) -> str:
    links = _links(message)
    unsubscribe = escape(links("unsubscribe"), quote=True)
    preferences = escape(links("preferences"), quote=True)
    return (
        '<p style="font-size:12px;color:#666666;margin-top:24px">'
        f'<a href="{unsubscribe}">Unsubscribe</a> · '
        f'<a href="{preferences}">Email preferences</a></p>'
    )


def track_text(text: str, message: int | Links) -> str:
    """The plain-text part with its http(s) links rewritten to click redirects (trailing
    punctuation and brackets stay outside the link, as Django's urlize decides) and the
    footer appended."""
    links = _links(message)
    parts = _WORDS.split(text)
    for index, word in enumerate(parts):
        if "http" not in word:
            continue
        lead, middle, trail = _URLIZER.trim_punctuation(word)
        if links.is_trackable(middle):
            parts[index] = lead + links("click", middle) + trail
    tracked = "".join(parts).rstrip("\n")
    return f"{tracked}\n\n{footer_text(links)}\n"


def footer_text(message: int | Links) -> str:
    links = _links(message)
    return f"-- \nUnsubscribe: {links('unsubscribe')}\nEmail preferences: {links('preferences')}"


def list_unsubscribe_headers(message: int | Links) -> dict[str, str]:
    """RFC 2369 List-Unsubscribe (the one-click URL first, then mail) and RFC 8058's
    List-Unsubscribe-Post: a mail client's "unsubscribe" button POSTs to the URL."""
    one_click = _links(message)("unsubscribe")
    token = unquote(one_click.rsplit("/", 1)[1])
    return {
        "List-Unsubscribe": (
            f"<{one_click}>, <mailto:unsubscribe@{settings.LEADLOOP_EMAIL_DOMAIN}?subject={token}>"
        ),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def message_headers(message: Message, links: Links | None = None) -> dict[str, str]:
    """The headers beyond From/To/Subject/Date: the stable Message-ID, and for marketing
    the unsubscribe headers."""
    headers = {"Message-ID": message.message_id}
    if message.purpose == Purpose.MARKETING:
        headers |= list_unsubscribe_headers(links or message.pk)
    return headers


def _header(value: str) -> str | Header:
    return value if value.isascii() else Header(value, "utf-8")


# A bare address as the outbox stores it: nothing parseaddr would change.
_BARE_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")


def _address(value: str) -> str:
    if _BARE_ADDRESS.fullmatch(value):
        return value
    return _parsed_address(value)


@lru_cache(maxsize=1024)
def _parsed_address(value: str) -> str:
    name, address = parseaddr(value)
    return formataddr((name, address), charset="utf-8") if name else address


def build_raw(message: Message, *, sender: str, links: Links | None = None) -> bytes:
    """The message as an SMTP server gets it, without Date (stamped when it goes).

    What the standard library's MIME classes make of it (`_build_raw_mime`, compat32,
    headers folded only when they must be): the same headers byte for byte and bodies that
    decode to the same text (test-checked), written straight from a fixed skeleton: the
    MIME classes spend most of their ~0.3 ms a message parsing back the Content-Type
    parameters they have just set. Once, at queue time."""
    parts = [
        (subtype, body)
        for body, subtype in ((message.text_body, "plain"), (message.html_body, "html"))
        if body
    ]
    if not parts:
        return _build_raw_mime(message, sender=sender, links=links)
    head: list[tuple[str, str | Header]]
    if len(parts) == 1:
        subtype, body = parts[0]
        head = [*_part_headers(subtype)]
        tail = _qp(body)
    else:
        # A boundary of our own: the generator would otherwise search both parts for a
        # collision with a random one; a UUID does not collide.
        boundary = f"=_leadloop_{uuid.uuid4().hex}"
        head = [
            ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
            ("MIME-Version", "1.0"),
        ]
        bodies = [_part_head(subtype) + _CRLF + _qp(body) for subtype, body in parts]
        delimiter = f"{_CRLF}--{boundary}{_CRLF}"
        tail = f"--{boundary}{_CRLF}{delimiter.join(bodies)}{_CRLF}--{boundary}--{_CRLF}"
    head += [
        ("Subject", _header(message.subject)),
        ("From", _address(sender)),
        ("To", _address(message.to_address)),
        *message_headers(message, links).items(),
    ]
    headers = b"".join(_WIRE.fold_binary(name, value) for name, value in head)  # type: ignore[arg-type]
    return headers + (_CRLF + tail).encode("ascii")


_CRLF = "\r\n"
_NEWLINES = re.compile(r"\r\n|\r|\n")


def _part_headers(subtype: str) -> tuple[tuple[str, str], ...]:
    return (
        ("Content-Type", f'text/{subtype}; charset="utf-8"'),
        ("MIME-Version", "1.0"),
        ("Content-Transfer-Encoding", "quoted-printable"),
    )


@lru_cache(maxsize=4)
def _part_head(subtype: str) -> str:
    return "".join(_WIRE._fold(name, value, False) for name, value in _part_headers(subtype))


def _qp(body: str) -> str:
    """A body quoted-printable (RFC 2045) by binascii's C encoder, its lines ended CRLF:
    soft line breaks within 76 characters, trailing white space and a line of a lone "."
    encoded. What `set_payload(body, charset=_UTF8)` stores decodes to the same text
    (test-checked); the standard library's encoder, written in Python, took half of
    building a message."""
    text = _NEWLINES.sub("\n", body).encode("utf-8")
    return binascii.b2a_qp(text, istext=True).decode("ascii").replace("\n", _CRLF)


def _build_raw_mime(message: Message, *, sender: str, links: Links | None = None) -> bytes:
    """`build_raw` by the standard library's MIME classes: the reference it matches, and
    what builds a message without a body."""
    parts: list[MIMENonMultipart] = []
    for body, subtype in ((message.text_body, "plain"), (message.html_body, "html")):
        if body:
            part = MIMENonMultipart("text", subtype, charset="utf-8")
            part.set_payload(body, charset=_UTF8)
            parts.append(part)
    if len(parts) == 1:
        mime: MIMENonMultipart | MIMEMultipart = parts[0]
    else:
        mime = MIMEMultipart(
            "alternative", boundary=f"=_leadloop_{uuid.uuid4().hex}", _subparts=parts
        )
    mime["Subject"] = _header(message.subject)  # type: ignore[assignment]
    mime["From"] = _address(sender)
    mime["To"] = _address(message.to_address)
    for name, value in message_headers(message, links).items():
        mime[name] = value
    return mime.as_bytes(policy=_WIRE)


def date_header(now: datetime) -> bytes:
    """The Date header the outbox prepends to stored bytes as it sends them."""
    from email.utils import format_datetime

    return f"Date: {format_datetime(now)}\r\n".encode("ascii")


# --- The public endpoints: opens and clicks -------------------------------------------------


def over_rate(ip: str, *, now: datetime) -> bool:
    """One more tracking request from `ip` this minute; True past
    LEADLOOP_TRACKING_RATE_PER_MINUTE. A counter in Django's cache: atomic on Redis,
    approximate on the database cache (a few requests more or less under a race are of
    no consequence for a tracking limit, unlike the forms' limit in capture)."""
    key = f"leadloop:track:{ip}:{int(now.timestamp() // 60)}"
    try:
        cache.add(key, 0, timeout=120)
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=120)
        count = 1
    return int(count) > settings.LEADLOOP_TRACKING_RATE_PER_MINUTE


def record_open(token: str, *, now: datetime) -> bool:
    """A genuine open token: the message's first open noted and one `email_open` event on
    its lead (once per message: the pixel is fetched again on every view, and by mail
    clients' image proxies ahead of the reader, so only the first fetch is a signal).
    False, recording nothing, for a forged or altered token."""
    try:
        pk, _ = tokens.read("open", token)
    except tokens.BadToken:
        return False
    message = Message.objects.filter(pk=pk).only("pk", "lead_id", "purpose").first()
    if message is None:
        return False
    Message.objects.filter(pk=pk, opened_at__isnull=True).update(opened_at=now)
    _engagement(message, "email_open", {"message_id": pk}, key=f"email_open:{pk}", now=now)
    return True


def follow_click(token: str, *, now: datetime, record: bool = True) -> str | None:
    """The URL a genuine click token carries (None for a forged or altered one). Unless
    `record` is False (rate-limited), the first click on the message is noted (and its
    first open, if the pixel was blocked) and an `email_click` event is recorded on its
    lead, once per message and link, rescoring the lead in this request."""
    try:
        pk, url = tokens.read("click", token)
    except tokens.BadToken:
        return None
    if not url or not _is_safe_target(url):
        return None
    if not record:
        return url
    message = Message.objects.filter(pk=pk).only("pk", "lead_id", "purpose").first()
    if message is None:
        return url
    Message.objects.filter(pk=pk, clicked_at__isnull=True).update(clicked_at=now)
    Message.objects.filter(pk=pk, opened_at__isnull=True).update(opened_at=now)
    digest = hashlib.sha256(url.encode()).hexdigest()[:24]
    _engagement(
        message,
        "email_click",
        {"url": url, "message_id": pk},
        key=f"email_click:{pk}:{digest}",
        now=now,
    )
    return url


def _is_safe_target(url: str) -> bool:
    return url.lower().startswith(("http://", "https://")) and "\n" not in url and "\r" not in url


def _engagement(
    message: Message, kind: str, properties: dict[str, Any], *, key: str, now: datetime
) -> None:
    """Store the event on the message's lead and rescore it now. A test send (to a
    colleague, rendered as some lead) is not the lead's engagement."""
    if message.lead_id is None or message.purpose != Purpose.MARKETING:
        return
    store_events(
        [
            Event(
                lead_id=message.lead_id,
                kind=kind,
                occurred_at=now,
                received_at=now,
                points=event_points(kind, properties),
                properties=properties,
                idempotency_key=key,
            )
        ],
        now=now,
    )


# --- What mail servers and providers report: bounces, complaints, deliveries ---------------


@dataclass(frozen=True)
class DeliveryReport:
    """One report as the webhook (or anymail) hands it over."""

    type: str
    email: str = ""
    message_id: str = ""  # the Message-ID header, or the outbox row's id as text
    reason: str = ""
    at: datetime | None = None
    is_permanent: bool = False
    event_key: str = ""


@dataclass(frozen=True)
class DeliveryOutcome:
    index: int
    status: str  # "recorded", "duplicate" or "rejected"
    suppressed: bool = False
    error: str = ""


def record_delivery_events(
    reports: Iterable[DeliveryReport], *, source: str, now: datetime
) -> list[DeliveryOutcome]:
    """Record each report; a complaint or a permanent bounce suppresses the address at
    once, soft bounces once LEADLOOP_EMAIL_SOFT_BOUNCE_LIMIT arrived since the address's
    last delivery. Bounces and complaints are `email_bounce` / `email_complaint` events
    on the leads of the address (negative signals where the scoring model says so)."""
    from .services import suppress

    outcomes: list[DeliveryOutcome] = []
    for index, report in enumerate(reports):
        if report.type not in DeliveryEventType.values:
            outcomes.append(
                DeliveryOutcome(
                    index, "rejected",
                    error=f"type: {report.type!r} is not one of "
                    + ", ".join(DeliveryEventType.values),
                )
            )  # fmt: skip
            continue
        message = _message_of(report)
        address = (report.email or (message.to_address if message else "")).strip().lower()
        if not address:
            error = (
                f"message_id: no message {report.message_id.strip()!r}"
                if report.message_id.strip()
                else "email: email or message_id is required"
            )
            outcomes.append(DeliveryOutcome(index, "rejected", error=error))
            continue
        at = report.at or now
        try:
            with transaction.atomic():
                DeliveryEvent.objects.create(
                    type=report.type,
                    address=address,
                    message=message,
                    is_permanent=report.is_permanent,
                    reason=report.reason[:2000],
                    occurred_at=at,
                    received_at=now,
                    source=source[:60],
                    event_key=report.event_key[:200] or None,
                )
        except IntegrityError:
            outcomes.append(DeliveryOutcome(index, "duplicate"))
            continue
        suppressed = False
        if report.type == DeliveryEventType.COMPLAINT or (
            report.type == DeliveryEventType.BOUNCE
            and (report.is_permanent or _soft_bounces(address) >= _soft_limit())
        ):
            what = "complaint" if report.type == DeliveryEventType.COMPLAINT else "bounce"
            reason = f"{what} ({source})" + (f": {report.reason}" if report.reason else "")
            suppress(address, reason=reason, now=now)
            suppressed = True
        if report.type != DeliveryEventType.DELIVERED:
            _negative_signal(report, address=address, message=message, at=at, now=now)
        outcomes.append(DeliveryOutcome(index, "recorded", suppressed=suppressed))
    return outcomes


def _soft_limit() -> int:
    return max(1, int(settings.LEADLOOP_EMAIL_SOFT_BOUNCE_LIMIT))


def _soft_bounces(address: str) -> int:
    """Soft bounces since the address's last delivery (a delivery says it works again)."""
    last_delivery = (
        DeliveryEvent.objects.filter(address=address, type=DeliveryEventType.DELIVERED)
        .order_by("-occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )
    bounces = DeliveryEvent.objects.filter(
        address=address, type=DeliveryEventType.BOUNCE, is_permanent=False
    )
    if last_delivery is not None:
        bounces = bounces.filter(occurred_at__gt=last_delivery)
    return bounces.count()


def _message_of(report: DeliveryReport) -> Message | None:
    ref = report.message_id.strip()
    if not ref:
        return None
    if ref.isdigit():
        return Message.objects.filter(pk=int(ref)).first()
    if not ref.startswith("<"):
        ref = f"<{ref}>"
    return Message.objects.filter(message_id=ref).first()


def _negative_signal(
    report: DeliveryReport, *, address: str, message: Message | None, at: datetime, now: datetime
) -> None:
    kind = "email_bounce" if report.type == DeliveryEventType.BOUNCE else "email_complaint"
    if message is not None and message.lead_id is not None:
        lead_ids = [message.lead_id]
    else:
        lead_ids = list(
            Lead.objects.filter(email=address, merged_into__isnull=True).values_list(
                "pk", flat=True
            )
        )
    if not lead_ids:
        return
    properties: dict[str, Any] = {"permanent": report.is_permanent}
    if message is not None:
        properties["message_id"] = message.pk
    if report.reason:
        properties["reason"] = report.reason[:500]
    key_base = report.event_key or f"{report.type}:{address}:{at.isoformat()}"
    store_events(
        [
            Event(
                lead_id=lead_id,
                kind=kind,
                occurred_at=at,
                received_at=now,
                points=event_points(kind, properties),
                properties=properties,
                idempotency_key=f"{kind}:{lead_id}:{hashlib.sha256(key_base.encode()).hexdigest()[:32]}",
            )
            for lead_id in lead_ids
        ],
        now=now,
    )


# --- django-anymail's tracking webhooks -----------------------------------------------------

# anymail's normalised event types → ours (bounced: the provider gave up on the address;
# rejected: it refused to send to it at all). Others (queued, sent, deferred, opened,
# clicked … — opens and clicks are Leadloop's own) are not recorded.
ANYMAIL_TYPES = {
    "bounced": (DeliveryEventType.BOUNCE, True),
    "rejected": (DeliveryEventType.BOUNCE, True),
    "complained": (DeliveryEventType.COMPLAINT, False),
    "delivered": (DeliveryEventType.DELIVERED, False),
}


def on_anymail_tracking(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    """anymail's `tracking` signal (connected in NurtureConfig.ready): the provider's
    report, handed to `record_delivery_events` like the JSON webhook's."""
    mapped = ANYMAIL_TYPES.get(str(event.event_type))
    if mapped is None or not event.recipient:
        return
    kind, permanent = mapped
    record_delivery_events(
        [
            DeliveryReport(
                type=kind,
                email=str(event.recipient),
                reason=str(event.description or event.mta_response or event.reject_reason or ""),
                at=event.timestamp,
                is_permanent=permanent,
                event_key=f"anymail:{esp_name}:{event.event_id}" if event.event_id else "",
            )
        ],
        source=f"anymail:{esp_name}",
        now=timezone.now(),
    )


REPORT_FIELDS = {"type", "email", "message_id", "reason", "at", "permanent", "id"}


def reports_from_json(data: Any) -> list[DeliveryReport]:
    """The documented JSON list (as `POST /api/v1/email/events` takes it) as reports, for
    the CLI; FieldError names the item and field that is wrong."""
    from leads.errors import FieldError

    if not isinstance(data, list):
        raise FieldError("body", "expected a JSON list of reports")
    reports = []
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise FieldError(f"{index}", "expected an object")
        unknown = set(item) - REPORT_FIELDS
        if unknown:
            raise FieldError(f"{index}.{sorted(unknown)[0]}", "not a field of a report")
        kind = item.get("type")
        if kind not in DeliveryEventType.values:
            raise FieldError(
                f"{index}.type", f"{kind!r} is not one of {', '.join(DeliveryEventType.values)}"
            )
        if not (item.get("email") or item.get("message_id")):
            raise FieldError(f"{index}.email", "email or message_id is required")
        at = None
        if item.get("at") is not None:
            try:
                at = datetime.fromisoformat(str(item["at"]))
            except ValueError:
                raise FieldError(f"{index}.at", f"{item['at']!r} is not an ISO 8601 time") from None
            if at.tzinfo is None:
                raise FieldError(f"{index}.at", "needs a UTC offset")
        if not isinstance(item.get("permanent", False), bool):
            raise FieldError(f"{index}.permanent", "true or false")
        reports.append(
            DeliveryReport(
                type=str(kind),
                email=str(item.get("email") or ""),
                message_id=str(item.get("message_id") or ""),
                reason=str(item.get("reason") or ""),
                at=at,
                is_permanent=bool(item.get("permanent", False)),
                event_key=f"api:{item['id']}" if item.get("id") else "",
            )
        )
    return reports
