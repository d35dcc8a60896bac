"""The public site in Spanish: choosing the language, links that keep it, and what reads in it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html import unescape
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from icalendar import Calendar

from clearinghouse.extensions import db
from clearinghouse.models import Group
from clearinghouse.search import get_backend
from clearinghouse.taxonomy import Taxonomy
from indexer.sync import sync
from tests.api_support import api_headers, get_json

__all__ = ["api_headers"]  # a fixture the tests below use


SPANISH = {"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"}
ENGLISH = {"Accept-Language": "en-US,en;q=0.9"}


def html(response: Any) -> str:
    return unescape(response.get_data(as_text=True))


@pytest.fixture
def form_client(app: Flask) -> FlaskClient:
    app.config["WTF_CSRF_ENABLED"] = False
    return app.test_client()


@pytest.fixture
def grief_group(make_group: Callable[..., Group], app: Flask, taxonomy: Taxonomy) -> Group:
    group = make_group(
        languages=["en", "es"],
        accessibility=["wheelchair"],
        online={"url": "https://meet.example.org/duelo"},
        attendance="hybrid",
        meetings=[
            {
                "freq": "weekly",
                "byday": ["TU"],
                "start": "19:00",
                "end": "20:30",
                "timezone": "America/Chicago",
            }
        ],
    )
    sync(db.session(), get_backend(), taxonomy)
    return group


# -- which language ------------------------------------------------------------------------


def test_english_by_default_and_spanish_from_accept_language(client: FlaskClient) -> None:
    english = html(client.get("/"))
    assert '<html lang="en">' in english and "Find a support group" in english
    spanish = html(client.get("/", headers=SPANISH))
    assert '<html lang="es">' in spanish
    assert "Buscar un grupo de apoyo" in spanish and "Find a support group" not in spanish


def test_an_explicit_choice_beats_accept_language_and_is_remembered(client: FlaskClient) -> None:
    response = client.get("/?lang=es", headers=ENGLISH)
    assert '<html lang="es">' in html(response)
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("lang="))
    assert "lang=es" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # The next visit, with no parameter and an English browser, stays Spanish...
    assert '<html lang="es">' in html(client.get("/about", headers=ENGLISH))
    # ...until the visitor switches back.
    assert '<html lang="en">' in html(client.get("/about?lang=en", headers=SPANISH))
    assert '<html lang="en">' in html(client.get("/about", headers=SPANISH))


def test_pages_say_they_vary_by_language_for_caches(client: FlaskClient) -> None:
    vary = client.get("/").headers["Vary"]
    assert "Accept-Language" in vary and "Cookie" in vary
    assert "Accept-Language" in client.get("/embed").headers["Vary"]


def test_an_unknown_language_is_ignored_not_an_error(client: FlaskClient) -> None:
    response = client.get("/search?lang=xx", headers=ENGLISH)
    assert response.status_code == 200
    assert '<html lang="en">' in html(response)
    assert not any(c.startswith("lang=") for c in response.headers.getlist("Set-Cookie"))


def test_every_public_page_has_a_visible_switch_to_the_other_language(
    client: FlaskClient, grief_group: Group
) -> None:
    for url in ("/", "/concerns", "/search?q=grief", f"/groups/{grief_group.slug}", "/about"):
        page = html(client.get(url))
        switch = re.search(r'<a href="([^"]+)" hreflang="es" lang="es" data-language-switch>', page)
        assert switch, url
        assert "lang=es" in switch[1]
        spanish = html(client.get(switch[1]))
        back = re.search(
            r'<a href="([^"]+)" hreflang="en" lang="en" data-language-switch>', spanish
        )
        assert back and "English</a>" in spanish[back.end() : back.end() + 12], url
        assert '<html lang="en">' in html(client.get(back[1]))  # and remembered: English again


def test_links_on_a_spanish_page_keep_the_language(client: FlaskClient, grief_group: Group) -> None:
    page = html(client.get("/search?q=grief&near=60614&lang=es"))
    public_links = [
        href
        for href in re.findall(r'<a[^>]* href="(/[^"]*)"', page)
        if not href.startswith(("/static", "/search.pdf", "/search.atom"))
    ]
    assert public_links
    missing = [href for href in public_links if "lang=es" not in href]
    assert not missing, missing
    assert re.search(r'<input type="hidden" name="lang" value="es">', page)


def test_english_pages_keep_their_addresses(client: FlaskClient, grief_group: Group) -> None:
    page = html(client.get("/search?q=grief", headers=ENGLISH))
    assert f'href="/groups/{grief_group.slug}"' in page
    assert "lang=" not in " ".join(re.findall(r'<a[^>]* href="(/groups/[^"]*)"', page))


def test_canonical_and_hreflang_alternates(client: FlaskClient, grief_group: Group) -> None:
    page = html(client.get(f"/groups/{grief_group.slug}?lang=es"))
    base = f"http://localhost/groups/{grief_group.slug}"
    assert f'<link rel="canonical" href="{base}?lang=es">' in page
    assert f'<link rel="alternate" hreflang="en" href="{base}?lang=en">' in page
    assert f'<link rel="alternate" hreflang="es" href="{base}?lang=es">' in page
    assert f'<link rel="alternate" hreflang="x-default" href="{base}">' in page


def test_the_embed_takes_lang_from_its_address_and_sets_no_cookie(client: FlaskClient) -> None:
    response = client.get("/embed?concern=grief-loss&lang=es", headers=ENGLISH)
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    page = html(response)
    assert '<html lang="es">' in page and "Código postal o ciudad" in page
    assert '<input type="hidden" name="lang" value="es">' in page
    assert "Duelo y pérdida" in page  # the topic's Spanish label
    # A remembered choice from the main site does not reach into a partner's frame.
    client.get("/?lang=es")
    framed = client.get("/embed", headers=ENGLISH)
    assert '<html lang="en">' in html(framed) and "Set-Cookie" not in framed.headers


def test_staff_pages_and_the_api_stay_english(
    client: FlaskClient, grief_group: Group, api_headers: dict[str, str]
) -> None:
    client.get("/?lang=es")
    login = html(client.get("/staff/login", headers=SPANISH))
    assert '<html lang="en">' in login and "data-language-switch" not in login
    api = get_json(client, "/api/v1/groups", {**api_headers, **SPANISH})
    assert "Grief & Loss" in json.dumps(api) and "Duelo" not in json.dumps(api)


# -- what reads in Spanish -------------------------------------------------------------------


def test_group_page_in_spanish_keeps_the_listing_as_written(
    client: FlaskClient, grief_group: Group
) -> None:
    page = html(client.get(f"/groups/{grief_group.slug}?lang=es"))
    assert "Cuándo se reúne" in page and "Los martes, 7:00–8:30 p. m. hora del Centro" in page
    assert "Duelo y pérdida" in page  # the concern's Spanish label
    assert "Inglés, Español" in page  # the group's own languages, named in Spanish
    assert "Accesible en silla de ruedas" in page
    assert grief_group.name in page and grief_group.description in page  # as written
    assert re.search(r"(lunes|martes|miércoles|jueves|viernes|sábado|domingo), \d+ de ", page)


def test_results_page_words_and_filters_in_spanish(client: FlaskClient, grief_group: Group) -> None:
    page = html(client.get("/search?q=duelo&near=60614&language=es&lang=es"))
    assert "1 grupo a menos de 25 millas de 60614 para “duelo”" in page
    assert "Próxima reunión:" in page
    assert "Idioma: Español" in page  # the chip
    assert "Entre pares" in page and "En persona y en línea" in page


def test_empty_results_advice_in_spanish(client: FlaskClient) -> None:
    page = html(client.get("/search?q=duelo&near=99501&lang=es"))
    assert "No se encontraron grupos" in page
    assert "No encontramos un grupo a menos de 25 millas" in page
    assert "Participe desde casa." in page and "Inicie un grupo." in page


def test_calendar_file_in_spanish(client: FlaskClient, grief_group: Group) -> None:
    response = client.get(f"/groups/{grief_group.slug}.ics?lang=es")
    assert response.status_code == 200
    event = Calendar.from_ical(response.data).walk("VEVENT")[0]
    description = str(event["DESCRIPTION"])
    assert description.startswith("Los martes, 7:00–8:30 p. m. hora del Centro")
    assert "Unirse en línea: https://meet.example.org/duelo" in description
    assert f"/groups/{grief_group.slug}?lang=es" in description
    assert str(event["SUMMARY"]) == grief_group.name  # the group's own name, as written


def test_error_pages_in_spanish(client: FlaskClient) -> None:
    response = client.get("/groups/no-such-group?lang=es")
    assert response.status_code == 404
    page = html(response)
    assert "No encontramos ese grupo. Puede que haya dejado de reunirse." in page
    assert '<html lang="es">' in page
    nowhere = client.get("/no/such/page?lang=es")
    assert nowhere.status_code == 404 and "No encontramos esa página" in html(nowhere)
    api = client.get("/api/v1/no-such?lang=es", headers={"Accept": "text/html"})
    assert api.status_code in (401, 404) and "Buscar" not in html(api)
    bad = client.get("/search?radius=banana&lang=es")
    assert bad.status_code == 400 and "Revise su búsqueda" in html(bad)


def test_form_labels_and_validation_errors_in_spanish(form_client: FlaskClient) -> None:
    page = html(form_client.get("/suggest?lang=es"))
    assert "Nombre del grupo" in page and "¿Quién lo dirige?" in page and 'value="Español"' in page
    response = form_client.post(
        "/suggest?lang=es",
        data={"name": "", "concerns": "duelo", "submitter_email": "not-an-address"},
    )
    answer = html(response)
    assert "Revise estas" in answer
    assert "Es obligatorio." in answer
    assert "'not-an-address' no es una dirección de correo electrónico" in answer
    assert "Indique la ciudad o el código postal donde se reúne el grupo." in answer


def test_concern_pages_in_spanish(client: FlaskClient) -> None:
    page = html(client.get("/concerns/grief-loss?lang=es"))
    assert "<h1>Duelo y pérdida</h1>" in page
    assert "Apoyo tras la muerte de un ser querido" in page
    topics = html(client.get("/concerns?lang=es"))
    assert "Adicciones y recuperación" in topics and "Addiction &amp; Recovery" not in topics


def test_spanish_words_find_the_same_groups_as_english_ones(
    client: FlaskClient, grief_group: Group
) -> None:
    def slugs(q: str) -> set[str]:
        page = client.get(f"/search?q={q}&near=60614").get_data(as_text=True)
        return set(re.findall(r'data-url="/groups/([^"?]+)', page))

    assert slugs("grief") == slugs("duelo") == {grief_group.slug}


def test_a_concern_page_lists_the_lay_words_of_its_language(client: FlaskClient) -> None:
    spanish = html(client.get("/concerns/grief-loss?lang=es"))
    assert "También se busca como: duelo, luto" in spanish
    english = html(client.get("/concerns/grief-loss?lang=en"))
    assert "Also searched as: grief" in english and "luto" not in english


def test_search_errors_in_spanish_name_the_value(client: FlaskClient) -> None:
    page = html(client.get("/search?near=Nowhereville&lang=es"))
    assert "Hay un problema con “Dónde”" in page
    assert "No encontramos “Nowhereville”. Pruebe con un código postal de EE. UU." in page
    radius = html(client.get("/search?near=60614&radius=banana&lang=es"))
    assert "'banana' no es un número" in radius or "“banana” no es un número" in radius


def test_concern_suggestions_answer_in_the_pages_language(client: FlaskClient) -> None:
    page = html(client.get("/?lang=es"))
    url = re.search(r'data-suggest-url="([^"]+)"', page)
    assert url and url[1] == "/concerns/suggest?lang=es"
    spanish = client.get(url[1] + "&q=duel").get_json()
    assert spanish[0] == {"slug": "grief-loss", "label": "Duelo y pérdida", "parent": ""}
    english = client.get("/concerns/suggest?q=duelo&lang=en").get_json()
    assert english[0]["label"] == "Grief & Loss"
