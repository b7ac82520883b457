"""The language of what people read: the console, My Credits and the e-mails.

Catalogs are gettext `.po` files under `locales/<language>/LC_MESSAGES/messages.po`, kept
with Babel (`make translations` extracts new strings and merges them in). They are read
from the `.po` text at first use and cached, so no compiled `.mo` file has to be committed
or built at install time.

The language follows the store's locale: pt_BR -> Brazilian Portuguese, es_* -> Spanish,
anything else -> English (the msgids). Which one applies is a context variable set for the
request (or the e-mail being rendered) with `activated(locale)`; `gettext` and `ngettext`
read it, so a Python message and a template string agree on the language.

API errors are not translated: integrations read English codes and messages.
"""

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = Path(__file__).parent / "locales"
DOMAIN = "messages"
LANGUAGES = ("en", "pt_BR", "es")

_active: ContextVar[str] = ContextVar("customer_credit_language", default="en")


def language_of(locale: str | None) -> str:
    """The catalog for a store locale: an exact catalog (pt_BR), else its language (es)."""
    if not locale:
        return "en"
    try:
        parsed = Locale.parse(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return "en"
    full = str(parsed)
    if full in LANGUAGES:
        return full
    if parsed.language == "pt":
        return "pt_BR"
    if parsed.language in LANGUAGES:
        return parsed.language
    return "en"


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> NullTranslations:
    path = LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == "en" or not path.exists():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled, domain=DOMAIN)


def active_language() -> str:
    return _active.get()


@contextlib.contextmanager
def activated(locale: str | None) -> Iterator[str]:
    """Use the catalog of `locale` (a store locale such as pt_BR) inside the block."""
    token = _active.set(language_of(locale))
    try:
        yield _active.get()
    finally:
        _active.reset(token)


def activate(locale: str | None) -> None:
    """Use the catalog of `locale` for the rest of this context (one request)."""
    _active.set(language_of(locale))


def gettext(message: str) -> str:
    return translations(_active.get()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return translations(_active.get()).ngettext(singular, plural, count)


def pgettext(context: str, message: str) -> str:
    return str(translations(_active.get()).pgettext(context, message))


def N_(message: str) -> str:  # noqa: N802 (the name gettext tools look for)
    """Marks a string for the catalogs without translating it: a word kept in data (a status)
    and translated where it is shown."""
    return message


_ = gettext
