"""Content streams: an ordered pool of content pieces (whitepapers, case studies,
webinar invitations, newsletters) that each lead in the stream gets one by one, the next
it has not seen, on the stream's cadence (`nurture.streams`)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from leads.models import Lead

from .choices import LeftReason, PieceKind, StreamMemberStatus, StreamStatus
from .models_lists import LeadList


class ContentStream(models.Model):
    """A dialogue marketing keeps with leads that are not ready for sales: every
    `cadence_days` (at the weekday and hour given, in the lead's time zone) a lead picked
    by the enrolment rule (a list, a segment, or both) gets the next piece it has not
    seen, for the consent purpose `purpose` (e.g. "newsletter")."""

    name = models.CharField(max_length=100, unique=True)
    status = models.CharField(
        max_length=10, choices=StreamStatus.choices, default=StreamStatus.ACTIVE
    )
    cadence_days = models.PositiveIntegerField(default=7)
    # Optional slot in the lead's time zone: 0 = Monday … 6 = Sunday, and an hour 0–23.
    send_weekday = models.PositiveSmallIntegerField(null=True, blank=True)
    send_hour = models.PositiveSmallIntegerField(null=True, blank=True)
    purpose = models.SlugField(max_length=50, default="newsletter")
    # The enrolment rule: members of the list AND of the segment (either may be empty).
    # A list a stream enrols from is not deleted (`nurture.lists.delete_list` says so).
    enrol_list = models.ForeignKey(
        LeadList, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    enrol_segment = models.CharField(max_length=20, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ContentPiece(models.Model):
    """One piece of content in a stream, presented by an email template that reads
    `{{ piece.title }}` and `{{ piece.url }}`. Retired pieces (inactive) are sent no more."""

    stream = models.ForeignKey(ContentStream, on_delete=models.CASCADE, related_name="pieces")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=20, choices=PieceKind.choices, default=PieceKind.OTHER)
    title = models.CharField(max_length=200)
    url = models.URLField("URL", max_length=500)
    template = models.ForeignKey(
        "nurture.EmailTemplate", on_delete=models.PROTECT, related_name="content_pieces"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["stream", "position", "pk"]
        indexes = [models.Index(fields=["stream", "position"], name="content_piece_order")]

    def __str__(self) -> str:
        return self.title


class StreamMember(models.Model):
    """A lead in a stream, since when, and when its next piece is due. One row per lead
    and stream: a lead that leaves and comes back gets its row back (and only the pieces
    it has not seen)."""

    stream = models.ForeignKey(ContentStream, on_delete=models.CASCADE, related_name="members")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="stream_memberships")
    status = models.CharField(
        max_length=10, choices=StreamMemberStatus.choices, default=StreamMemberStatus.ACTIVE
    )
    joined_at = models.DateTimeField()
    next_due_at = models.DateTimeField(null=True, blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)
    left_reason = models.CharField(max_length=20, choices=LeftReason.choices, blank=True)

    class Meta:
        verbose_name = "stream membership"
        constraints = [
            models.UniqueConstraint(fields=["stream", "lead"], name="stream_member_once")
        ]
        indexes = [
            models.Index(
                fields=["next_due_at"],
                name="stream_member_due",
                condition=Q(status=StreamMemberStatus.ACTIVE),
            ),
            models.Index(fields=["lead"], name="stream_member_lead"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} in {self.stream_id}"


class PieceDelivery(models.Model):
    """A piece a lead was sent (its message queued in the outbox): never twice the same
    piece to one lead, across every time it was in the stream."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="piece_deliveries")
    piece = models.ForeignKey(ContentPiece, on_delete=models.CASCADE, related_name="deliveries")
    message = models.OneToOneField(
        "nurture.Message",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="piece_delivery",
    )
    sent_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "piece deliveries"
        constraints = [
            models.UniqueConstraint(fields=["lead", "piece"], name="piece_delivered_once")
        ]
        indexes = [models.Index(fields=["piece"], name="piece_delivery_piece")]

    def __str__(self) -> str:
        return f"{self.piece_id} to {self.lead_id}"
