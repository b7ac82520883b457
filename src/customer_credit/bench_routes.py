"""The benchmarks' reference: GET /bench/constant answers a constant JSON through the same
server stack as the API (uvicorn, the middleware, the JSON response class, a sync route run
in the thread pool) without authentication or database. Mounted only when the environment
sets CUSTOMER_CREDIT_BENCH_ENDPOINTS=true (`make bench` does); never in a normal deployment."""

import os

from fastapi import APIRouter, FastAPI

ENV = "CUSTOMER_CREDIT_BENCH_ENDPOINTS"
PATH = "/bench/constant"
CONSTANT = {"status": "ok", "service": "customer-credit", "numbers": [1, 2, 3], "nested": {"a": "b"}}

router = APIRouter(include_in_schema=False)


@router.get(PATH)
def constant() -> dict:
    return CONSTANT


def enabled() -> bool:
    return os.environ.get(ENV, "").strip().lower() in ("1", "true", "yes")


def install(app: FastAPI) -> None:
    if enabled():
        app.include_router(router)
