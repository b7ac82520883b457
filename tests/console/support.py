"""Operators and a signed-in console client for the route tests (no browser)."""

import re
import uuid

from starlette.testclient import TestClient

from customer_credit.stores.models import Store as StoreRow
from customer_credit.users import service as users

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_operator(store, role: str = "admin", email: str | None = None) -> str:
    email = email or f"{role}-{uuid.uuid4().hex[:10]}@example.com"
    with store.database.write() as session:
        users.create_operator(session, session.get(StoreRow, store.id), email, role, PASSWORD)
    return email


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no csrf_token on the page"
    return found.group(1)


class Console:
    """A browser-like client of /admin with its own cookie jar."""

    def __init__(self, app, *, base_url: str = "http://testserver"):
        self.client = TestClient(
            app, base_url=base_url, raise_server_exceptions=False, follow_redirects=False
        )

    def sign_in(self, email: str, password: str = PASSWORD, **extra):
        page = self.client.get("/admin/sign-in")
        assert page.status_code == 200, page.text
        return self.client.post(
            "/admin/sign-in",
            data={"email": email, "password": password, "csrf_token": csrf_of(page.text), **extra},
        )

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)

    def csrf(self) -> str:
        return csrf_of(self.client.get("/admin").text)

    def post(self, path: str, data: dict | None = None, *, token: bool = True, **kwargs):
        data = dict(data or {})
        if token:
            data["csrf_token"] = self.csrf()
        return self.client.post(path, data=data, **kwargs)


def signed_in(app, store, role: str = "admin") -> Console:
    console = Console(app)
    response = console.sign_in(make_operator(store, role))
    assert response.status_code == 303, response.text
    return console
