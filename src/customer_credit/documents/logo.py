"""The store's logo at an address of its own, `/logos/{store id}/{digest}`, so pages link to it
instead of carrying it inline: a browser fetches it once and keeps it (the address changes when
the logo does). The digest (the first 128 bits of its SHA-256) makes the address unguessable
and is checked on every request, so a store's id alone finds nothing, and a replaced logo's
old address answers 404. PNG and JPEG only (documents.service checks the upload)."""

import hashlib
from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from customer_credit.errors import NotFound
from customer_credit.stores import service as stores
from customer_credit.stores.models import StoreConfig

router = APIRouter(tags=["Documents (extension)"], include_in_schema=False)

PREFIX = "/logos"
_A_YEAR = 365 * 24 * 3600


# Every console and My Credits page names the logo: the digest is kept per logo (a bytes object
# caches its own hash, so a hit costs no pass over the image) instead of a SHA-256 per page.
@lru_cache(maxsize=16)
def digest_of(logo: bytes) -> str:
    return hashlib.sha256(logo).hexdigest()[:32]


def logo_path(config: StoreConfig) -> str | None:
    """Where the store's logo is served, or None without one."""
    logo = getattr(config, "logo", None)
    if not logo or not getattr(config, "logo_media_type", None):
        return None
    return f"{PREFIX}/{config.store_id}/{digest_of(logo)}"


@router.get(PREFIX + "/{store_id}/{digest}")
def store_logo(
    store_id: Annotated[int, Path(ge=1, le=2_147_483_647)], digest: str, request: Request
) -> Response:
    with request.app.state.db.read() as session:
        config = stores.get_config(session, store_id)
        logo, media_type = config.logo, config.logo_media_type
    if not logo or not media_type or len(digest) != 32 or digest_of(logo) != digest:
        raise NotFound("no such logo", code="LogoNotFound")
    return Response(
        content=logo,
        media_type=media_type,
        headers={
            # The address names these bytes alone: they may be kept for good.
            "Cache-Control": f"public, max-age={_A_YEAR}, immutable",
            "X-Content-Type-Options": "nosniff",
        },
    )
