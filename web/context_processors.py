from typing import Any

from django.conf import settings
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest

from identity.dedup import open_candidates
from users.choices import Capability
from users.models import Notification, User
from users.permissions import may


def _count(queryset: Any) -> Coalesce:
    """A COUNT(*) as a subquery, so that several counts come back in one query."""
    return Coalesce(
        Subquery(
            queryset.order_by()
            .annotate(group=Value(1))
            .values("group")
            .annotate(n=Count("pk"))
            .values("n"),
            output_field=IntegerField(),
        ),
        0,
    )


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # One query for both badges of the top bar.
    counts = (
        User.objects.filter(pk=user.pk)
        .annotate(
            unread=_count(
                Notification.objects.filter(recipient_id=OuterRef("pk"), read_at__isnull=True)
            ),
            duplicates=_count(open_candidates(user)),
        )
        .values("unread", "duplicates")
        .first()
    ) or {"unread": 0, "duplicates": 0}
    return {
        "unread_notifications": counts["unread"],
        "open_duplicates": counts["duplicates"],
        "currency": settings.LEADLOOP_CURRENCY,
        "may_manage_cadences": may(user, Capability.MANAGE_CADENCES),
        "may_edit_scoring": may(user, Capability.EDIT_SCORING),
        "may_send_email": may(user, Capability.SEND_EMAIL),
        "may_manage_lists": may(user, Capability.MANAGE_LISTS),
        "may_manage_programs": may(user, Capability.MANAGE_PROGRAMS),
    }
