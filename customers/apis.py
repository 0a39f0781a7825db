"""The customers endpoints: a customer's own profile, staff's read of anyone's, and forgetting.

A profile is read from its aggregate (consistent) and opened by the vault on the way out; a
forgotten customer's fields are ``null``. No endpoint here keeps an answer for an
Idempotency-Key: a kept answer would be a copy of personal data in clear outside the vault (a
PUT is idempotent by itself, and so is forgetting).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.history import positions
from api.permissions import IsCustomer
from api.schema import READ, errors
from api.serializers import InputSerializer, PositionField, TextField, render
from config.container import get_container
from customers.application import CustomersApplication
from customers.domain import PersonalData, Profile
from customers.forgetting import customer_named, forget_customer

MAX_FULL_NAME = 200
MAX_ADDRESS = 500
MAX_EMAIL = 254  # RFC 5321's longest path
# Digits, with spaces, dashes and brackets between, and an optional leading "+": 6 to 32 in all.
PHONE_PATTERN = r"^\+?[0-9][0-9 ()-]{4,30}[0-9]$"


def customers() -> CustomersApplication:
    return get_container().customers


class ProfileOutput(serializers.Serializer):
    customer = serializers.CharField(help_text="the username")
    full_name = serializers.CharField(allow_null=True)
    email = serializers.CharField(allow_null=True)
    address = serializers.CharField(allow_null=True)
    phone = serializers.CharField(allow_null=True)
    forgotten_at = serializers.DateTimeField(
        allow_null=True, help_text="when the customer was forgotten; every field is null since"
    )
    version = serializers.IntegerField()
    updated_at = serializers.DateTimeField()


class ProfileWrittenOutput(ProfileOutput):
    position = PositionField()


def profile_body(profile: Profile, position: int | None = None) -> dict[str, Any]:
    """The profile as the API shows it: its personal data opened (``null`` once erased)."""
    shown = {
        "customer": profile.customer,
        **customers().personal_data(profile).as_dict(),
        "forgotten_at": profile.forgotten_at,
        "version": profile.version,
        "updated_at": profile.modified_on,
    }
    body = render(ProfileOutput, shown)
    if position is not None:
        body["position"] = position
    return body


PROFILE_EXAMPLE = {
    "customer": "alice",
    "full_name": "Alice Liddell",
    "email": "alice@example.com",
    "address": "1 Rabbit Hole Lane, Oxford",
    "phone": "+44 1865 000000",
    "forgotten_at": None,
    "version": 2,
    "updated_at": "2026-11-24T09:00:00.100000Z",
}
FORGOTTEN_EXAMPLE = {
    **PROFILE_EXAMPLE,
    **dict.fromkeys(PersonalData().as_dict()),
    "forgotten_at": "2026-11-25T10:00:00.000000Z",
    "version": 3,
    "updated_at": "2026-11-25T10:00:00.000000Z",
}


class MyProfileApi(APIView):
    permission_classes = [IsCustomer]

    class ProfileInput(InputSerializer):
        full_name = TextField(max_length=MAX_FULL_NAME)
        email = serializers.EmailField(max_length=MAX_EMAIL)
        address = TextField(
            required=False, allow_null=True, max_length=MAX_ADDRESS, help_text="none when omitted"
        )
        phone = serializers.RegexField(
            PHONE_PATTERN, required=False, allow_null=True, help_text="none when omitted"
        )

    @extend_schema(
        operation_id="get_my_profile",
        responses={200: ProfileOutput, **errors(401, 403, 404, 503)},
        examples=[OpenApiExample("a profile", PROFILE_EXAMPLE, response_only=True)],
        description="Your profile, read from its aggregate. 404 until you have set one.",
    )
    def get(self, request: Request) -> Response:
        return Response(profile_body(customers().get_profile(request.user.get_username())))

    @extend_schema(
        operation_id="put_my_profile",
        request=ProfileInput,
        responses={
            200: ProfileWrittenOutput,
            **errors(
                400,
                401,
                403,
                429,
                503,
                refusals={"invalid_state": "alice was forgotten; their profile is closed."},
            ),
        },
        examples=[
            OpenApiExample(
                "a profile",
                {k: PROFILE_EXAMPLE[k] for k in ("full_name", "email", "address", "phone")},
                request_only=True,
            ),
            OpenApiExample(
                "set", {**PROFILE_EXAMPLE, "position": 41}, response_only=True, status_codes=[200]
            ),
        ],
        description="Set your whole profile (an omitted `address` or `phone` is none). Its "
        "personal fields are stored only encrypted, under a key of yours that forgetting "
        "destroys. The same profile again changes nothing.",
    )
    def put(self, request: Request) -> Response:
        data = PersonalData(**self.ProfileInput.validated(request.data))
        profile = customers().update_profile(request.user.get_username(), data)
        return Response(profile_body(profile, customers().position_written()))


class CustomerProfileApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        operation_id="get_customer_profile",
        responses={200: ProfileOutput, **errors(*READ, 403)},
        examples=[
            OpenApiExample("a profile", PROFILE_EXAMPLE, response_only=True),
            OpenApiExample("forgotten", FORGOTTEN_EXAMPLE, response_only=True),
        ],
        description="A customer's profile, read from its aggregate; once the customer was "
        "forgotten, every personal field is null.",
    )
    def get(self, request: Request, username: str) -> Response:
        return Response(profile_body(customers().get_profile(customer_named(username))))


class ForgetCustomerApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        operation_id="forget_customer",
        request=None,
        responses={200: ProfileWrittenOutput, **errors(401, 403, 404, 429, 503)},
        examples=[
            OpenApiExample("forgotten", {**FORGOTTEN_EXAMPLE, "position": 42}, response_only=True)
        ],
        description="Forget a customer (crypto-shredding): its data key is destroyed, so its "
        "personal data reads as erased everywhere, and `customer.forgotten` is published; its "
        "login is disabled, and the ledger then closes its empty accounts and freezes those "
        "that hold money (their history stays). Forgetting again answers the same.",
    )
    def post(self, request: Request, username: str) -> Response:
        profile = forget_customer(username)
        # The forgetting's own position, found again on a repeat: the same answer each time.
        found = positions(customers(), profile.id, gt=profile.version - 1, lte=profile.version)
        return Response(profile_body(profile, found.get(profile.version)))
