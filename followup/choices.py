from django.db import models


class TouchKind(models.TextChoices):
    CALL = "call", "Call"
    EMAIL = "email", "Email"
    MEETING = "meeting", "Meeting"
    LINKEDIN = "linkedin", "LinkedIn message"
    NOTE = "note", "Note"


class TouchOutcome(models.TextChoices):
    CONNECTED = "connected", "Connected"
    LEFT_VOICEMAIL = "left_voicemail", "Left voicemail"
    NO_ANSWER = "no_answer", "No answer"
    WRONG_NUMBER = "wrong_number", "Wrong number"
    SENT = "sent", "Sent"
    REPLIED = "replied", "Replied"
    MEETING_BOOKED = "meeting_booked", "Meeting booked"
    HELD = "held", "Held"
    NOT_INTERESTED = "not_interested", "Not interested"
    NONE = "", "—"


class OpportunityStatus(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


# A note is not contact with the lead: it does not stop the SLA clock.
CONTACT_KINDS = frozenset({TouchKind.CALL, TouchKind.EMAIL, TouchKind.MEETING, TouchKind.LINKEDIN})

# The outcomes that fit each kind of touch: a call can be a wrong number, an email cannot;
# a note has none. The form, `followup.actions` and the API read this one table.
OUTCOMES_BY_KIND: dict[str, tuple[str, ...]] = {
    TouchKind.CALL: (
        TouchOutcome.CONNECTED,
        TouchOutcome.LEFT_VOICEMAIL,
        TouchOutcome.NO_ANSWER,
        TouchOutcome.WRONG_NUMBER,
        TouchOutcome.MEETING_BOOKED,
        TouchOutcome.NOT_INTERESTED,
    ),
    TouchKind.EMAIL: (
        TouchOutcome.SENT,
        TouchOutcome.REPLIED,
        TouchOutcome.MEETING_BOOKED,
        TouchOutcome.NOT_INTERESTED,
    ),
    TouchKind.MEETING: (TouchOutcome.HELD, TouchOutcome.MEETING_BOOKED),
    TouchKind.LINKEDIN: (
        TouchOutcome.SENT,
        TouchOutcome.REPLIED,
        TouchOutcome.MEETING_BOOKED,
        TouchOutcome.NOT_INTERESTED,
    ),
    TouchKind.NOTE: (),
}

# Outcomes that mean the person was reached: the cadence has done its work and ends
# (a connected call, a reply, a booked or held meeting, a clear "not interested").
CONTACT_OUTCOMES = frozenset(
    {
        TouchOutcome.CONNECTED,
        TouchOutcome.REPLIED,
        TouchOutcome.MEETING_BOOKED,
        TouchOutcome.HELD,
        TouchOutcome.NOT_INTERESTED,
    }
)


class CadenceChannel(models.TextChoices):
    """How a cadence step reaches the lead."""

    CALL = "call", "Call"
    EMAIL = "email", "Email"
    LINKEDIN = "linkedin", "LinkedIn"
    OTHER = "other", "Other"


# The touch a completed task records: "other" (research, a gift, a letter) is logged as a
# note, which is no contact attempt and stops no clock.
TOUCH_KIND_OF_CHANNEL: dict[str, str] = {
    CadenceChannel.CALL: TouchKind.CALL,
    CadenceChannel.EMAIL: TouchKind.EMAIL,
    CadenceChannel.LINKEDIN: TouchKind.LINKEDIN,
    CadenceChannel.OTHER: TouchKind.NOTE,
}


class EnrolmentStatus(models.TextChoices):
    """Where a lead's run through a cadence stands."""

    ACTIVE = "active", "Active"
    # The person was reached (a connected call, a reply, a booked meeting).
    CONTACTED = "contacted", "Contact made"
    # Every step done without contact: the lead went back to marketing, recycled.
    RAN_OUT = "ran_out", "Ran out without contact"
    # The lead left sales' hands another way (rejected, disqualified, won, handed back).
    STOPPED = "stopped", "Stopped"


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    # The cadence ended before the task was done (contact made elsewhere, lead left sales).
    CANCELLED = "cancelled", "Cancelled"


class TaskDue(models.TextChoices):
    """The Today page's and `GET /api/v1/tasks`' filter."""

    TODAY = "today", "Due today"
    OVERDUE = "overdue", "Overdue"
