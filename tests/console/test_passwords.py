"""Operator passwords: Argon2id with the production cost, never stored in clear."""

import pytest

from customer_credit.errors import Conflict, InvalidInput
from customer_credit.stores.models import Store as StoreRow
from customer_credit.users import service as users
from customer_credit.users.models import Operator


def test_production_hash_is_argon2id_with_64_mib(store):
    users.configure_hasher()  # the defaults, as the service runs them
    try:
        with store.database.write() as session:
            operator = users.create_operator(
                session,
                session.get(StoreRow, store.id),
                "Cost@Example.com",
                "admin",
                "a long enough password",
            )
            stored = operator.password_hash
    finally:
        users.configure_hasher(time_cost=1, memory_kib=1024)
    assert stored.startswith("$argon2id$")
    assert users.hash_parameters(stored) == "m=65536,t=3,p=2"
    assert "a long enough password" not in stored


def test_operator_rules(store):
    with store.database.write() as session:
        row = session.get(StoreRow, store.id)
        with pytest.raises(InvalidInput):
            users.create_operator(session, row, "short@example.com", "admin", "too short")
        with pytest.raises(InvalidInput):
            users.create_operator(session, row, "role@example.com", "owner", "a long enough password")
        with pytest.raises(InvalidInput):
            users.create_operator(session, row, "not an e-mail", "viewer", "a long enough password")
        users.create_operator(session, row, "Same@Example.com", "viewer", "a long enough password")
        with pytest.raises(Conflict):
            users.create_operator(session, row, "same@example.com", "admin", "a long enough password")


def test_sign_in_upgrades_a_cheaper_hash(store):
    with store.database.write() as session:
        users.create_operator(
            session, session.get(StoreRow, store.id), "old@example.com", "admin", "a long enough password"
        )
    users.configure_hasher(time_cost=2, memory_kib=2048)
    try:
        with store.database.write() as session:
            operator = users.verify_sign_in(session, "old@example.com", "a long enough password", store.name)
            assert users.hash_parameters(operator.password_hash) == "m=2048,t=2,p=2"
    finally:
        users.configure_hasher(time_cost=1, memory_kib=1024)
    with store.database.read() as session:
        stored = session.get(Operator, operator.id).password_hash
    assert users.hash_parameters(stored) == "m=2048,t=2,p=2"


def test_same_email_in_two_stores_asks_which(store, database, http):
    from tests.conftest import Store

    other = Store(database, http)
    with database.write() as session:
        for row in (session.get(StoreRow, store.id), session.get(StoreRow, other.id)):
            users.create_operator(session, row, "twice@example.com", "admin", "a long enough password")
    with database.write() as session:
        with pytest.raises(InvalidInput) as asked:
            users.verify_sign_in(session, "twice@example.com", "a long enough password")
        assert set(asked.value.details[0]["choices"]) == {store.name, other.name}
        chosen = users.verify_sign_in(session, "twice@example.com", "a long enough password", other.name)
        assert chosen.store_id == other.id


def test_an_operator_signs_in_with_the_email_as_typed_at_creation(store):
    """Operators are stored in the normalised form (NFKC, case-folded): a sign-in and a lookup
    with the address as typed, non-ASCII letters included, find the same operator."""
    with store.database.write() as session:
        row = session.get(StoreRow, store.id)
        created = users.create_operator(session, row, "Straße@Example.com", "admin", "a long enough password")
        assert created.email == "strasse@example.com"
    with store.database.write() as session:
        row = session.get(StoreRow, store.id)
        signed_in = users.verify_sign_in(session, "Straße@Example.com", "a long enough password", store.name)
        assert signed_in.email == "strasse@example.com"
        assert users.find_operator(session, row, "STRASSE@example.com") is not None
