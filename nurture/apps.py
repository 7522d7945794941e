from django.apps import AppConfig


class NurtureConfig(AppConfig):
    name = "nurture"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # anymail speaks only through its signal: the receiver is a thin adapter over
        # nurture.tracking.record_delivery_events, the JSON webhook's service.
        from anymail.signals import tracking as anymail_tracking

        from .tracking import on_anymail_tracking

        anymail_tracking.connect(on_anymail_tracking, dispatch_uid="leadloop.nurture.anymail")

        # A lead given to sales leaves its nurture programs at once.
        from routing.signals import lead_assigned

        from .programs import on_lead_assigned

        lead_assigned.connect(on_lead_assigned, dispatch_uid="leadloop.nurture.programs")
