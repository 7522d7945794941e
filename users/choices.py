from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MARKETING = "marketing", "Marketing"
    SALES_MANAGER = "sales_manager", "Sales manager"
    SALES_REP = "sales_rep", "Sales rep"


class LeadAction(models.TextChoices):
    """What a person may do to a lead they can see (seeing is `users.access.visible_leads`).
    The labels are the buttons of the lead page and the rows of the README's table."""

    LOG_TOUCH = "log_touch", "Log a call, email or meeting"
    LOG_NOTE = "log_note", "Log a note"
    ACCEPT = "accept", "Accept"
    REJECT = "reject", "Reject"
    CONVERT = "convert", "Convert to opportunity"
    WIN = "win", "Won"
    LOSE = "lose", "Lost"
    DISQUALIFY = "disqualify", "Disqualify"
    NURTURE = "nurture", "Back to nurture"
    SEND_TO_SALES = "send_to_sales", "Send to sales"
    REASSIGN = "reassign", "Reassign"


class Capability(models.TextChoices):
    """What a person may do beyond one lead."""

    BUILD_FORMS = "build_forms", "Build web forms"
    IMPORT = "import", "Import leads from files"
    CONNECT_WEBHOOKS = "connect_webhooks", "Connect webhook sources"
    POST_EVENTS = "post_events", "Post engagement events through the API"
    MERGE_DUPLICATES = "merge_duplicates", "Merge duplicates"
    EXPORT = "export", "Export the leads one sees as CSV"
    MANAGE_USERS = "manage_users", "Set people's team, time zone and lead intake"
    CREATE_USERS = "create_users", "Add people and give them a set-password link"
    DEACTIVATE_USERS = "deactivate_users", "Deactivate and reactivate people"
    MANAGE_TEAMS = "manage_teams", "Set a team's calendar, countries and SLA"
    CREATE_TEAMS = "create_teams", "Create teams"
    MANAGE_CAMPAIGNS = "manage_campaigns", "Create and edit campaigns"
    MANAGE_WEBHOOK_SUBSCRIPTIONS = (
        "manage_webhook_subscriptions",
        "Send lead events to other systems (outgoing webhooks)",
    )
    MANAGE_ROUTING = "manage_routing", "Edit routing rules and see why a lead is routed"
    WORK_TASKS = "work_tasks", "Work follow-up tasks (one's own; a manager's team's)"
    MANAGE_CADENCES = "manage_cadences", "Edit cadences, their rules and minimum attempts"
    EDIT_SCORING = "edit_scoring", "Edit the scoring model and restore its versions"
    SEND_EMAIL = "send_email", "Write email templates, test-send them, read the outbox and mailbox"
    MANAGE_LISTS = "manage_lists", "Create, refresh and fill lists of leads"
    MANAGE_CONSENT = "manage_consent", "Record a lead's consent and manage consent purposes"
    MANAGE_PROGRAMS = "manage_programs", "Build, run, pause and enrol leads in nurture programs"


class NotificationKind(models.TextChoices):
    """What a notification tells its reader; the label is what the page shows."""

    ASSIGNED = "assigned", "New lead for you"
    REASSIGNED = "reassigned", "Lead handed to you"
    SLA_BREACH = "sla_breach", "SLA breached"
    # Nobody in the team could take a lead (away, on leave, full): it waits in the queue.
    QUEUED = "queued", "Lead waiting in the team queue"
    SLA_REMINDER = "sla_reminder", "SLA deadline coming up"
    SLA_ESCALATED = "sla_escalated", "Lead escalated, not worked in time"
    # A nurture program's notify step (nurture.programs).
    PROGRAM = "program", "Nurture program"


# The kinds a person gets by email until they choose otherwise (My settings): the ones
# that ask for action soon. A new lead arrives by the dozen after an import; in the app
# is enough unless the person asks for more.
EMAILED_BY_DEFAULT: frozenset[str] = frozenset(
    {
        NotificationKind.REASSIGNED,
        NotificationKind.SLA_BREACH,
        NotificationKind.SLA_REMINDER,
        NotificationKind.SLA_ESCALATED,
    }
)


class EmailState(models.TextChoices):
    """Where a notification's email stands. Claimed (pending -> sending) by one worker in
    one UPDATE before it is sent, so it goes out at most once."""

    NOT_WANTED = "", "Not emailed"
    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Could not be sent"
