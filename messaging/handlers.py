"""Subscribers by name. Apps register their handlers in ``AppConfig.ready()``; commands and
dead-letter retries find them here, so messaging depends on no app."""

from __future__ import annotations

from collections.abc import Callable

from messaging.subscriber import Handler

_factories: dict[str, Callable[[], Handler]] = {}


class UnknownSubscriber(LookupError):
    @classmethod
    def named(cls, name: str) -> UnknownSubscriber:
        known = ", ".join(names()) or "none registered"
        return cls(f"no subscriber named {name!r} (known: {known})")


def register(name: str, factory: Callable[[], Handler]) -> None:
    _factories[name] = factory


def names() -> list[str]:
    return sorted(_factories)


def handler(name: str) -> Handler:
    try:
        factory = _factories[name]
    except KeyError:
        raise UnknownSubscriber.named(name) from None
    return factory()
