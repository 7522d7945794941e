from django.conf import settings
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from api.root import api

urlpatterns = [
    # Browsers ask for /favicon.ico on every page that names no icon (Django's admin, the
    # API docs): answer with the app's, not a 404 in every console.
    path("favicon.ico", RedirectView.as_view(url=static("web/favicon.ico"), permanent=True)),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("hooks/", include("api.hook_urls")),
    path("", include("capture.urls")),
    path("", include("web.urls_tracking")),
    path("", include("web.urls")),
]

# A provider's tracking webhooks (bounces, complaints, deliveries) through django-anymail,
# when its basic-auth secret is set (README, "Email providers").
if settings.ANYMAIL.get("WEBHOOK_SECRET"):
    urlpatterns.append(path("anymail/", include("anymail.urls")))

handler400 = "web.errors.bad_request"
handler500 = "web.errors.server_error"
