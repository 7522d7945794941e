from django.db import models


class TouchKind(models.TextChoices):
    CALL = "call", "Call"
    EMAIL = "email", "Email"
    MEETING = "meeting", "Meeting"
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
    NONE = "", "—"


class OpportunityStatus(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


# A note is not contact with the lead: it does not stop the SLA clock.
CONTACT_KINDS = frozenset({TouchKind.CALL, TouchKind.EMAIL, TouchKind.MEETING})

# The outcomes that fit each kind of touch: a call can be a wrong number, an email cannot;
# a note has none. The form, `followup.actions` and the API read this one table.
OUTCOMES_BY_KIND: dict[str, tuple[str, ...]] = {
    TouchKind.CALL: (
        TouchOutcome.CONNECTED,
        TouchOutcome.LEFT_VOICEMAIL,
        TouchOutcome.NO_ANSWER,
        TouchOutcome.WRONG_NUMBER,
        TouchOutcome.MEETING_BOOKED,
    ),
    TouchKind.EMAIL: (TouchOutcome.SENT, TouchOutcome.REPLIED, TouchOutcome.MEETING_BOOKED),
    TouchKind.MEETING: (TouchOutcome.HELD, TouchOutcome.MEETING_BOOKED),
    TouchKind.NOTE: (),
}
