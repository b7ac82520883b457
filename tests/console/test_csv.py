"""CSV export and import through the console, on SQLite and PostgreSQL: exports stream every
match, an import is previewed with per-row errors, applied whole or not at all, and importing
the same file again changes nothing."""

import csv
import io
import re

from customer_credit.csv_io import export, jobs
from tests.console.support import signed_in
from tests.helpers import account, dec, open_account, purchase


def rows_of(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def ledger_size(api, account_id) -> int:
    return len(api.get(f"/accounts/{account_id}/statements").json()["statements"])


def run_import_jobs(console) -> int:
    """Runs the worker's import job until no import waits, on the app's (frozen) clock; returns
    the chunks it ran."""
    app = console.client.app
    ran = 0
    while True:
        with app.state.db.write() as session:
            if jobs.run_imports(session, app.state.clock()) == 0:
                return ran
        ran += 1


def finish(console, response):
    """The page a posted import leads to once the worker has run it (the response itself when
    the post was refused)."""
    if response.status_code != 303:
        return response
    run_import_jobs(console)
    return console.get(response.headers["location"])


def post_file(console, kind: str, data: bytes, name: str = "data.csv"):
    return console.client.post(
        "/admin/import/preview",
        data={"kind": kind, "csrf_token": console.csrf()},
        files={"file": (name, data, "text/csv")},
    )


def apply_preview(console, preview_html: str):
    """Applies the previewed import (its page offers no "Apply" when nothing would change; this
    posts it anyway)."""
    import_id = re.search(r'data-import="(\d+)" data-import-status="previewed"', preview_html)
    assert import_id, "not an import preview page"
    return finish(console, console.post(f"/admin/import/{import_id.group(1)}/apply"))


def upload(console, kind: str, text: str, *, apply: bool = False):
    preview = finish(console, post_file(console, kind, text.encode()))
    if not apply:
        return preview
    return apply_preview(console, preview.text)


def outcomes(html: str) -> dict[int, tuple[str, str]]:
    """line -> (outcome, details) from the preview/result table (the outcome as the badge's class
    names it: its text is in the store's language)."""
    found = {}
    row = r'data-line="(\d+)">.*?<span class="badge badge-(\w+)"[^>]*>[^<]*</span></td><td>(.*?)</td>'
    for line, outcome, detail in re.findall(row, html, re.S):
        found[int(line)] = (outcome, detail)
    return found


def test_accounts_export_then_import_changes_nothing(app, store, api):
    first = open_account(api, credit_limit="100.50", tolerance="0.05")["id"]
    second = open_account(api, credit_limit="0")["id"]
    api.post(f"/accounts/{second}/holders", json={"claims": {"email": "helper@example.com"}})
    purchase(api, first, "40")
    console = signed_in(app, store)
    exported = console.get("/admin/export/accounts.csv")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = {row["id"]: row for row in rows_of(exported.text)}
    assert set(rows) == {first, second}
    assert (rows[first]["creditLimit"], rows[first]["tolerance"], rows[first]["balance"]) == (
        "100.50",
        "0.05",
        "-40.00",
    )
    assert rows[second]["holders"] == "helper@example.com"
    before = (account(api, first), account(api, second), ledger_size(api, first), ledger_size(api, second))

    preview = upload(console, "accounts", exported.text)
    assert preview.status_code == 200
    assert {outcome for outcome, _ in outcomes(preview.text).values()} == {"unchanged"}
    assert "Apply" not in preview.text  # nothing to apply
    applied = upload(console, "accounts", exported.text, apply=True)
    assert "Applied: 0 changes, 2 unchanged" in applied.text
    after = (account(api, first), account(api, second), ledger_size(api, first), ledger_size(api, second))
    assert after == before


def test_accounts_import_preview_errors_then_apply_then_reimport(app, store, api):
    existing = open_account(api, credit_limit="100", document="11122233344", email="old@example.com")["id"]
    console = signed_in(app, store)
    bad = (
        "id,document,documentType,email,creditLimit,tolerance,description\n"
        f"{existing},11122233344,CPF,new@example.com,250,,\n"  # line 2: update
        ",99988877766,CPF,fresh@example.com,75.25,0.1,=HYPERLINK(1)\n"  # line 3: open
        ",55544433322,CPF,nope,10,,\n"  # line 4: bad e-mail
        ",55544433311,RG,rg@example.com,10,,\n"  # line 5: bad type
        ",55544433300,CPF,amount@example.com,12.345,,\n"  # line 6: bad amount
        ",55544433399,CPF,tol@example.com,10,1.5,\n"  # line 7: bad tolerance
        ",,CPF,missing@example.com,10,,\n"  # line 8: no document
    )
    preview = upload(console, "accounts", bad)
    assert preview.status_code == 400
    found = outcomes(preview.text)
    assert found[2][0] == "update" and "creditLimit: 100.00 → 250" in found[2][1]
    assert found[3][0] == "create"
    assert found[4] == ("error", "email: must be an e-mail address")
    assert found[5][0] == "error" and "documentType" in found[5][1]
    assert found[6] == ("error", "creditLimit: must have at most 2 decimal places")
    assert found[7] == ("error", "tolerance: must be between 0 and 1")
    assert found[8] == ("error", "document: is required")
    assert "5 rows with errors" in preview.text
    assert 'name="content"' not in preview.text  # no apply button while rows fail
    assert account(api, existing)["email"] == "old@example.com"
    assert api.get("/accounts/99988877766_CPF").status_code == 404

    good = "\n".join(bad.splitlines()[:3]) + "\n"
    applied = upload(console, "accounts", good, apply=True)
    assert applied.status_code == 200
    assert "Applied: 2 changes" in applied.text
    changed = account(api, existing)
    assert changed["email"] == "new@example.com" and dec(changed["creditLimit"]) == dec("250")
    created = account(api, "99988877766_CPF")
    assert dec(created["creditLimit"]) == dec("75.25") and dec(created["tolerance"]) == dec("0.1")
    assert created["description"] == "=HYPERLINK(1)"
    sizes = (ledger_size(api, existing), ledger_size(api, "99988877766_CPF"))

    again = upload(console, "accounts", good)
    assert {outcome for outcome, _ in outcomes(again.text).values()} == {"unchanged"}
    assert (ledger_size(api, existing), ledger_size(api, "99988877766_CPF")) == sizes
    # The description leaves as a text cell a spreadsheet will not run, and comes back as it was.
    exported = console.get("/admin/export/accounts.csv").text
    assert "'=HYPERLINK(1)" in exported
    assert {o for o, _ in outcomes(upload(console, "accounts", exported).text).values()} == {"unchanged"}


def test_semicolons_bom_and_closed_rows(app, store, api):
    console = signed_in(app, store)
    text = (
        "\ufeffdocument;documentType;email;creditLimit;status\n12312312312;CPF;semi@example.com;10,5;\n"
        "45645645645;CPF;closed@example.com;10;Closed\n"
    )
    preview = upload(console, "accounts", text)
    found = outcomes(preview.text)
    assert found[2] == ("error", "creditLimit: must be an amount such as 25,000.00")
    assert found[3][0] == "skip"


def test_a_file_that_cannot_be_read_is_refused_whole(app, store):
    console = signed_in(app, store)
    assert "needs a column document" in upload(console, "accounts", "name,value\nx,1\n").text
    latin = console.client.post(
        "/admin/import/preview",
        data={"kind": "accounts", "csrf_token": console.csrf()},
        files={
            # 0x81 and 0x8d are neither UTF-8 nor Windows-1252 (which is read: test_locale_csv.py).
            "file": ("x.csv", b"document,documentType,email\n\x81\x8d,CPF,a@b.co\n", "text/csv")
        },
    )
    assert latin.status_code == 400 and "not UTF-8" in latin.text
    assert "header but no rows" in upload(console, "settlements", "friendlyId\n").text


def test_bulk_settlement_by_friendly_id_and_invoice_id(app, store, api):
    account_id = open_account(api, credit_limit="1000")["id"]
    purchase(api, account_id, "30", installments=3)
    purchase(api, account_id, "5")
    one, two, three, five = api.get(f"/accounts/{account_id}/invoices").json()["data"]
    api.delete(f"/accounts/{account_id}/invoices/{five['id']}")
    console = signed_in(app, store)
    text = (
        "invoiceId,friendlyId,creditValue\n"
        f",{one['friendlyId']},\n"  # pay the whole of it
        f"{two['id']},,4.00\n"  # a partial payment: 4 of 10
        f"{three['id']},{one['friendlyId']},\n"  # id and friendlyId disagree
        f",{five['friendlyId']},\n"  # cancelled: refused by the service
        ",NOPE0000-1,\n"  # unknown
        f",{three['friendlyId']},11\n"  # more than its value
    )
    preview = upload(console, "settlements", text)
    found = outcomes(preview.text)
    assert found[2][0] == "pay" and found[3][0] == "pay"
    assert found[4] == ("error", f"friendlyId: does not match invoice {three['id']}")
    assert found[5] == ("error", "a cancelled invoice cannot change status")
    assert found[6] == ("error", "no invoice NOPE0000-1")
    assert found[7][0] == "error" and "more than the invoice" in found[7][1]
    assert api.get(f"/accounts/{account_id}/invoices/{one['id']}").json()["status"] == "Opened"

    good = "\n".join(text.splitlines()[:3]) + "\n"
    balance_before = dec(account(api, account_id)["balance"])
    applied = upload(console, "settlements", good, apply=True)
    assert "Applied: 2 changes" in applied.text
    paid_one = api.get(f"/accounts/{account_id}/invoices/{one['id']}").json()
    partly = api.get(f"/accounts/{account_id}/invoices/{two['id']}").json()
    assert paid_one["status"] == "Paid"
    assert partly["status"] == "Opened" and dec(partly["creditValue"]) == dec("4")
    assert dec(account(api, account_id)["balance"]) == balance_before + dec("14")
    statements = ledger_size(api, account_id)

    again = upload(console, "settlements", good, apply=True)
    assert "Applied: 0 changes, 2 unchanged" in again.text
    assert ledger_size(api, account_id) == statements

    # An invoices export imports as "no change"; changing a creditValue cell pays that much more.
    exported = console.get(f"/admin/export/invoices.csv?creditAccountId={account_id}").text
    assert {o for o, _ in outcomes(upload(console, "settlements", exported).text).values()} == {"unchanged"}
    edited = exported.replace(
        f"{two['id']},{two['friendlyId']},{account_id},Opened,10.00,4.00",
        f"{two['id']},{two['friendlyId']},{account_id},Opened,10.00,10.00",
    )
    assert edited != exported
    done = upload(console, "settlements", edited, apply=True)
    assert "Applied: 1 change" in done.text
    assert api.get(f"/accounts/{account_id}/invoices/{two['id']}").json()["status"] == "Paid"


def test_invoices_export_streams_every_match_in_batches(app, store, api, monkeypatch):
    monkeypatch.setattr(export, "BATCH", 3)
    account_id = open_account(api, credit_limit="1000")["id"]
    purchase(api, account_id, "70", installments=7)
    purchase(api, account_id, "9")
    console = signed_in(app, store)
    everything = rows_of(console.get(f"/admin/export/invoices.csv?creditAccountId={account_id}").text)
    listed = api.get(f"/accounts/{account_id}/invoices").json()["data"]
    assert [row["id"] for row in everything] == [invoice["id"] for invoice in listed]
    assert [row["value"] for row in everything] == ["10.00"] * 7 + ["9.00"]
    only_ten = rows_of(console.get(f"/admin/export/invoices.csv?creditAccountId={account_id}&value=10").text)
    assert len(only_ten) == 7
    accounts = rows_of(console.get("/admin/export/accounts.csv").text)
    assert [row["id"] for row in accounts] == [account_id]


def test_viewers_cannot_import(app, store):
    viewer = signed_in(app, store, "viewer")
    response = viewer.client.post(
        "/admin/import/preview",
        data={"kind": "accounts", "csrf_token": viewer.csrf()},
        files={"file": ("x.csv", b"document,documentType,email\n1,CPF,a@example.com\n", "text/csv")},
    )
    assert response.status_code == 403


def test_import_needs_the_resources_of_its_rows(store, database):
    from customer_credit.auth import resources
    from customer_credit.csv_io import importing

    reader = store.principal([resources.READ_ACCOUNTS, resources.CREATE_ACCOUNTS])
    result = importing.run(
        database, reader, "accounts", "document,documentType,email\n1,CPF,a@example.com\n", apply=True
    )
    assert result.file_error and "Edit credits" in result.file_error
    unknown = importing.run(database, store.principal(), "settlements", "friendlyId\nX-1\n", apply=True)
    assert unknown.errors and not unknown.applied
