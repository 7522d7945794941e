from django.apps import AppConfig


class OutgoingWebhooksConfig(AppConfig):
    """Lead events sent to other systems: signed POSTs to the URLs admins subscribe."""

    name = "outgoing_webhooks"
    verbose_name = "Outgoing webhooks"
    default_auto_field = "django.db.models.BigAutoField"
