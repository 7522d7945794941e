from django.db import models


class SlaState(models.TextChoices):
    """Where a lead's first-touch clock stands at one moment."""

    NONE = "none", "No SLA clock"
    RUNNING = "running", "Running"
    OVERDUE = "overdue", "Overdue"
    MET = "met", "Met"  # first contact made by the deadline (or with no deadline)
    MISSED = "missed", "Missed"  # first contact made after the deadline


class AssignedHow(models.TextChoices):
    """How a lead came to its owner (or its team's queue): the "why" of an assignment."""

    ACCOUNT_OWNER = "account_owner", "account owner"
    ROUND_ROBIN = "round_robin", "round robin"
    # Routing found the team but no rep accepting leads: the lead waits in the queue.
    TEAM_QUEUE = "team_queue", "team queue"
    # A caller named the owner (assign_lead(to=…)), e.g. a lead placed by hand.
    CHOSEN = "chosen", "chosen owner"
    REASSIGNED = "reassigned", "reassigned"
    # A rep took a lead waiting in their team's queue by working it.
    CLAIMED = "claimed", "taken from the team queue"
    BEFORE_HISTORY = "before_history", "assigned before history was kept"
    # A routing rule named the rep, or sent the lead to a team's queue on purpose.
    NAMED = "named", "named by the rule"
    QUEUED = "queued", "sent to the team queue"


class RuleTarget(models.TextChoices):
    """Where a routing rule sends the leads it matches."""

    USER = "user", "a named rep"
    TEAM = "team", "round robin in a team"
    QUEUE = "queue", "a team's queue"


class SlaStepKind(models.TextChoices):
    """A rung of a first-touch clock's ladder."""

    REMIND = "remind", "Reminder to the rep"
    BREACH = "breach", "SLA breached"
    REASSIGN = "reassign", "Reassigned, not worked in time"
    RECYCLE = "recycle", "Handed back to marketing, not worked in time"


class SlaStepOutcome(models.TextChoices):
    """What became of a rung when its time came."""

    PENDING = "", "Pending"
    DONE = "done", "Done"
    # The clock had stopped (first touch, a new owner's fresh clock, the lead left sales).
    SKIPPED = "skipped", "Not needed"


class RollupSpan(models.TextChoices):
    """How long a period a row of the follow-up roll-up counts (routing.TurnRollup)."""

    MONTH = "month", "month"
    YEAR = "year", "year"
