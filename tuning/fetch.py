"""A subscriber's fetch taking the deliveries already received without a timer each.

Replaces: nats-py's ``Subscription.next_msg`` inside a pull subscription's ``fetch``
(``messaging.subscriber.fetch``). A fetch of a batch sends one pull request, then calls
``next_msg`` once for each delivery, and each call starts a task of its own (named by a fresh
uuid4) that waits on the subscription's queue under ``asyncio.wait_for`` — about five turns of
the event loop a delivery, even when the server has sent the whole batch and it waits in the
queue. A rebuild reading the stream spent most of its time there.

Why it is safe: when the queue holds a delivery, it is taken at once, with the bookkeeping
``next_msg`` does after its wait (the pending byte count, ``task_done``); when the queue is
empty, on a closed connection, or on a subscription with a callback, the library's own
``next_msg`` runs, its timeout and errors as they are. Only the subscriptions this fetches
through are changed, and only that method of them.

What would break it: a nats-py release whose ``next_msg`` does more after taking a message (the
test of this module reads the library's source for the two steps it repeats), or whose fetch
stops reading through ``next_msg`` (this would then only lose its gain).
"""

from __future__ import annotations

from types import MethodType
from typing import Any

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext


async def fetch_ready_first(
    subscription: JetStreamContext.PullSubscription, batch: int, timeout: float
) -> list[Msg]:
    inner = subscription._sub
    if "next_msg" not in vars(inner):
        inner.next_msg = MethodType(next_msg_ready_first, inner)  # type: ignore[method-assign]
    return await subscription.fetch(batch, timeout=timeout)


async def next_msg_ready_first(self: Subscription, timeout: float | None = 1.0) -> Msg:
    queue: Any = self._pending_queue
    if queue.empty() or self._conn.is_closed or self._cb:
        return await Subscription.next_msg(self, timeout)
    msg: Msg = queue.get_nowait()
    self._pending_size -= len(msg.data)
    queue.task_done()
    return msg
