from django.urls import path

from . import views_tracking

app_name = "tracking"

urlpatterns = [
    path("t/o/<str:token>.gif", views_tracking.open_pixel, name="open"),
    path("t/c/<str:token>", views_tracking.click, name="click"),
]
