"""The store's display name and logo (Settings → Documents) name it where people read: the
console's header and title, and My Credits. Without them, the internal name is shown."""

import hashlib
from io import BytesIO

from PIL import Image

from customer_credit.stores.models import StoreConfig
from tests.console.support import signed_in
from tests.helpers import configure, open_account
from tests.my_credits.test_my_credits import customer_client, enter, link_for


def png(color: tuple[int, int, int] = (20, 80, 160)) -> bytes:
    out = BytesIO()
    Image.new("RGB", (8, 4), color).save(out, format="PNG")
    return out.getvalue()


def brand(store, **values) -> None:
    with store.database.write() as session:  # through the ORM, which tells the config cache
        config = session.get(StoreConfig, store.id)
        for name, value in values.items():
            setattr(config, name, value)


def test_without_a_display_name_the_console_shows_the_product_and_store_names(app, store):
    page = signed_in(app, store).get("/admin").text
    assert "<title>Dashboard · Customer Credit</title>" in page
    assert f'<span class="store">{store.name}</span>' in page
    assert 'class="logo"' not in page


def test_the_display_name_and_logo_head_the_console_and_my_credits(app, store, api, frozen_clock):
    configure(api, myCreditsEnabled=True)
    logo = png()
    brand(store, display_name="Casa Aurora Atacado", logo=logo, logo_media_type="image/png")
    console = signed_in(app, store)
    page = console.get("/admin").text
    assert "<title>Dashboard · Casa Aurora Atacado</title>" in page
    # Linked, not inline: the page stays small and the browser keeps the image.
    address = f"/logos/{store.id}/{hashlib.sha256(logo).hexdigest()[:32]}"
    assert f'src="{address}"' in page and "base64" not in page

    account_id = open_account(api, email="brand@example.com")["id"]
    client = customer_client(app)
    mine = enter(client, link_for(store, account_id, "brand@example.com", now=frozen_clock.moment))
    if mine.status_code == 303:
        mine = client.get(mine.headers["location"])
    assert mine.status_code == 200, mine.text
    assert '<span class="store-name">Casa Aurora Atacado</span>' in mine.text
    assert "My Credits · Casa Aurora Atacado</title>" in mine.text
    assert f'src="{address}"' in mine.text


def test_the_logo_is_served_at_its_digest_and_a_replaced_one_is_gone(app, store, api, http):
    configure(api, myCreditsEnabled=True)  # a stored configuration to hold the logo
    first, second = png(), png(color=(200, 40, 40))
    brand(store, logo=first, logo_media_type="image/png")
    address = f"/logos/{store.id}/{hashlib.sha256(first).hexdigest()[:32]}"
    served = http.get(address)  # no session: My Credits' customers and e-mail readers see it too
    assert served.status_code == 200
    assert served.content == first
    assert served.headers["content-type"] == "image/png"
    assert "immutable" in served.headers["cache-control"]
    assert served.headers["x-content-type-options"] == "nosniff"

    assert http.get(f"/logos/{store.id}/{'0' * 32}").status_code == 404  # the id alone finds nothing
    assert http.get(f"/logos/{store.id}/short").status_code == 404
    assert http.get(f"/logos/{2**40}/{'0' * 32}").status_code in (400, 404, 422)

    brand(store, logo=second)
    assert http.get(address).status_code == 404  # the old address no longer answers
    replaced = http.get(f"/logos/{store.id}/{hashlib.sha256(second).hexdigest()[:32]}")
    assert replaced.status_code == 200 and replaced.content == second

    brand(store, logo=None, logo_media_type=None)
    assert http.get(f"/logos/{store.id}/{hashlib.sha256(second).hexdigest()[:32]}").status_code == 404
