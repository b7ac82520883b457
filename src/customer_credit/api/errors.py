"""Every error leaves the service in one shape: {"error": {"code", "message", "details"}}."""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from customer_credit.api.wire import JsonResponse
from customer_credit.errors import DomainError, error_body

log = logging.getLogger("customer_credit.api")

HTTP_CODES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    422: "InvalidInput",
    429: "RateLimited",
}


def domain_error_response(error: DomainError):
    headers = None
    if error.retry_after_s is not None:
        headers = {"Retry-After": str(error.retry_after_s)}
    return JsonResponse(error.body(), status_code=error.status_code, headers=headers)


def error_response(status: int, code: str, message: str, details=None, headers=None):
    return JsonResponse(error_body(code, message, details), status_code=status, headers=headers)


def _field_name(location: tuple) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _validation_details(error: RequestValidationError) -> tuple[str, str, list[dict]]:
    details = []
    code = "InvalidInput"
    for item in error.errors():
        if item.get("type") == "json_invalid":
            code = "MalformedJson"
            reason = (item.get("ctx") or {}).get("error", "invalid JSON")
            details.append({"field": "body", "message": f"malformed JSON: {reason}"})
            continue
        message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        details.append({"field": _field_name(tuple(item.get("loc", ()))), "message": message})
    summary = "; ".join(f"{detail['field']}: {detail['message']}" for detail in details)
    return code, summary or "invalid request", details


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> str:
    """Every method some route of this path answers, for a 405's `Allow` (RFC 9110 §15.5.6).
    FastAPI makes one route per method, and Starlette names only the first route's methods, so
    the path is matched once per method."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)
    ]
    return ", ".join(allowed)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, error: DomainError):
        return domain_error_response(error)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, error: RequestValidationError):
        code, message, details = _validation_details(error)
        return error_response(400, code, message, details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):
        code = HTTP_CODES.get(error.status_code, "HttpError")
        if error.status_code == 404 and error.detail == "Not Found":
            message = f"no route {request.method} {request.url.path}"
            code = "RouteNotFound"
        else:
            message = str(error.detail)
        headers = error.headers
        if error.status_code == 405:
            headers = {**(headers or {}), "Allow": allowed_methods(request)}
        return error_response(error.status_code, code, message, headers=headers)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, error: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "InternalError", "an unexpected error happened; it is logged")


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "array", "items": {}},
            },
        }
    },
}


def document_error_shape(app: FastAPI) -> None:
    """FastAPI documents a 422 with its own validation body on every operation that takes input;
    this service answers malformed input with a 400 in the error shape (see the handler above),
    so the served OpenAPI says that instead."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                responses = operation.get("responses") if isinstance(operation, dict) else None
                if responses is not None and responses.pop("422", None) is not None:
                    responses["400"] = {
                        "description": "Malformed input; `details` names each bad field",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    }
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        components["Error"] = ERROR_SCHEMA
        app.openapi_schema = schema
        return schema

    # FastAPI's documented way to customise the served schema is to replace this method.
    app.openapi = openapi  # type: ignore[method-assign]
