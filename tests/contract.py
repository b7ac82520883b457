"""The official contract (../shared/reference), loaded for tests: response bodies are validated
against the schema of the operation's success response."""

import json
import os
from functools import lru_cache
from pathlib import Path

import jsonschema

CONTRACT_PATH = Path(
    os.environ.get(
        "CUSTOMER_CREDIT_CONTRACT",
        Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "vtex-customer-credit-api.json",
    )
)
PREFIX = "/api/creditcontrol"

# Defects of the official file that the official examples contradict; see docs/contract.md.
KNOWN_CONTRACT_DEFECTS = {
    # The per-account invoice list types summary totals as integers, but its own example
    # (and the seed guide) returns 8.01.
    ("get", "/api/creditcontrol/accounts/{creditAccountId}/invoices"): [
        ("summary", "totalPaid"),
        ("summary", "totalCancelled"),
    ],
}


@lru_cache
def contract() -> dict:
    return json.loads(CONTRACT_PATH.read_text())


def json_schema(node, root):
    """An OpenAPI 3.0 schema as JSON Schema: $refs of `root` inlined, `nullable: true` as a type
    union (jsonschema knows no `nullable`), annotations dropped."""
    if isinstance(node, dict):
        if "$ref" in node:
            target = root
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            return json_schema(target, root)
        out = {}
        for key, value in node.items():
            # Annotations only: a property that happens to be called "description" stays.
            if key in ("example", "examples") or (key == "description" and isinstance(value, str)):
                continue
            out[key] = json_schema(value, root)
        if out.pop("nullable", False) and "type" in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        return out
    if isinstance(node, list):
        return [json_schema(item, root) for item in node]
    return node


@lru_cache
def response_schema(method: str, path: str) -> dict | None:
    operation = contract()["paths"][path][method.lower()]
    success = operation["responses"]["200"]
    content = json_schema(success, contract()).get("content", {}).get("application/json")
    if not content:
        return None
    schema = content["schema"]
    for trail in KNOWN_CONTRACT_DEFECTS.get((method.lower(), path), []):
        node = schema
        for step in trail:
            node = node["properties"][step]
        node["type"] = "number"
    return schema


def operations() -> list[tuple[str, str]]:
    found = []
    for path, methods in contract()["paths"].items():
        for method in methods:
            if method in ("get", "post", "put", "delete", "patch"):
                found.append((method, path))
    return found


def assert_matches(method: str, path: str, response) -> None:
    """The response is a 200 whose body matches the contract's schema for this operation."""
    assert response.status_code == 200, response.text
    schema = response_schema(method, path)
    if schema is None:
        return
    jsonschema.validate(response.json(), schema)


def is_error_shape(response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    error = body.get("error") if isinstance(body, dict) else None
    return (
        isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and isinstance(error.get("message"), str)
        and isinstance(error.get("details"), list)
    )
