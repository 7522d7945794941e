"""Status sets of the nurture app."""

from __future__ import annotations

from django.db import models


class Purpose(models.TextChoices):
    """Why a message is sent: marketing messages count towards the frequency cap and keep
    quiet hours; a test send (to a colleague's address) does neither."""

    MARKETING = "marketing", "Marketing"
    TEST = "test", "Test send"


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SUPPRESSED = "suppressed", "Suppressed"
    # Queued by a program that was paused: not sent until the program resumes.
    HELD = "held", "Held (program paused)"


PENDING = (MessageStatus.QUEUED, MessageStatus.SENDING)


class ListKind(models.TextChoices):
    """A smart list's members follow its filters; a static list's are put in by hand."""

    SMART = "smart", "Smart (filters)"
    STATIC = "static", "Static (added by hand)"


class DeliveryEventType(models.TextChoices):
    """What a provider or mail server reported about a sent message."""

    BOUNCE = "bounce", "Bounce"
    COMPLAINT = "complaint", "Complaint"
    DELIVERED = "delivered", "Delivered"


class StreamStatus(models.TextChoices):
    """An active stream enrols and sends; a paused one does neither until resumed."""

    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"


class PieceKind(models.TextChoices):
    WHITEPAPER = "whitepaper", "Whitepaper"
    CASE_STUDY = "case_study", "Case study"
    WEBINAR_INVITATION = "webinar_invitation", "Webinar invitation"
    NEWSLETTER = "newsletter", "Newsletter"
    OTHER = "other", "Other"


class StreamMemberStatus(models.TextChoices):
    """A lead in a stream: getting pieces (active), has seen every piece (exhausted: a
    piece added later makes it active again), or out of it (left: the rule no longer
    picks it, it became sales-ready or disqualified, or it unsubscribed)."""

    ACTIVE = "active", "Active"
    EXHAUSTED = "exhausted", "Exhausted"
    LEFT = "left", "Left"


class LeftReason(models.TextChoices):
    RULE = "rule", "No longer matches the rule"
    SALES_READY = "sales_ready", "Became sales-ready"
    DISQUALIFIED = "disqualified", "Disqualified"
    UNSUBSCRIBED = "unsubscribed", "No consent (unsubscribed) or suppressed"


class ConsentSource(models.TextChoices):
    """The door a grant or withdrawal of consent came through."""

    FORM = "form", "Web form"
    IMPORT = "import", "Import"
    TRADE_SHOW = "trade_show", "Trade show"
    API = "api", "API"
    WEBHOOK = "webhook", "Webhook"
    PREFERENCE_PAGE = "preference_page", "Preference page"
    UNSUBSCRIBE = "unsubscribe", "Unsubscribe link"
    PERSON = "person", "Recorded by a colleague"
    MIGRATED = "migrated", "Migrated from custom fields"


class ProgramStatus(models.TextChoices):
    """A draft is being built (nothing runs); an active program enrols and advances its
    leads; a paused one does neither and its queued emails are held."""

    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"


class StepKind(models.TextChoices):
    SEND_EMAIL = "send_email", "Send an email"
    WAIT = "wait", "Wait"
    BRANCH = "branch", "Branch"
    ADD_TO_LIST = "add_to_list", "Add to a list"
    REMOVE_FROM_LIST = "remove_from_list", "Remove from a list"
    NOTIFY = "notify", "Notify"
    HAND_TO_SALES = "hand_to_sales", "Hand to sales"
    END = "end", "End"


class EnrolmentStatus(models.TextChoices):
    """A run is active until it reaches the end (completed), a goal, or is exited (the
    lead left: merged away, no address, taken out by hand)."""

    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    GOAL = "goal", "Reached a goal"
    EXITED = "exited", "Exited"
