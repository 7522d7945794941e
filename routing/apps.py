from typing import Any

from django.apps import AppConfig
from django.db.models.signals import pre_delete


class RoutingConfig(AppConfig):
    name = "routing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from leads.models import Campaign

        pre_delete.connect(_campaign_deleted, sender=Campaign, dispatch_uid="routing.campaign")


def _campaign_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A campaign about to be deleted takes its turns' campaign rows (TurnCampaign) with it:
    the follow-up roll-up forgets it too (routing.rollup.forget_campaign)."""
    from .rollup import forget_campaign

    forget_campaign(instance.pk)
