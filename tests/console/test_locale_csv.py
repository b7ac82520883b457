"""CSV imports as a Brazilian Excel saves them (csv_io/importing.py): `;` separators, a UTF-8
BOM or Windows-1252 bytes, and amounts in the store's locale (1.500,00), plain 1500.00 still
taken; on SQLite and PostgreSQL (the database_url fixture)."""

from tests.console.support import signed_in
from tests.console.test_csv import apply_preview, finish, outcomes, post_file, upload
from tests.console.test_pages import configure_presentation
from tests.helpers import account, dec, open_account, purchase

HEADER = "id;document;documentType;email;creditLimit;tolerance;description\n"


def preview_bytes(console, kind: str, data: bytes):
    return finish(console, post_file(console, kind, data, "excel.csv"))


def test_a_pt_br_excel_file_imports(app, store, api):
    existing = open_account(api, credit_limit="100", document="11122233344", email="velho@example.com")["id"]
    console = signed_in(app, store)
    configure_presentation(console, locale="pt_BR", currency="BRL")
    text = (
        "\ufeff" + HEADER + f"{existing};11122233344;CPF;velho@example.com;1.500,00;0,05;\n"
        ";99988877766;CPF;joao@example.com;1500,50;;Padaria São João\n"
        ";99988877700;CPF;plain@example.com;1500.00;0.1;\n"
    )
    preview = upload(console, "accounts", text)
    assert preview.status_code == 200, preview.text
    found = outcomes(preview.text)
    assert found[2][0] == "update" and "creditLimit: 100.00 → 1500.00" in found[2][1]
    assert found[3][0] == "create" and found[4][0] == "create"

    applied = apply_preview(console, preview.text)
    assert "Aplicadas: 3 alterações" in applied.text  # a pt_BR store reads its outcome in Portuguese
    changed = account(api, existing)
    assert dec(changed["creditLimit"]) == dec("1500") and dec(changed["tolerance"]) == dec("0.05")
    created = account(api, "99988877766_CPF")
    assert dec(created["creditLimit"]) == dec("1500.50") and created["description"] == "Padaria São João"
    plain = account(api, "99988877700_CPF")
    assert dec(plain["creditLimit"]) == dec("1500") and dec(plain["tolerance"]) == dec("0.1")
    assert {outcome for outcome, _ in outcomes(upload(console, "accounts", text).text).values()} == {
        "unchanged"
    }


def test_windows_1252_bytes_and_refusals_in_the_locale(app, store, api):
    console = signed_in(app, store)
    configure_presentation(console, locale="pt_BR", currency="BRL")
    data = (
        HEADER + ";12312312312;CPF;cp@example.com;2.000,00;;Açúcar & Cia\n"
        ";45645645645;CPF;bad@example.com;1,2,3;;\n"
        ";78978978978;CPF;cents@example.com;10,555;;\n"
    ).encode("cp1252")
    preview = preview_bytes(console, "accounts", data)
    assert preview.status_code == 400
    found = outcomes(preview.text)
    assert found[2][0] == "create" and "credit limit 2000.00" in found[2][1]
    # The messages are in the store's language (pt_BR); the example is in its notation.
    assert found[3][0] == "error" and found[3][1].startswith("creditLimit: ") and "25.000,00" in found[3][1]
    assert found[4][0] == "error" and found[4][1].startswith("creditLimit: ") and found[4][1] != found[3][1]

    good = b"\n".join(data.splitlines()[:2]) + b"\n"
    checked = preview_bytes(console, "accounts", good)
    assert checked.status_code == 200
    applied = apply_preview(console, checked.text)
    assert "Aplicada: 1 alteração" in applied.text
    created = account(api, "12312312312_CPF")
    assert dec(created["creditLimit"]) == dec("2000") and created["description"] == "Açúcar & Cia"


def test_a_semicolon_settlement_file_with_locale_amounts(app, store, api):
    account_id = open_account(api, credit_limit="5000")["id"]
    purchase(api, account_id, "1500")
    invoice = api.get(f"/accounts/{account_id}/invoices").json()["data"][0]
    console = signed_in(app, store)
    configure_presentation(console, locale="pt_BR", currency="BRL")
    text = f"friendlyId;creditValue\n{invoice['friendlyId']};1.000,50\n"
    applied = upload(console, "settlements", text, apply=True)
    assert applied.status_code == 200, applied.text
    paid = api.get(f"/accounts/{account_id}/invoices/{invoice['id']}").json()
    assert dec(paid["creditValue"]) == dec("1000.50")
