"""``POST /api/auth/token/``: a username and password in, a token out; throttled per client
and per username, as every door that takes a password is (``api.throttling``)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.schema import errors
from api.throttling import PasswordAttemptThrottle


class TokenApi(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [PasswordAttemptThrottle]

    class TokenOutput(serializers.Serializer):
        token = serializers.CharField()

    @extend_schema(
        operation_id="obtain_token",
        request=AuthTokenSerializer,
        responses={200: TokenOutput, **errors(400, 429, 503)},
        auth=[],
        examples=[
            OpenApiExample(
                "a customer", {"username": "alice", "password": "eventbank-demo"}, request_only=True
            ),
            OpenApiExample(
                "a token",
                {"token": "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"},
                response_only=True,
                status_codes=[200],
            ),
        ],
        description="Exchange a username and password for an API token "
        "(`Authorization: Token <token>`). A wrong password is 400. Attempts are limited per "
        "client address and per username (429 with Retry-After), at the same rate as the "
        "admin's and the browsable API's login pages.",
    )
    def post(self, request: Request) -> Response:
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        token, _ = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response({"token": token.key})
