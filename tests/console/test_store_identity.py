"""The store's display name and logo (Settings → Documents) name it where people read: the
console's header and title, and My Credits. Without them, the internal name is shown."""

from base64 import b64encode
from io import BytesIO

from PIL import Image

from customer_credit.stores.models import StoreConfig
from tests.console.support import signed_in
from tests.helpers import configure, open_account
from tests.my_credits.test_my_credits import customer_client, enter, link_for


def png() -> bytes:
    out = BytesIO()
    Image.new("RGB", (8, 4), (20, 80, 160)).save(out, format="PNG")
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
    page = signed_in(app, store).get("/admin").text
    assert "<title>Dashboard · Casa Aurora Atacado</title>" in page
    assert f'src="data:image/png;base64,{b64encode(logo).decode()}"' in page

    account_id = open_account(api, email="brand@example.com")["id"]
    client = customer_client(app)
    mine = enter(client, link_for(store, account_id, "brand@example.com", now=frozen_clock.moment))
    if mine.status_code == 303:
        mine = client.get(mine.headers["location"])
    assert mine.status_code == 200, mine.text
    assert '<span class="store-name">Casa Aurora Atacado</span>' in mine.text
    assert "My Credits · Casa Aurora Atacado</title>" in mine.text
    assert "data:image/png;base64," in mine.text
