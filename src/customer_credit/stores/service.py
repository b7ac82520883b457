"""Stores (tenants) and their configuration."""

from sqlalchemy import select
from sqlalchemy.orm import Session

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

    Kept for the rest of the session (one transaction): the session's identity map holds
    objects weakly, so a configuration nobody kept a reference to was SELECTed again by every
    rule that asked for it (several times per purchase)."""
    kept = session.info.setdefault(_CONFIGS_KEPT, {})
    config = kept.get(store_id)
    if config is None:
        config = session.get(StoreConfig, store_id) or _default_config(store_id)
        kept[store_id] = config
    return config


_CONFIGS_KEPT = "customer_credit.store_configs"


def _default_config(store_id: int) -> StoreConfig:
    return StoreConfig(
        store_id=store_id,
        daily_interest_rate_units=0,
        tax_rate_units=0,
        invoice_postponement_limit=0,
        max_postponement_days=0,
        default_credit_cents=0,
        growth_rate_units=0,
        my_credits_enabled=False,
        tolerance_enabled=False,
        automatic_account_creation_enabled=False,
        postponement_enabled=False,
        notifications={"daysPrior": [], "daysAfter": []},
        payment_instructions=None,
        display_name=None,
        logo=None,
        logo_media_type=None,
        attach_invoice_pdf=False,
        locale="en_US",
        currency="USD",
        timezone="UTC",
    )


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
