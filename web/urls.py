from django.urls import path

from . import views

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
    path("forms/", views.web_forms, name="forms"),
]
