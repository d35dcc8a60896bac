"""The page and the API say what the words were taken to mean."""

from __future__ import annotations

import html
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from clearinghouse.models import Group
from tests.api_support import api_headers, get_json, index_all

__all__ = ["api_headers"]


@pytest.fixture
def directory(app: Flask, make_group: Callable[..., Group]) -> dict[str, Group]:
    groups = {
        "families": make_group(
            name="Al-Anon Family Group",
            description="For anyone whose life is affected by someone else's drinking.",
            concerns=["families-of-addicts"],
        ),
        "recovery": make_group(
            name="Narcotics Anonymous Step Study",
            description="Recovery from drugs, one day at a time.",
            concerns=["drugs"],
        ),
        "depression": make_group(
            name="Depression Peer Circle",
            description="For people living with depression.",
            concerns=["depression"],
        ),
        "suicide-loss": make_group(
            name="Survivors of Suicide Loss",
            description="For people who lost a loved one to suicide.",
            concerns=["suicide-loss"],
        ),
    }
    index_all()
    return groups


def names(body: dict) -> list[str]:
    return [group["name"] for group in body["data"]]


def test_the_api_puts_the_family_first_for_a_relationship(
    client: FlaskClient, api_headers: dict[str, str], directory: dict[str, Group]
) -> None:
    body = get_json(client, "/api/v1/groups?q=my+son+uses+drugs", api_headers)
    assert names(body)[:2] == ["Al-Anon Family Group", "Narcotics Anonymous Step Study"]
    understood = body["understood"]
    assert understood["concerns"][0]["slug"] == "families-of-addicts"
    assert understood["corrected"] is None and understood["relaxed"] is False
    assert understood["notice"] is None


def test_the_api_says_when_it_corrected_a_word(
    client: FlaskClient, api_headers: dict[str, str], directory: dict[str, Group]
) -> None:
    body = get_json(client, "/api/v1/groups?q=depresssion", api_headers)
    assert names(body) == ["Depression Peer Circle"]
    assert body["understood"]["corrected"] == "depression"
    assert body["understood"]["notice"] == "Showing results for “depression”."
    exactly = get_json(client, "/api/v1/groups?q=depresssion&exact=1", api_headers)
    assert exactly["data"] == [] and exactly["understood"]["corrected"] is None
    assert get_json(client, "/api/v1/groups", api_headers)["understood"] is None


def test_the_page_shows_the_correction_with_a_link_to_the_words_as_typed(
    client: FlaskClient, directory: dict[str, Group]
) -> None:
    page = html.unescape(client.get("/search?q=depresssion").get_data(as_text=True))
    assert "Showing results for <strong>“depression”</strong>" in page
    assert 'href="/search?q=depresssion&exact=1"' in page
    assert "Depression Peer Circle" in page


def test_the_page_says_when_no_group_holds_every_word(
    client: FlaskClient, directory: dict[str, Group]
) -> None:
    page = html.unescape(client.get("/search?q=suicide+of+my+brother+xyzzy").get_data(True))
    assert "No group mentions every word of “suicide of my brother xyzzy”" in page
    assert "Survivors of Suicide Loss" in page


def test_nothing_recognisable_still_gives_the_empty_advice(
    client: FlaskClient, directory: dict[str, Group]
) -> None:
    page = html.unescape(client.get("/search?q=xyzzy+plugh").get_data(as_text=True))
    assert "We didn't find a group that matches" in page
    assert "No group mentions" not in page
