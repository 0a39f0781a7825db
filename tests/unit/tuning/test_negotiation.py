"""The negotiation's shortcut gives what DRF's own negotiation gives, for every request."""

from __future__ import annotations

from itertools import product
from typing import Any

import pytest
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from tuning.negotiation import FirstRendererNegotiation

ACCEPTS = [
    None,  # no Accept header
    "*/*",
    "application/json",
    "text/html",
    "application/json; indent=4",
    "text/html, */*",
    "text/html;q=0.5, application/json",
    "image/png",
    "",
    "application/*",
]
QUERIES = ["", "format=json", "format=api", "format=xml", "page=2"]
SUFFIXES = [None, "json", "api"]
RENDERER_ORDERS = [
    [JSONRenderer(), BrowsableAPIRenderer()],
    [BrowsableAPIRenderer(), JSONRenderer()],
]


def request_with(accept: str | None, query: str) -> Request:
    path = f"/api/transfers/?{query}" if query else "/api/transfers/"
    factory = APIRequestFactory()
    return Request(factory.get(path) if accept is None else factory.get(path, HTTP_ACCEPT=accept))


def outcome(
    negotiation: Any, request: Request, renderers: list[BaseRenderer], suffix: str | None
) -> Any:
    try:
        renderer, media_type = negotiation.select_renderer(request, renderers, suffix)
    except Exception as refused:
        return type(refused).__name__
    return type(renderer).__name__, media_type


def test_it_answers_as_drf_does() -> None:
    differ = []
    for accept, query, suffix, renderers in product(ACCEPTS, QUERIES, SUFFIXES, RENDERER_ORDERS):
        ours = outcome(FirstRendererNegotiation(), request_with(accept, query), renderers, suffix)
        drfs = outcome(DefaultContentNegotiation(), request_with(accept, query), renderers, suffix)
        if ours != drfs:
            differ.append((accept, query, suffix, renderers, ours, drfs))
    assert differ == []


@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
def test_the_common_request_is_answered_without_parsing(
    accept: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def parse(*args: Any) -> Any:
        raise AssertionError("the Accept header was parsed")

    monkeypatch.setattr(DefaultContentNegotiation, "_get_parsed_accept_list", parse)
    renderer, media_type = FirstRendererNegotiation().select_renderer(
        request_with(accept, ""), RENDERER_ORDERS[0]
    )
    assert (type(renderer), media_type) == (JSONRenderer, "application/json")


def test_an_unacceptable_request_is_refused() -> None:
    with pytest.raises(NotAcceptable):
        FirstRendererNegotiation().select_renderer(
            request_with("image/png", ""), RENDERER_ORDERS[0]
        )
