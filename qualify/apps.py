from django.apps import AppConfig


class QualifyConfig(AppConfig):
    name = "qualify"
    default_auto_field = "django.db.models.BigAutoField"
