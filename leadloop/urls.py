from django.contrib import admin
from django.urls import include, path

from api.root import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("hooks/", include("api.hook_urls")),
    path("", include("capture.urls")),
    path("", include("web.urls")),
]

handler400 = "web.errors.bad_request"
handler500 = "web.errors.server_error"
