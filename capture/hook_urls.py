"""`/hooks/<slug>/`: where webinar and form tools deliver their webhooks."""

from django.urls import path

from . import hook_views

app_name = "hooks"

urlpatterns = [
    path("<slug:slug>/", hook_views.receive, name="receive"),
    # Senders do not follow a redirect with their POST: answer without the slash too.
    path("<slug:slug>", hook_views.receive),
]
