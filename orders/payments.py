"""How an order pays, through the ledger's application API: the port (``Payments``), and what
the order sagas ask of it.

An order pays by *hold*: placing it authorises the order's total on the customer's account for
the merchant's (``authorize``), shipping captures it (``capture``), and cancelling before
shipping voids it (``release``), so no money moves unless the order ships. Orders placed before
holds paid by *transfer*: the money moved when they were placed (``pay_by_transfer``), and
cancelling one refunds it with a second transfer (``refund_transfer``). A saga records which,
as its ``payment``.

The ledger's store may be another database, so nothing here commits with anything of the orders
store. Every call is idempotent instead, by an id derived from the saga's: the hold's or the
payment transfer's is the saga's ``payment_id``, a refund's follows from the saga id and its
attempt. Running a call again after a crash finds what the first did.
"""

from __future__ import annotations

from itertools import count
from typing import TYPE_CHECKING, Protocol
from uuid import UUID, uuid5

from kernel.errors import DomainError
from orders.domain import InvalidState, PaymentExpired, PaymentRefused, RefundRefused
from sagas.engine import SagaStatus

if TYPE_CHECKING:
    from orders.saga import OrderSaga

# What the ledger calls a hold's states (its ``hold.*`` events); the orders context reads them.
HOLD_PENDING, HOLD_VOIDED, HOLD_EXPIRED = "pending", "voided", "expired"
# Refusals of a hold that the merchant's account gives when it is the one frozen or closed.
MERCHANT_REFUSALS = frozenset({"account_frozen", "account_closed"})


def refund_id(saga_id: UUID, attempt: int) -> UUID:
    """A refund transfer's id: the saga's, and which attempt it is (``_run_refund``)."""
    return uuid5(saga_id, f"refund:{attempt}")


# --- What the orders context needs of the ledger: its application API, nothing more ---------


class Account(Protocol):
    @property
    def id(self) -> UUID: ...
    @property
    def status(self) -> str: ...


class TransferOutcome(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def is_finished(self) -> bool: ...
    @property
    def failed_step(self) -> str | None: ...
    @property
    def failure_code(self) -> str | None: ...
    @property
    def failure_reason(self) -> str | None: ...


class HoldOutcome(Protocol):
    @property
    def id(self) -> UUID: ...
    @property
    def status(self) -> str: ...


class Payments(Protocol):
    """The ledger's application API, as the orders context uses it (``LedgerApplication``)."""

    def merchant_account(self, currency: str) -> Account: ...

    def owner_of(self, account_id: UUID) -> str:
        """Who owns the account; the ledger's ``not_found`` error when there is none."""
        ...

    def place_hold(
        self,
        from_account: UUID,
        to_account: UUID,
        amount: int,
        *,
        expires_in: float | None = None,
        reference: str = "",
        hold_id: UUID | None = None,
    ) -> HoldOutcome:
        """Hold ``amount`` on one account for another, until captured, voided or expired (in
        ``expires_in`` seconds; the ledger's default when None); refused as a debit would be,
        with nothing stored. An existing ``hold_id`` answers that hold, whatever its state."""
        ...

    def capture_hold(self, hold_id: UUID) -> HoldOutcome:
        """Post the whole hold. A captured hold answers as captured; a voided or expired one
        is ``invalid_state`` (a hold past its expiry is expired first)."""
        ...

    def void_hold(self, hold_id: UUID) -> HoldOutcome:
        """Release the hold. A voided hold answers as voided; a captured or expired one is
        ``invalid_state`` (a hold past its expiry is expired first)."""
        ...

    def get_hold(self, hold_id: UUID) -> HoldOutcome: ...

    def transfer_funds(
        self,
        from_account: UUID,
        to_account: UUID,
        amount: int,
        *,
        transfer_id: UUID | None = None,
        reference: str = "",
    ) -> TransferOutcome:
        """Run (or, for an existing ``transfer_id``, resume) a transfer to its end."""
        ...

    def find_transfer(self, transfer_id: UUID) -> TransferOutcome | None:
        """The transfer, or None when there is none."""
        ...


# --- By hold ----------------------------------------------------------------------------------


def authorize(payments: Payments, saga: OrderSaga, expires_in: float | None) -> UUID:
    """Place the order's hold, or find it placed; return its id. Refused with the ledger's code
    (``insufficient_funds`` is against what the account has available), except that the
    merchant's account refusing, frozen or closed, is ``merchant_unavailable``."""
    merchant = payments.merchant_account(saga.currency)
    try:
        hold = _place(payments, saga, merchant, expires_in)
    except DomainError as error:
        code = error.code
        if code in MERCHANT_REFUSALS and merchant.status != "open":
            code = "merchant_unavailable"  # the customer could pay; the shop could not take it
        raise PaymentRefused(code, str(error)) from error
    if hold.status != HOLD_PENDING:  # released before this step could record it: no payment
        reason = f"The hold of order {saga.order_id} is {hold.status}."
        raise PaymentRefused("payment_failed", reason)
    return hold.id


def capture(payments: Payments, saga: OrderSaga) -> None:
    """Capture the order's hold, whole: the money moves to the merchant. A hold that expired
    first is ``PaymentExpired``; any other refusal (a hold voided elsewhere) has its own code."""
    hold_id = _payment_id(saga)
    try:
        payments.capture_hold(hold_id)
    except DomainError as error:
        if payments.get_hold(hold_id).status == HOLD_EXPIRED:
            raise PaymentExpired(
                f"The payment of order {saga.order_id} expired before the order shipped."
            ) from error
        raise PaymentRefused(error.code, str(error)) from error


def release(payments: Payments, saga: OrderSaga, expires_in: float | None) -> HoldOutcome | None:
    """Void the order's hold: what it held is available again, and no money moves. Returns the
    hold as it ends, voided or expired (an expired hold released its money already); None when
    there is none and the ledger refuses to place one.

    CancelOrder finds the hold placed. PlaceOrder runs this only when ``take_payment`` ran out of
    time, and then the hold may still be on its way, placed by a request that has not noticed.
    The only way to be sure it cannot be placed after we looked is to place it ourselves — the
    hold id makes that request and us one and the same hold — and void what we placed or found.
    """
    merchant = payments.merchant_account(saga.currency)
    try:
        hold = _place(payments, saga, merchant, expires_in)
    except DomainError:
        return None  # refused now: there is no hold, so nothing is held
    if hold.status == HOLD_PENDING:
        try:
            hold = payments.void_hold(hold.id)
        except DomainError:
            hold = payments.get_hold(hold.id)  # expired as we voided it: released all the same
    if hold.status not in (HOLD_VOIDED, HOLD_EXPIRED):
        raise InvalidState(f"The hold of order {saga.order_id} is {hold.status}: not ours to void.")
    return hold


def _place(
    payments: Payments, saga: OrderSaga, merchant: Account, expires_in: float | None
) -> HoldOutcome:
    return payments.place_hold(
        saga.account,
        merchant.id,
        saga.total,
        expires_in=expires_in,
        reference=f"order {saga.order_id}",
        hold_id=_payment_id(saga),
    )


# --- By transfer: orders placed before holds --------------------------------------------------


def pay_by_transfer(payments: Payments, saga: OrderSaga) -> UUID:
    """Run the payment transfer to its end, or find it ended; return its id. Refused with the
    code of the step that refused it, the merchant's side being ``merchant_unavailable``."""
    payment = _run_payment(payments, saga)
    if payment.status != SagaStatus.COMPLETED:
        code = payment.failure_code or "payment_failed"
        if payment.failed_step == "credit_destination" and code != "currency_mismatch":
            code = "merchant_unavailable"  # the customer could pay; the shop could not take it
        raise PaymentRefused(code, payment.failure_reason or "The payment did not complete.")
    return _payment_id(saga)


def refund_transfer(payments: Payments, saga: OrderSaga) -> UUID | None:
    """Give back what the payment transfer took; return the refund's id, or None when it took
    nothing.

    PlaceOrder runs this only when ``take_payment`` ran out of time, and then the payment may
    still be under way in a request that has not noticed. The only way to be sure it cannot
    land after we looked is to run it to its end ourselves — the transfer id makes that request
    and us one and the same transfer — and then refund whatever it took.
    """
    if _run_payment(payments, saga).status != SagaStatus.COMPLETED:
        return None  # failed, or compensated by the ledger itself: no money moved
    return _run_refund(payments, saga)


def _run_payment(payments: Payments, saga: OrderSaga) -> TransferOutcome:
    """The payment transfer, run or resumed to its end: customer to merchant, the order's total."""
    try:
        merchant = payments.merchant_account(saga.currency)
        return payments.transfer_funds(
            saga.account,
            merchant.id,
            saga.total,
            transfer_id=_payment_id(saga),
            reference=f"order {saga.order_id}",
        )
    except DomainError as error:  # refused before it started (no such account, ...): its code
        raise PaymentRefused(error.code, str(error)) from error


def _run_refund(payments: Payments, saga: OrderSaga) -> UUID:
    """Refund the payment: merchant to customer, the same amount. Returns the refund's id.

    Each attempt is a transfer with an id derived from the saga's and the attempt's number, so
    repeating this finds and finishes the attempt under way instead of starting another. An
    attempt the ledger refused (the customer's account frozen, say) ends that transfer; the next
    try is attempt n + 1, and since it starts only once attempt n has ended refused, at most one
    refund can ever complete.
    """
    merchant = payments.merchant_account(saga.currency)
    for attempt in count():
        transfer_id = refund_id(saga.id, attempt)
        earlier = payments.find_transfer(transfer_id)
        if earlier is not None and earlier.is_finished and earlier.status != SagaStatus.COMPLETED:
            continue
        refunded = payments.transfer_funds(
            merchant.id,
            saga.account,
            saga.total,
            transfer_id=transfer_id,
            reference=f"refund of order {saga.order_id}",
        )
        if refunded.status == SagaStatus.COMPLETED:
            return transfer_id
        raise RefundRefused(
            f"The refund of order {saga.order_id} was refused ({refunded.failure_code}); "
            "it will be retried."
        )
    raise AssertionError("unreachable")


def _payment_id(saga: OrderSaga) -> UUID:
    assert saga.payment_id is not None, "a placement always names its payment"
    return saga.payment_id
