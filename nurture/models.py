"""Email templates, the outbox (one row per message), suppressed addresses and the
mailbox of the local SMTP server `make run` starts; lists of leads (`models_lists`);
programs (`models_programs`)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from .choices import PENDING, MessageStatus, Purpose
from .models_consent import Consent, ConsentPurpose, ConsentState
from .models_lists import LeadList, ListMember
from .models_programs import Enrolment, Program, ProgramStep
from .models_streams import ContentPiece, ContentStream, PieceDelivery, StreamMember
from .models_tracking import DeliveryEvent


class EmailTemplate(models.Model):
    name = models.CharField(max_length=150, unique=True)
    subject = models.CharField(max_length=300)
    html_body = models.TextField(blank=True)
    text_body = models.TextField(blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Message(models.Model):
    """One email: rendered when queued, sent by the outbox sweep (`services.run_due`)."""

    lead = models.ForeignKey(
        "leads.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    template = models.ForeignKey(
        EmailTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    # The consent purpose (slug) a marketing message needs; blank for test sends.
    consent_purpose = models.CharField(max_length=50, blank=True)
    # Where a program queued it: the ProgramStep's id (kept when the step is deleted).
    program_step = models.PositiveBigIntegerField(null=True, blank=True)
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    to_address = models.EmailField(max_length=254)
    to_domain = models.CharField(max_length=253, db_index=False)
    subject = models.CharField(max_length=300)
    text_body = models.TextField(blank=True)
    html_body = models.TextField(blank=True)
    status = models.CharField(
        max_length=20, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    attempts = models.PositiveIntegerField(default=0)
    # Queued: not before then. Sending: the lease; past it, the claim is taken to be dead.
    next_attempt_at = models.DateTimeField()
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Set by the tracking endpoints (open pixel, click redirect) the first time each happens.
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    # Stable across attempts: a resend after a crash is recognisable as the same message.
    message_id = models.CharField("Message-ID", max_length=200, unique=True)
    # The whole message as the SMTP server gets it (headers, both parts, tracking links,
    # footer; no Date, which is stamped when it goes), built once when it is queued.
    raw = models.BinaryField(default=b"", editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="nurture_message_due",
                condition=Q(status__in=PENDING),
            ),
            models.Index(fields=["lead", "purpose", "sent_at"], name="nurture_message_lead_sent"),
            models.Index(fields=["status", "-created_at"], name="nurture_message_status"),
            models.Index(fields=["to_domain", "sent_at"], name="nurture_message_domain_sent"),
            # A program's monitor counts its steps' messages; a branch finds the lead's.
            models.Index(fields=["program_step", "lead"], name="nurture_message_step_lead"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to_address}"


class Suppression(models.Model):
    """An address nothing is sent to (a permanent SMTP refusal, later bounces and
    complaints). Checked before every send."""

    address = models.EmailField(max_length=254, unique=True)
    reason = models.TextField()
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.address


class MailboxMessage(models.Model):
    """What the local SMTP server (`leadloop mailserver`, started by `make run` when
    EMAIL_URL is not set) received, byte for byte."""

    message_id = models.CharField(max_length=300, blank=True, db_index=True)
    mail_from = models.CharField(max_length=300)
    recipients = models.JSONField(default=list)
    subject = models.CharField(max_length=300, blank=True)
    raw = models.BinaryField()
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-received_at", "-pk"]

    def __str__(self) -> str:
        return self.subject


__all__ = [
    "Consent",
    "ConsentPurpose",
    "ConsentState",
    "ContentPiece",
    "ContentStream",
    "DeliveryEvent",
    "EmailTemplate",
    "Enrolment",
    "LeadList",
    "ListMember",
    "MailboxMessage",
    "Message",
    "PieceDelivery",
    "Program",
    "ProgramStep",
    "StreamMember",
    "Suppression",
]
