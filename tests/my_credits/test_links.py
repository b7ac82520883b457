"""My Credits links are stored and revocable, on SQLite and PostgreSQL: revoked by hand (API,
console, CLI) or when their account closes or their holder is removed; listed per account;
minted only with Create Checking Accounts and only for the owner or a holder; the token is
never stored; expiry follows the app's clock."""

import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from customer_credit.idempotency.models import IdempotencyRecord
from customer_credit.my_credits import links
from customer_credit.my_credits.models import MyCreditsLink
from tests.console.support import signed_in
from tests.console.test_cli import run
from tests.helpers import configure, open_account

T0 = datetime(2031, 3, 4, 12, 0, tzinfo=UTC)


def customer(app) -> TestClient:
    return TestClient(app, raise_server_exceptions=False, follow_redirects=False)


def token_of(url: str) -> str:
    return urlsplit(url).query.removeprefix("token=")


def opens(app, url: str) -> int:
    """The status of /my-credits for a customer who opened `url` (200 when the page shows)."""
    client = customer(app)
    entered = client.get(f"/my-credits/enter?token={token_of(url)}")
    if entered.status_code != 303:
        return entered.status_code
    return client.get("/my-credits").status_code


def mint(api, account_id: str, email: str, **body) -> dict:
    created = api.post(f"/accounts/{account_id}/mycredits/links", json={"email": email, **body})
    assert created.status_code == 200, created.text
    return created.json()


def listed(api, account_id: str) -> dict[str, dict]:
    response = api.get(f"/accounts/{account_id}/mycredits/links")
    assert response.status_code == 200, response.text
    return {link["id"]: link for link in response.json()["data"]}


@pytest.fixture
def shop(api):
    configure(api, myCreditsEnabled=True)
    return api


def test_a_revoked_link_stops_working_at_once(app, shop):
    account_id = open_account(shop, email="rev@example.com")["id"]
    link = mint(shop, account_id, "rev@example.com")
    client = customer(app)
    assert client.get(f"/my-credits/enter?token={token_of(link['url'])}").status_code == 303
    assert client.get("/my-credits").status_code == 200
    revoked = shop.delete(f"/accounts/{account_id}/mycredits/links/{link['id']}")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked" and revoked.json()["revokedReason"] == "revoked"
    # The browser that already entered keeps the token in its cookie: refused on the next visit.
    page = client.get("/my-credits")
    assert page.status_code == 410 and "withdrawn" in page.text and "rev@example.com" not in page.text
    again = customer(app).get(f"/my-credits/enter?token={token_of(link['url'])}")
    assert again.status_code == 410 and "Link withdrawn" in again.text
    # Revoking twice changes nothing; an unknown link is a 404.
    twice = shop.delete(f"/accounts/{account_id}/mycredits/links/{link['id']}")
    assert twice.status_code == 200 and twice.json()["revokedAt"] == revoked.json()["revokedAt"]
    unknown = shop.delete(f"/accounts/{account_id}/mycredits/links/{'0' * 32}")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "LinkNotFound"


def test_links_are_listed_per_account_without_their_tokens(app, shop, other_api):
    first = open_account(shop, email="one@example.com")["id"]
    second = open_account(shop, email="two@example.com")["id"]
    shop.post(f"/accounts/{first}/holders", json={"claims": {"email": "partner@example.com"}})
    a = mint(shop, first, "one@example.com")
    b = mint(shop, first, "partner@example.com", ttlMinutes=60)
    c = mint(shop, second, "two@example.com")
    shop.delete(f"/accounts/{first}/mycredits/links/{a['id']}")
    on_first = listed(shop, first)
    assert set(on_first) == {a["id"], b["id"]}
    assert on_first[a["id"]]["status"] == "revoked" and on_first[b["id"]]["status"] == "active"
    assert on_first[b["id"]]["email"] == "partner@example.com" and on_first[b["id"]]["createdBy"]
    assert all("url" not in link and "token" not in link for link in on_first.values())
    assert token_of(b["url"]) not in shop.get(f"/accounts/{first}/mycredits/links").text
    assert set(listed(shop, second)) == {c["id"]}
    # Another store sees neither the account nor its links, and cannot revoke them.
    assert other_api.get(f"/accounts/{first}/mycredits/links").status_code == 404
    assert other_api.delete(f"/accounts/{first}/mycredits/links/{b['id']}").status_code == 404
    # A link of one account cannot be revoked through another.
    assert shop.delete(f"/accounts/{second}/mycredits/links/{b['id']}").status_code == 404
    assert opens(app, b["url"]) == 200


def test_closing_the_account_revokes_its_links(app, shop):
    account_id = open_account(shop, email="closing@example.com")["id"]
    shop.post(f"/accounts/{account_id}/holders", json={"claims": {"email": "co@example.com"}})
    owner = mint(shop, account_id, "closing@example.com")
    holder = mint(shop, account_id, "co@example.com")
    assert shop.delete(f"/accounts/{account_id}").status_code == 200
    assert opens(app, owner["url"]) == 410 and opens(app, holder["url"]) == 410
    after = listed(shop, account_id)
    assert {link["status"] for link in after.values()} == {"revoked"}
    assert {link["revokedReason"] for link in after.values()} == {"account closed"}
    # A reopened account with the same id starts without links, and a closed one takes no new ones.
    reopened = shop.post(
        "/accounts",
        json={
            "document": account_id.split("_")[0],
            "documentType": "CPF",
            "email": "closing@example.com",
        },
    )
    assert reopened.status_code == 200 and listed(shop, account_id) == {}
    assert opens(app, owner["url"]) == 410


def test_removing_a_holder_revokes_the_links_issued_to_them(app, shop):
    account_id = open_account(shop, email="boss@example.com")["id"]
    added = shop.post(
        f"/accounts/{account_id}/holders", json={"claims": {"email": "Temp@Example.com"}}
    ).json()
    holder_link = mint(shop, account_id, "temp@example.com")
    owner_link = mint(shop, account_id, "boss@example.com")
    assert opens(app, holder_link["url"]) == 200
    assert shop.delete(f"/accounts/{account_id}/holders/{added['id']}").status_code == 200
    assert opens(app, holder_link["url"]) == 410
    assert opens(app, owner_link["url"]) == 200
    statuses = {
        link["email"]: (link["status"], link["revokedReason"]) for link in listed(shop, account_id).values()
    }
    assert statuses == {
        "temp@example.com": ("revoked", "holder removed"),
        "boss@example.com": ("active", None),
    }
    # The removed holder can no longer be sent a link.
    refused = shop.post(f"/accounts/{account_id}/mycredits/links", json={"email": "temp@example.com"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "NotOwnerOrHolder"


def test_a_read_only_key_lists_but_cannot_mint_or_revoke(store, shop):
    account_id = open_account(shop, email="ro@example.com")["id"]
    link = mint(shop, account_id, "ro@example.com")
    reader = store.api(resources=["Read Checking Accounts"])
    minted = reader.post(f"/accounts/{account_id}/mycredits/links", json={"email": "ro@example.com"})
    assert minted.status_code == 403
    assert reader.delete(f"/accounts/{account_id}/mycredits/links/{link['id']}").status_code == 403
    assert set(listed(reader, account_id)) == {link["id"]}
    assert listed(shop, account_id)[link["id"]]["status"] == "active"
    creator = store.api(resources=["Create Checking Accounts"])
    assert (
        creator.post(f"/accounts/{account_id}/mycredits/links", json={"email": "ro@example.com"}).status_code
        == 200
    )
    assert creator.delete(f"/accounts/{account_id}/mycredits/links/{link['id']}").status_code == 200


def test_a_link_goes_only_to_the_owner_or_a_holder(store, shop):
    account_id = open_account(shop, email="owner@example.com")["id"]
    other = open_account(shop, email="stranger@example.com")["id"]
    refused = shop.post(f"/accounts/{account_id}/mycredits/links", json={"email": "stranger@example.com"})
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "NotOwnerOrHolder" and error["details"][0]["field"] == "email"
    assert listed(shop, account_id) == {} and listed(shop, other) == {}
    # The rule is the service's, whoever calls it.
    with store.database.write() as session, pytest.raises(links.Conflict) as raised:
        links.issue_link(session, store.principal(), account_id, "stranger@example.com", timedelta(hours=1))
    assert raised.value.code == "NotOwnerOrHolder"
    assert mint(shop, account_id, " OWNER@example.com ")["email"] == "owner@example.com"


def test_the_token_is_stored_only_as_its_hash(store, shop):
    account_id = open_account(shop, email="hash@example.com")["id"]
    link = mint(shop, account_id, "hash@example.com")
    token = token_of(link["url"])
    assert len(token) >= 43  # 32 random bytes, base64url
    with store.database.read() as session:
        row = session.scalar(select(MyCreditsLink).where(MyCreditsLink.public_id == link["id"]))
        assert row.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
        every_value = [
            str(value) for stored in session.execute(select(MyCreditsLink.__table__)) for value in stored
        ]
    assert every_value and all(token not in value for value in every_value)


def test_a_retried_creation_gives_the_same_link_and_stores_no_token(store, shop):
    account_id = open_account(shop, email="retry@example.com")["id"]
    path = f"/accounts/{account_id}/mycredits/links"
    headers = {"Idempotency-Key": "link-retry-1"}
    first = shop.post(path, json={"email": "retry@example.com"}, headers=headers)
    again = shop.post(path, json={"email": "retry@example.com"}, headers=headers)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert first.json()["url"] and again.json()["url"] is None
    assert again.json()["id"] == first.json()["id"] and set(listed(shop, account_id)) == {first.json()["id"]}
    token = token_of(first.json()["url"])
    with store.database.read() as session:
        stored = session.scalars(
            select(IdempotencyRecord.response_body).where(IdempotencyRecord.store_id == store.id)
        ).all()
    assert stored and all(token.encode() not in (body or b"") for body in stored)


def test_expiry_follows_the_injected_clock(app, store, shop, frozen_clock):
    frozen_clock.set(T0)
    account_id = open_account(shop, email="clock@example.com")["id"]
    link = mint(shop, account_id, "clock@example.com", ttlMinutes=60)
    assert link["expiresAt"].startswith("2031-03-04T13:00:00")
    client = customer(app)
    assert client.get(f"/my-credits/enter?token={token_of(link['url'])}").status_code == 303
    frozen_clock.set(T0 + timedelta(minutes=59, seconds=59))
    assert client.get("/my-credits").status_code == 200
    assert listed(shop, account_id)[link["id"]]["status"] == "active"
    frozen_clock.set(T0 + timedelta(hours=1))
    late = client.get("/my-credits")
    assert late.status_code == 401 and "expired" in late.text
    assert listed(shop, account_id)[link["id"]]["status"] == "expired"
    # The service takes the same clock from its caller.
    with store.database.read() as session:
        token = token_of(link["url"])
        assert links.read_link(session, token, now=T0 + timedelta(minutes=30)).email == "clock@example.com"
        with pytest.raises(links.Unauthorized) as raised:
            links.read_link(session, token, now=T0 + timedelta(hours=2))
    assert raised.value.code == "LinkExpired"


def test_the_console_lists_and_revokes_links(app, store, shop):
    account_id = open_account(shop, email="desk@example.com")["id"]
    console = signed_in(app, store)
    page_url = f"/admin/accounts/{account_id}"
    created = console.post(f"{page_url}/my-credits-links", {"email": "desk@example.com", "hours": "5"})
    assert created.status_code == 200, created.text
    assert "It is shown only now" in created.text
    url = created.text.split('id="my-credits-url" class="wide mono" type="text" readonly value="')[1].split(
        '"'
    )[0]
    assert opens(app, url) == 200
    (link,) = listed(shop, account_id).values()
    page = console.get(page_url).text
    assert f'data-link="{link["id"]}"' in page and token_of(url) not in page
    assert f"{page_url}/my-credits-links/{link['id']}/revoke" in page
    revoked = console.post(f"{page_url}/my-credits-links/{link['id']}/revoke")
    assert revoked.status_code == 303
    assert opens(app, url) == 410
    after = console.get(page_url).text
    assert "revoked" in after and f"{page_url}/my-credits-links/{link['id']}/revoke" not in after
    # Without the CSRF token nothing is revoked or created; a viewer cannot do either.
    second = mint(shop, account_id, "desk@example.com")
    assert console.post(f"{page_url}/my-credits-links/{second['id']}/revoke", token=False).status_code == 403
    viewer = signed_in(app, store, role="viewer")
    assert viewer.post(f"{page_url}/my-credits-links/{second['id']}/revoke").status_code == 403
    assert listed(shop, account_id)[second["id"]]["status"] == "active"


def test_the_console_refuses_a_link_for_someone_else(app, store, shop):
    account_id = open_account(shop, email="mine@example.com")["id"]
    console = signed_in(app, store)
    refused = console.post(
        f"/admin/accounts/{account_id}/my-credits-links", {"email": "else@example.com", "hours": "5"}
    )
    assert refused.status_code == 409 and "holders" in refused.text
    too_long = console.post(
        f"/admin/accounts/{account_id}/my-credits-links", {"email": "mine@example.com", "hours": "169"}
    )
    assert too_long.status_code == 400
    assert listed(shop, account_id) == {}


def test_the_cli_creates_lists_and_revokes_links(app, store, shop, settings, tmp_path):
    env = {
        "CUSTOMER_CREDIT_DATABASE_URL": settings.database_url,
        "CUSTOMER_CREDIT_DATA_DIR": str(tmp_path),
        "CUSTOMER_CREDIT_SECRET_KEY": settings.secret_key,
        "CUSTOMER_CREDIT_LOG_LEVEL": "WARNING",
    }
    account_id = open_account(shop, email="cli@example.com")["id"]
    base = ("--store", store.name, "--account", account_id)
    stranger = run(env, "links", "create", *base, "--email", "nobody@example.com")
    assert stranger.returncode != 0 and "holders' e-mail" in stranger.stderr
    created = run(
        env, "links", "create", *base, "--email", "cli@example.com", "--base-url", "http://testserver"
    )
    assert created.returncode == 0, created.stderr
    url = created.stdout.strip()
    assert opens(app, url) == 200
    (link,) = listed(shop, account_id).values()
    assert link["createdBy"] == "cli"
    shown = run(env, "links", "list", *base)
    assert shown.returncode == 0 and f"{link['id']}\tcli@example.com\tactive" in shown.stdout
    assert token_of(url) not in shown.stdout
    revoked = run(env, "links", "revoke", link["id"], *base)
    assert revoked.returncode == 0, revoked.stderr
    assert opens(app, url) == 410
    assert f"{link['id']}\tcli@example.com\trevoked" in run(env, "links", "list", *base).stdout


@pytest.mark.parametrize("bad_id", ["x" * 300, "../../etc", "%00", "ﬁ\u202e", "' OR '1'='1"])
def test_junk_ids_and_bodies_are_4xx(shop, bad_id):
    account_id = open_account(shop, email="junk@example.com")["id"]
    for response in (
        shop.get(f"/accounts/{bad_id}/mycredits/links"),
        shop.post(f"/accounts/{bad_id}/mycredits/links", json={"email": "junk@example.com"}),
        shop.delete(f"/accounts/{account_id}/mycredits/links/{bad_id}"),
        shop.delete(f"/accounts/{bad_id}/mycredits/links/{bad_id}"),
        shop.post(f"/accounts/{account_id}/mycredits/links", json={"email": bad_id}),
        shop.post(
            f"/accounts/{account_id}/mycredits/links",
            json={"email": "junk@example.com", "ttlMinutes": bad_id},
        ),
        shop.post(f"/accounts/{account_id}/mycredits/links", json={"email": ["junk@example.com"]}),
    ):
        assert 400 <= response.status_code < 500, (response.request.url, response.status_code, response.text)
        assert "error" in response.json()
    assert listed(shop, account_id) == {}
