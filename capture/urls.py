from django.urls import path

from . import views

app_name = "capture"

urlpatterns = [
    path("f/<slug:slug>/", views.public_form, name="form"),
    path("f/<slug:slug>/embed/", views.embed, name="embed"),
]
