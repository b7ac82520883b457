"""Our served /openapi.json against the official contract.

For the 25 operations of the contract: the same paths and methods, the same non-header
parameters (name, location, required), a request body wherever the contract has one, and the
same success codes. What we have beyond the contract (extra paths, extra parameters, an
optional body, a parameter we do not require) must each be listed in docs/contract.md, the page
of deliberate differences: the test reads that page and looks for a row naming the operation and
the parameter. Header parameters (Content-Type, Accept, the credentials) are not compared: the
service reads JSON without them, see docs/contract.md."""

import re
from pathlib import Path

import jsonschema
import pytest

from tests.contract import contract, is_error_shape

DOCS = Path(__file__).resolve().parents[2] / "docs" / "contract.md"
METHODS = ("get", "post", "put", "delete", "patch")


def _deref(node: dict, root: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        target = root
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def operations(spec: dict) -> dict[tuple[str, str], dict]:
    found = {}
    for path, item in spec["paths"].items():
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if method not in METHODS:
                continue
            parameters = {}
            for raw in [*shared, *operation.get("parameters", [])]:
                parameter = _deref(raw, spec)
                if parameter["in"] == "header":
                    continue
                parameters[(parameter["in"], parameter["name"])] = bool(parameter.get("required", False))
            body = operation.get("requestBody")
            found[(method.upper(), path)] = {
                "parameters": parameters,
                "body": None if body is None else bool(_deref(body, spec).get("required", False)),
                "success": sorted(code for code in operation.get("responses", {}) if code.startswith("2")),
                "errors": sorted(code for code in operation.get("responses", {}) if code[0] in "45"),
            }
    return found


@pytest.fixture
def served(http) -> dict:
    response = http.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


@pytest.fixture(scope="module")
def documented() -> list[str]:
    assert DOCS.exists(), "docs/contract.md lists the deliberate differences from the contract"
    return DOCS.read_text().splitlines()


def _mentions(lines: list[str], method: str, path: str, *words: str) -> bool:
    operation = f"`{method} {path}`"
    return any(operation in line and all(f"`{word}`" in line for word in words) for line in lines)


def test_every_contract_operation_is_served_with_its_parameters_and_success_codes(served):
    theirs = operations(contract())
    ours = operations(served)
    assert len(theirs) == 25
    missing = sorted(set(theirs) - set(ours))
    assert not missing, f"contract operations we do not serve: {missing}"
    for key, expected in theirs.items():
        actual = ours[key]
        assert actual["success"] == expected["success"], (key, actual["success"], expected["success"])
        absent = sorted(set(expected["parameters"]) - set(actual["parameters"]))
        assert not absent, f"{key}: contract parameters missing from ours: {absent}"
        if expected["body"] is not None:
            assert actual["body"] is not None, f"{key}: the contract has a request body, ours none"


def test_every_difference_from_the_contract_is_documented(served, documented):
    theirs = operations(contract())
    ours = operations(served)
    undocumented = []
    for (method, path), actual in sorted(ours.items()):
        expected = theirs.get((method, path))
        if expected is None:
            if not _mentions(documented, method, path):
                undocumented.append(f"extra operation {method} {path}")
            continue
        for (location, name), required in sorted(actual["parameters"].items()):
            if _mentions(documented, method, path, name):
                continue
            if (location, name) not in expected["parameters"]:
                undocumented.append(f"{method} {path}: extra {location} parameter {name}")
            elif required != expected["parameters"][(location, name)]:
                here = "required" if required else "optional"
                there = "required" if expected["parameters"][(location, name)] else "optional"
                undocumented.append(f"{method} {path}: {name} is {here} here, {there} in the contract")
        body_documented = _mentions(documented, method, path, "body")
        if actual["body"] is not None and expected["body"] is None and not body_documented:
            undocumented.append(f"{method} {path}: a request body the contract does not have")
        if actual["body"] is False and expected["body"] is True and not body_documented:
            undocumented.append(f"{method} {path}: the body is optional here, required in the contract")
    assert not undocumented, "differences missing from docs/contract.md:\n" + "\n".join(undocumented)


def test_documented_differences_still_exist(served, documented):
    """A row of docs/contract.md that names an operation we no longer serve is stale."""
    ours = operations(served)
    theirs = operations(contract())
    known = {f"{method} {path}" for method, path in [*ours, *theirs]}
    named = set()
    for line in documented:
        if line.startswith("|"):
            named.update(re.findall(r"`((?:GET|POST|PUT|DELETE|PATCH) /[^`]*)`", line))
    assert named, "docs/contract.md has no table of differences"
    stale = sorted(named - known)
    assert not stale, f"docs/contract.md names operations that do not exist: {stale}"


def test_served_errors_are_the_error_shape_not_fastapi_422(served, api):
    """The app answers malformed input with a 400 in the error shape; the served document must
    say so, not promise FastAPI's 422 validation body."""
    ours = operations(served)
    promised_422 = sorted(f"{method} {path}" for (method, path), op in ours.items() if "422" in op["errors"])
    assert not promised_422, f"documented 422 that the app never sends: {promised_422[:5]}"
    documented_400 = _deref(
        served["paths"]["/api/creditcontrol/accounts"]["post"]["responses"]["400"]["content"][
            "application/json"
        ]["schema"],
        served,
    )
    response = api.post("/accounts", json={"document": 1})
    assert response.status_code == 400
    assert is_error_shape(response)
    jsonschema.validate(response.json(), {**documented_400, "components": served["components"]})
