"""The admin's operations pages: an aggregate's stored events, and how far behind each relay
and subscriber is. Read-only; staff only (the admin site wraps them)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from django import forms
from django.conf import settings
from django.contrib import admin
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.views.generic import TemplateView

from api.history import published
from config.container import get_container
from messaging.models import DeadLetter
from ops.admin_helpers import ERASED, money
from ops.audit import projected_balances
from ops.lag import relay_lags, sources, subscriber_lags
from ops.replica import replica_configured, replica_state


class ConsoleView(TemplateView):
    """A page of the admin site: its header, sidebar and breadcrumbs around our content."""

    site: admin.AdminSite | None = None  # set by the site's ``as_view(site=...)``
    title: ClassVar[str]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        assert self.site is not None
        return {
            **self.site.each_context(self.request),
            "title": self.title,
            **super().get_context_data(**kwargs),
        }


def _contexts() -> list[tuple[str, str]]:
    return [(context, context) for context in settings.EVENT_STORE_CONTEXTS]


class EventQuery(forms.Form):
    context = forms.ChoiceField(choices=_contexts)
    # Wide enough for a whole id (36 characters) and a little more.
    aggregate = forms.UUIDField(
        label="Aggregate id", widget=forms.TextInput(attrs={"size": 40, "class": "vTextField"})
    )


class EventBrowser(ConsoleView):
    """One aggregate's stored events, decoded, oldest first, in their published form — with
    what a context publishes sealed opened for staff, or shown as erased."""

    template_name = "admin/console/event_browser.html"
    title = "Event browser"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if "aggregate" not in request.GET:
            return self.render_to_response(self.get_context_data(form=EventQuery()))
        form = EventQuery(request.GET)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        context, aggregate = form.cleaned_data["context"], form.cleaned_data["aggregate"]
        app = get_container().application(context)
        events = [  # the relay's envelopes, as staff read them
            app.readable(event, erased=ERASED)
            for event in published(app, app.stored_events(aggregate))
        ]
        for event in events:
            event["data_json"] = json.dumps(event["data"], indent=2, sort_keys=True)
        page = self.get_context_data(form=form, events=events, aggregate=aggregate, store=context)
        return self.render_to_response(page, status=200 if events else 404)


class Positions(ConsoleView):
    """Each relay's and subscriber's position per source, and its lag behind the source's head;
    with a read replica, how far it is behind the primary."""

    template_name = "admin/console/positions.html"
    title = "Positions and lag"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        heads, down = sources(get_container())
        dead_letters = dict(
            DeadLetter.objects.filter(resolved_at__isnull=True)
            .values_list("subscriber")
            .annotate(count=Count("id"))
            .values_list("subscriber", "count")
        )
        return super().get_context_data(
            sources=heads,
            down=sorted(down.items()),
            relays=relay_lags(heads),
            subscribers=subscriber_lags(heads),
            dead_letters=sorted(dead_letters.items()),
            max_lag=settings.MAX_SUBSCRIBER_LAG,
            replica=replica_state() if replica_configured() else None,
            max_replica_lag=settings.MAX_REPLICA_LAG_SECONDS,
            **kwargs,
        )


class TrialBalancePage(ConsoleView):
    """Per currency, who holds the posted money — customers, the system's accounts — and the
    sum, which double entry makes zero; and what pending holds set aside and promise."""

    template_name = "admin/console/trial_balance.html"
    title = "Trial balance"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        tables = [
            {
                "currency": books.currency,
                "rows": [(label, money(cents, books.currency)) for label, cents in books.rows()],
                "held": money(books.held, books.currency),
                "incoming": money(books.incoming, books.currency),
            }
            for books in projected_balances()
        ]
        return super().get_context_data(balances=tables, **kwargs)
