from django.db import models


class EventType(models.TextChoices):
    """What a subscription may ask for; the value is the `type` of the payload and the
    `X-Leadloop-Event` header. Each comes from one kind of history row (see
    `outgoing_webhooks.rules.stage_change_event`)."""

    CREATED = "lead.created", "A lead arrived (new)"
    NURTURING = "lead.nurturing", "Moved to nurture"
    SALES_READY = "lead.sales_ready", "Sales-ready (MQL)"
    ASSIGNED = "lead.assigned", "Assigned to a rep or a team queue"
    REASSIGNED = "lead.reassigned", "Handed from one rep to another"
    SLA_BREACHED = "lead.sla_breached", "First touch not made in time (SLA breached)"
    ACCEPTED = "lead.accepted", "Accepted by sales"
    CONVERTED = "lead.converted", "Converted to an opportunity"
    WON = "lead.won", "Won (customer)"
    LOST = "lead.lost", "Deal lost (the lead goes back to nurture as recycled)"
    RECYCLED = "lead.recycled", "Recycled: rejected or let go by sales"
    DISQUALIFIED = "lead.disqualified", "Disqualified"


# The event "send test event" posts: never the result of a history row, so no
# subscription asks for it.
TEST_EVENT = "leadloop.test"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class Source(models.TextChoices):
    """The history tables the sweep reads, each with its own cursor."""

    STAGE_CHANGE = "stage_change", "Stage changes (leads_stagechange)"
    ASSIGNMENT = "assignment", "Assignments (routing_assignment)"
    SLA_BREACH = "sla_breach", "SLA breach notifications (users_notification)"
