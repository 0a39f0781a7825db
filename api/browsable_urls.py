"""The browsable API's login and logout pages (DRF's ``rest_framework.urls``, under the same
names), with password attempts throttled as at every other door that takes a password."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views
from django.http import HttpRequest, HttpResponse
from django.urls import path

from api.throttling import refuse_password_attempt

app_name = "rest_framework"


class LoginView(views.LoginView):
    template_name = "rest_framework/login.html"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return refuse_password_attempt(request) or super().post(request, *args, **kwargs)


urlpatterns = [
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
]
