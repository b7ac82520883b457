"""JSON at the edge: numbers parsed straight to Decimal, Decimals written as exact JSON numbers."""

import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from customer_credit.dates import timestamp  # noqa: F401 - the wire format of moments


def _non_finite(name: str) -> Decimal:
    # NaN / Infinity / -Infinity become non-finite Decimals that every amount, rate and count
    # validator refuses, so the 400 names the field that carried them (domain.md, Money).
    return Decimal(name)


def _refuse_lone_surrogates(document: Any) -> None:
    """JSON may escape half a surrogate pair (`"\\ud800"`); that is no character, and neither the
    databases nor the response encoder can store or write it."""
    pending = [document]
    while pending:
        node = pending.pop()
        texts: Iterable[str]  # JSON object keys are always strings
        if isinstance(node, str):
            texts = (node,)
        elif isinstance(node, dict):
            texts = node.keys()
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
            continue
        else:
            continue
        for text in texts:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(
                    "a string holds a lone surrogate (\\ud800-\\udfff), not a character"
                ) from None


def _object_without_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A key sent twice is ambiguous (which value did the client mean?), and parsers disagree on
    it, so such a body is refused rather than letting the last one win."""
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"the key {key!r} appears more than once in one object")
            seen.add(key)
    return document


def loads(body: bytes | str) -> Any:
    try:
        document = json.loads(
            body,
            parse_float=Decimal,
            parse_constant=_non_finite,
            object_pairs_hook=_object_without_duplicate_keys,
        )
        _refuse_lone_surrogates(document)
        return document
    except (ValueError, RecursionError) as error:
        if isinstance(error, json.JSONDecodeError):
            raise
        if isinstance(error, RecursionError):
            error = ValueError("the document is nested too deeply")
        doc = body.decode(errors="replace") if isinstance(body, bytes) else body
        raise json.JSONDecodeError(str(error), doc, 0) from None


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(payload: Any) -> bytes:
    return orjson.dumps(payload, default=_default)


class JsonResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


class DecimalRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads(await self.body())
        return self._json


class DecimalRoute(APIRoute):
    """Parses request bodies with `loads`, so amounts never pass through a binary float."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def decimal_handler(request: Request) -> Response:
            return await handler(DecimalRequest(request.scope, request.receive))

        return decimal_handler
