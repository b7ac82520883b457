"""Console sign-in throttling, kept in the database so that every server process counts the
same attempts (the scheme and its reasons: docs/decisions.md, "Item 8").

Three counters see every attempt:
- the pair (e-mail, address): a few free failures, then a wait that doubles with each further
  failure. This is what stops one client guessing one operator's password;
- the address, over every e-mail: more free failures, then a doubling wait. This stops one
  address spraying one password over many e-mails;
- the e-mail, over every address: as many free failures, then a doubling wait with a short
  ceiling. This slows a guess spread over many addresses; an address the e-mail has signed in
  from before skips it, so an attacker cannot lock the operator out of their usual place.

An attempt is counted as a failure *before* its password is checked, under a row lock on each
counter, so concurrent attempts can never get more checks than the limits allow. A successful
sign-in takes its own count back and clears its pair. A refused attempt counts nothing (else an
attacker would keep the operator's e-mail waiting forever). Counters forget after a quiet day.
"""

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from customer_credit.users.models import SignInCounter
from customer_credit.validation import normalize_email

PAIR, EMAIL, IP = "pair", "email", "ip"
NO_WAIT = timedelta(0)
# Counters are never loaded as ORM objects, so the session has nothing to keep in step.
NO_ORM_SYNC = {"synchronize_session": False}

Key = tuple[str, str, str]  # (scope, e-mail, address); the part a scope does not use is ''


@dataclass(frozen=True)
class Backoff:
    """`free` failures without waiting; from then on each failure makes the next attempt wait
    `first_wait`, doubled for every failure beyond `free`, at most `longest_wait`."""

    free: int
    first_wait: timedelta
    longest_wait: timedelta

    def wait_after(self, failures: int) -> timedelta:
        if failures < self.free:
            return NO_WAIT
        doublings = min(failures - self.free, 32)  # 2**32 minutes is past any ceiling already
        return min(self.longest_wait, self.first_wait * 2**doublings)


@dataclass(frozen=True)
class Policy:
    pair: Backoff = Backoff(free=5, first_wait=timedelta(minutes=1), longest_wait=timedelta(hours=1))
    ip: Backoff = Backoff(free=20, first_wait=timedelta(minutes=1), longest_wait=timedelta(hours=1))
    email: Backoff = Backoff(free=20, first_wait=timedelta(minutes=1), longest_wait=timedelta(minutes=15))
    # A counter with no failure for this long starts again from zero.
    forget_after: timedelta = timedelta(hours=24)
    # An address the e-mail signed in from within this long skips the e-mail's counter.
    known_for: timedelta = timedelta(days=90)

    def backoff(self, scope: str) -> Backoff:
        return {PAIR: self.pair, IP: self.ip, EMAIL: self.email}[scope]


class SignInThrottled(Exception):
    def __init__(self, retry_after: timedelta):
        super().__init__(f"too many failed sign-ins; retry after {retry_after}")
        self.retry_after = retry_after

    @property
    def retry_after_s(self) -> int:
        return max(1, math.ceil(self.retry_after.total_seconds()))


def address_of(host: str | None) -> str:
    """What a client is counted under: its IP address; for IPv6 its /64, the block one
    subscriber usually holds (else each of 2**64 addresses would get its own allowance)."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return (host or "unknown")[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _keys(email: str, ip: str) -> list[Key]:
    email = normalize_email(email)
    # Sorted: every transaction locks the counters in the same order, so none deadlock.
    return sorted([(PAIR, email, ip), (EMAIL, email, ""), (IP, "", ip)])


def _where(key: Key):
    scope, email, ip = key
    return (SignInCounter.scope == scope, SignInCounter.email == email, SignInCounter.ip == ip)


def _lock(session: Session, key: Key, now: datetime):
    """The counter's row, created if new, locked until the transaction ends (one atomic
    INSERT … ON CONFLICT DO UPDATE … RETURNING; SQLite's write transaction is exclusive)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    scope, email, ip = key
    insert = dialect.insert(SignInCounter).values(scope=scope, email=email, ip=ip, failures=0, updated_at=now)
    upsert = insert.on_conflict_do_update(
        index_elements=["scope", "email", "ip"], set_={"updated_at": insert.excluded.updated_at}
    ).returning(SignInCounter.failures, SignInCounter.last_failure_at, SignInCounter.last_success_at)
    return session.execute(upsert).one()


class SignInThrottle:
    """Holds no state of its own, only the policy: the counters are rows, and `now` comes
    from the caller (the request's clock, customer_credit.clock)."""

    def __init__(self, policy: Policy | None = None):
        self.policy = policy or Policy()

    def reserve(self, session: Session, email: str, ip: str, now: datetime) -> None:
        """Counts this attempt as a failure on each counter, before the password is checked;
        or raises SignInThrottled while a counter still makes its client wait. The caller lets
        the exception end its transaction, so a refused attempt counts nothing."""
        counters = {key: _lock(session, key, now) for key in _keys(email, ip)}
        pair = next(row for (scope, _e, _i), row in counters.items() if scope == PAIR)
        known = pair.last_success_at is not None and now - pair.last_success_at < self.policy.known_for
        wait = max(
            self._wait_left(scope, row, now)
            for (scope, _e, _i), row in counters.items()
            if not (scope == EMAIL and known)
        )
        if wait > NO_WAIT:
            raise SignInThrottled(wait)
        for key, row in counters.items():
            failures = 0 if self._forgotten(row, now) else row.failures
            session.execute(
                update(SignInCounter)
                .where(*_where(key))
                .values(failures=failures + 1, last_failure_at=now, updated_at=now),
                execution_options=NO_ORM_SYNC,
            )

    def succeeded(self, session: Session, email: str, ip: str, now: datetime) -> None:
        """The password was right: clears the pair (and remembers the address as known) and
        takes back this attempt's count from the e-mail and the address, whose other failures
        stay (else one valid account would let an address wipe its own record)."""
        for key in _keys(email, ip):
            values: dict[str, object]
            if key[0] == PAIR:
                values = {"failures": 0, "last_failure_at": None, "last_success_at": now}
            else:
                values = {"failures": case((SignInCounter.failures > 0, SignInCounter.failures - 1), else_=0)}
            session.execute(
                update(SignInCounter).where(*_where(key)).values(updated_at=now, **values),
                execution_options=NO_ORM_SYNC,
            )
        self._forget_stale(session, now)

    def _forgotten(self, row, now: datetime) -> bool:
        return row.last_failure_at is None or now - row.last_failure_at >= self.policy.forget_after

    def _wait_left(self, scope: str, row, now: datetime) -> timedelta:
        if self._forgotten(row, now):
            return NO_WAIT
        backoff = self.policy.backoff(scope).wait_after(row.failures)
        # Never more than the backoff itself: a clock set back (by NTP, or a restored VM) puts
        # the last failure in the future, which would otherwise lock a sign-in out for as long.
        return min(backoff, max(NO_WAIT, row.last_failure_at + backoff - now))

    def _forget_stale(self, session: Session, now: datetime) -> None:
        """Deletes counters an attack left behind: untouched for `forget_after` and not a known
        address. Rows another transaction holds are skipped, not waited for."""
        stale = (
            select(SignInCounter.scope, SignInCounter.email, SignInCounter.ip)
            .where(
                SignInCounter.updated_at < now - self.policy.forget_after,
                or_(
                    SignInCounter.last_success_at.is_(None),
                    SignInCounter.last_success_at < now - self.policy.known_for,
                ),
            )
            .limit(1000)
            .with_for_update(skip_locked=True)
        )
        session.execute(
            delete(SignInCounter).where(
                tuple_(SignInCounter.scope, SignInCounter.email, SignInCounter.ip).in_(stale)
            ),
            execution_options=NO_ORM_SYNC,
        )
