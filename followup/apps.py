from django.apps import AppConfig


class FollowupConfig(AppConfig):
    name = "followup"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Routing sits below follow-up and cannot call it: it announces each assignment,
        # and follow-up enrols the lead in its cadence (or moves its open tasks).
        from routing.signals import lead_assigned

        from .cadences import on_lead_assigned

        lead_assigned.connect(on_lead_assigned, dispatch_uid="followup.enrol_on_assignment")
