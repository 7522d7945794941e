"""`/hooks/<slug>/`: where webinar and form tools deliver their webhooks."""

from django.urls import path

from . import hooks

app_name = "hooks"

urlpatterns = [
    path("<slug:slug>/", hooks.receive, name="receive"),
    # Senders do not follow a redirect with their POST: answer without the slash too.
    path("<slug:slug>", hooks.receive),
]
