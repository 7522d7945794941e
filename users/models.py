from __future__ import annotations

import hashlib
import secrets
import zoneinfo
from datetime import time
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models

from .choices import EMAILED_BY_DEFAULT, EmailState, NotificationKind, Role


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"unknown time zone {value!r}")


def default_workdays() -> list[int]:
    return [0, 1, 2, 3, 4]


class Team(models.Model):
    """A sales team: reps who share a queue of leads, a manager, and a working calendar.

    The calendar (time zone, working hours, working days, holidays) is what the SLA clock
    counts in: a lead that arrives on Friday evening is not overdue on Saturday.
    """

    name = models.CharField(max_length=100, unique=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    workday_start = models.TimeField(default=time(9, 0))
    workday_end = models.TimeField(default=time(17, 0))
    workdays = models.JSONField(default=default_workdays, help_text="0 = Monday … 6 = Sunday")
    holidays = models.JSONField(default=list, blank=True, help_text="ISO dates, e.g. 2026-12-25")
    countries = models.JSONField(
        default=list,
        blank=True,
        help_text="ISO codes (DE, GB, US) of the countries whose leads this team works (routing)",
    )
    sla_hours = models.PositiveIntegerField(
        "SLA hours",
        default=24,
        help_text="Business hours allowed before the first touch when no SLA policy applies",
    )
    # Public holidays of this country (and region) are days off, from the `holidays`
    # package, besides the team's own `holidays`.
    holiday_country = models.CharField(
        max_length=2, blank=True, help_text="ISO code whose public holidays are days off, e.g. DE"
    )
    holiday_region = models.CharField(
        max_length=10, blank=True, help_text="Region (subdivision) of that country, e.g. BY"
    )
    # Round-robin pointer: the rep who got the last lead. Read and moved under a row lock.
    last_assigned_user = models.ForeignKey(
        "users.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "team"
        verbose_name_plural = "teams"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class LeadloopUserManager(UserManager["User"]):
    def create_superuser(
        self, username: str, email: str | None = None, password: str | None = None, **extra: Any
    ) -> User:
        """A superuser is an admin (`createsuperuser` included), not the default sales rep."""
        extra.setdefault("role", Role.ADMIN)
        return super().create_superuser(username, email, password, **extra)


class User(AbstractUser):
    """A person who uses Leadloop; the role decides which leads they see and change.

    A superuser acts as an admin whatever `role` says (`users.permissions.role_of`), and
    is shown as one."""

    objects: ClassVar[LeadloopUserManager] = LeadloopUserManager()  # type: ignore[assignment]

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.SALES_REP)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    is_accepting_leads = models.BooleanField(
        default=True, help_text="Round robin skips reps who are away"
    )
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    # Round robin gives a rep no more open (sales-stage) leads than this; None: no cap.
    max_open_leads = models.PositiveIntegerField(
        "open-lead cap",
        null=True,
        blank=True,
        help_text="Most open leads round robin gives this rep; empty: no cap",
    )
    # Which kinds of notification also come by email: {kind: true/false}; a kind not
    # named follows EMAILED_BY_DEFAULT. In the app they always arrive.
    email_notifications = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "user"
        verbose_name_plural = "users"

    @property
    def display_name(self) -> str:
        """How people see this person everywhere: the full name, else the username."""
        return self.get_full_name() or self.username

    @property
    def role_label(self) -> str:
        """The role as shown: "Admin" for any superuser, as they act."""
        return str(Role.ADMIN.label) if self.is_superuser else self.get_role_display()

    @property
    def is_rep(self) -> bool:
        return not self.is_superuser and self.role == Role.SALES_REP

    @property
    def is_manager(self) -> bool:
        return not self.is_superuser and self.role == Role.SALES_MANAGER

    def wants_email(self, kind: str) -> bool:
        """Whether a notification of `kind` also comes by email (it needs an address)."""
        if not self.email or not self.is_active:
            return False
        chosen = (self.email_notifications or {}).get(str(kind))
        return bool(chosen) if chosen is not None else kind in EMAILED_BY_DEFAULT

    @property
    def sees_everything(self) -> bool:
        return self.is_superuser or self.role in {Role.ADMIN, Role.MARKETING}


class ApiToken(models.Model):
    """A bearer token for the REST API. Only a hash is stored; the token is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, default="cli")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name = "API token"
        verbose_name_plural = "API tokens"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()

    @classmethod
    def issue(cls, user: User, name: str = "cli") -> tuple[ApiToken, str]:
        raw = "ll_" + secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, key_hash=cls.hash(raw), prefix=raw[:8])
        return token, raw


class Notification(models.Model):
    """A message for one person in the app, e.g. "this lead breached its SLA"."""

    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40)
    message = models.CharField(max_length=300)
    lead = models.ForeignKey(
        "leads.Lead", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    dedupe_key = models.CharField(max_length=120)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    # Decided when the message is left (the recipient's choice for its kind): pending
    # until users.services.send_notification_emails claims and sends it, once.
    email_state = models.CharField(
        max_length=10, choices=EmailState.choices, default=EmailState.NOT_WANTED, blank=True
    )

    class Meta:
        verbose_name = "notification"
        verbose_name_plural = "notifications"
        ordering = ["-created_at"]
        constraints = [
            # A sweep that runs twice notifies once: the key names the event, e.g.
            # "sla_breach:<lead>:<deadline>".
            models.UniqueConstraint(fields=["recipient", "dedupe_key"], name="notification_once")
        ]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_unread"),
            # The outbox: only the few messages still to email are in it.
            models.Index(
                fields=["created_at"],
                name="notification_email_due",
                condition=models.Q(email_state=EmailState.PENDING),
            ),
        ]

    def __str__(self) -> str:
        return self.message

    @property
    def kind_label(self) -> str:
        """The kind in words ("SLA breached"); an unknown code is shown as it is."""
        try:
            return str(NotificationKind(self.kind).label)
        except ValueError:
            return self.kind


class Leave(models.Model):
    """A stretch of days a person is away (holiday, sick leave, parental leave), set by
    them or their manager. Routing gives them no new leads on those days, and their open
    leads go to others by the routing rules when it starts (routing.availability)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="leaves")
    starts_on = models.DateField()
    ends_on = models.DateField(help_text="The last day away (inclusive)")
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = "leave"
        verbose_name_plural = "leaves"
        ordering = ["starts_on", "pk"]
        indexes = [models.Index(fields=["user", "ends_on"], name="leave_user_ends")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="leave_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} away {self.starts_on} – {self.ends_on}"
