"""Staff screens in the staff's language, English or Spanish (issue 22 item 8).

S12: "a Spanish-first program makes Spanish the default for its contacts and its staff
screens" (Caminar Latino's staff work in Spanish). Text for contacts is not here: it lives in
scripts_text/ in both languages. The catalogue is outreach/web/translations/es; `make
translations` extracts, updates and compiles it, and tests/functional/test_staff_language.py
fails when a string is left unmarked or untranslated.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from babel import Locale
from babel.support import NullTranslations
from flask import Flask, g, has_request_context, request
from flask_babel import Babel, get_locale, get_translations, lazy_gettext
from jinja2 import pass_context
from jinja2.runtime import Context
from werkzeug.exceptions import HTTPException

from outreach.runtime import runtime
from outreach.services.intake import referrals
from outreach.web.language.service_sentences import say
from outreach.web.language.stored_words import words

if TYPE_CHECKING:
    from outreach.models import Program

LANGUAGES = ("en", "es")
DEFAULT = "en"
TRANSLATIONS = Path(__file__).parent.parent / "translations"


def init_app(app: Flask) -> None:
    Babel(
        app,
        locale_selector=staff_language,
        default_translation_directories=str(TRANSLATIONS),
        default_timezone="UTC",
    )
    app.jinja_env.globals["current_language"] = current_language
    # One lookup of the reader's catalogue per page, not one per word: the queue page asks for
    # some 700 words, and Flask-Babel's own callables look the catalogue up each time (a fifth
    # of the page's work in bench/web). The catalogue is taken when the page is rendered, so a
    # language changed earlier in the request (the Language page) is the one shown.
    app.context_processor(
        lambda: {PAGE_CATALOGUE: get_translations(), PAGE_LANGUAGE: current_language()}
    )
    app.jinja_env.filters["words"] = _page_words
    app.jinja_env.filters["say"] = _page_say
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_page_gettext,
        ngettext=_page_ngettext,
        newstyle=True,
        pgettext=_page_pgettext,
        npgettext=_page_npgettext,
    )


PAGE_CATALOGUE = "_page_catalogue"
PAGE_LANGUAGE = "_page_language"


def _catalogue(context: Context) -> NullTranslations:
    # A template imported without the page's context falls back to Flask-Babel's lookup.
    found: NullTranslations | None = context.get(PAGE_CATALOGUE)
    return found if found is not None else get_translations()


@pass_context
def _page_words(context: Context, value: object) -> str:
    language = context.get(PAGE_LANGUAGE)
    return words(value) if language is None else _remembered(language, "words", str(value))


@pass_context
def _page_say(context: Context, text: object) -> str:
    language = context.get(PAGE_LANGUAGE)
    if language is None or not isinstance(text, str):
        return say(text)
    return _remembered(language, "say", text)


@lru_cache(maxsize=4096)
def _remembered(language: str, how: str, text: str) -> str:
    # What a stored value or a service's sentence reads as depends on the language alone, and
    # the attempt log shows the same few hundred on every page. Called while a page in
    # `language` renders, so the first answer is already in that language.
    return words(text) if how == "words" else say(text)


@pass_context
def _page_gettext(context: Context, message: str) -> str:
    return _catalogue(context).ugettext(message)


@pass_context
def _page_ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return _catalogue(context).ungettext(singular, plural, n)


@pass_context
def _page_pgettext(context: Context, where: str, message: str) -> str:
    return _catalogue(context).upgettext(where, message)


@pass_context
def _page_npgettext(context: Context, where: str, singular: str, plural: str, n: int) -> str:
    return _catalogue(context).unpgettext(where, singular, plural, n)


def staff_language() -> str:
    """The signed-in user's own choice; else their programs' language; else the browser's."""
    user = g.get("user")
    if user is not None:
        return user_language(user.language, _program_languages(user.programs))
    best = request.accept_languages.best_match(LANGUAGES) if request else None
    return best or DEFAULT


def user_language(chosen: str | None, program_languages: Iterable[str]) -> str:
    """A user who chose a language gets it. Otherwise the language of their programs (S12):
    a user of several programs gets theirs when all of them share it, and English when they
    differ, as a user belongs to no single "home" program; they choose on the Language page."""
    if chosen in LANGUAGES:
        return str(chosen)
    found = {lang for lang in program_languages if lang in LANGUAGES}
    return found.pop() if len(found) == 1 else DEFAULT


def _program_languages(programs: Iterable[Program]) -> list[str]:
    # S12: a program's own setting (Caminar Latino's Spanish on the Georgia profile), else its
    # profile's, as for its contacts and letters.
    profiles = runtime().profiles
    return [referrals.program_language(program, profiles) for program in programs]


def current_language() -> str:
    """For `<html lang>`: the language the page is written in."""
    return str(get_locale() or DEFAULT)


def wall_clock(local: datetime, fmt: str) -> str:
    """A wall-clock time as `strftime` writes it, with day and month names ("%a", "%b") in
    the reader's language: "mar 17 nov 18:30" on a Spanish screen."""
    if has_request_context() and current_language() != DEFAULT:
        names = Locale.parse(current_language())
        day = names.days["format"]["abbreviated"][local.weekday()]
        month = names.months["format"]["abbreviated"][local.month]
        fmt = fmt.replace("%a", day).replace("%b", month)
    return local.strftime(fmt)


HTTP_TITLES = {
    400: lazy_gettext("Bad request"),
    401: lazy_gettext("Not signed in"),
    403: lazy_gettext("Not allowed"),
    404: lazy_gettext("Not found"),
    405: lazy_gettext("Not possible on this page"),
    409: lazy_gettext("Not possible now"),
    413: lazy_gettext("Too much was sent"),
    422: lazy_gettext("Please check what you entered"),
    429: lazy_gettext("Too many tries: wait a moment"),
}


def http_title(exc: HTTPException) -> str:
    """An HTTP error page's title in the reader's language; Werkzeug's English name else."""
    found = HTTP_TITLES.get(exc.code or 500)
    return str(found) if found is not None else str(exc.name)
