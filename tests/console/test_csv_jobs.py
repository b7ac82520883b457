"""Console CSV imports as worker jobs (csv_io/jobs.py), on SQLite and PostgreSQL with a frozen
clock: the upload queues the file, each run of the job advances it by one chunk and the page
shows the progress, then the preview with errors first (and an errors-only filter); duplicate
rows are flagged and applied once; a file of the other kind is recognised from its header."""

import json
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from customer_credit.csv_io import jobs
from customer_credit.csv_io.models import CsvImport
from tests.console.support import signed_in
from tests.console.test_csv import apply_preview, finish, ledger_size, outcomes, post_file, upload
from tests.helpers import account, dec, open_account, purchase

MOMENT = datetime(2026, 3, 2, 12, 30, tzinfo=UTC)
HEADER = "id,document,documentType,email,creditLimit,tolerance,description\n"


@pytest.fixture
def in_the_worker(monkeypatch):
    """Every file goes through the worker (none run in the request) in chunks of 2 rows."""
    monkeypatch.setattr(jobs, "INLINE_MAX_ROWS", 0)
    monkeypatch.setattr(jobs, "CHUNK_ROWS", 2)


def run_one_chunk(app, now: datetime) -> int:
    with app.state.db.write() as session:
        return jobs.run_imports(session, now)


def import_row(app, import_id: int) -> CsvImport:
    with app.state.db.read() as session:
        row = session.scalars(select(CsvImport).where(CsvImport.id == import_id)).one()
        session.expunge(row)  # readable after the read's rollback
        return row


def page_lines(html: str) -> list[int]:
    return [int(line) for line in re.findall(r'data-line="(\d+)"', html)]


def test_an_upload_is_queued_and_the_job_advances_it_chunk_by_chunk(app, store, frozen_clock, in_the_worker):
    frozen_clock.set(MOMENT)
    console = signed_in(app, store)
    text = HEADER + (
        ",10000000001,CPF,a@example.com,10,,\n"  # line 2
        ",10000000002,CPF,b@example.com,20,,\n"  # line 3
        ",10000000003,CPF,nope,30,,\n"  # line 4: error
        ",10000000004,CPF,d@example.com,40,,\n"  # line 5
        ",10000000005,CPF,e@example.com,12.345,,\n"  # line 6: error
    )
    posted = post_file(console, "accounts", text.encode(), "five.csv")
    assert posted.status_code == 303
    location = posted.headers["location"]
    import_id = int(location.rsplit("/", 1)[1])
    queued = import_row(app, import_id)
    assert (queued.status, queued.total_rows, queued.done_rows) == ("queued", 5, 0)
    assert queued.created_at == MOMENT and queued.filename == "five.csv"

    waiting = console.get(location)
    assert waiting.status_code == 200
    assert '<meta http-equiv="refresh" content="2">' in waiting.text
    assert "0 of 5 rows (0%)" in waiting.text and "Waiting for the worker" in waiting.text

    later = datetime(2026, 3, 2, 12, 31, tzinfo=UTC)
    assert run_one_chunk(app, later) == 1
    progressing = console.get(location)
    assert "2 of 5 rows (40%)" in progressing.text and "Previewing" in progressing.text
    progress = console.get(f"{location}/progress.json").json()
    assert progress == {"status": "previewing", "doneRows": 2, "totalRows": 5, "percent": 40}
    assert import_row(app, import_id).updated_at == later

    assert run_one_chunk(app, later) == 1
    assert run_one_chunk(app, later) == 1
    assert run_one_chunk(app, later) == 0  # nothing left to do
    assert import_row(app, import_id).status == "previewed"
    preview = console.get(location)
    assert preview.status_code == 400
    assert "refresh" not in preview.text
    assert "2 rows with errors" in preview.text
    # Errors first, then the other rows, each in the order of the file.
    assert page_lines(preview.text) == [4, 6, 2, 3, 5]
    found = outcomes(preview.text)
    assert found[4] == ("error", "email: must be an e-mail address")
    assert found[2][0] == "create"
    assert 'action="/admin/import/' not in preview.text  # no apply while rows fail

    errors_only = console.get(f"{location}?show=errors")
    assert page_lines(errors_only.text) == [4, 6]
    assert {outcome for outcome, _ in outcomes(errors_only.text).values()} == {"error"}
    refused = console.post(f"{location}/apply")
    assert refused.status_code == 303
    assert import_row(app, import_id).status == "previewed"  # not applied
    assert "nothing can be applied" in console.get(location).text


def test_applying_runs_in_chunks_and_ends_done(app, store, api, frozen_clock, in_the_worker):
    frozen_clock.set(MOMENT)
    console = signed_in(app, store)
    text = HEADER + "".join(f",2000000000{n},CPF,n{n}@example.com,{n}0,,\n" for n in range(1, 6))
    preview = finish(console, post_file(console, "accounts", text.encode()))
    assert preview.status_code == 200 and "Preview: 5 changes" in preview.text
    assert api.get("/accounts/20000000001_CPF").status_code == 404
    import_id = int(re.search(r'data-import="(\d+)"', preview.text).group(1))

    applied = console.post(f"/admin/import/{import_id}/apply")
    assert applied.status_code == 303
    assert "0 of 5 rows" in console.get(applied.headers["location"]).text
    assert run_one_chunk(app, MOMENT) == 1
    assert "Applying" in console.get(applied.headers["location"]).text
    # Each chunk commits: the first two accounts are open before the rest run.
    assert api.get("/accounts/20000000002_CPF").status_code == 200
    assert api.get("/accounts/20000000003_CPF").status_code == 404
    result = finish(console, applied)
    assert "Applied: 5 changes, 0 unchanged" in result.text
    assert import_row(app, import_id).status == "done"
    assert dec(account(api, "20000000005_CPF")["creditLimit"]) == dec("50")
    # A finished import cannot be applied again.
    again = console.post(f"/admin/import/{import_id}/apply")
    assert "not a finished preview" in console.get(again.headers["location"]).text


def test_duplicate_rows_are_flagged_and_applied_once(app, store, api, frozen_clock):
    frozen_clock.set(MOMENT)
    console = signed_in(app, store)
    text = HEADER + (
        ",30000000001,CPF,first@example.com,100,,\n"  # line 2
        ",30000000001,CPF,second@example.com,200,,\n"  # line 3: the same account id
        "30000000001_CPF,30000000001,CPF,third@example.com,300,,\n"  # line 4: the same id again
        "other,30000000001,CPF,fourth@example.com,400,,\n"  # line 5: another id, the same document
        ",30000000009,CPF,ok@example.com,50,,\n"  # line 6
    )
    preview = upload(console, "accounts", text)
    assert preview.status_code == 200
    found = outcomes(preview.text)
    assert found[2][0] == "create" and found[6][0] == "create"
    assert found[3] == ("duplicate", "the same account as line 2 (30000000001_CPF); not imported twice")
    assert found[4][0] == "duplicate" and found[5][0] == "duplicate" and "line 2" in found[5][1]
    assert page_lines(preview.text)[:3] == [3, 4, 5]  # flagged rows before the others
    result = apply_preview(console, preview.text)
    assert "Applied: 2 changes" in result.text and "3 duplicate rows left out" in result.text
    opened = account(api, "30000000001_CPF")
    assert opened["email"] == "first@example.com" and dec(opened["creditLimit"]) == dec("100")
    assert api.get("/accounts/other").status_code == 404


def test_a_settlement_row_twice_pays_once(app, store, api, frozen_clock):
    account_id = open_account(api, credit_limit="1000")["id"]
    purchase(api, account_id, "20", installments=2)
    one, two = api.get(f"/accounts/{account_id}/invoices").json()["data"]
    console = signed_in(app, store)
    text = f"friendlyId,creditValue\n{one['friendlyId']},3\n{one['friendlyId']},3\n{two['friendlyId']},\n"
    statements = ledger_size(api, account_id)
    preview = upload(console, "settlements", text)
    found = outcomes(preview.text)
    assert found[2][0] == "pay" and found[3][0] == "duplicate" and found[4][0] == "pay"
    assert "Applied: 2 changes" in apply_preview(console, preview.text).text
    paid = api.get(f"/accounts/{account_id}/invoices/{one['id']}").json()
    assert dec(paid["creditValue"]) == dec("3")
    assert ledger_size(api, account_id) == statements + 2


def test_the_kind_of_file_is_recognised_from_its_header(app, store, api, frozen_clock):
    account_id = open_account(api, credit_limit="1000")["id"]
    purchase(api, account_id, "10")
    console = signed_in(app, store)
    invoices = console.get(f"/admin/export/invoices.csv?creditAccountId={account_id}").text
    wrong = post_file(console, "accounts", invoices.encode())
    assert wrong.status_code == 400
    assert (
        "The file holds: This looks like an invoice payments file; choose Invoice payments or upload an "
        "accounts file" in wrong.text
    )
    assert 'id="kind-accounts" name="kind" value="accounts" checked' in wrong.text
    recognised = upload(console, "", invoices)
    assert recognised.status_code == 200 and "Import preview: Invoice payments" in recognised.text
    assert {outcome for outcome, _ in outcomes(recognised.text).values()} == {"unchanged"}

    accounts = console.get("/admin/export/accounts.csv").text
    assert (
        "choose Accounts or upload an invoice payments file"
        in post_file(console, "settlements", accounts.encode()).text
    )
    neither = post_file(console, "", b"name,value\nx,1\n")
    assert neither.status_code == 400 and "matches neither an accounts file" in neither.text


def test_viewers_and_other_stores_cannot_import(app, store, frozen_clock):
    console = signed_in(app, store)
    preview = upload(console, "accounts", HEADER + ",40000000001,CPF,v@example.com,10,,\n")
    import_id = int(re.search(r'data-import="(\d+)"', preview.text).group(1))
    viewer = signed_in(app, store, "viewer")
    assert (
        post_file(viewer, "accounts", b"document,documentType,email\n1,CPF,a@example.com\n").status_code
        == 403
    )
    assert viewer.post(f"/admin/import/{import_id}/apply").status_code == 403
    shown = viewer.get(f"/admin/import/{import_id}")
    assert shown.status_code == 200 and "apply-form" not in shown.text
    assert import_row(app, import_id).status == "previewed"

    from tests.conftest import Store

    elsewhere = signed_in(app, Store(store.database, store.http))
    assert elsewhere.get(f"/admin/import/{import_id}").status_code == 404
    assert elsewhere.get(f"/admin/import/{import_id}/progress.json").status_code == 404
    assert elsewhere.post(f"/admin/import/{import_id}/apply").status_code == 404
    assert json.loads(console.get(f"/admin/import/{import_id}/progress.json").text)["status"] == "previewed"


def test_a_row_failing_during_the_apply_stops_it_after_the_chunks_before(
    app, store, api, frozen_clock, in_the_worker
):
    from decimal import Decimal

    from customer_credit.invoices import service as invoices

    account_id = open_account(api, credit_limit="1000")["id"]
    purchase(api, account_id, "30", installments=3)
    one, two, three = api.get(f"/accounts/{account_id}/invoices").json()["data"]
    console = signed_in(app, store)
    text = f"invoiceId,creditValue\n{one['id']},\n{two['id']},\n{three['id']},4\n"
    preview = finish(console, post_file(console, "settlements", text.encode()))
    assert "Preview: 3 changes" in preview.text
    # The data changes after the preview: the third invoice is paid in full meanwhile.
    with store.database.write() as session:
        invoices.pay_invoice(session, store.principal(), account_id, three["id"], value=Decimal("10"))
    result = apply_preview(console, preview.text)
    assert result.status_code == 400
    assert "The import stopped" in result.text
    assert page_lines(result.text)[0] == 4 and outcomes(result.text)[4][0] == "error"
    assert api.get(f"/accounts/{account_id}/invoices/{one['id']}").json()["status"] == "Paid"
    assert api.get(f"/accounts/{account_id}/invoices/{two['id']}").json()["status"] == "Paid"


def test_an_import_that_breaks_fails_and_the_next_one_still_runs(app, store, frozen_clock, monkeypatch):
    from customer_credit.csv_io import importing

    monkeypatch.setattr(jobs, "INLINE_MAX_ROWS", 0)
    console = signed_in(app, store)
    broken = post_file(console, "accounts", (HEADER + ",50000000001,CPF,x@example.com,1,,\n").encode())
    fine = post_file(console, "accounts", (HEADER + ",50000000002,CPF,y@example.com,1,,\n").encode())
    real_process = importing.process

    def process_breaking_the_first(session, principal, kind, rows, **kwargs):
        if rows and rows[0][1]["document"] == "50000000001":
            raise RuntimeError("a bug")
        return real_process(session, principal, kind, rows, **kwargs)

    monkeypatch.setattr(importing, "process", process_breaking_the_first)
    frozen_clock.set(MOMENT)
    shown = finish(console, broken)
    assert "The import stopped" in shown.text and "failed unexpectedly (RuntimeError)" in shown.text
    assert "Preview: 1 change" in console.get(fine.headers["location"]).text
