"""The staff console in Chromium, as a person uses it: sign in, review, edit, import, audit.

The server is this file's own (a fresh database per module), not the public tests' shared
`live_server`: these tests change data (approve, import) that the public tests count on.
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from werkzeug.serving import make_server

from clearinghouse import create_app
from clearinghouse.extensions import db
from clearinghouse.geocoding import geocode_listing
from clearinghouse.listings import validate_listing
from clearinghouse.models import ChangeRequest
from clearinghouse.search import get_backend
from clearinghouse.store import apply_listing
from clearinghouse.taxonomy import default_taxonomy
from indexer.sync import sync
from tests.conftest import app_config, sample_record
from tests.services.browser import local_page
from tests.staff_support import PASSWORD, make_user

pytestmark = pytest.mark.browser
EMAIL = "admin@example.org"


@dataclass(frozen=True)
class StaffServer:
    url: str
    app: Flask


@pytest.fixture(scope="module")
def staff_server(
    template_database: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StaffServer]:
    folder = tmp_path_factory.mktemp("staff-live")
    path = folder / "staff.db"
    shutil.copy(template_database, path)
    app = create_app(
        app_config(
            f"sqlite:///{path}",
            folder,
            TILE_URL="/static/no-tiles/{z}/{x}/{y}.png",
            IMPORT_FOLDER=str(folder / "imports"),
        )
    )
    with app.app_context():
        make_user(EMAIL, "admin")
        taxonomy = default_taxonomy()
        validation = validate_listing(sample_record(name="Harbor Grief Circle"), taxonomy)
        assert validation.data is not None
        apply_listing(db.session, geocode_listing(validation.data)[0], actor="test")
        db.session.add(
            ChangeRequest(
                kind="new",
                payload=sample_record(name="Quokka Bereavement Circle"),
                message="Meets at the library",
            )
        )
        db.session.commit()
        sync(db.session, get_backend(), taxonomy)
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield StaffServer(f"http://127.0.0.1:{server.server_port}", app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def page(chromium_browser: Browser, staff_server: StaffServer) -> Iterator[Page]:
    with local_page(chromium_browser, staff_server.url) as page:
        yield page


def sign_in(page: Page) -> None:
    page.goto("/staff/")
    expect(page).to_have_url(re.compile(r"/staff/login\?next="))
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def test_sign_in_and_out(page: Page) -> None:
    sign_in(page)
    expect(page.get_by_text(f"{EMAIL} (admin)")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.goto("/staff/listings")
    expect(page).to_have_url(re.compile(r"/staff/login"))


def test_approve_a_submission_and_find_it_in_public_search(page: Page) -> None:
    sign_in(page)
    page.get_by_role("link", name=re.compile(r"^Review")).click()
    page.get_by_role("link", name="Quokka Bereavement Circle").click()
    expect(page.get_by_role("heading", name=re.compile("New group"))).to_be_visible()
    expect(page.locator("table.diff")).to_contain_text("Quokka Bereavement Circle")
    page.get_by_role("button", name="Approve and publish").click()
    expect(page.get_by_text("Approved and published “Quokka Bereavement Circle”.")).to_be_visible()
    page.goto("/search?q=Quokka")
    expect(page.get_by_text("Quokka Bereavement Circle").first).to_be_visible()


def test_edit_a_schedule(page: Page) -> None:
    sign_in(page)
    page.get_by_role("link", name="Listings", exact=True).click()
    page.get_by_role("link", name="Harbor Grief Circle").click()
    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Repeats (rule 1)").select_option("monthly")
    page.get_by_label("Days (rule 1)").fill("2TU, 4TU")
    page.get_by_label("Starts (rule 1)").fill("18:30")
    page.get_by_label("Ends (rule 1)").fill("20:00")
    page.get_by_label("Days (rule 2)").fill("SA")
    page.get_by_label("Starts (rule 2)").fill("10:00")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved “Harbor Grief Circle”.")).to_be_visible()
    schedule = page.locator("table.record")
    expect(schedule).to_contain_text("2nd and 4th Tuesdays of the month, 6:30–8:00 pm Central")
    expect(schedule).to_contain_text("Saturdays, 10:00 am Central")


def test_a_bad_schedule_is_marked_and_what_was_typed_stays(page: Page) -> None:
    sign_in(page)
    page.goto("/staff/listings/new")
    page.get_by_label("Name", exact=True).fill("Half Typed Circle")
    page.get_by_label("Concerns").fill("grief")
    page.get_by_label("Repeats (rule 1)").select_option("monthly")
    page.get_by_label("Days (rule 1)").fill("TU")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Please correct the marked fields; nothing was saved.")).to_be_visible()
    expect(page.get_by_text(re.compile("needs an ordinal for a monthly meeting"))).to_be_visible()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Half Typed Circle")


def test_import_a_file_with_a_bad_row(page: Page, tmp_path: Path) -> None:
    upload = tmp_path / "partner.csv"
    upload.write_text(
        "external_id,name,concerns,city,state,postal_code,days,start,end\n"
        "P-1,Pelican Caregivers,caregiving,Chicago,IL,60614,WE,18:00,19:00\n"
        "P-2,,grief,Chicago,IL,60614,TH,18:00,19:00\n"  # no name: rejected
    )
    sign_in(page)
    page.get_by_role("link", name="Imports", exact=True).click()
    page.get_by_label("File", exact=True).set_input_files(str(upload))
    page.get_by_label("Format").select_option("csv")
    page.get_by_label("Source (who sent this file)").fill("pelican-partner")
    page.get_by_role("button", name="Check the file (dry run)").click()
    expect(page.get_by_role("heading", name="Dry run: nothing has changed yet")).to_be_visible()
    counts = page.locator("#import-counts")
    expect(counts.locator("tr", has_text="Would be added").locator("td")).to_have_text("1")
    expect(counts.locator("tr", has_text="Rejected").locator("td")).to_have_text("1")
    expect(page.locator("table.rejects")).to_contain_text("name")
    page.get_by_role("button", name="Apply this import").click()
    expect(page.get_by_role("heading", name="Import applied")).to_be_visible()
    page.goto("/staff/listings?q=Pelican")
    expect(page.get_by_role("link", name="Pelican Caregivers")).to_be_visible()


def test_read_the_audit_trail(page: Page) -> None:
    sign_in(page)
    page.goto("/staff/listings?q=Harbor")
    page.get_by_role("link", name="Harbor Grief Circle").click()
    page.get_by_role("button", name="Mark verified").click()
    history = page.locator("#history")
    expect(history).to_contain_text(f"verify · user:{EMAIL}")
    page.get_by_role("link", name="Audit log").click()
    page.get_by_label("Person (actor)").fill(EMAIL)
    page.get_by_role("button", name="Search").click()
    expect(page.locator("article.event").first).to_contain_text(f"user:{EMAIL}")
    expect(page.locator("main")).not_to_contain_text("· test ·")


def test_geocode_preview_shows_the_place_and_a_pin(page: Page) -> None:
    sign_in(page)
    page.goto("/staff/listings/new")
    page.get_by_label("City").fill("Evanston")
    page.get_by_label("State / province").select_option("IL")
    page.get_by_label("ZIP / postal code").fill("60201")
    page.get_by_role("button", name="Preview on the map").click()
    result = page.locator("#geocode-result")
    expect(result).to_contain_text("Evanston", timeout=15_000)
    expect(result).to_contain_text("approximate")
    expect(page.locator("#map .leaflet-marker-icon")).to_be_visible()
    expect(page.get_by_label("Latitude")).to_have_value(re.compile(r"^42\.0"))
