"""The public site in English and Spanish: which language a request reads in, and the catalogs.

The language comes from an explicit choice (`?lang=es` in the address, remembered in a `lang`
cookie on the main site), else the browser's `Accept-Language`, else English.  The framed
`/embed` page sets and reads no cookie: its language travels only in `?lang=`.  Staff pages,
the APIs, HSDS and feeds stay English (their words are part of a contract).

Catalogs are gettext `.po` files kept in `clearinghouse/translations/` (package data, so the
wheel carries them).  Each process compiles them in memory when the app starts (and, in debug
mode, again whenever the file changes): no `.mo` is built, committed or left to go stale, and
nothing has to be run after installing or editing a catalog.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import (
    Flask,
    Response,
    current_app,
    has_app_context,
    has_request_context,
    request,
    url_for,
)
from flask_babel import Babel, Domain, get_locale
from flask_babel import force_locale as force_locale
from flask_babel import gettext as gettext
from flask_babel import lazy_gettext as lazy_gettext
from flask_babel import ngettext as ngettext
from werkzeug.utils import cached_property

from clearinghouse.taxonomy import ConcernTerm, default_taxonomy

log = logging.getLogger(__name__)

LANGUAGES = ("en", "es")
DEFAULT_LANGUAGE = "en"
NAMES = {"en": "English", "es": "Español"}  # each in its own language, for the switch
PARAM = "lang"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
CATALOG_DIR = Path(__file__).resolve().parent / "translations"
DOMAIN = "messages"
# Blueprints and endpoints that read in the visitor's language; everything else is English.
TRANSLATED_BLUEPRINTS = frozenset({"public"})
ENGLISH_ONLY_ENDPOINTS = frozenset(
    {"public.search_atom", "public.search_pdf", "public.embed_script", "public.embed_theme"}
)
ENGLISH_ONLY_PATHS = ("/api/", "/hsds/", "/staff")
NO_COOKIE_ENDPOINTS = frozenset({"public.embed"})  # framed on other sites: no cookie at all


def N_(text: str) -> str:
    """Marks a string for the catalog where it is defined; it is translated where shown."""
    return text


def catalog_path(language: str) -> Path:
    return CATALOG_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def compiled(language: str) -> NullTranslations:
    """The language's catalog compiled from its .po: once per process (per edit in debug)."""
    if has_app_context() and current_app.debug:
        return _compiled_as_of(language, _stamp(catalog_path(language)))
    return _compiled_as_of(language, 0)


def _stamp(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return -1


@functools.cache
def _compiled_as_of(language: str, stamp: int) -> NullTranslations:
    path = catalog_path(language)
    if not path.is_file():
        return NullTranslations()
    return _compile(path, language, stamp)


@functools.cache
def _compile(path: Path, language: str, stamp: int) -> Translations:
    with path.open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)  # a fuzzy entry is not a translation yet
    buffer.seek(0)
    log.info("event=catalog_compiled language=%s messages=%d", language, len(catalog))
    return Translations(buffer, domain=DOMAIN)


class RepoCatalogs(Domain):
    """Flask-Babel's domain, reading the .po catalogs in the repository (see module doc)."""

    def get_translations(self) -> NullTranslations:
        return compiled(current_language())


class RepoBabel(Babel):
    @cached_property
    def domain_instance(self) -> Domain:
        return RepoCatalogs(domain=DOMAIN)


babel = RepoBabel()


def init_app(app: Flask) -> None:
    babel.init_app(app, default_locale=DEFAULT_LANGUAGE, locale_selector=request_language)
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.context_processor(lambda: {"language": language_links()})
    app.jinja_env.globals.update(
        concern_label=concern_label,
        concern_description=concern_description,
        concern_synonyms=concern_synonyms,
    )
    app.after_request(remember_choice)
    app.url_defaults(add_language_to_links)
    for language in LANGUAGES[1:]:
        compiled(language)  # a broken catalog fails at start-up, not on someone's first visit


def translated_request() -> bool:
    """Whether this request's page is one the visitor reads in their language."""
    if not has_request_context():
        return False
    if request.url_rule is None:  # no such address: the public "not found" page
        return not request.path.startswith(ENGLISH_ONLY_PATHS)
    return (
        request.blueprint in TRANSLATED_BLUEPRINTS
        and request.endpoint not in ENGLISH_ONLY_ENDPOINTS
    )


def explicit_choice() -> str | None:
    """The language named in the address (`?lang=es`), when it is one we have."""
    value = request.args.get(PARAM, "").strip().lower()
    return value if value in LANGUAGES else None


def request_language() -> str:
    """?lang=, else the remembered choice (not in a frame), else Accept-Language, else English."""
    if not translated_request():
        return DEFAULT_LANGUAGE
    chosen = explicit_choice()
    if chosen:
        return chosen
    if request.endpoint not in NO_COOKIE_ENDPOINTS:
        remembered = request.cookies.get(COOKIE, "")
        if remembered in LANGUAGES:
            return remembered
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def current_language() -> str:
    """ "en" or "es" for this request (or inside `force_locale`, e-mail); else English."""
    locale = get_locale() if has_app_context() else None
    return str(locale.language) if locale is not None else DEFAULT_LANGUAGE


def remember_choice(response: Response) -> Response:
    """An explicit `?lang=` on a main-site page is remembered for the next visit (a cookie);
    the answer varies with the browser's language (and, off `/embed`, with that cookie)."""
    if not translated_request():
        return response
    # A shared cache must not hand one reader's language to another.
    response.vary.add("Accept-Language")
    if request.endpoint in NO_COOKIE_ENDPOINTS:
        return response
    response.vary.add("Cookie")
    chosen = explicit_choice()
    if chosen and request.cookies.get(COOKIE) != chosen and response.status_code < 400:
        response.set_cookie(
            COOKIE, chosen, max_age=COOKIE_MAX_AGE, samesite="Lax", httponly=True, secure=False
        )
    return response


@dataclass(frozen=True)
class LanguageLink:
    code: str
    name: str
    url: str
    hreflang: str = ""


@dataclass(frozen=True)
class LanguageContext:
    """What base.html needs: <html lang>, the switch, the canonical address and alternates."""

    code: str
    param: str  # "es" when links must carry ?lang=es, else ""
    canonical: str
    alternates: tuple[LanguageLink, ...]
    switch: tuple[LanguageLink, ...]


def language_links() -> LanguageContext:
    if not translated_request():
        return LanguageContext(DEFAULT_LANGUAGE, "", "", (), ())
    code = current_language()
    urls = {language: page_url(language) for language in LANGUAGES}
    alternates = (
        *(LanguageLink(code, NAMES[code], urls[code], code) for code in LANGUAGES),
        LanguageLink(DEFAULT_LANGUAGE, "", page_url(None), "x-default"),
    )
    switch = tuple(
        LanguageLink(language, NAMES[language], urls[language])
        for language in LANGUAGES
        if language != code
    )
    return LanguageContext(
        code=code,
        param=code if code != DEFAULT_LANGUAGE else "",
        canonical=urls[code],
        alternates=alternates,
        switch=switch,
    )


def page_url(language: str | None) -> str:
    """This page's absolute address in `language` (None: the address that negotiates)."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != PARAM]
    if language is not None:
        args.append((PARAM, language))
    if request.endpoint is None:
        base = request.base_url
    else:
        base = url_for(
            request.endpoint, **(request.view_args or {}), _external=True, **{PARAM: None}
        )
    return base + ("?" + urlencode(args) if args else "")


def add_language_to_links(endpoint: str, values: dict[str, Any]) -> None:
    """`url_for` on a Spanish page links to Spanish pages (`?lang=es`), English ones stay bare."""
    if PARAM in values:
        if values[PARAM] is None:
            values.pop(PARAM)
        return
    if (
        not endpoint.startswith("public.")
        or endpoint in ENGLISH_ONLY_ENDPOINTS
        or not translated_request()
    ):
        return
    code = current_language()
    if code != DEFAULT_LANGUAGE:
        values[PARAM] = code


def language_name(code: str, english: Mapping[str, str]) -> str:
    """A language's name in the reader's language: "Spanish" in English, "Español" in Spanish."""
    shown = current_language()
    if shown == DEFAULT_LANGUAGE:
        return english.get(code, code)
    name = Locale.parse(shown).languages.get(code)
    return name[:1].upper() + name[1:] if name else english.get(code, code)


MessagePatterns = tuple[tuple["re.Pattern[str]", str], ...]
_SLOT = re.compile(r"%\\\((\w+)\\\)s")  # "%(value)s" once escaped by re.escape


def message_patterns(msgids: Iterable[str]) -> MessagePatterns:
    """Matchers for messages worded elsewhere with values in them: each `%(name)s` matches
    any text, so "'x' is not a number" is found to be "%(value)s is not a number"."""
    return tuple(
        (re.compile("^" + _SLOT.sub(r"(?P<\1>.+?)", re.escape(msgid)) + "$", re.S), msgid)
        for msgid in msgids
    )


def localized_message(message: str, patterns: MessagePatterns) -> str:
    """A message from a layer that words it in English, in the reader's language."""
    for pattern, msgid in patterns:
        found = pattern.match(message)
        if found:
            return gettext(msgid, **found.groupdict())
    return gettext(message)


def link_args() -> list[tuple[str, str]]:
    """The `lang` pair a link built by hand (not by url_for) must carry on this page."""
    code = current_language() if translated_request() else DEFAULT_LANGUAGE
    return [(PARAM, code)] if code != DEFAULT_LANGUAGE else []


def concern_label(slug: str, english: str) -> str:
    """A concern's label in the reader's language (seed_data/concerns_es.json)."""
    if current_language() == DEFAULT_LANGUAGE:
        return english
    term = default_taxonomy().get(slug)
    return (term.label_es if term is not None else "") or english


def concern_description(slug: str, english: str) -> str:
    if current_language() == DEFAULT_LANGUAGE:
        return english
    term = default_taxonomy().get(slug)
    return (term.description_es if term is not None else "") or english


def concern_synonyms(term: ConcernTerm) -> tuple[str, ...]:
    """The lay words a concern is found by, in the reader's language."""
    if current_language() == DEFAULT_LANGUAGE:
        return tuple(s for s in term.synonyms if s not in term.spanish_words)
    return tuple(s for s in term.spanish_words if s != term.label_es)


def translated(text: str) -> str:
    """A string marked with N_ where it was defined, in the reader's language."""
    return gettext(text) if text else text
