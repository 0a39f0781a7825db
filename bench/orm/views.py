"""``POST /bench/orm-transfers/``: a transfer in one database transaction. Both accounts are
locked, the funds checked, both balances updated and one ledger row inserted, or nothing is.

It is a DRF view like the API's, under the same defaults (token authentication,
``IsAuthenticated``, the write throttle), and it reads the same body, so what it costs beside
``POST /api/transfers/`` is the price of event sourcing and the saga, not of a lighter door.
"""

from __future__ import annotations

from django.db import transaction
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import ApiError
from api.serializers import AmountField
from bench.orm.models import OrmAccount, OrmEntry


class OrmTransferApi(APIView):
    class TransferInput(serializers.Serializer):
        from_account = serializers.IntegerField()
        to_account = serializers.IntegerField()
        amount = AmountField()

    class TransferOutput(serializers.Serializer):
        id = serializers.IntegerField()
        from_account = serializers.IntegerField(source="from_account_id")
        to_account = serializers.IntegerField(source="to_account_id")
        amount = AmountField()
        created_at = serializers.DateTimeField()

    def post(self, request: Request) -> Response:
        serializer = self.TransferInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        from_id, to_id, amount = data["from_account"], data["to_account"], data["amount"]
        if from_id == to_id:
            raise ApiError(409, "same_account", "A transfer needs two different accounts.")

        with transaction.atomic():
            # Locked in the order of their ids, whichever way the money goes: two transfers
            # between the same accounts in opposite directions would otherwise each lock one
            # row and wait for the other's.
            locked = OrmAccount.objects.select_for_update().filter(id__in=[from_id, to_id])
            accounts = {account.pk: account for account in locked.order_by("id")}
            source, destination = accounts.get(from_id), accounts.get(to_id)
            # You move only your own money, as through the API; another's account is not found.
            if source is None or (
                source.owner != request.user.get_username() and not request.user.is_staff
            ):
                raise ApiError(404, "not_found", f"Account {from_id} not found.")
            if destination is None:
                raise ApiError(404, "not_found", f"Account {to_id} not found.")
            if source.balance < amount:
                raise ApiError(409, "insufficient_funds", "Account cannot pay this amount.")
            source.balance -= amount
            destination.balance += amount
            source.save(update_fields=["balance"])
            destination.save(update_fields=["balance"])
            entry = OrmEntry.objects.create(
                from_account=source, to_account=destination, amount=amount
            )
        return Response(self.TransferOutput(entry).data, status=status.HTTP_201_CREATED)
