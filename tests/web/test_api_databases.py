"""The API's and HSDS's own queries (counts, JSON tag filters, keyset streams) on both databases."""

from __future__ import annotations

import json

from flask import Flask

from clearinghouse.extensions import db
from tests.api_support import create, index_all, new_key


def test_endpoints_answer_on_sqlite_and_postgresql(store_app: Flask) -> None:
    client = store_app.test_client()
    headers = {"Authorization": f"Bearer {new_key()}"}
    session = db.session()
    create(session, name="Women's Circle", audience=["women"], organization="Grief Network")
    create(session, name="Sober Circle", concerns=["alcohol"], accessibility=["asl"])
    create(session, name="Pending", status="pending", audience=["women"])
    index_all()  # HSDS search and taxonomy_term_id are answered by the search engine
    urls = [
        "/hsds/services?full=true",
        "/hsds/organizations?full=true",
        "/hsds/services?format=ndjson",
        "/hsds/services?search=circle&modified_after=2020-01-01",
        "/api/v1/meeting-guide.json?concern=addiction-recovery&region=IL",
        "/api/v1/export.ndjson",
        "/api/v1/changes",
    ]
    for url in urls:
        response = client.get(url, headers=headers)
        body = response.get_data(as_text=True)  # streams are read inside the request
        assert response.status_code == 200, (url, body[:300])
        assert "Pending" not in body, url
    export = [
        json.loads(line)["name"]
        for line in client.get("/api/v1/export.ndjson", headers=headers)
        .get_data(as_text=True)
        .splitlines()
    ]
    assert sorted(export) == ["Sober Circle", "Women's Circle"]
    terms = client.get("/hsds/taxonomy_terms?search=women", headers=headers).get_json()
    women = next(term for term in terms["contents"] if term["code"] == "audience:women")
    tagged = client.get(f"/hsds/services?taxonomy_term_id={women['id']}", headers=headers)
    assert [item["name"] for item in tagged.get_json()["contents"]] == ["Women's Circle"]
    searched = client.get(
        "/hsds/services?search=circle&modified_after=2020-01-01", headers=headers
    ).get_json()
    assert sorted(item["name"] for item in searched["contents"]) == [
        "Sober Circle",
        "Women's Circle",
    ]
    concerns = client.get("/api/v1/concerns", headers=headers).get_json()
    counts = {parent["slug"]: parent["count"] for parent in concerns["data"]}
    assert counts["addiction-recovery"] == 1 and counts["grief-loss"] == 1
