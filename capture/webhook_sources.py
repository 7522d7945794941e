"""Setting up webhook sources: marketing (on `/webhooks/`) and admins save a source as
they configured it. Rotating a source's token is `capture.services.rotate_webhook_token`.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from .models import WebhookSource
from .rules import FieldError


def save_webhook_source(source: WebhookSource) -> WebhookSource:
    """Create or change a webhook source whose fields a form has set and checked (the
    model's clean(): the mapping, a Zoom source's secret; the slug being unused).

    Raises FieldError("slug") when another source took the slug in the meantime: the
    unique constraint decides between two people saving at once.
    """
    try:
        with transaction.atomic():
            source.save()
    except IntegrityError as exc:
        raise FieldError("slug", f"{source.slug!r} is used by another webhook source") from exc
    return source
