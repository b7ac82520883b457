"""The API reference pages load everything they need from this server (no CDN), so /docs works
on a machine with no internet access."""

import re

import pytest

ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']|url: ?["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_reference_pages_load_only_local_assets(http, page):
    response = http.get(page)
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assets = [first or second for first, second in ASSET.findall(response.text)]
    assert assets, response.text
    for asset in assets:
        assert not re.match(r"^(https?:)?//", asset), f"{page} loads {asset} from another host"
        loaded = http.get(asset)
        assert loaded.status_code == 200, asset
        assert len(loaded.content) > 0


def test_swagger_ui_script_is_the_real_bundle(http):
    page = http.get("/docs").text
    script = next(src for src in re.findall(r'src="([^"]+)"', page) if src.endswith(".js"))
    bundle = http.get(script)
    assert bundle.status_code == 200
    assert len(bundle.content) > 500_000
    assert b"SwaggerUIBundle" in bundle.content
