"""Console security without a browser, on SQLite and PostgreSQL: sign-in, session cookie flags,
CSRF on every form, sign-out ending the session, viewers reading only, tenants apart, and
text from the database shown escaped."""

from http.cookies import SimpleCookie

from tests.console.support import Console, csrf_of, make_operator, signed_in
from tests.helpers import account, configure, dec, open_account, purchase


def _set_cookie(response, name: str) -> SimpleCookie:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            parsed = SimpleCookie()
            parsed.load(header)
            return parsed
    raise AssertionError(f"no Set-Cookie for {name}: {response.headers.get_list('set-cookie')}")


def test_pages_need_a_session(app):
    console = Console(app)
    response = console.get("/admin/accounts?q=abc")
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/sign-in?next=%2Fadmin%2Faccounts%3Fq%3Dabc"
    assert console.get("/admin/export/accounts.csv").status_code == 303


def test_wrong_password_is_refused_and_right_one_signs_in(app, store):
    email = make_operator(store)
    console = Console(app)
    refused = console.sign_in(email, "not the password at all")
    assert refused.status_code == 401
    assert "Wrong e-mail or password" in refused.text
    assert "cc_admin_session" not in console.client.cookies
    unknown = console.sign_in("nobody-" + email)
    assert unknown.status_code == 401
    accepted = console.sign_in(email.upper())  # e-mails are not case-sensitive
    assert accepted.status_code == 303
    assert accepted.headers["location"] == "/admin"
    assert console.get("/admin").status_code == 200


def test_session_cookie_is_signed_httponly_samesite_and_scoped(app, store):
    email = make_operator(store)
    response = Console(app).sign_in(email)
    cookie = _set_cookie(response, "cc_admin_session")["cc_admin_session"]
    assert cookie["httponly"] is True
    assert cookie["samesite"].lower() == "lax"
    assert cookie["path"] == "/admin"
    assert not cookie["secure"]  # plain http (a local install); see the https case below
    # The value is signed: a changed value is no session at all.
    forged = Console(app)
    forged.client.cookies.set("cc_admin_session", cookie.value[:-2] + "xx", path="/admin")
    assert forged.get("/admin").status_code == 303


def test_session_cookie_is_secure_over_https(app, store):
    email = make_operator(store)
    response = Console(app, base_url="https://testserver").sign_in(email)
    assert response.status_code == 303
    assert _set_cookie(response, "cc_admin_session")["cc_admin_session"]["secure"] is True


def test_sign_in_form_needs_its_own_token(app, store):
    email = make_operator(store)
    console = Console(app)
    console.get("/admin/sign-in")
    response = console.client.post(
        "/admin/sign-in", data={"email": email, "password": "correct horse battery staple"}
    )
    assert response.status_code == 403
    assert console.get("/admin").status_code == 303


def test_every_change_needs_the_csrf_token(app, store, api):
    account_id = open_account(api, credit_limit="100")["id"]
    console = signed_in(app, store)
    url = f"/admin/accounts/{account_id}/limit"
    missing = console.post(url, {"creditLimit": "900"}, token=False)
    wrong = console.client.post(url, data={"creditLimit": "900", "csrf_token": "0" * 64})
    other_site = console.client.post(
        url,
        data={"creditLimit": "900", "csrf_token": console.csrf()},
        headers={"Origin": "https://evil.example"},
    )
    for response in (missing, wrong, other_site):
        assert response.status_code == 403
        assert "did not come from this console" in response.text
    assert dec(account(api, account_id)["creditLimit"]) == dec("100")
    done = console.post(url, {"creditLimit": "900"})
    assert done.status_code == 303
    assert dec(account(api, account_id)["creditLimit"]) == dec("900")


def test_a_token_of_another_session_does_not_work(app, store, api):
    account_id = open_account(api, credit_limit="100")["id"]
    first = signed_in(app, store)
    second = signed_in(app, store)
    response = second.client.post(
        f"/admin/accounts/{account_id}/limit", data={"creditLimit": "5", "csrf_token": first.csrf()}
    )
    assert response.status_code == 403
    assert dec(account(api, account_id)["creditLimit"]) == dec("100")


def test_sign_out_ends_the_session_on_the_server(app, store):
    console = signed_in(app, store)
    stolen = console.client.cookies.get("cc_admin_session")
    response = console.post("/admin/sign-out")
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/sign-in"
    replay = Console(app)
    replay.client.cookies.set("cc_admin_session", stolen, path="/admin")
    assert replay.get("/admin").status_code == 303


def test_viewer_reads_but_cannot_change(app, store, api):
    configure(api, postponementEnabled=True, invoicePostponementLimit=3, maxPostponementDays=30)
    account_id = open_account(api, credit_limit="100")["id"]
    purchase(api, account_id, "10")
    invoice_id = api.get(f"/accounts/{account_id}/invoices").json()["data"][0]["id"]
    viewer = signed_in(app, store, "viewer")
    page = viewer.get(f"/admin/accounts/{account_id}")
    assert page.status_code == 200
    assert "Change limit" not in page.text and "Close account" not in page.text
    invoice_page = viewer.get(f"/admin/accounts/{account_id}/invoices/{invoice_id}")
    assert invoice_page.status_code == 200 and "Record payment" not in invoice_page.text
    assert viewer.get("/admin/settings").status_code == 200
    assert viewer.get("/admin/export/accounts.csv").status_code == 200
    token = csrf_of(page.text)  # the sign-out form's token is a valid one
    attempts = [
        (f"/admin/accounts/{account_id}/limit", {"creditLimit": "1"}),
        (f"/admin/accounts/{account_id}/close", {}),
        (f"/admin/accounts/{account_id}/invoices/{invoice_id}/pay", {}),
        (f"/admin/accounts/{account_id}/invoices/{invoice_id}/postpone", {"dueDays": "1"}),
        ("/admin/settings", {"dailyInterestRate": "0.5"}),
        ("/admin/accounts/new", {"document": "1", "documentType": "CPF", "email": "x@example.com"}),
    ]
    for url, data in attempts:
        response = viewer.client.post(url, data={**data, "csrf_token": token})
        assert response.status_code == 403, url
        assert "can read but not change" in response.text
    after = account(api, account_id)
    assert dec(after["creditLimit"]) == dec("100") and after["status"] == "Open"
    invoice = api.get(f"/accounts/{account_id}/invoices/{invoice_id}").json()
    assert invoice["status"] == "Opened" and invoice["postponements"] == 0


def test_an_operator_sees_nothing_of_another_store(app, store, api, other_api):
    theirs = open_account(other_api)["id"]
    purchase(other_api, theirs, "10")
    their_invoice = other_api.get(f"/accounts/{theirs}/invoices").json()["data"][0]
    console = signed_in(app, store)
    assert console.get(f"/admin/accounts/{theirs}").status_code == 404
    assert console.get(f"/admin/accounts/{theirs}/invoices/{their_invoice['id']}").status_code == 404
    listing = console.get("/admin/invoices")
    assert their_invoice["friendlyId"] not in listing.text
    assert theirs not in console.get("/admin/accounts").text
    assert theirs not in console.get("/admin/export/accounts.csv").text
    refused = console.post(f"/admin/accounts/{theirs}/limit", {"creditLimit": "1"})
    assert refused.status_code == 404
    assert dec(account(other_api, theirs)["creditLimit"]) != dec("1")


def test_observation_with_html_is_shown_escaped(app, store, api):
    account_id = open_account(api)["id"]
    purchase(api, account_id, "10")
    invoice_id = api.get(f"/accounts/{account_id}/invoices").json()["data"][0]["id"]
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    changed = api.put(
        f"/accounts/{account_id}/invoices/{invoice_id}", json={"status": "Opened", "observation": hostile}
    )
    assert changed.status_code == 200, changed.text
    console = signed_in(app, store)
    for url in (f"/admin/accounts/{account_id}/invoices/{invoice_id}", "/admin/invoices?observation=script"):
        page = console.get(url)
        assert page.status_code == 200
        assert "<script>alert" not in page.text and "<img src=x" not in page.text
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text


def test_pages_send_protective_headers(app, store):
    page = signed_in(app, store).get("/admin")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"


def test_sign_in_redirect_never_leaves_the_console(app, store):
    email = make_operator(store)
    console = Console(app)
    page = console.get("/admin/sign-in?next=https://evil.example/")
    response = console.client.post(
        "/admin/sign-in",
        data={
            "email": email,
            "password": "correct horse battery staple",
            "csrf_token": csrf_of(page.text),
            "next": "//evil.example/admin",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/admin"


def test_oversized_forms_are_refused_before_they_are_read(app):
    console = Console(app)
    console.get("/admin/sign-in")
    response = console.client.post(
        "/admin/sign-in",
        content=b"email=" + b"a" * (4 * 1024 * 1024),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413


def test_an_email_of_two_stores_chooses_one_at_sign_in(app, store, database, http):
    from tests.conftest import Store

    other = Store(database, http)
    email = make_operator(store)
    make_operator(other, "viewer", email=email)
    console = Console(app)
    asked = console.sign_in(email)
    assert asked.status_code == 400 and "choose one" in asked.text
    assert f'<option value="{other.name}"' in asked.text and f'<option value="{store.name}"' in asked.text
    chosen = console.client.post(
        "/admin/sign-in",
        data={
            "email": email,
            "password": "correct horse battery staple",
            "store": other.name,
            "csrf_token": csrf_of(asked.text),
        },
    )
    assert chosen.status_code == 303
    assert f'<span class="store">{other.name}</span>' in console.get("/admin").text
    assert "(viewer)" in console.get("/admin").text
