"""The admin site: Django's, with the operations pages beside the models' tables."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import URLPattern, URLResolver, path, reverse

from api.throttling import refuse_password_attempt


class EventbankAdminSite(admin.AdminSite):
    """Django's admin, plus the operations console: the event browser, the positions page and
    the trial balance.

    Those pages read the event stores and the messaging tables, not one model, so they are
    views of the site itself (staff only, like every admin view), listed on the index as the
    "Operations" section.
    """

    site_header = "eventbank administration"
    site_title = "eventbank admin"
    # The tables are wide (ids, amounts, times): the whole window is theirs. The index and the
    # breadcrumbs lead everywhere the sidebar did.
    enable_nav_sidebar = False

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """Django's login page, with password attempts throttled as at every other door."""
        return refuse_password_attempt(request) or super().login(request, extra_context)

    def password_change(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> Any:
        """Changing a password asks for the old one: a door like the login page."""
        return refuse_password_attempt(request) or super().password_change(request, extra_context)

    def get_urls(self) -> list[URLResolver | URLPattern]:
        from ops import console

        return [
            path(
                "operations/events/",
                self.admin_view(console.EventBrowser.as_view(site=self)),
                name="event_browser",
            ),
            path(
                "operations/positions/",
                self.admin_view(console.Positions.as_view(site=self)),
                name="positions",
            ),
            path(
                "operations/trial-balance/",
                self.admin_view(console.TrialBalancePage.as_view(site=self)),
                name="trial_balance",
            ),
            *super().get_urls(),
        ]

    def get_app_list(
        self, request: HttpRequest, app_label: str | None = None
    ) -> list[dict[str, Any]]:
        app_list = super().get_app_list(request, app_label)
        if app_label is not None:
            return app_list
        pages = [
            ("Event browser", "EventBrowser", "admin:event_browser"),
            ("Positions and lag", "Positions", "admin:positions"),
            ("Trial balance", "TrialBalance", "admin:trial_balance"),
        ]
        operations = {
            "name": "Operations",
            "app_label": "operations",
            "app_url": reverse(pages[0][2], current_app=self.name),
            "has_module_perms": True,
            "models": [
                {
                    "name": name,
                    "object_name": object_name,
                    "admin_url": reverse(url_name, current_app=self.name),
                    "view_only": True,
                }
                for name, object_name, url_name in pages
            ],
        }
        return [operations, *app_list]
