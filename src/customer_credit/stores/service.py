"""Stores (tenants) and their configuration."""

import copy
import threading
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, cast

from sqlalchemy import Table, event, select
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.util import identity_key

from customer_credit.db.base import utcnow
from customer_credit.errors import Conflict, InvalidInput, NotFound
from customer_credit.stores.models import Store, StoreConfig

DEFAULT_STORE_NAME = "default"


def create_store(session: Session, name: str) -> Store:
    name = name.strip()
    if not name or len(name) > 100 or not name.replace("-", "").replace("_", "").isalnum():
        raise InvalidInput("a store name is 1 to 100 letters, digits, '-' or '_'")
    if session.scalar(select(Store).where(Store.name == name)) is not None:
        raise Conflict(f"store {name} already exists", code="StoreExists")
    store = Store(name=name)
    session.add(store)
    session.flush()
    return store


def get_store(session: Session, name: str) -> Store:
    store = session.scalar(select(Store).where(Store.name == name))
    if store is None:
        raise NotFound(f"no store named {name}", code="StoreNotFound")
    return store


def get_or_create_store(session: Session, name: str) -> Store:
    store = session.scalar(select(Store).where(Store.name == name))
    return store if store is not None else create_store(session, name)


def get_config(session: Session, store_id: int) -> StoreConfig:
    """The stored configuration, or the defaults (not saved) if none was ever set.

    Read from the process's snapshot while it is fresh (`config_cache`), and kept for the rest
    of the session (one transaction), so a purchase asks the database for it at most once and
    usually not at all. What comes back is the session's own copy, not attached to it: change
    the configuration with `save_config` (or a StoreConfig loaded with the session), never
    through this object. A configuration this session loaded or changed itself is the one
    returned."""
    kept = session.info.setdefault(_CONFIGS_KEPT, {})
    config = kept.get(store_id)
    if config is None:
        config = session.identity_map.get(identity_key(StoreConfig, store_id))
        if config is None:
            config = StoreConfig(**_config_values(session, store_id))
        kept[store_id] = config
    return config


_CONFIGS_KEPT = "customer_credit.store_configs"
_CONFIGS_CHANGED = "customer_credit.store_configs_changed"
_CONFIG_TABLE = cast(Table, StoreConfig.__table__)

# The configuration is read by nearly every money request (tolerance, growth rate, …) and by
# every invoice answer, and it rarely changes: each process keeps a snapshot per store for this
# long (docs/performance.md, Hot paths). A change committed through this process is seen at once
# here (the snapshot is dropped when the change is flushed and again when it commits); other
# processes see it within this time, as they do a revoked key (auth.service.KEY_CACHE_TTL_S).
CONFIG_CACHE_TTL_S = 2.0
CONFIG_CACHE_MAX_ENTRIES = 10_000


class _ConfigCache:
    """Immutable snapshots of store configurations (column name → value), keyed by the database
    they were read from and the store."""

    def __init__(self, ttl_s: float, max_entries: int):
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[tuple[Any, int], tuple[float, Mapping[str, Any]]] = {}
        # Bumped by every change: a snapshot read before a change committed is not stored after it.
        self.generation = 0
        self._lock = threading.Lock()

    def get(self, database: Any, store_id: int) -> Mapping[str, Any] | None:
        entry = self._entries.get((database, store_id))
        if entry is None or entry[0] <= time.monotonic():
            return None
        return entry[1]

    def put(self, database: Any, store_id: int, values: Mapping[str, Any], generation: int) -> None:
        with self._lock:
            if generation != self.generation:
                return
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[(database, store_id)] = (time.monotonic() + self.ttl_s, values)

    def forget(self, store_id: int | None = None) -> None:
        with self._lock:
            self.generation += 1
            if store_id is None:
                self._entries.clear()
                return
            for cached in [cached for cached in self._entries if cached[1] == store_id]:
                del self._entries[cached]


config_cache = _ConfigCache(CONFIG_CACHE_TTL_S, CONFIG_CACHE_MAX_ENTRIES)


def _config_values(session: Session, store_id: int) -> dict[str, Any]:
    """The columns of the store's configuration, as a fresh dict the caller may keep."""
    database = session.get_bind().engine.url
    values = config_cache.get(database, store_id)
    if values is None:
        generation = config_cache.generation
        row = session.execute(select(_CONFIG_TABLE).where(_CONFIG_TABLE.c.store_id == store_id)).first()
        values = MappingProxyType(dict(row._mapping) if row is not None else _default_values(store_id))
        config_cache.put(database, store_id, values, generation)
    # The notifications are a JSON document: a copy each, so no caller can change the snapshot.
    return {**values, "notifications": copy.deepcopy(values["notifications"])}


@event.listens_for(StoreConfig, "after_insert")
@event.listens_for(StoreConfig, "after_update")
@event.listens_for(StoreConfig, "after_delete")
def _config_changed(_mapper, _connection, config: StoreConfig) -> None:
    config_cache.forget(config.store_id)
    session = object_session(config)
    if session is not None:
        session.info.setdefault(_CONFIGS_CHANGED, set()).add(config.store_id)
        session.info.setdefault(_CONFIGS_KEPT, {})[config.store_id] = config


@event.listens_for(Session, "after_commit")
def _forget_committed_configs(session: Session) -> None:
    # Not at the release of a savepoint: the change is not committed yet.
    if session.get_nested_transaction() is None:
        session.info.pop(_CONFIGS_KEPT, None)
        for store_id in session.info.pop(_CONFIGS_CHANGED, ()):
            config_cache.forget(store_id)


@event.listens_for(Session, "after_soft_rollback")
def _forget_kept_configs(session: Session, rolled_back) -> None:
    if not rolled_back.nested:
        session.info.pop(_CONFIGS_KEPT, None)
        session.info.pop(_CONFIGS_CHANGED, None)


def _default_values(store_id: int) -> dict[str, Any]:
    return {
        "store_id": store_id,
        "daily_interest_rate_units": 0,
        "tax_rate_units": 0,
        "invoice_postponement_limit": 0,
        "max_postponement_days": 0,
        "default_credit_cents": 0,
        "growth_rate_units": 0,
        "my_credits_enabled": False,
        "tolerance_enabled": False,
        "automatic_account_creation_enabled": False,
        "postponement_enabled": False,
        "notifications": {"daysPrior": [], "daysAfter": []},
        "updated_at": None,
        "payment_instructions": None,
        "display_name": None,
        "logo": None,
        "logo_media_type": None,
        "attach_invoice_pdf": False,
        "locale": "en_US",
        "currency": "USD",
        "timezone": "UTC",
    }


def save_config(session: Session, store_id: int, values: dict) -> StoreConfig:
    config = session.get(StoreConfig, store_id, with_for_update=True)
    if config is None:
        config = StoreConfig(store_id=store_id)
        session.add(config)
    for name, value in values.items():
        setattr(config, name, value)
    config.updated_at = utcnow()
    session.flush()
    session.info.setdefault(_CONFIGS_KEPT, {})[store_id] = config
    return config
