"""Console pages without a browser, on SQLite and PostgreSQL: every action goes through the
services (checked through the API afterwards) and every refusal is shown as the API words it."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import update

from customer_credit.invoices.models import Invoice
from tests.console.support import signed_in
from tests.helpers import account, configure, dec, open_account, purchase


def figure(html: str, name: str, attribute: str = "data-figure") -> str:
    found = re.search(rf'{attribute}="{name}"[^>]*>([^<]*)<', html)
    assert found, f"no {attribute}={name}"
    return found.group(1).strip()


def invoices_of(api, account_id) -> list[dict]:
    response = api.get(f"/accounts/{account_id}/invoices")
    assert response.status_code == 200, response.text
    return response.json()["data"]


def set_invoice(database, store, invoice_id: str, **values) -> None:
    with database.write() as session:
        session.execute(
            update(Invoice)
            .where(Invoice.store_id == store.id, Invoice.public_id == invoice_id)
            .values(**values)
        )


def friendly_ids(html: str) -> set[str]:
    return set(re.findall(r'/invoices/[^"]+">([A-Za-z0-9]{8}-\d+)</a>', html))


def test_account_actions_and_refusals(app, store, api):
    account_id = open_account(api, credit_limit="100")["id"]
    purchase(api, account_id, "10")
    console = signed_in(app, store)
    base = f"/admin/accounts/{account_id}"

    changed = console.post(f"{base}/limit", {"creditLimit": "250.00"})
    assert changed.status_code == 303 and changed.headers["location"] == base
    page = console.get(base)
    assert "Credit limit changed." in page.text
    assert figure(page.text, "limit") == "$250.00"
    assert dec(account(api, account_id)["creditLimit"]) == dec("250")
    assert "Credit limit changed." not in console.get(base).text  # the message shows once

    bad_limit = console.post(f"{base}/limit", {"creditLimit": "12.345"})
    assert bad_limit.status_code == 400
    assert "must have at most 2 decimal places" in bad_limit.text
    # Tolerance is typed as a percentage (console/numbers.py): 150 is 150 %.
    bad_tolerance = console.post(f"{base}/tolerance", {"tolerance": "150"})
    assert bad_tolerance.status_code == 400 and "must be between 0% and 100%" in bad_tolerance.text
    assert console.post(f"{base}/tolerance", {"tolerance": "10%"}).status_code == 303
    assert dec(account(api, account_id)["tolerance"]) == dec("0.1")

    assert console.post(f"{base}/holders", {"holderEmail": "Partner@Example.com"}).status_code == 303
    again = console.post(f"{base}/holders", {"holderEmail": "partner@example.com"})
    assert again.status_code == 409 and "already holds an open account" in again.text
    holder = re.search(r"/holders/([0-9a-f]{32})/remove", console.get(base).text).group(1)
    assert console.post(f"{base}/holders/{holder}/remove").status_code == 303
    assert "partner@example.com" not in console.get(base).text.split("Holders")[1].split("Invoices")[0]

    refused = console.post(f"{base}/close")
    assert refused.status_code == 409
    assert "the account has open invoices or live holds" in refused.text
    assert account(api, account_id)["status"] == "Open"

    edited = console.post(
        f"{base}/edit",
        {"email": "New@Example.com", "document": account_id.split("_")[0], "documentType": "CPF"},
    )
    assert edited.status_code == 303
    assert account(api, account_id)["email"] == "new@example.com"
    wrong = console.post(f"{base}/edit", {"email": "not-an-email", "document": "1", "documentType": "CPF"})
    assert wrong.status_code == 400 and "must be an e-mail address" in wrong.text


def test_close_an_account_without_debt(app, store, api):
    account_id = open_account(api)["id"]
    console = signed_in(app, store)
    closed = console.post(f"/admin/accounts/{account_id}/close")
    assert closed.status_code == 303 and closed.headers["location"] == "/admin/accounts?status=Closed"
    assert account(api, account_id)["status"] == "Closed"
    assert account_id in console.get("/admin/accounts?status=Closed").text
    assert account_id not in console.get("/admin/accounts").text


def test_open_an_account_in_the_console(app, store, api):
    configure(api, defaultCreditValue="75")
    console = signed_in(app, store)
    opened = console.post(
        "/admin/accounts/new",
        {"document": "12345678901", "documentType": "CPF", "email": "buyer@example.com"},
    )
    assert opened.status_code == 303
    public_id = opened.headers["location"].rsplit("/", 1)[1]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", public_id)
    created = account(api, public_id)
    assert dec(created["creditLimit"]) == dec("75") and created["email"] == "buyer@example.com"
    refused = console.post(
        "/admin/accounts/new", {"document": "../x", "documentType": "CPF", "email": "b@example.com"}
    )
    assert refused.status_code == 400 and "document" in refused.text


def test_account_search_and_paging(app, store, api):
    ids = [open_account(api, email=f"findme{i}@example.com")["id"] for i in range(22)]
    other = open_account(api, email="someone@example.org")["id"]
    console = signed_in(app, store)
    first = console.get("/admin/accounts?q=FINDME")
    assert "22 accounts" in first.text
    # Newest first: the last one opened leads the first page, the first one opened is on the second.
    assert ids[21] in first.text and ids[0] not in first.text and other not in first.text
    second = console.get("/admin/accounts?q=findme&page=2")
    assert ids[0] in second.text and ids[21] not in second.text
    assert other in console.get(f"/admin/accounts?q={other[:6]}").text


def test_invoice_actions_pay_cancel_postpone_edit(app, store, api):
    configure(api, postponementEnabled=True, invoicePostponementLimit=2, maxPostponementDays=10)
    account_id = open_account(api, credit_limit="500")["id"]
    purchase(api, account_id, "60", installments=2)
    first, second = invoices_of(api, account_id)
    console = signed_in(app, store)
    one = f"/admin/accounts/{account_id}/invoices/{first['id']}"
    two = f"/admin/accounts/{account_id}/invoices/{second['id']}"

    assert console.post(f"{one}/pay", {"value": "5.00"}).status_code == 303
    assert dec(api.get(f"/accounts/{account_id}/invoices/{first['id']}").json()["creditValue"]) == dec("5")
    too_much = console.post(f"{one}/pay", {"value": "26"})
    assert too_much.status_code == 409 and "the payment exceeds what is owed" in too_much.text
    assert console.post(f"{one}/pay").status_code == 303
    assert api.get(f"/accounts/{account_id}/invoices/{first['id']}").json()["status"] == "Paid"
    refused = console.post(f"{one}/cancel")
    assert refused.status_code == 409
    assert "a paid invoice can no longer be cancelled" in refused.text
    assert api.get(f"/accounts/{account_id}/invoices/{first['id']}").json()["status"] == "Paid"

    page = console.get(two)
    assert "Postponed 0 of at most 2 times" in page.text and "up to 10 more days" in page.text
    assert console.post(f"{two}/postpone", {"dueDays": "4"}).status_code == 303
    moved = api.get(f"/accounts/{account_id}/invoices/{second['id']}").json()
    due = lambda text: datetime.fromisoformat(text.replace("Z", "+00:00"))  # noqa: E731
    assert due(moved["dueDate"]) - due(second["dueDate"]) == timedelta(days=4)
    assert "up to 6 more days" in console.get(two).text
    beyond = console.post(f"{two}/postpone", {"dueDays": "7"})
    assert beyond.status_code == 409 and "at most 10 days after the original" in beyond.text
    assert console.post(f"{two}/postpone", {"dueDays": "6"}).status_code == 303
    limit = console.post(f"{two}/postpone", {"dueDays": "1"})
    assert limit.status_code == 409 and "already postponed 2 times" in limit.text
    not_whole = console.post(f"{two}/postpone", {"dueDays": "1.5"})
    assert not_whole.status_code == 400

    bad_link = console.post(
        f"{two}/edit", {"observation": "call first", "paymentLink": "javascript:alert(1)"}
    )
    assert bad_link.status_code == 400 and "must be an absolute http or https URL" in bad_link.text
    saved = console.post(f"{two}/edit", {"observation": "call first", "paymentLink": "https://pay.example/x"})
    assert saved.status_code == 303
    current = api.get(f"/accounts/{account_id}/invoices/{second['id']}").json()
    assert (current["observation"], current["paymentLink"]) == ("call first", "https://pay.example/x")
    assert console.post(f"{two}/edit", {"observation": "", "paymentLink": ""}).status_code == 303
    cleared = api.get(f"/accounts/{account_id}/invoices/{second['id']}").json()
    assert cleared["observation"] is None and cleared["paymentLink"] is None and cleared["status"] == "Opened"

    assert console.post(f"{one}/reopen").status_code == 303
    assert api.get(f"/accounts/{account_id}/invoices/{first['id']}").json()["status"] == "Opened"


def test_postponement_refused_when_the_store_does_not_allow_it(app, store, api):
    account_id = open_account(api)["id"]
    purchase(api, account_id, "10")
    invoice = invoices_of(api, account_id)[0]
    console = signed_in(app, store)
    url = f"/admin/accounts/{account_id}/invoices/{invoice['id']}"
    assert "does not allow postponements" in console.get(url).text
    refused = console.post(f"{url}/postpone", {"dueDays": "1"})
    assert refused.status_code == 409 and "this store does not allow postponements" in refused.text


def test_invoice_search_filters_summary_and_paging(app, store, api, database, frozen_clock):
    now = datetime(2031, 1, 31, 23, 30, tzinfo=UTC)  # late on a month's last day
    frozen_clock.set(now)
    account_id = open_account(api, credit_limit="5000")["id"]
    for value in ("10", "20", "30"):
        purchase(api, account_id, value)
    ten, twenty, thirty = invoices_of(api, account_id)
    set_invoice(database, store, twenty["id"], due_at=now - timedelta(days=3))
    api.post(f"/accounts/{account_id}/invoices/{ten['id']}/payments")
    console = signed_in(app, store)

    expired = console.get(f"/admin/invoices?status=Expired&creditAccountId={account_id}")
    assert friendly_ids(expired.text) == {twenty["friendlyId"]}
    assert figure(expired.text, "count", "data-summary") == "1"
    assert figure(expired.text, "total", "data-summary") == "$20.00"
    opened = console.get(f"/admin/invoices?status=Opened&creditAccountId={account_id}")
    assert friendly_ids(opened.text) == {twenty["friendlyId"], thirty["friendlyId"]}
    assert figure(opened.text, "total", "data-summary") == "$50.00"
    paid = console.get(f"/admin/invoices?status=Paid&creditAccountId={account_id}")
    assert figure(paid.text, "totalPaid", "data-summary") == "$10.00"
    either = console.get(f"/admin/invoices?status=Expired&friendlyId={thirty['friendlyId']}&op=or")
    assert friendly_ids(either.text) == {twenty["friendlyId"], thirty["friendlyId"]}
    by_value = console.get(f"/admin/invoices?value=30&creditAccountId={account_id}")
    assert friendly_ids(by_value.text) == {thirty["friendlyId"]}
    bad = console.get("/admin/invoices?value=abc&dueDateFrom=2026-02-30")
    assert bad.status_code == 400 and "must be" in bad.text

    purchase(api, account_id, "25", installments=25)
    many = console.get(f"/admin/invoices?creditAccountId={account_id}&value=1")
    assert figure(many.text, "count", "data-summary") == "25"
    assert len(friendly_ids(many.text)) == 20 and "Page 1 of 2" in many.text
    page_two = console.get(f"/admin/invoices?creditAccountId={account_id}&value=1&page=2")
    assert len(friendly_ids(page_two.text)) == 5
    assert friendly_ids(page_two.text).isdisjoint(friendly_ids(many.text))
    past_the_end = console.get(f"/admin/invoices?creditAccountId={account_id}&value=1&page=99")
    assert friendly_ids(past_the_end.text) == friendly_ids(page_two.text)


def test_date_filters_are_days_in_the_store_time_zone(app, store, api, database):
    account_id = open_account(api)["id"]
    purchase(api, account_id, "10")
    invoice = invoices_of(api, account_id)[0]
    # 01:00 UTC on 10 January is still 9 January in São Paulo (UTC−3).
    set_invoice(database, store, invoice["id"], due_at=datetime(2027, 1, 10, 1, 0, tzinfo=UTC))
    console = signed_in(app, store)
    utc_day = console.get(
        f"/admin/invoices?dueDateFrom=2027-01-10&dueDateTo=2027-01-10&creditAccountId={account_id}"
    )
    assert friendly_ids(utc_day.text) == {invoice["friendlyId"]}
    configure_presentation(console, timezone_name="America/Sao_Paulo")
    local_day = console.get(
        f"/admin/invoices?dueDateFrom=2027-01-09&dueDateTo=2027-01-09&creditAccountId={account_id}"
    )
    assert friendly_ids(local_day.text) == {invoice["friendlyId"]}
    next_day = console.get(
        f"/admin/invoices?dueDateFrom=2027-01-10&dueDateTo=2027-01-10&creditAccountId={account_id}"
    )
    assert friendly_ids(next_day.text) == set()
    assert "Jan 9, 2027" in local_day.text


def configure_presentation(console, *, timezone_name="UTC", locale="en_US", currency="USD", **overrides):
    form = {
        "dailyInterestRate": "0",
        "invoicePostponementLimit": "0",
        "taxRate": "0",
        "maxPostponementDays": "0",
        "defaultCreditValue": "0",
        "maxPreAuthorizationGrowthRate": "0",
        "locale": locale,
        "currency": currency,
        "timezone": timezone_name,
        "paymentInstructions": "",
        **overrides,
    }
    response = console.post("/admin/settings", form)
    assert response.status_code == 303, response.text


def test_amounts_follow_the_store_locale_and_currency(app, store, api):
    account_id = open_account(api, credit_limit="1234.56")["id"]
    console = signed_in(app, store)
    configure_presentation(console, locale="pt_BR", currency="BRL")
    limit = figure(console.get(f"/admin/accounts/{account_id}").text, "limit")
    assert limit.replace("\xa0", " ") == "R$ 1.234,56"


def test_dashboard_figures(app, store, api, database, frozen_clock):
    # Late on a month's last day (a UTC store): the payment still counts as this month's, and
    # "due soon" (this week) reaches into the next month.
    now = datetime(2031, 3, 31, 23, 30, tzinfo=UTC)
    frozen_clock.set(now)
    near = open_account(api, credit_limit="100")["id"]
    far = open_account(api, credit_limit="1000")["id"]
    purchase(api, near, "90")
    purchase(api, far, "40", installments=2)
    purchase(api, far, "7")
    near_invoice = invoices_of(api, near)[0]
    first, second, seven = invoices_of(api, far)
    set_invoice(database, store, near_invoice["id"], due_at=now - timedelta(days=2))
    set_invoice(database, store, first["id"], due_at=now + timedelta(days=3))
    api.post(f"/accounts/{far}/invoices/{seven['id']}/payments")
    page = signed_in(app, store).get("/admin")
    assert figure(page.text, "owed") == "$130.00"
    assert figure(page.text, "overdue") == "$90.00"
    assert "1 overdue invoice<" in page.text
    assert figure(page.text, "due-soon") == "$20.00"
    assert figure(page.text, "paid-month") == "$7.00"
    nearest = page.text.split("Accounts nearest their limit")[1]
    assert nearest.index(near) < nearest.index(far)


def test_statements_show_the_running_balance(app, store, api):
    account_id = open_account(api, credit_limit="500")["id"]
    purchase(api, account_id, "100")
    api.put(f"/accounts/{account_id}/creditlimit", json={"value": "600"})
    invoice = invoices_of(api, account_id)[0]
    api.post(f"/accounts/{account_id}/invoices/{invoice['id']}/payments", json={"value": "30"})
    api.put(f"/accounts/{account_id}/statements/manual-1", json={"value": "-15"})
    page = signed_in(app, store).get(f"/admin/accounts/{account_id}").text
    running = re.findall(r"data-running>([^<]+)<", page)
    # settlement −100, limit change (Credit: no balance change), payment +30, debit −15
    assert running == ["-$100.00", "-$100.00", "-$70.00", "-$85.00"]
    assert dec(account(api, account_id)["balance"]) == Decimal("-85.00")


def test_statement_pages_start_from_the_balance_before_them(app, store, api):
    account_id = open_account(api, credit_limit="5000")["id"]
    for number in range(27):
        api.put(f"/accounts/{account_id}/statements/debit-{number}", json={"value": "-1"})
    console = signed_in(app, store)
    last_page = console.get(f"/admin/accounts/{account_id}").text
    assert "Page 2 of 2" in last_page
    assert re.findall(r"data-running>([^<]+)<", last_page) == ["-$26.00", "-$27.00"]
    first_page = console.get(f"/admin/accounts/{account_id}?spage=1").text
    running = re.findall(r"data-running>([^<]+)<", first_page)
    assert running[0] == "-$1.00" and running[-1] == "-$25.00" and len(running) == 25


def test_settings_validation_and_save(app, store, api):
    console = signed_in(app, store)
    before = api.get("/storeconfig").json()
    form = {
        "dailyInterestRate": "200",
        "invoicePostponementLimit": "-1",
        "taxRate": "0",
        "maxPostponementDays": "1.5",
        "defaultCreditValue": "10",
        "maxPreAuthorizationGrowthRate": "0.1",
        "locale": "xx_QQ",
        "currency": "DOLLARS",
        "timezone": "Mars/Base",
        "paymentInstructions": "Pay at the counter",
        "daysPrior_0_days": "3",
        "daysPrior_0_time": "25:00",
    }
    refused = console.post("/admin/settings", form)
    assert refused.status_code == 400
    text = refused.text
    for label, message in [
        ("Daily late interest rate", "must be between 0% and 100%"),
        ("Times an invoice may be postponed", "must be 0 or more"),
        ("Max days after the original due date", "must be a whole number"),
        ("Locale", "must be a locale"),
        ("Currency", "must be an ISO 4217 code"),
        ("Time zone", "must be an IANA time zone"),
        ("Time of day (1)", "must be HH:MM:SS"),
    ]:
        assert f"{label}: {message}" in text, label
    assert api.get("/storeconfig").json() == before

    form.update(
        dailyInterestRate="0.2%",
        invoicePostponementLimit="2",
        maxPostponementDays="15",
        locale="pt-BR",
        currency="brl",
        timezone="America/Sao_Paulo",
        daysPrior_0_time="09:30",
        myCreditsEnabled="on",
        postponementEnabled="on",
    )
    saved = console.post("/admin/settings", form)
    assert saved.status_code == 303
    config = api.get("/storeconfig").json()
    assert dec(config["dailyInterestRate"]) == dec("0.002")
    assert (config["invoicePostponementLimit"], config["maxPostponementDays"]) == (2, 15)
    assert config["myCreditsEnabled"] is True and config["postponementEnabled"] is True
    assert config["toleranceEnabled"] is False
    assert config["notificationsSettings"]["daysPrior"] == [{"days": 3, "timeOfDay": "09:30:00"}]
    assert "paymentInstructions" not in config and "locale" not in config
    page = console.get("/admin/settings").text
    assert "Pay at the counter" in page and 'value="pt_BR"' in page and 'value="BRL"' in page
    # The API's PUT keeps what only the console sets.
    configure(api, dailyInterestRate="0.001")
    assert "Pay at the counter" in console.get("/admin/settings").text
