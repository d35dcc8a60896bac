"""The console's own queries (filters, reports, coverage, audit) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from clearinghouse.extensions import db
from clearinghouse.geocoding import geocode_listing
from clearinghouse.listings import validate_listing
from clearinghouse.models import Group, SearchMiss, utcnow
from clearinghouse.store import apply_listing
from clearinghouse.taxonomy import default_taxonomy
from tests.conftest import sample_record
from tests.staff_support import listing_form_data, post, save_listing, signed_in_client


def add(**overrides: object) -> Group:
    validation = validate_listing(sample_record(**overrides), default_taxonomy())
    assert validation.data is not None, validation.errors
    change = apply_listing(db.session, geocode_listing(validation.data)[0], actor="test")
    db.session.commit()
    return change.group


def test_console_queries_work_on_every_database(store_app: Flask) -> None:
    editor = signed_in_client(store_app, "editor@example.org", "editor")
    old = add(
        name="Old Flagged",
        concerns=["grief", "odd worry"],
        verified_at=(utcnow() - timedelta(days=900)).isoformat(),
    )
    fresh = add(
        name="Fresh Milwaukee",
        concerns=["alcohol"],
        verified_at=utcnow().isoformat(),
        location={"city": "Milwaukee", "region": "WI", "postal_code": "53202"},
    )
    db.session.add(SearchMiss(concern="alcohol", region="WI", day=utcnow().date(), count=3))
    db.session.commit()

    def body(url: str) -> str:
        response = editor.get(url)
        assert response.status_code == 200, url
        return response.get_data(as_text=True).split("<tbody>", 1)[-1]

    assert "Old Flagged" in body("/staff/listings?flagged=any")
    assert "Fresh Milwaukee" not in body("/staff/listings?flagged=unknown-concern")
    assert "Old Flagged" in body("/staff/listings?stale=1&sort=verified")
    assert "Fresh Milwaukee" in body("/staff/listings?region=WI&concern=alcohol&q=milw")
    assert "Old Flagged" in body("/staff/reports/stale")
    assert "Old Flagged" in editor.get("/staff/reports/stale.csv").get_data(as_text=True)
    assert "odd worry" in body("/staff/reports/flagged")
    coverage = editor.get("/staff/reports/coverage.csv?level=all&region=WI").get_data(True)
    assert "alcohol" in coverage
    assert "Changes waiting" in editor.get("/staff/").get_data(as_text=True)
    post(editor, f"/staff/listings/{old.uuid}/merge", {"other": fresh.uuid})
    save_listing(editor, old, listing_form_data(name="Old Flagged"))
    assert "user:editor@example.org" in body(f"/staff/audit?actor=EDITOR&since={utcnow().date()}")
    db.session.refresh(fresh)
    assert fresh.status == "archived"
