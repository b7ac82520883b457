"""The store's identity on documents, set in the console's settings: the printed name and a logo
(PNG or JPEG by its magic bytes, at most 256 KiB, an image that decodes), removing it, and the
viewer's read-only view. On SQLite and PostgreSQL."""

import hashlib

import pytest

from customer_credit.documents import service as documents
from customer_credit.errors import InvalidInput
from customer_credit.stores import service as stores
from tests.console.support import signed_in
from tests.documents.support import has_image, jpeg, pdf_text, png
from tests.helpers import open_account, purchase


def identity(store) -> tuple[str | None, bytes | None, str | None]:
    with store.database.read() as session:
        config = stores.get_config(session, store.id)
        return config.display_name, config.logo, config.logo_media_type


def save(console, *, name: str = "", logo: tuple | None = None, remove: bool = False):
    data = {"displayName": name}
    if remove:
        data["removeLogo"] = "on"
    files = {"logo": logo} if logo else {"logo": ("", b"", "application/octet-stream")}
    return console.post("/admin/settings/documents", data, files=files)


def invoice_pdf(api) -> bytes:
    account_id = open_account(api)["id"]
    purchase(api, account_id, "10")
    (invoice,) = api.get(f"/accounts/{account_id}/invoices").json()["data"]
    response = api.get(f"/accounts/{account_id}/invoices/{invoice['id']}/pdf")
    assert response.status_code == 200, response.text
    return response.content


def test_an_admin_sets_the_name_and_logo_and_removes_the_logo(app, store, api):
    console = signed_in(app, store)
    page = console.get("/admin/settings")
    assert page.status_code == 200
    assert 'action="/admin/settings/documents" enctype="multipart/form-data"' in page.text
    assert "Remove the logo" not in page.text

    logo = png()
    saved = save(console, name="  Printed Name S.A.  ", logo=("logo.png", logo, "image/png"))
    assert saved.status_code == 303 and saved.headers["location"] == "/admin/settings#documents"
    assert identity(store) == ("Printed Name S.A.", logo, "image/png")
    page = console.get("/admin/settings")
    assert f'src="/logos/{store.id}/{hashlib.sha256(logo).hexdigest()[:32]}"' in page.text
    assert "Remove the logo" in page.text
    assert 'value="Printed Name S.A."' in page.text
    rendered = invoice_pdf(api)
    assert has_image(rendered) and "Printed Name S.A." in pdf_text(rendered)

    # A JPEG, whatever name and type the browser sends, is known by its first bytes.
    picture = jpeg()
    assert (
        save(console, name="Printed Name S.A.", logo=("photo.bin", picture, "text/plain")).status_code == 303
    )
    assert identity(store)[1:] == (picture, "image/jpeg")
    assert has_image(invoice_pdf(api))

    # Saving without a new file keeps the logo; the box takes it away.
    assert save(console, name="Printed Name S.A.").status_code == 303
    assert identity(store)[1] == picture
    assert save(console, name="", remove=True).status_code == 303
    assert identity(store) == (None, None, None)
    rendered = invoice_pdf(api)
    assert not has_image(rendered) and store.name in pdf_text(rendered)


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (("logo.png", b"this is not an image at all", "image/png"), "must be a PNG or JPEG image"),
        (("logo.gif", b"GIF89a" + b"\x00" * 100, "image/gif"), "must be a PNG or JPEG image"),
        (("logo.png", png(400, 400, noise=True), "image/png"), "must be at most 256 KiB"),
        (
            ("logo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "image/png"),
            "is not a readable PNG or JPEG image",
        ),
        (("logo.jpg", jpeg()[:200], "image/jpeg"), "is not a readable PNG or JPEG image"),
        (("logo.png", png(2500, 10), "image/png"), "must be at most 2000 x 2000 pixels"),
    ],
)
def test_the_upload_refuses_what_is_not_a_small_png_or_jpeg(app, store, upload, message):
    console = signed_in(app, store)
    logo = png()
    assert save(console, name="Kept", logo=("logo.png", logo, "image/png")).status_code == 303
    refused = save(console, name="Changed", logo=upload)
    assert refused.status_code == 400, refused.text
    assert f"Logo: {message}" in refused.text
    assert 'value="Changed"' in refused.text  # what was typed stays in the form
    assert identity(store) == ("Kept", logo, "image/png")  # nothing saved


def test_the_name_is_checked(app, store):
    console = signed_in(app, store)
    refused = save(console, name="x" * 201)
    assert refused.status_code == 400 and "must be at most 200 characters" in refused.text
    assert identity(store)[0] is None


def test_a_viewer_sees_the_section_but_cannot_change_it(app, store):
    viewer = signed_in(app, store, role="viewer")
    page = viewer.get("/admin/settings")
    assert page.status_code == 200 and 'id="documents"' in page.text
    refused = save(viewer, name="Nope", logo=("logo.png", png(), "image/png"))
    assert refused.status_code == 403
    assert identity(store) == (None, None, None)


def test_clean_logo_at_the_service():
    data = png()
    assert documents.clean_logo(data) == (data, "image/png")
    assert documents.clean_logo(jpeg())[1] == "image/jpeg"
    for bad in (b"", b"\xff\xd8\xff" + b"\x00" * 50, b"x" * (documents.MAX_LOGO_BYTES + 1)):
        with pytest.raises(InvalidInput) as refused:
            documents.clean_logo(bad)
        assert refused.value.details[0]["field"] == "logo"
