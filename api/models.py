"""What the API keeps of its own: the answers to idempotent writes."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class IdempotencyKey(models.Model):
    """A write from outside that already happened: a retry with its key gets the same answer."""

    key = models.CharField(max_length=200)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    endpoint = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = "idempotency key"
        verbose_name_plural = "idempotency keys"
        db_table = "capture_idempotencykey"
        constraints = [
            models.UniqueConstraint(fields=["user", "endpoint", "key"], name="idempotency_unique")
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.key}"
