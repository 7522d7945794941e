from django.db import models


class Stage(models.TextChoices):
    NEW = "new", "New"
    NURTURING = "nurturing", "Nurturing"
    MQL = "mql", "MQL"
    ACCEPTED = "accepted", "Accepted (SAL)"
    OPPORTUNITY = "opportunity", "Opportunity (SQL)"
    CUSTOMER = "customer", "Customer"
    RECYCLED = "recycled", "Recycled"
    DISQUALIFIED = "disqualified", "Disqualified"


class Grade(models.TextChoices):
    """The letter grade of a lead's fit total; the thresholds are the scoring model's."""

    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"


class Segment(models.TextChoices):
    SALES_READY = "sales_ready", "Sales-ready"
    NURTURE = "nurture", "Nurture"
    DISQUALIFIED = "disqualified", "Disqualified"


class Channel(models.TextChoices):
    WEBINAR = "webinar", "Webinar"
    TRADE_SHOW = "trade_show", "Trade show"
    WEB_FORM = "web_form", "Web form"
    PAID = "paid", "Paid ads"
    EMAIL = "email", "Email"
    CONTENT = "content", "Content"
    REFERRAL = "referral", "Referral"
    IMPORT = "import", "Import"
    API = "api", "API"
    OTHER = "other", "Other"


class MemberStatus(models.TextChoices):
    REGISTERED = "registered", "Registered"
    ATTENDED = "attended", "Attended"
    NO_SHOW = "no-show", "No-show"
    RESPONDED = "responded", "Responded"


class Authority(models.TextChoices):
    UNKNOWN = "", "Unknown"
    DECISION_MAKER = "decision_maker", "Decision maker"
    INFLUENCER = "influencer", "Influencer"
    USER = "user", "User"
    NONE = "none", "No authority"


class Timeline(models.TextChoices):
    UNKNOWN = "", "Unknown"
    NOW = "now", "Now"
    QUARTER = "quarter", "This quarter"
    YEAR = "year", "This year"
    LATER = "later", "Later"
    NEVER = "never", "Never"
