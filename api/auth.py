from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from users.models import ApiToken


class BearerTokenAuth(HttpBearer):
    """`Authorization: Bearer <token>` from `leadloop api_token USERNAME`."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = (
            ApiToken.objects.select_related("user", "user__team")
            .filter(key_hash=ApiToken.hash(token), is_active=True, user__is_active=True)
            .first()
        )
        if found is None:
            return None
        now = timezone.now()
        if found.last_used_at is None or (now - found.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        request.user = found.user
        # Named where what the call did is recorded (consent given through the API).
        request.api_token_name = found.name  # type: ignore[attr-defined]
        return found.user
