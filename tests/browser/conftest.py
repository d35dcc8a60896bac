"""A real HTTP server for browser tests: the app in a thread, on a seeded database."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from werkzeug.serving import make_server

from clearinghouse import create_app
from clearinghouse.extensions import db
from clearinghouse.geocoding import geocode_listing
from clearinghouse.listings import validate_listing
from clearinghouse.search import get_backend
from clearinghouse.store import apply_listing
from clearinghouse.taxonomy import default_taxonomy
from indexer.sync import sync
from tests.conftest import app_config, sample_record

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# Places around Chicago's 60614 (all within ~10 miles) and one far away.
PLACES = [
    ("Lincoln Park Library", "1150 W Fullerton Ave", "60614", 41.9251, -87.6572),
    ("Old Town Church Hall", "1400 N Wells St", "60610", 41.9080, -87.6345),
    ("Lakeview Community Room", "3200 N Broadway", "60657", 41.9398, -87.6443),
    ("Wicker Park Center", "1500 N Damen Ave", "60622", 41.9087, -87.6774),
    ("Uptown Hospital, Room 2", "4600 N Sheridan Rd", "60640", 41.9660, -87.6549),
    ("Logan Square Library", "3030 W Fullerton Ave", "60647", 41.9245, -87.7035),
]
DAYS = ["MO", "TU", "WE", "TH", "TU", "SA"]
STARTS = ["19:00", "18:30", "10:00", "19:30", "13:00", "20:00"]


@dataclass(frozen=True)
class LiveServer:
    url: str
    app: Any


def seed_records() -> list[dict[str, Any]]:
    """Three dozen listings near 60614 with varied facets, plus online and phone groups."""
    records = []
    topics = [("grief", "Grief"), ("caregiving", "Caregivers"), ("alcohol", "Recovery")]
    for number in range(36):
        venue, address, zip_code, lat, lon = PLACES[number % len(PLACES)]
        slug, word = topics[number % len(topics)]
        records.append(
            sample_record(
                name=f"{word} Circle {venue.split()[0]} {number + 1}",
                concerns=[slug],
                format="professional-expert" if number % 4 == 3 else "peer-led",
                cost="donation" if number % 5 == 0 else "free",
                languages=["en", "es"] if number % 6 == 1 else ["en"],
                location={
                    "name": venue,
                    "address": address,
                    "city": "Chicago",
                    "region": "IL",
                    "postal_code": zip_code,
                    "lat": lat + (number % 3) * 0.002,
                    "lon": lon - (number % 4) * 0.002,
                },
                meetings=[
                    {
                        "freq": "weekly",
                        "byday": [DAYS[number % len(DAYS)]],
                        "start": STARTS[number % len(STARTS)],
                        "end": "21:00" if STARTS[number % len(STARTS)] >= "18:00" else "14:30",
                    }
                ],
                verified_at="2026-09-01",
            )
        )
    records.append(
        sample_record(
            name="Monthly Widows Supper",
            concerns=["grief"],
            meetings=[
                {"freq": "monthly", "byday": ["2TU", "4TU"], "start": "19:00", "end": "20:30"}
            ],
            # Closed and with a cancelled day: the labels are checked for accessibility too.
            closure={"until": "2099-01-13", "reason": "Kitchen renovation"},
            cancellations="2098-12-24 Christmas Eve",
        )
    )
    for number, (attendance, extra) in enumerate(
        [
            ("online", {"online": {"url": "https://meet.example.org/grief-online"}}),
            ("phone", {"online": {"phone": "1-800-555-0100", "notes": "Code 1234"}}),
            ("online", {"online": {"url": "https://meet.example.org/caregivers"}}),
        ]
    ):
        records.append(
            sample_record(
                name=f"{'Grief' if number != 2 else 'Caregivers'} {attendance.title()} Group",
                concerns=["grief" if number != 2 else "caregiving"],
                attendance=attendance,
                location=None,
                meetings=[
                    {
                        "freq": "weekly",
                        "byday": ["TH"],
                        "start": "20:00",
                        "end": "21:00",
                        "timezone": "America/New_York",
                    }
                ],
                **extra,
            )
        )
    return records


def seed(session: Any) -> int:
    taxonomy = default_taxonomy()
    for record in seed_records():
        validation = validate_listing(record, taxonomy)
        assert validation.data is not None, validation.errors
        data, _notes = geocode_listing(validation.data)
        apply_listing(session, data, actor="test")
    session.commit()
    sync(session, get_backend(), taxonomy)
    return len(seed_records())


def buffered(app: WSGIApplication) -> WSGIApplication:
    """Read each response whole and close it before the server writes a byte.

    Werkzeug's development server closes a response only if draining the request socket
    succeeds first; when Chromium drops a connection mid-way (a map image it no longer wants),
    a static file stays open and its ResourceWarning fails whichever test is running.
    """

    def serve(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()

    return serve


@pytest.fixture(scope="session")
def live_server(
    template_database: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("live")
    path = folder / "live.db"
    shutil.copy(template_database, path)
    app = create_app(
        app_config(
            f"sqlite:///{path}",
            folder,
            # Tiles come from this server (they 404): the page must work without them,
            # and nothing in the tests reaches for the internet.
            TILE_URL="/static/no-tiles/{z}/{x}/{y}.png",
        )
    )
    with app.app_context():
        seed(db.session)
        db.session.remove()
    server = make_server("127.0.0.1", 0, buffered(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()
