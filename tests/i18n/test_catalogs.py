"""The catalogs: every string the console, My Credits and the e-mails mark for translation has
a Portuguese and a Spanish translation that keeps its placeholders, and the store's locale
picks the language."""

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from customer_credit import i18n

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def marked_strings() -> set[str | tuple[str, ...]]:
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: set[str | tuple[str, ...]] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT / "src"), method_map, options_map
    ):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


@pytest.fixture(scope="module")
def strings():
    found = marked_strings()
    assert len(found) > 30  # the extraction itself works
    return found


@pytest.mark.parametrize("language", ["pt_BR", "es"])
def test_every_marked_string_is_translated_with_its_placeholders(strings, language):
    with (i18n.LOCALES / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=language)
    missing, broken = [], []
    for message in strings:
        key = message if isinstance(message, str) else message[0]
        entry = catalog.get(key)
        if entry is None or not entry.string or (isinstance(entry.string, tuple) and not all(entry.string)):
            missing.append(key)
            continue
        originals = [message] if isinstance(message, str) else list(message)
        translated = [entry.string] if isinstance(entry.string, str) else list(entry.string)
        wanted = set().union(*(set(PLACEHOLDER.findall(text)) for text in originals))
        if any(set(PLACEHOLDER.findall(text)) - wanted for text in translated) or not all(
            wanted <= set(PLACEHOLDER.findall(text)) | {"num"} for text in translated
        ):
            broken.append(key)
    assert not missing, f"{language}: not translated: {sorted(missing)[:20]}"
    assert not broken, f"{language}: placeholders differ: {broken[:20]}"


@pytest.mark.parametrize(
    ("locale", "language"),
    [
        ("pt_BR", "pt_BR"),
        ("pt-BR", "pt_BR"),
        ("pt_PT", "pt_BR"),
        ("es_AR", "es"),
        ("es", "es"),
        ("en_US", "en"),
        ("de_DE", "en"),
        ("", "en"),
        (None, "en"),
        ("not a locale!", "en"),
    ],
)
def test_the_store_locale_picks_the_catalog(locale, language):
    assert i18n.language_of(locale) == language


def test_the_active_language_holds_inside_the_block_only():
    assert i18n.gettext("Dashboard") == "Dashboard"
    with i18n.activated("pt_BR"):
        assert i18n.gettext("Dashboard") == "Painel"
        with i18n.activated("es_MX"):
            assert i18n.gettext("Dashboard") == "Panel"
        assert i18n.ngettext("%(num)s open account", "%(num)s open accounts", 1) == "%(num)s conta aberta"
        assert i18n.ngettext("%(num)s open account", "%(num)s open accounts", 2) == "%(num)s contas abertas"
    assert i18n.gettext("Dashboard") == "Dashboard"
    assert i18n.gettext("a string nobody marked") == "a string nobody marked"
