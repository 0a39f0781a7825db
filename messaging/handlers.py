"""Subscribers by name. Apps register their handlers in ``AppConfig.ready()``; commands and
dead-letter retries find them here, so messaging depends on no app."""

from __future__ import annotations

from collections.abc import Callable

from messaging.subscriber import Handler

_factories: dict[str, Callable[[], Handler]] = {}


class UnknownSubscriber(LookupError):
    pass


def register(name: str, factory: Callable[[], Handler]) -> None:
    _factories[name] = factory


def names() -> list[str]:
    return sorted(_factories)


def handler(name: str) -> Handler:
    try:
        return _factories[name]()
    except KeyError:
        known = ", ".join(names()) or "none registered"
        raise UnknownSubscriber(f"no subscriber named {name!r} (known: {known})") from None
