"""Request bodies are checked by one shared, bound serializer per input class: the answers, good
and bad, must be exactly what a fresh DRF serializer gives, in any number of threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID, uuid4

import pytest
from rest_framework import serializers

from ledger.apis import TransfersApi
from orders.apis import OrdersApi
from tuning.serializers import SharedSerializers

TransferInput = TransfersApi.TransferInput
PlaceOrderInput = OrdersApi.PlaceOrderInput
ACCOUNT = str(uuid4())


@pytest.mark.parametrize(
    ("input_class", "body"),
    [
        (TransferInput, None),
        (TransferInput, []),
        (TransferInput, "a string"),
        (TransferInput, {}),
        (TransferInput, {"from_account": "nope", "to_account": ACCOUNT, "amount": "1.001"}),
        (TransferInput, {"from_account": ACCOUNT, "to_account": ACCOUNT, "amount": "1", "x": 1}),
        (PlaceOrderInput, {"account": ACCOUNT, "items": []}),
        (PlaceOrderInput, {"account": ACCOUNT, "items": [{"sku": "a", "quantity": 0}, {}]}),
        (PlaceOrderInput, {"account": ACCOUNT, "items": [{"sku": "a", "quantity": 1, "y": 2}]}),
    ],
)
def test_a_refused_body_gets_drfs_own_errors(input_class: Any, body: Any) -> None:
    fresh = input_class(data=body)
    assert not fresh.is_valid()
    with pytest.raises(serializers.ValidationError) as refused:
        SharedSerializers.validate(input_class, body)
    assert refused.value.detail == fresh.errors


def test_a_good_body_is_validated_without_building_a_serializer(monkeypatch) -> None:
    body = {"from_account": ACCOUNT, "to_account": str(uuid4()), "amount": "12.50"}
    fresh = TransferInput(data=body)
    assert fresh.is_valid()
    assert SharedSerializers.validate(TransferInput, body) == dict(fresh.validated_data)

    def no_new_serializers(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a serializer was built for a good body")

    monkeypatch.setattr(TransferInput, "__init__", no_new_serializers)
    assert SharedSerializers.validate(TransferInput, body) == {
        "from_account": UUID(ACCOUNT), "to_account": UUID(body["to_account"]), "amount": 1250,
    }  # fmt: skip


def test_threads_sharing_the_serializer_each_get_their_own_body() -> None:
    def check(n: int) -> bool:
        body = {"account": ACCOUNT, "items": [{"sku": f"sku-{n}", "quantity": n % 7 + 1}]}
        good = SharedSerializers.validate(PlaceOrderInput, body) == {
            "account": UUID(ACCOUNT), "items": [{"sku": f"sku-{n}", "quantity": n % 7 + 1}],
        }  # fmt: skip
        try:
            SharedSerializers.validate(
                PlaceOrderInput, {"account": ACCOUNT, "items": [{"sku": f"s{n}"}]}
            )
        except serializers.ValidationError as refused:
            return good and refused.detail == {
                "items": {0: {"quantity": ["This field is required."]}}
            }
        return False

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(check, range(2000)))
