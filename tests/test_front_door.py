"""The bare address (what a newcomer opens first) leads somewhere useful: the admin console."""


def test_root_redirects_to_the_console(http):
    response = http.get("/", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/admin"


def test_root_lands_on_a_console_page(http):
    response = http.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.url.path.startswith("/admin")


def test_root_is_not_part_of_the_api_reference(http):
    assert "/" not in http.get("/openapi.json").json()["paths"]
