from django.urls import path

from . import (
    views,
    views_dedup,
    views_forms,
    views_imports,
    views_notifications,
    views_webhooks,
)

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("leads/", views.lead_list, name="leads"),
    path("leads/export.csv", views.lead_export, name="leads_export"),
    path("leads/<int:pk>/", views.lead_detail, name="lead"),
    path("leads/<int:pk>/touch/", views.lead_touch, name="lead_touch"),
    path("leads/<int:pk>/actions/<slug:action>/", views.lead_action, name="lead_action"),
    path("leads/<int:pk>/reassign/", views.lead_reassign, name="lead_reassign"),
    path("reports/funnel/", views.funnel, name="funnel"),
    path("notifications/", views.notifications, name="notifications"),
    path(
        "notifications/<int:pk>/",
        views_notifications.notification_open,
        name="notification_open",
    ),
    path("forms/", views.web_forms, name="forms"),
    path("forms/new/", views_forms.web_form_new, name="form_new"),
    path("forms/<int:pk>/edit/", views_forms.web_form_edit, name="form_edit"),
    path("webhooks/", views_webhooks.webhooks, name="webhooks"),
    path("webhooks/new/", views_webhooks.webhook_new, name="webhook_new"),
    path("webhooks/<int:pk>/edit/", views_webhooks.webhook_edit, name="webhook_edit"),
    path("webhooks/<int:pk>/token/", views_webhooks.webhook_token, name="webhook_token"),
    path("duplicates/", views_dedup.duplicates, name="duplicates"),
    path("duplicates/<int:pk>/", views_dedup.duplicate, name="duplicate"),
    path("duplicates/<int:pk>/merge/", views_dedup.duplicate_merge, name="duplicate_merge"),
    path("duplicates/<int:pk>/dismiss/", views_dedup.duplicate_dismiss, name="duplicate_dismiss"),
    path("merges/", views_dedup.merges, name="merges"),
    path("merges/<int:pk>/undo/", views_dedup.merge_undo, name="merge_undo"),
    path("imports/", views_imports.imports, name="imports"),
    path("imports/new/", views_imports.import_new, name="import_new"),
    path("imports/<int:pk>/", views_imports.import_job, name="import"),
    path("imports/<int:pk>/mapping/", views_imports.import_mapping, name="import_mapping"),
    path("imports/<int:pk>/preview/", views_imports.import_preview, name="import_preview"),
    path("imports/<int:pk>/start/", views_imports.import_start, name="import_start"),
    path("imports/<int:pk>/progress/", views_imports.import_progress, name="import_progress"),
    path("imports/<int:pk>/resume/", views_imports.import_resume, name="import_resume"),
    path("imports/<int:pk>/rejects.csv", views_imports.import_rejects, name="import_rejects"),
]
