"""My Credits without a browser, on SQLite and PostgreSQL: links and user tokens, what a customer
sees (and never sees), expiry, the store switch, and the API extension that issues links.
Revocation and the other link rules: test_links.py."""

import re
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

from sqlalchemy import update
from starlette.testclient import TestClient

from customer_credit.auth.service import issue_user_token
from customer_credit.invoices.models import Invoice
from customer_credit.my_credits import links
from customer_credit.stores.models import Store as StoreRow
from tests.helpers import configure, open_account, purchase

# Late on the last day of a month (the stores here are UTC): a link of 30 minutes or more
# expires in the next month, and "3 days overdue" counts calendar days, not 24-hour spans.
NOW = datetime(2031, 1, 31, 23, 30, tzinfo=UTC)


def customer_client(app, base_url="http://testserver") -> TestClient:
    return TestClient(app, base_url=base_url, raise_server_exceptions=False, follow_redirects=False)


def link_for(store, account_id: str, email: str, ttl=timedelta(hours=1), now=None) -> str:
    with store.database.write() as session:
        issued = links.issue_link(session, store.principal(), account_id, email, ttl, now=now)
    return issued.url("http://testserver")


def enter(client: TestClient, url: str):
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}")


def account_ids(html: str) -> set[str]:
    return set(re.findall(r"<h2 id=\"acc-\d+\">Account ([^<\s]+)", html))


def test_a_link_shows_its_account_and_nothing_else(app, store, api, frozen_clock):
    frozen_clock.set(NOW)
    configure(api, myCreditsEnabled=True, dailyInterestRate="0.01")
    own = open_account(api, email="ana@example.com", credit_limit="300")["id"]
    shared = open_account(api, email="company@example.com", credit_limit="900")["id"]
    other = open_account(api, email="bruno@example.com")["id"]
    api.post(f"/accounts/{shared}/holders", json={"claims": {"email": "ana@example.com"}})
    purchase(api, own, "100", installments=2)
    purchase(api, other, "77")
    first, second = api.get(f"/accounts/{own}/invoices").json()["data"]
    api.put(
        f"/accounts/{own}/invoices/{first['id']}",
        json={"status": "Opened", "paymentLink": "https://pay.example/1"},
    )
    with store.database.write() as session:
        session.execute(
            update(Invoice)
            .where(Invoice.store_id == store.id, Invoice.public_id == first["id"])
            # 23:45 on 28 January: 3 calendar days before NOW (23:30 on the 31st), though
            # less than 3 × 24 hours.
            .values(due_at=datetime(2031, 1, 28, 23, 45, tzinfo=UTC))
        )
    client = customer_client(app)
    response = enter(client, link_for(store, own, "Ana@Example.com", now=NOW))
    assert response.status_code == 303 and response.headers["location"] == "/my-credits"
    cookie = SimpleCookie()
    cookie.load(response.headers["set-cookie"])
    morsel = cookie["cc_my_credits"]
    assert (
        morsel["httponly"] is True and morsel["path"] == "/my-credits" and morsel["samesite"].lower() == "lax"
    )
    page = client.get("/my-credits")
    assert page.status_code == 200
    # A link opens the one account it was issued for (ana's other account needs its own link).
    assert account_ids(page.text) == {own}
    assert "bruno@example.com" not in page.text and "$77.00" not in page.text
    # The overdue invoice: 3 days at 1% a day on 50.00 is 1.50 of interest, owed 51.50.
    overdue = page.text.split('class="invoices overdue"')[1].split("</ul>")[0]
    assert first["friendlyId"] in overdue and "3 days overdue" in overdue and "$51.50" in overdue
    assert 'href="https://pay.example/1"' in overdue and 'rel="noopener noreferrer"' in overdue
    opened = page.text.split('class="invoices open"')[1].split("</ul>")[0]
    assert second["friendlyId"] in opened and "$50.00" in opened
    assert page.headers["referrer-policy"] == "no-referrer"
    as_holder = customer_client(app)
    enter(as_holder, link_for(store, shared, "ana@example.com", now=NOW))
    held = as_holder.get("/my-credits").text
    assert account_ids(held) == {shared} and "(you are a holder)" in held


def test_a_link_of_store_a_shows_nothing_of_store_b(app, store, api, other_api):
    configure(api, myCreditsEnabled=True)
    configure(other_api, myCreditsEnabled=True)
    mine = open_account(api, email="both@example.com")["id"]
    theirs = open_account(other_api, email="both@example.com", credit_limit="4321")["id"]
    purchase(other_api, theirs, "12.34")
    client = customer_client(app)
    enter(client, link_for(store, mine, "both@example.com"))
    page = client.get("/my-credits")
    assert account_ids(page.text) == {mine}
    assert "$4,321.00" not in page.text and "$12.34" not in page.text


def test_links_expire_and_cannot_be_guessed(app, store, api, frozen_clock):
    frozen_clock.set(NOW)
    configure(api, myCreditsEnabled=True)
    account_id = open_account(api, email="late@example.com")["id"]
    client = customer_client(app)
    past = NOW - timedelta(hours=1)  # a 1-hour link issued then expires at NOW exactly
    expired = enter(client, link_for(store, account_id, "late@example.com", ttl=timedelta(hours=1), now=past))
    assert expired.status_code == 401 and "expired" in expired.text
    good = link_for(store, account_id, "late@example.com", now=NOW).split("token=")[1]
    changed = good[:-1] + ("A" if good[-1] != "A" else "B")
    forged = client.get(f"/my-credits/enter?token={changed}")
    assert forged.status_code == 401 and "not valid" in forged.text
    # A kept cookie stops working when its link expires, too.
    client.cookies.set(
        "cc_my_credits",
        link_for(store, account_id, "late@example.com", ttl=timedelta(hours=1), now=past).split("token=")[1],
        path="/my-credits",
    )
    stale = client.get("/my-credits")
    assert stale.status_code == 401 and "expired" in stale.text


def test_without_a_link_there_is_nothing_to_see(app):
    page = customer_client(app).get("/my-credits")
    assert page.status_code == 401 and "open the link the store sent you" in page.text.lower()


def test_a_user_token_opens_my_credits(app, store, api):
    configure(api, myCreditsEnabled=True)
    account_id = open_account(api, email="token@example.com")["id"]
    with store.database.read() as session:
        token = issue_user_token(
            app.state.secret_key,
            session.get(StoreRow, store.id),
            "token@example.com",
            ["Main Access"],
            timedelta(minutes=5),
        )
    client = customer_client(app)
    page = client.get("/my-credits", headers={"VtexIdclientAutCookie": token})
    assert page.status_code == 200 and account_ids(page.text) == {account_id}
    client.cookies.set("VtexIdclientAutCookie", token)
    assert account_ids(client.get("/my-credits").text) == {account_id}


def test_my_credits_follows_the_store_switch(app, store, api):
    account_id = open_account(api, email="off@example.com")["id"]
    with store.database.write() as session:
        try:
            links.issue_link(session, store.principal(), account_id, "off@example.com", timedelta(hours=1))
            raise AssertionError("a link was issued while My Credits is off")
        except links.Conflict as error:
            assert error.code == "MyCreditsDisabled"
    configure(api, myCreditsEnabled=True)
    client = customer_client(app)
    enter(client, link_for(store, account_id, "off@example.com"))
    assert client.get("/my-credits").status_code == 200
    configure(api, myCreditsEnabled=False)
    page = client.get("/my-credits")
    assert page.status_code == 403 and "not available" in page.text


def test_payment_instructions_are_shown_as_text(app, store, api):
    from tests.console.support import signed_in
    from tests.console.test_pages import configure_presentation

    account_id = open_account(api, email="pay@example.com")["id"]
    console = signed_in(app, store)
    configure_presentation(
        console,
        myCreditsEnabled="on",
        paymentInstructions="Bank 001\n<b>Agency</b> 1234",
        locale="pt_BR",
        currency="BRL",
    )
    client = customer_client(app)
    enter(client, link_for(store, account_id, "pay@example.com"))
    page = client.get("/my-credits").text
    assert "Bank 001\n&lt;b&gt;Agency&lt;/b&gt; 1234" in page
    assert "R$" in page and 'lang="pt-BR"' in page


def test_leaving_needs_the_page_token(app, store, api):
    configure(api, myCreditsEnabled=True)
    account_id = open_account(api, email="leave@example.com")["id"]
    client = customer_client(app)
    enter(client, link_for(store, account_id, "leave@example.com"))
    assert client.post("/my-credits/sign-out", data={"token": "x"}).status_code == 403
    token = re.search(r'name="token" value="([^"]+)"', client.get("/my-credits").text).group(1)
    left = client.post("/my-credits/sign-out", data={"token": token})
    assert left.status_code == 200 and 'cc_my_credits=""' in left.headers["set-cookie"]


def test_api_extension_issues_working_links(app, store, api, frozen_clock):
    frozen_clock.set(NOW)
    configure(api, myCreditsEnabled=True)
    account_id = open_account(api, email="api@example.com")["id"]
    links_path = f"/accounts/{account_id}/mycredits/links"
    created = api.post(links_path, json={"email": "api@example.com", "ttlMinutes": 30})
    assert created.status_code == 200, created.text
    body = created.json()
    assert body["creditAccountId"] == account_id and body["email"] == "api@example.com"
    assert body["status"] == "active" and body["revokedAt"] is None and len(body["id"]) == 32
    expires = datetime.fromisoformat(body["expiresAt"].replace("Z", "+00:00"))
    assert expires == datetime(2031, 2, 1, 0, 0, tzinfo=UTC)  # NOW + 30 minutes
    client = customer_client(app)
    enter(client, body["url"])
    assert account_ids(client.get("/my-credits").text) == {account_id}
    assert api.post(links_path, json={"email": "nope"}).status_code == 400
    assert api.post(links_path, json={"email": "api@example.com", "ttlMinutes": 0}).status_code == 400
    assert (
        api.post(links_path, json={"email": "api@example.com", "ttlMinutes": 7 * 24 * 60 + 1}).status_code
        == 400
    )
    assert api.post(links_path, json={"email": "api@example.com", "extra": 1}).status_code == 400
    assert (
        api.post("/accounts/no-such-account/mycredits/links", json={"email": "api@example.com"}).status_code
        == 404
    )
    reader = store.api(resources=["Read Invoices"])
    assert reader.post(links_path, json={"email": "api@example.com"}).status_code == 403
    configure(api, myCreditsEnabled=False)
    refused = api.post(links_path, json={"email": "api@example.com"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "MyCreditsDisabled"


def test_without_ttl_a_link_works_for_the_configured_default(app, store, api, frozen_clock):
    frozen_clock.set(NOW)
    configure(api, myCreditsEnabled=True)
    account_id = open_account(api, email="default@example.com")["id"]
    created = api.post(f"/accounts/{account_id}/mycredits/links", json={"email": "default@example.com"})
    assert created.status_code == 200, created.text
    expires = datetime.fromisoformat(created.json()["expiresAt"].replace("Z", "+00:00"))
    hours = app.state.settings.my_credits_link_ttl_hours
    assert hours == 72 and expires == NOW + timedelta(hours=hours) == datetime(2031, 2, 3, 23, 30, tzinfo=UTC)
