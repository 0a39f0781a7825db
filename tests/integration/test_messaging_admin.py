"""Dead letters in the admin: listed for staff, retried through the handler, refused to others."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from messaging.models import DeadLetter
from tests.testapp.handlers import EffectRecorder
from tests.testapp.models import Effect

pytestmark = pytest.mark.django_db


def parked(poison: bool, sequence: int = 7) -> DeadLetter:
    event = {"id": "e-1", "type": "thing.happened", "data": {"poison": poison}}
    return DeadLetter.objects.create(
        subscriber=EffectRecorder.name, subject="t.thing.happened", stream_sequence=sequence,
        payload=json.dumps(event), error="Poison: e-1", attempts=3,
    )  # fmt: skip


def test_staff_see_dead_letters(admin_client: Client) -> None:
    parked(poison=True)
    page = admin_client.get("/admin/messaging/deadletter/")
    assert page.status_code == 200 and b"t.thing.happened" in page.content


def test_the_retry_action_resolves_what_now_applies_and_reports_what_does_not(
    admin_client: Client,
) -> None:
    cured, still_poison = parked(poison=False), parked(poison=True, sequence=8)
    response = admin_client.post(
        "/admin/messaging/deadletter/",
        {"action": "retry_selected", "_selected_action": [cured.pk, still_poison.pk]},
        follow=True,
    )
    assert b"1 of 2 resolved" in response.content
    cured.refresh_from_db()
    still_poison.refresh_from_db()
    assert cured.resolved_at is not None and still_poison.resolved_at is None
    assert still_poison.attempts == 4 and Effect.objects.count() == 1


def test_customers_cannot_open_the_admin(make_user) -> None:
    client = Client()
    client.force_login(make_user("alice"))
    response = client.get("/admin/messaging/deadletter/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize(
    "page",
    [
        "/admin/projections/accountsummary/",
        "/admin/messaging/relayposition/",
        "/admin/messaging/subscriberposition/",
    ],
)
def test_system_written_tables_are_browsable_and_read_only(admin_client: Client, page: str) -> None:
    response = admin_client.get(page)
    assert response.status_code == 200
    assert admin_client.get(page + "add/").status_code == 403
