"""The body guard refuses at the door with the domain's error classes, in the error shape."""

from tests.contract import is_error_shape


def _refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert is_error_shape(response)
    assert response.json()["error"]["code"] == code


def test_the_door_answers_in_the_error_shape(app, api):
    too_big = b'{"value": "' + b"1" * app.state.settings.max_body_bytes + b'"}'
    _refused(
        api.post("/accounts", content=too_big, headers={"Content-Type": "application/json"}),
        413,
        "PayloadTooLarge",
    )
    _refused(
        api.post("/accounts", content=b"document=1", headers={"Content-Type": "text/plain"}),
        415,
        "UnsupportedMediaType",
    )
    _refused(
        api.post(
            "/accounts", content=b"{}", headers={"Content-Type": "application/json", "Content-Length": "x"}
        ),
        400,
        "BadRequest",
    )
    _refused(api.get("/accounts/a%00b"), 400, "InvalidPath")
