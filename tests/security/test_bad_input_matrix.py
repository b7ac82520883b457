"""Bad input, table-driven, over every operation that takes a body or parameters.

For each operation a valid request is broken one way at a time: malformed JSON, a body that is
not a JSON object, a wrong content type (415), a body over the size limit (413), unknown or
missing fields, wrong types, NaN/Infinity/huge numbers/too many decimals, control characters,
lone surrogates, very long strings, SQL and HTML injection strings in every text field and query
parameter, path traversal and junk in every id. Every such request must be refused with a 4xx
in the error shape (a 400 that names the field, where one field is to blame), and the database
must be unchanged: every table's row count and every row of the store are compared before and
after each operation's batch. After the batch the unbroken request is sent and must succeed, so
the refusals were caused by the breakage and not by a broken baseline.

Free text (description, observation, orderId) and free-text search filters are different: an
injection string there is legitimate text. Those are checked by the tests at the end: stored and
returned byte for byte, and searching for them matches nothing instead of everything.

The number of bad inputs tried per operation is printed (run with -s)."""

import json
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from sqlalchemy import func, select

import customer_credit.db.models  # noqa: F401 - every table in the metadata
from customer_credit.db.base import Base
from tests.contract import is_error_shape
from tests.helpers import configure, hold, open_account, purchase


class Raw(str):
    """A JSON value written into the body as is (1e400, NaN): json.dumps cannot produce it."""


SQL = ["' OR '1'='1", "'; DROP TABLE accounts; --", "1; SELECT pg_sleep(5)--", '" OR ""="']
HTML = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']
CONTROL = ["\u0000", "a\u0007b", "\u001b[2J", "a\u007fb"]
SURROGATE = "\ud800"

AMOUNT_BAD = [
    "abc",
    "",
    " ",
    [],
    {},
    True,
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "0x10",
    "1,5",
    "1 000",
    Raw("NaN"),
    Raw("Infinity"),
    Raw("-Infinity"),
    Raw("1e400"),
    Raw("-1e400"),
    Raw("1e-400"),
    Raw("1" * 5000),
    10**30,
    str(10**30),
    1.001,
    "0.001",
    0.005,
    "1e-7",
    "\u0661\u0662",
    *SQL[:2],
    HTML[0],
]
# 0.001 and 0.005 are valid rates (up to 4 places); 5 places are not.
RATE_BAD = [
    *(v for v in AMOUNT_BAD if v not in ("0.001", 0.005)),
    1.5,
    2,
    "1.00001",
    0.00001,
    "0.12345",
    -0.1,
    "-1",
]
WHOLE_BAD = [
    1.5,
    "1.5",
    "abc",
    "",
    True,
    [],
    {},
    10**30,
    Raw("1e400"),
    Raw("NaN"),
    "NaN",
    "Infinity",
    999_999_999_999,
    SQL[0],
    HTML[0],
]
BOOL_BAD = ["true", "false", 1, 0, "yes", [], {}, None, SQL[0]]
ENUM_BAD = ["cpf", "", " CPF", "CPF\u0000", "<script>alert(1)</script>", SQL[0], 1, [], {}, "x" * 5000]
ID_TEXT_BAD = [
    "",
    " ",
    "a/b",
    "../..",
    "..",
    "x" * 51,
    *SQL,
    *HTML,
    *CONTROL,
    "\u00fc",
    "a\nb",
    SURROGATE,
    123,
    [],
    {},
    True,
]
EMAIL_BAD = [
    "",
    "no-at",
    "a@b",
    "a b@example.com",
    "<script>@example.com",
    "x@example.com\u0000",
    "' OR 1=1--@example.com",
    "a" * 300 + "@example.com",
    SURROGATE + "@example.com",
    "x@exa\nmple.com",
    "x\u0007@example.com",
    1,
    [],
    {},
    True,
]
URL_BAD = [
    "javascript:alert(1)",
    "JAVASCRIPT:alert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "file:///etc/passwd",
    "ftp://example.com/a",
    "//evil.example.com/pay",
    "/relative/pay",
    "http://",
    "https:///nohost",
    "https://exa mple.com",
    " https://example.com",
    "https://example.com\n",
    "https://example.com/\u0000",
    "vbscript:msgbox(1)",
    "https://example.com/" + "x" * 3000,
    SURROGATE,
    *SQL[:1],
    HTML[0],
    1,
    [],
    {},
]
# "" is no date: the hold then has no expiration (an empty optional field is an absent one).
DATE_BAD = [
    "not-a-date",
    "2099-13-01",
    " ",
    "2001-01-01",
    "0000-00-00",
    "99999-01-01",
    "2099-01-01T25:00:00",
    "\u0000",
    *SQL[:2],
    HTML[0],
    "9" * 100,
    20990101,
    True,
    [],
]
TIME_BAD = ["25:00:00", "12:00", "12:00:00\n", "", "<script>", SQL[0], 1200, None, []]
PATH_BAD = [
    "..%2F..",
    "..%2F..%2Fstoreconfig",
    "%2e%2e",
    "%2e%2e%2f%2e%2e",
    "%00",
    "a%00b",
    "%0A",
    "%0D%0Aa",
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "'%20OR%20'1'%3D'1",
    "%27%3B%20DROP%20TABLE%20accounts%3B--",
    "x" * 3000,
    "%F0%9F%92%A9",
    "%C0%AE%C0%AE",
    "%FF",
    "%ED%A0%80",
    "%5C..%5C..",
    "abc%0A",
    "abc%0D%0A",
    "abc%20",
    "%20abc",
]
POSITION_BAD = [
    "0",
    "-1",
    "abc",
    "1.5",
    "1e400",
    "NaN",
    str(10**30),
    "99999999999",
    SQL[0],
    HTML[0],
    "\u0000",
]
QUERY_DATE_BAD = [
    "not-a-date",
    "2024-13-01",
    "2024-01-01T25:00",
    "9" * 50,
    SQL[0],
    HTML[0],
    "\u0000",
    "x" * 100,
]
QUERY_AMOUNT_BAD = ["NaN", "Infinity", "1e400", "abc", "1.001", "-1", SQL[0], HTML[0], "\u0000"]
QUERY_ENUM_BAD = ["paid", "AND", SQL[0], HTML[0], "\u0000", "x" * 5000]
QUERY_TEXT_BAD = ["\u0000", "a\u0007b", "x" * 5000]


@dataclass
class Spec:
    """One operation: method, path template, a valid body and what kind each field is."""

    name: str
    method: str
    path: str
    body: dict | None = None
    # field path (dots for nesting) -> (kind, required)
    fields: dict[str, tuple[str, bool]] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    query_kinds: dict[str, str] = field(default_factory=dict)
    body_optional: bool = False
    # Fields whose well-formed wrong values are a 409 (checked against the stored account).
    conflict_fields: tuple[str, ...] = ()
    bodyless_write: bool = False


KIND_VALUES = {
    "amount": AMOUNT_BAD,
    "rate": RATE_BAD,
    "whole": WHOLE_BAD,
    "bool": BOOL_BAD,
    "enum": ENUM_BAD,
    "id_text": ID_TEXT_BAD,
    "email": EMAIL_BAD,
    "url": URL_BAD,
    "date": DATE_BAD,
    "time": TIME_BAD,
}


def _set(body: dict, dotted: str, value) -> dict:
    body = json.loads(json.dumps(body))
    node = body
    parts = dotted.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return body


def _drop(body: dict, dotted: str) -> dict:
    body = json.loads(json.dumps(body))
    node = body
    parts = dotted.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    del node[parts[-1]]
    return body


def _encode(body) -> bytes:
    """JSON bytes; a Raw value replaces its placeholder verbatim."""
    raws = {}

    def placeholder(value):
        if isinstance(value, Raw):
            key = f"__raw_{len(raws)}__"
            raws[key] = str(value)
            return key
        if isinstance(value, dict):
            return {k: placeholder(v) for k, v in value.items()}
        if isinstance(value, list):
            return [placeholder(v) for v in value]
        return value

    text = json.dumps(placeholder(body))
    for key, raw in raws.items():
        text = text.replace(f'"{key}"', raw)
    return text.encode()


def _text_max(kind: str) -> int:
    return {"description": 1000, "observation": 1000, "orderId": 200}[kind]


def _free_text_bad(name: str) -> list:
    return [*CONTROL, "x" * (_text_max(name) + 1), SURROGATE, 1, [], {}, True]


@dataclass
class Case:
    label: str
    path: str
    body: bytes | None
    content_type: str | None = "application/json"
    query: dict | None = None
    expect: tuple[int, ...] = ()
    field: str | None = None


def body_cases(spec: Spec, path: str, max_body: int) -> list[Case]:
    cases = []
    valid = spec.body or {}
    malformed = [
        b"{",
        b'{"value": }',
        b"[1, 2",
        b'{"a": 1,}',
        b"{'value': 1}",
        b"\xff\xfe{}",
        b'{"value": 1}}',
        b"\x00",
        b"nul",
        b'{"value": "\xc3\x28"}',
        b"[" * 30000 + b"]" * 30000,
        b'{"a":' * 5000 + b"1" + b"}" * 5000,
    ]
    if not spec.bodyless_write:
        for index, raw in enumerate(malformed):
            cases.append(Case(f"malformed JSON #{index}", path, raw, expect=(400,)))
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "",
        "application/jsonx",
        "text/json",
    ):
        cases.append(
            Case(
                f"content type {content_type!r}",
                path,
                _encode(valid or {"x": 1}),
                content_type=content_type or None,
                expect=(415,),
            )
        )
    filler = {"padding": "x" * (max_body + 10)}
    cases.append(Case("body over the size limit", path, _encode({**valid, **filler}), expect=(413,)))
    cases.append(
        Case("body far over the size limit", path, b"{" + b" " * (4 * max_body) + b"}", expect=(413,))
    )
    if spec.bodyless_write:
        return cases
    for other in ([], "text", 1, True, [valid]) + (() if spec.body_optional else (None,)):
        cases.append(Case(f"body is {json.dumps(other)[:20]}", path, _encode(other), expect=(400,)))
    cases.append(
        Case("unknown field", path, _encode({**valid, "unexpected": 1}), expect=(400,), field="unexpected")
    )
    cases.append(
        Case("unknown field, lone surrogate name", path, _encode({**valid, SURROGATE: 1}), expect=(400,))
    )
    cases.append(Case("unknown field, injection name", path, _encode({**valid, SQL[1]: 1}), expect=(400,)))
    for dotted, (kind, required) in spec.fields.items():
        if required:
            cases.append(
                Case(f"{dotted} missing", path, _encode(_drop(valid, dotted)), expect=(400,), field=dotted)
            )
            cases.append(
                Case(f"{dotted} null", path, _encode(_set(valid, dotted, None)), expect=(400,), field=dotted)
            )
        if kind in ("description", "observation", "orderId"):
            values = _free_text_bad(kind)
        else:
            values = KIND_VALUES[kind]
        extra = []
        if kind in ("amount",) and dotted in POSITIVE_AMOUNTS.get(spec.name, ()):
            extra = [0, "0", -1, "-0.01"]
        elif kind == "amount" and dotted not in SIGNED_AMOUNTS.get(spec.name, ()):
            extra = [-1, "-0.01"]
        elif kind == "whole":
            extra = WHOLE_EXTRA.get((spec.name, dotted), [-1])
        for value in [*values, *extra]:
            if value is None and not required:
                continue
            expect = (400, 409) if dotted in spec.conflict_fields else (400,)
            cases.append(
                Case(
                    f"{dotted} = {str(value)[:40]!r}",
                    path,
                    _encode(_set(valid, dotted, value)),
                    expect=expect,
                    field=dotted,
                )
            )
    return cases


POSITIVE_AMOUNTS = {
    "POST transactions": ("value",),
    "PUT transactions/{id}": ("value",),
    "PUT settlement": ("value",),
    "POST refunds": ("value",),
    "POST payments": ("value",),
}
SIGNED_AMOUNTS = {"PUT statements/{id}": ("value",)}
WHOLE_EXTRA = {
    ("POST transactions", "installments"): [0, 100, -1],
    ("PUT transactions/{id}", "installments"): [0, 100, -1],
    ("PUT postponement", "dueDays"): [0, -1, 10**9, 999_999_999, 100_000, 91],
    ("PUT storeconfig", "invoicePostponementLimit"): [-1],
    ("PUT storeconfig", "maxPostponementDays"): [-1],
    ("PUT storeconfig", "notificationsSettings.daysPrior.0.days"): [-1, 366],
}


def path_cases(spec: Spec, ids: dict) -> list[Case]:
    cases = []
    for name in [part[1:-1] for part in spec.path.split("/") if part.startswith("{")]:
        for bad in PATH_BAD:
            path = spec.path.format(**{**ids, name: bad})
            cases.append(Case(f"path {name} = {bad[:30]!r}", path, _encode(spec.body) if spec.body else None))
    return cases


def query_cases(spec: Spec, path: str) -> list[Case]:
    cases = []
    for name, kind in spec.query_kinds.items():
        values = {
            "position": POSITION_BAD,
            "date": QUERY_DATE_BAD,
            "amount": QUERY_AMOUNT_BAD,
            "enum": QUERY_ENUM_BAD,
            "text": QUERY_TEXT_BAD,
            "match": [*SQL, *HTML, "x" * 50, "\u00fc"],
        }[kind]
        for value in values:
            cases.append(
                Case(
                    f"query {name} = {value[:30]!r}",
                    path,
                    _encode(spec.body) if spec.body else None,
                    query={**spec.query, name: value},
                    expect=(400,),
                    field=name,
                )
            )
    if "from" in spec.query_kinds:
        for window in (
            {"from": "1", "to": "2000"},
            {"from": "10", "to": "5"},
            {"from": "1000000000", "to": "1000001000"},
        ):
            cases.append(Case(f"window {window}", path, None, query=window, expect=(400,)))
    return cases


# ---------------------------------------------------------------------------------------------
# The database, before and after


def snapshot(database, store_id: int) -> dict:
    """Row counts of every table, and every row of the store in the tables that have one."""
    state = {}
    with database.read() as session:
        for table in Base.metadata.sorted_tables:
            state[f"count:{table.name}"] = session.scalar(select(func.count()).select_from(table))
            if "store_id" in table.c:
                order = [table.c[name] for name in ("id",) if name in table.c] or list(
                    table.primary_key.columns
                )
                rows = session.execute(select(table).where(table.c.store_id == store_id).order_by(*order))
                state[f"rows:{table.name}"] = [tuple(row) for row in rows]
    return state


def _diff(before: dict, after: dict) -> list[str]:
    changed = []
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            if key.startswith("rows:"):
                old, new = before.get(key, []), after.get(key, [])
                delta = [row for row in new if row not in old] + [row for row in old if row not in new]
                changed.append(f"{key}: {str(delta)[:400]}")
            else:
                changed.append(f"{key}: {before.get(key)} -> {after.get(key)}")
    return changed


# ---------------------------------------------------------------------------------------------
# The scenario: real ids for every operation


@pytest.fixture
def world(api):
    config = configure(
        api,
        postponementEnabled=True,
        invoicePostponementLimit=3,
        maxPostponementDays=90,
        toleranceEnabled=True,
        maxPreAuthorizationGrowthRate=0.5,
    )
    owner = open_account(api, credit_limit="10000", tolerance="0.1")
    closing = open_account(api, credit_limit="10")
    account_id = owner["id"]
    live = hold(api, account_id, "10", installments=2, settle=True)
    spare = hold(api, account_id, "5", installments=1, settle=True)
    assert live.status_code == 200 and spare.status_code == 200
    settled = purchase(api, account_id, "90", installments=3)
    invoices = [f"{settled}-{n:02d}" for n in (1, 2, 3)]
    friendly = api.get(f"/accounts/{account_id}/invoices/{invoices[0]}").json()["friendlyId"]
    holder = api.post(
        f"/accounts/{account_id}/holders", json={"claims": {"email": f"h-{account_id}@example.com"}}
    )
    assert holder.status_code == 200
    return {
        "api": api,
        "config": config,
        "owner": owner,
        "closing": closing,
        "creditAccountId": account_id,
        "live": live.json()["id"],
        "spare": spare.json()["id"],
        "settled": settled,
        "invoices": invoices,
        "friendlyId": friendly,
        "holderId": holder.json()["id"],
    }


def specs(world) -> list[tuple[Spec, dict]]:
    """Every operation with a body or parameters, in an order where each valid request succeeds
    when its turn comes; with the ids its path needs."""
    owner = world["owner"]
    account = {"creditAccountId": world["creditAccountId"]}
    config = dict(world["config"])
    config["notificationsSettings"] = {"daysPrior": [{"days": 3, "timeOfDay": "09:00:00"}], "daysAfter": []}
    config_fields = {
        "dailyInterestRate": ("rate", True),
        "invoicePostponementLimit": ("whole", True),
        "taxRate": ("rate", True),
        "maxPostponementDays": ("whole", True),
        "defaultCreditValue": ("amount", True),
        "maxPreAuthorizationGrowthRate": ("rate", True),
        "myCreditsEnabled": ("bool", True),
        "toleranceEnabled": ("bool", True),
        "automaticCheckingAccountCreationEnabled": ("bool", True),
        "postponementEnabled": ("bool", True),
        "notificationsSettings.daysPrior.0.days": ("whole", True),
        "notificationsSettings.daysPrior.0.timeOfDay": ("time", True),
    }
    invoice = {**account, "invoiceId": world["invoices"][0]}
    search_kinds = {
        "from": "position",
        "to": "position",
        "createdDateFrom": "date",
        "createdDateTo": "date",
        "dueDateFrom": "date",
        "dueDateTo": "date",
        "value": "amount",
        "status": "enum",
        "op": "enum",
        "friendlyId": "text",
        "observation": "text",
    }
    return [
        (Spec("PUT storeconfig", "PUT", "/storeconfig", config, config_fields), {}),
        (
            Spec(
                "POST accounts",
                "POST",
                "/accounts",
                {
                    "document": "98765432100",
                    "documentType": "CPF",
                    "email": "new-owner@example.com",
                    "creditLimit": "100",
                    "tolerance": "0.1",
                    "description": "a customer",
                },
                {
                    "document": ("id_text", True),
                    "documentType": ("enum", True),
                    "email": ("email", True),
                    "creditLimit": ("amount", False),
                    "tolerance": ("rate", False),
                    "description": ("description", False),
                },
            ),
            {},
        ),
        (
            Spec(
                "GET accounts",
                "GET",
                "/accounts",
                query_kinds={"from": "position", "to": "position", "status": "enum", "email": "text"},
            ),
            {},
        ),
        (Spec("GET accounts/{id}", "GET", "/accounts/{creditAccountId}"), account),
        (
            Spec(
                "PUT accounts/{id}",
                "PUT",
                "/accounts/{creditAccountId}",
                {
                    "email": "owner-updated@example.com",
                    "document": owner["document"],
                    "documentType": "CPF",
                    "creditLimit": 20000,
                    "tolerance": 0.1,
                },
                {
                    "email": ("email", True),
                    "document": ("id_text", True),
                    "documentType": ("enum", True),
                    "creditLimit": ("amount", False),
                    "tolerance": ("rate", False),
                },
            ),
            account,
        ),
        (
            Spec(
                "PUT creditlimit",
                "PUT",
                "/accounts/{creditAccountId}/creditlimit",
                {"value": 20000},
                {"value": ("amount", True)},
            ),
            account,
        ),
        (
            Spec(
                "PUT tolerance",
                "PUT",
                "/accounts/{creditAccountId}/tolerance",
                {"value": 0.2},
                {"value": ("rate", True)},
            ),
            account,
        ),
        (
            Spec(
                "POST holders",
                "POST",
                "/accounts/{creditAccountId}/holders",
                {"claims": {"email": "second-holder@example.com"}},
                {"claims.email": ("email", True)},
            ),
            account,
        ),
        (
            Spec(
                "DELETE holders/{id}",
                "DELETE",
                "/accounts/{creditAccountId}/holders/{holderId}",
                bodyless_write=True,
            ),
            {**account, "holderId": world["holderId"]},
        ),
        (
            Spec(
                "POST transactions",
                "POST",
                "/accounts/{creditAccountId}/transactions",
                {
                    "value": 10,
                    "settle": True,
                    "installments": 2,
                    "expirationDate": "2099-01-01",
                    "orderId": "order-1",
                },
                {
                    "value": ("amount", True),
                    "settle": ("bool", True),
                    "installments": ("whole", True),
                    "expirationDate": ("date", False),
                    "orderId": ("orderId", False),
                },
            ),
            account,
        ),
        (
            Spec(
                "PUT transactions/{id}",
                "PUT",
                "/accounts/{creditAccountId}/transactions/{transactionId}",
                {"value": 10, "settle": True, "installments": 2},
                {"value": ("amount", True), "settle": ("bool", True), "installments": ("whole", True)},
            ),
            {**account, "transactionId": "caller-chosen-1"},
        ),
        (
            Spec(
                "PUT settlement",
                "PUT",
                "/accounts/{creditAccountId}/transactions/{transactionId}/settlement",
                {"value": 10},
                {"value": ("amount", True)},
            ),
            {**account, "transactionId": world["live"]},
        ),
        (
            Spec(
                "POST refunds",
                "POST",
                "/accounts/{creditAccountId}/transactions/{transactionId}/refunds",
                {"value": 1},
                {"value": ("amount", True)},
            ),
            {**account, "transactionId": world["settled"]},
        ),
        (
            Spec(
                "GET statements",
                "GET",
                "/accounts/{creditAccountId}/statements",
                query_kinds={"dateFrom": "date", "dateTo": "date", "from": "position", "to": "position"},
            ),
            account,
        ),
        (
            Spec("GET invoices", "GET", "/invoices", query_kinds={**search_kinds, "creditAccountId": "text"}),
            {},
        ),
        (
            Spec(
                "GET accounts/{id}/invoices",
                "GET",
                "/accounts/{creditAccountId}/invoices",
                query_kinds=search_kinds,
            ),
            account,
        ),
        (Spec("GET invoices/{id}", "GET", "/accounts/{creditAccountId}/invoices/{invoiceId}"), invoice),
        # Well-formed but too many days is the domain's 409 PostponementTooLong.
        (
            Spec(
                "PUT postponement",
                "PUT",
                "/accounts/{creditAccountId}/invoices/{invoiceId}/postponement",
                {"dueDays": 5},
                {"dueDays": ("whole", True)},
                conflict_fields=("dueDays",),
            ),
            invoice,
        ),
        (
            Spec(
                "PUT invoices/{id}",
                "PUT",
                "/accounts/{creditAccountId}/invoices/{invoiceId}",
                {
                    "status": "Opened",
                    "observation": "called the customer",
                    "paymentLink": "https://pay.example.com/i/1",
                },
                {
                    "status": ("enum", True),
                    "observation": ("observation", False),
                    "paymentLink": ("url", False),
                },
                query={"friendlyId": world["friendlyId"]},
                query_kinds={"friendlyId": "text"},
            ),
            invoice,
        ),
        (
            Spec(
                "POST payments",
                "POST",
                "/accounts/{creditAccountId}/invoices/{invoiceId}/payments",
                {"value": 1},
                {"value": ("amount", False)},
                body_optional=True,
            ),
            {**account, "invoiceId": world["invoices"][1]},
        ),
        (
            Spec(
                "DELETE invoices/{id}",
                "DELETE",
                "/accounts/{creditAccountId}/invoices/{invoiceId}",
                bodyless_write=True,
            ),
            {**account, "invoiceId": world["invoices"][2]},
        ),
        (
            Spec(
                "PUT statements/{id}",
                "PUT",
                "/accounts/{creditAccountId}/statements/{statementId}",
                {"value": "-15"},
                {"value": ("amount", True)},
            ),
            {**account, "statementId": "manual-debit-1"},
        ),
        (
            Spec(
                "DELETE transactions/{id}",
                "DELETE",
                "/accounts/{creditAccountId}/transactions/{transactionId}",
                bodyless_write=True,
            ),
            {**account, "transactionId": world["spare"]},
        ),
        (
            Spec(
                "DELETE accounts/{id}",
                "DELETE",
                "/accounts/{creditAccountId}",
                {
                    "document": world["closing"]["document"],
                    "documentType": "CPF",
                    "email": world["closing"]["email"],
                },
                {"document": ("id_text", False), "documentType": ("enum", False), "email": ("email", False)},
                body_optional=True,
                conflict_fields=("document", "email"),
            ),
            {"creditAccountId": world["closing"]["id"]},
        ),
    ]


def _send(api, method: str, case: Case):
    headers = {}
    if case.body is not None and case.content_type is not None:
        headers["Content-Type"] = case.content_type
    return api.request(method, case.path, content=case.body, params=case.query, headers=headers)


def _names_field(response, dotted: str) -> bool:
    error = response.json()["error"]
    text = json.dumps(error)
    last = dotted.split(".")[-1]
    return last in text


def test_every_operation_refuses_bad_input_and_changes_nothing(world, database, settings):
    assert settings.max_body_bytes == 64 * 1024  # the default the 413 cases are written around
    api = world["api"]
    store_id = api.store.id
    tried: dict[str, int] = {}
    failures: list[str] = []
    for spec, ids in specs(world):
        path = spec.path.format(**ids)
        cases = []
        if spec.method in ("POST", "PUT", "DELETE"):
            cases += body_cases(spec, path, settings.max_body_bytes)
        cases += query_cases(spec, path)
        cases += path_cases(spec, ids)
        before = snapshot(database, store_id)
        for case in cases:
            if case.query is None and spec.query:
                case.query = dict(spec.query)
            response = _send(api, spec.method, case)
            where = f"{spec.name}: {case.label}"
            if not 400 <= response.status_code < 500:
                failures.append(f"{where}: {response.status_code} {response.text[:200]}")
                continue
            if not is_error_shape(response):
                failures.append(
                    f"{where}: {response.status_code} not in the error shape: {response.text[:200]}"
                )
                continue
            if case.expect and response.status_code not in case.expect:
                failures.append(
                    f"{where}: {response.status_code}, expected {case.expect}: {response.text[:200]}"
                )
                continue
            refused_as_json = response.json()["error"]["code"] == "MalformedJson"
            if (
                response.status_code == 400
                and case.field
                and not refused_as_json
                and not _names_field(response, case.field)
            ):
                failures.append(f"{where}: the 400 does not name {case.field}: {response.text[:200]}")
        after = snapshot(database, store_id)
        changed = _diff(before, after)
        if changed:
            failures.append(f"{spec.name}: refused requests changed the database: {changed[:5]}")
        tried[spec.name] = len(cases)
        # The unbroken request succeeds: the refusals came from the breakage.
        valid = _send(
            api,
            spec.method,
            Case("valid", path, _encode(spec.body) if spec.body else None, query=dict(spec.query) or None),
        )
        if valid.status_code != 200:
            failures.append(f"{spec.name}: the valid request failed: {valid.status_code} {valid.text[:200]}")

    print(f"\nbad inputs tried per operation ({sum(tried.values())} in all):")
    for name, count in tried.items():
        print(f"  {name:28} {count}")
    assert len(tried) == 24  # all 25 operations but GET /storeconfig, which takes nothing
    assert all(count >= 17 for count in tried.values()), tried
    assert not failures, f"{len(failures)} bad inputs were not refused cleanly:\n" + "\n".join(failures[:60])


# ---------------------------------------------------------------------------------------------
# Text that is legitimately text: kept byte for byte, never interpreted

TEXTS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'; DROP TABLE invoices; --",
    "' OR '1'='1",
    "Zé Ção — 日本語 — emoji 💳 — RTL \u202e gnp.exe",
    "line one\nline two\ttabbed\r\nend",
    "&lt;b&gt; &amp; %3Cscript%3E {{7*7}} ${7*7} \\x00",
]


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_observation_is_stored_and_returned_as_plain_text(world, text):
    api = world["api"]
    account_id = world["creditAccountId"]
    invoice_id = world["invoices"][0]
    changed = api.put(
        f"/accounts/{account_id}/invoices/{invoice_id}", json={"status": "Opened", "observation": text}
    )
    assert changed.status_code == 200, changed.text
    fetched = api.get(f"/accounts/{account_id}/invoices/{invoice_id}")
    assert fetched.headers["content-type"].startswith("application/json")
    assert fetched.json()["observation"] == text
    # Byte for byte on the wire too: the JSON string decodes to exactly what was sent.
    assert json.loads(fetched.content)["observation"].encode() == text.encode()
    # Searchable as text, case-insensitively (a filter is one line: up to the first line break).
    needle = text.splitlines()[0][:12].upper()
    listed = api.get("/invoices", params={"creditAccountId": account_id, "observation": needle})
    assert listed.status_code == 200, listed.text
    assert [item["id"] for item in listed.json()["data"]] == [invoice_id]


@pytest.mark.parametrize("text", TEXTS[:4], ids=range(4))
def test_injection_strings_in_description_and_order_id_are_kept_as_text(world, text):
    api = world["api"]
    document = str(uuid.uuid4().int)[:11]
    opened = api.post(
        "/accounts",
        json={
            "document": document,
            "documentType": "CPF",
            "email": f"{document}@example.com",
            "creditLimit": "100",
            "description": text,
        },
    )
    assert opened.status_code == 200, opened.text
    assert api.get(f"/accounts/{opened.json()['id']}").json()["description"] == text
    one_line = text.replace("\n", " ")
    held = hold(api, world["creditAccountId"], "1", orderId=one_line)
    assert held.status_code == 200, held.text
    assert held.json()["orderId"] == one_line


@pytest.mark.parametrize("needle", [*SQL, *HTML, "%", "_", "\\"])
def test_injection_strings_in_search_filters_match_nothing(world, needle):
    """A filter value is data: an injection string finds nothing instead of everything."""
    api = world["api"]
    accounts = api.get("/accounts", params={"email": needle})
    assert accounts.status_code == 200, accounts.text
    assert accounts.json()["data"] == [] and accounts.json()["summary"]["count"] == 0
    for params in ({"observation": needle}, {"friendlyId": needle}, {"creditAccountId": needle}):
        found = api.get("/invoices", params=params)
        assert found.status_code == 200, (params, found.text)
        assert found.json()["data"] == [] and found.json()["summary"]["count"] == 0, params
    own = api.get(f"/accounts/{world['creditAccountId']}/invoices", params={"observation": needle})
    assert own.status_code == 200 and own.json()["summary"]["count"] == 0


@pytest.mark.parametrize(
    "link",
    [
        "https://pay.example.com/invoice/1?token=abc#x",
        "http://localhost:8080/pay",
        "HTTPS://PAY.EXAMPLE.COM/I",
    ],
)
def test_payment_link_accepts_http_and_https(world, link):
    api = world["api"]
    account_id, invoice_id = world["creditAccountId"], world["invoices"][0]
    changed = api.put(
        f"/accounts/{account_id}/invoices/{invoice_id}", json={"status": "Opened", "paymentLink": link}
    )
    assert changed.status_code == 200, changed.text
    assert api.get(f"/accounts/{account_id}/invoices/{invoice_id}").json()["paymentLink"] == link


@pytest.mark.parametrize("link", [value for value in URL_BAD if isinstance(value, str)])
def test_payment_link_refuses_everything_else_and_keeps_the_old_one(world, link):
    api = world["api"]
    account_id, invoice_id = world["creditAccountId"], world["invoices"][0]
    good = "https://pay.example.com/kept"
    assert (
        api.put(
            f"/accounts/{account_id}/invoices/{invoice_id}", json={"status": "Opened", "paymentLink": good}
        ).status_code
        == 200
    )
    refused = api.put(
        f"/accounts/{account_id}/invoices/{invoice_id}",
        content=_encode({"status": "Paid", "paymentLink": link}),
        headers={"Content-Type": "application/json"},
    )
    assert refused.status_code == 400, refused.text
    assert is_error_shape(refused)
    assert "paymentLink" in refused.text or refused.json()["error"]["code"] == "MalformedJson"
    after = api.get(f"/accounts/{account_id}/invoices/{invoice_id}").json()
    assert after["paymentLink"] == good
    assert after["status"] == "Opened"  # the status change in the same request was not applied
    assert Decimal(str(after["creditValue"])) == 0
