import pytest

from customer_credit.users import service as users


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes():
    """Argon2id with 1 MiB and one pass: the behaviour under test is the same, and the suite
    does not spend its time hashing (tests/console/test_passwords.py checks the real cost)."""
    users.configure_hasher(time_cost=1, memory_kib=1024)
    yield
    users.configure_hasher()
