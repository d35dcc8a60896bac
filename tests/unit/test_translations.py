"""The Spanish catalog is complete, correct and compiles; Spanish schedules and concerns read."""

from __future__ import annotations

import json
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from clearinghouse import i18n, schedule_es
from clearinghouse.schedule import Rule
from clearinghouse.taxonomy import DEFAULT_PATH, Taxonomy, default_taxonomy, normalize, spanish_path

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "_l": None}


def extracted() -> dict[str | tuple[str, ...], str]:
    """Every public msgid, as `pybabel extract -F babel.cfg` (scripts/translations) finds it."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: dict[str | tuple[str, ...], str] = {}
    for filename, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        found.setdefault(message, filename)
    return found


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    with i18n.catalog_path("es").open("rb") as po:
        return read_po(po, locale="es")


@pytest.fixture(scope="module")
def public_msgids() -> dict[str | tuple[str, ...], str]:
    return extracted()


def test_extraction_finds_the_public_pages_and_messages(
    public_msgids: dict[str | tuple[str, ...], str],
) -> None:
    files = set(public_msgids.values())
    for expected in (
        "templates/base.html",
        "templates/public/group.html",
        "templates/public/results.html",
        "clearinghouse/public/forms.py",
        "clearinghouse/public/ics.py",
        "clearinghouse/vocab.py",
    ):
        assert expected in files
    assert len(public_msgids) > 300


def test_every_public_string_has_a_spanish_translation(
    catalog: Catalog, public_msgids: dict[str | tuple[str, ...], str]
) -> None:
    untranslated = []
    for msgid, filename in public_msgids.items():
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        entry = catalog.get(key)
        strings = (
            list(entry.string)
            if entry and isinstance(entry.string, tuple)
            else [entry and entry.string]
        )
        if entry is None or entry.fuzzy or not all(strings):
            untranslated.append(f"{filename}: {key!r}")
    assert not untranslated, "no Spanish for:\n" + "\n".join(untranslated)


def test_the_catalog_holds_nothing_the_code_no_longer_says(
    catalog: Catalog, public_msgids: dict[str | tuple[str, ...], str]
) -> None:
    wanted = {msgid[0] if isinstance(msgid, tuple) else msgid for msgid in public_msgids}
    stale = [
        message.id
        for message in catalog
        if message.id
        and (message.id[0] if isinstance(message.id, tuple) else message.id) not in wanted
    ]
    assert not stale, "run ./scripts/translations: stale entries " + repr(stale)


def test_translations_keep_their_placeholders(catalog: Catalog) -> None:
    problems = [
        f"{message.id!r}: {error}" for message, errors in catalog.check() for error in errors
    ]
    assert not problems, problems


def test_the_catalog_compiles_at_startup_and_fuzzy_entries_stay_english(tmp_path: Path) -> None:
    translations = i18n.compiled("es")
    assert translations.gettext("Find a group") == "Buscar un grupo"
    assert translations.ngettext("%(num)d group", "%(num)d groups", 3) == "%(num)d grupos"
    draft = tmp_path / "messages.po"
    draft.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        '#, fuzzy\nmsgid "Find a group"\nmsgstr "Borrador"\n\n'
        'msgid "Search"\nmsgstr "Buscar"\n',
        encoding="utf-8",
    )
    compiled = i18n._compile(draft, "es", draft.stat().st_mtime_ns)
    assert compiled.gettext("Find a group") == "Find a group"
    assert compiled.gettext("Search") == "Buscar"


def test_a_missing_catalog_reads_english() -> None:
    assert i18n.compiled("fr").gettext("Find a group") == "Find a group"


# -- schedules and dates in Spanish ----------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        (
            Rule("weekly", ("TU", "TH"), time(19), time(20, 30), "America/Chicago"),
            "Los martes y jueves, 7:00–8:30 p. m. hora del Centro",
        ),
        (
            Rule("weekly", ("SA",), time(10), time(13), "America/New_York"),
            "Los sábados, 10:00 a. m.–1:00 p. m. hora del Este",
        ),
        (
            Rule("monthly", ("2TU", "4TU"), time(18, 30), None, None),
            "El segundo y cuarto martes de cada mes, 6:30 p. m.",
        ),
        (Rule("monthly", ("-1FR",), None, None, None), "El último viernes de cada mes"),
        (Rule("arrangement", (), None, None, None, "call first"), "A convenir — call first"),
    ],
)
def test_schedules_read_in_spanish(rule: Rule, words: str) -> None:
    assert schedule_es.describe(rule) == words


def test_dates_and_your_time_in_spanish() -> None:
    start = datetime(2026, 11, 24, 23, 30, tzinfo=ZoneInfo("America/Los_Angeles"))
    assert schedule_es.day_text(start) == "martes, 24 de noviembre"
    assert schedule_es.short_day_text(start) == "mar, 24 nov"
    assert schedule_es.long_date(start) == "24 de noviembre de 2026"
    assert schedule_es.your_time(start, "America/New_York") == "mié 2:30 a. m. en su hora"
    assert schedule_es.your_time(start, "America/Los_Angeles") == ""


# -- the concern taxonomy in Spanish ---------------------------------------------------------


def test_every_concern_has_a_spanish_label_and_description() -> None:
    taxonomy = default_taxonomy()
    missing = [t.slug for t in taxonomy if not (t.label_es and t.description_es)]
    assert not missing


def test_spanish_words_never_take_an_english_word_from_another_concern() -> None:
    english = Taxonomy.from_data(json.loads(DEFAULT_PATH.read_text(encoding="utf-8")))
    spanish = json.loads(spanish_path(DEFAULT_PATH).read_text(encoding="utf-8"))
    taken = []
    for slug, entry in spanish.items():
        if slug == "about":
            continue
        for word in [entry["label"], *entry["synonyms"]]:
            meant = english.lookup(word)
            if meant is not None and meant != slug:
                taken.append(f"{word!r} ({slug}) already means {meant}")
    assert not taken, taken


@pytest.mark.parametrize(
    ("spanish", "english"),
    [("duelo", "grief"), ("alcoholismo", "alcoholism"), ("depresión", "depression")],
)
def test_spanish_lay_words_name_the_same_concern(spanish: str, english: str) -> None:
    taxonomy = default_taxonomy()
    assert taxonomy.resolve(spanish) == taxonomy.resolve(english) != []
    assert normalize(spanish) != normalize(english)


def test_a_spanish_file_naming_an_unknown_concern_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown concern slugs: no-such"):
        default_taxonomy().with_spanish({"no-such": {"label": "Nada"}})
