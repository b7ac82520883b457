"""Pure ASGI middleware: request ids and access logs, body size and media type checks."""

import logging
import re
import time
import uuid

from customer_credit.api.wire import dumps
from customer_credit.errors import DomainError, InvalidInput, PayloadTooLarge, UnsupportedMediaType

access_log = logging.getLogger("customer_credit.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
METHODS_WITH_BODY = {b"POST", b"PUT", b"PATCH", b"DELETE", "POST", "PUT", "PATCH", "DELETE"}


async def _send_error(send, error: DomainError) -> None:
    """Answers with `error` here: this middleware runs outside the app's exception handlers."""
    body = dumps(error.body())
    await send(
        {
            "type": "http.response.start",
            "status": error.status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestContextMiddleware:
    """Gives every request an id (echoed as X-Request-Id) and writes one access log line."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "request",
                    extra={
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status_holder["status"],
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )


class BodyGuardMiddleware:
    """Refuses bodies over the size limit (413) and bodies that are not JSON (415)."""

    def __init__(self, app, max_body_bytes: int, guarded_prefix: str | tuple[str, ...]):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.guarded_prefix = guarded_prefix

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"the body exceeds {self.max_body_bytes} bytes")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(self.guarded_prefix):
            return await self.app(scope, receive, send)
        if _CONTROL.search(scope["path"]):
            # No id holds a control character; PostgreSQL cannot even compare text with a NUL.
            return await _send_error(
                send, InvalidInput("the path holds a control character", code="InvalidPath")
            )
        if scope["method"] not in METHODS_WITH_BODY:
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                if int(declared) > self.max_body_bytes:
                    return await _send_error(send, self._too_large())
            except ValueError:
                return await _send_error(send, DomainError("invalid Content-Length"))
        chunks = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return await _send_error(send, self._too_large())
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        scope["_cc_body"] = body
        if body.strip():
            content_type = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
            if not (content_type == "application/json" or content_type.endswith("+json")):
                return await _send_error(send, UnsupportedMediaType("send the body as application/json"))
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class TrailingSlashMiddleware:
    """Every route answers the same with or without a trailing slash, with no redirect: a 307
    loses the body for many clients (and the seed guide writes `…/invoices/`). The slash is
    removed before routing, so the routes are declared once, without it."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            path = scope["path"]
            if len(path) > 1 and path.endswith("/"):
                trimmed = path.rstrip("/") or "/"
                scope = {**scope, "path": trimmed}
                raw_path = scope.get("raw_path")
                if raw_path:
                    scope["raw_path"] = raw_path.rstrip(b"/") or b"/"
        return await self.app(scope, receive, send)
