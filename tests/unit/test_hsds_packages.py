"""HSDS CSV datapackages (shared/external/hsds): every table row accounted for, exact counts."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from clearinghouse.extensions import db
from clearinghouse.models import Group
from clearinghouse.taxonomy import default_taxonomy
from indexer.hsds_tables import NOT_READ, NOWHERE, UNLINKED, UNREFERENCED, USED, read_package
from indexer.pipeline import IngestReport, ingest_files
from indexer.readers import FormatError, open_source

HSDS = Path(__file__).resolve().parents[3] / "shared/external/hsds"
ELSEWHERE = "at a location no service is offered at"


def ingest(path: Path, **options: Any) -> IngestReport:
    options.setdefault("default_concerns", ("mental-health",))
    return ingest_files(db.session, [path], fmt="hsds", taxonomy=default_taxonomy(), **options)


def csv_rows(folder: Path) -> dict[str, int]:
    counts = {}
    for file in folder.glob("*.csv"):
        with file.open(encoding="utf-8-sig", newline="") as handle:
            rows = sum(1 for _ in csv.DictReader(handle))
        if rows:  # a header-only table has nothing to account for
            counts[file.name] = rows
    return counts


@pytest.mark.parametrize(
    "folder",
    ["hsds-3.0-examples-csv", "hsds-1.1-sample-datapackage", "ilao-hsds-1.x-csv",
     "ohana-sample-csv"],
)  # fmt: skip
def test_every_row_of_every_table_is_accounted_for(folder: str) -> None:
    package = read_package(HSDS / folder)
    tallied = {name: sum(outcomes.values()) for name, outcomes in package.tally.items()}
    assert tallied == csv_rows(HSDS / folder)
    assert len(package.services) == tallied["services.csv"]


def test_hsds_30_example(app: Flask) -> None:
    package = read_package(HSDS / "hsds-3.0-examples-csv" / "datapackage.json")
    assert package.tally["attributes.csv"] == {NOWHERE: 1}  # its link_id is no service
    assert package.tally["taxonomy_terms.csv"] == {UNREFERENCED: 1}
    assert sum(outcomes[NOT_READ] for outcomes in package.tally.values()) == 7
    assert all(outcomes.keys() == {USED} for name, outcomes in package.tally.items()
               if name in ("services.csv", "locations.csv", "phones.csv", "schedules.csv",
                           "addresses.csv", "service_at_location.csv"))  # fmt: skip

    report = ingest(HSDS / "hsds-3.0-examples-csv")
    # The spec's placeholder postcode and region are no US or Canadian place: a feed's
    # unusable field is left out with a warning while the street address still places the
    # service; latitude 100 is out of range and left out with a warning.
    assert (report.read, report.added, report.rejected, report.warning_count) == (1, 1, 0, 14)
    assert report.rejects == []
    left_out = {w.field for w in report.warnings if w.field and w.reason.endswith("; left out")}
    assert left_out == {"location.postal_code", "location.region"}
    assert any("coordinate '100', out of range" in w.reason for w in report.warnings)


def test_hsds_11_sample(app: Flask) -> None:
    package = read_package(HSDS / "hsds-1.1-sample-datapackage")
    assert package.tally["phones.csv"] == {USED: 3, UNLINKED: 2}  # two organisation phones
    assert package.tally["services_at_location.csv"] == {USED: 13}

    report = ingest(HSDS / "hsds-1.1-sample-datapackage")
    # Nine services sit at a location that is only a name, with no phone, link or address:
    # no place and no way to join, refused rather than published as in-person with no address.
    assert (report.read, report.added, report.rejected, report.warning_count) == (13, 4, 9, 13)
    assert {(r.field, r.reason.split(":")[0]) for r in report.rejects} == {
        ("location", "has no place and no way to join")
    }
    groups = db.session.scalars(select(Group)).all()
    assert all(group.location is not None or group.online_phone for group in groups)


def test_ilao_legal_aid_directory(app: Flask) -> None:
    package = read_package(HSDS / "ilao-hsds-1.x-csv")
    assert package.tally["services.csv"] == {USED: 429, "unusable": 1}  # one has no name
    assert package.tally["locations.csv"] == {USED: 89, UNREFERENCED: 431}
    assert package.tally["regular_schedules.csv"] == {USED: 616, ELSEWHERE: 1876}
    assert package.tally["phones.csv"] == {USED: 513, ELSEWHERE: 407, UNLINKED: 33,
                                           "unusable": 29}  # fmt: skip
    assert package.tally["postal_addresses.csv"] == {UNLINKED: 33}  # organisation addresses
    assert sum(len(warnings) for warnings in package.row_warnings.values()) == 341

    report = ingest(HSDS / "ilao-hsds-1.x-csv")
    # Its locations are names without addresses: a service with a phone is listed as one
    # reached by phone; the five without a usable phone have no place and no way to join.
    assert (report.read, report.added, report.rejected) == (430, 425, 5)
    # 341 services name an organisation the fixture does not hold, 6 table summaries, and
    # 425 services listed as reached by phone.
    assert report.warning_count == 347 + 425
    nameless = next(row for row, s in enumerate(package.services, 1) if not s["name"])
    assert (nameless, "name", "is required") in {(r.row, r.field, r.reason) for r in report.rejects}
    assert {r.field for r in report.rejects} == {"name", "location"}
    groups = db.session.scalars(select(Group)).all()
    assert all(g.location is None and g.attendance == "phone" for g in groups)
    assert all(group.online_phone == group.contact_phone for group in groups)


def test_ohana_sample(app: Flask) -> None:
    package = read_package(HSDS / "ohana-sample-csv")
    assert package.tally["phones.csv"] == {USED: 25, "unusable": 24, UNLINKED: 5}  # 24 faxes
    assert package.tally["taxonomy.csv"] == {USED: 6, UNREFERENCED: 284}

    report = ingest(HSDS / "ohana-sample-csv")
    # One service has a location with no address and no phone: no place and no way to join.
    assert (report.read, report.added, report.rejected, report.warning_count) == (23, 22, 1, 5)
    assert [r.field for r in report.rejects] == ["location"]
    groups = db.session.scalars(select(Group)).all()
    assert sum(group.organization is not None for group in groups) == 22
    # Taxonomy terms ("Emergency", …) are not concerns here: flagged for staff, and the
    # import's --concern given to every service.
    assert {c.slug for group in groups for c in group.concerns} == {"mental-health"}


def test_a_folder_without_services_is_refused(tmp_path: Path) -> None:
    (tmp_path / "organizations.csv").write_text("id,name\n1,A\n", encoding="utf-8")
    with pytest.raises(FormatError, match=r"no services\.csv"):
        open_source(tmp_path, "hsds")


def test_a_service_naming_a_missing_location_is_reported_not_crashed_on(tmp_path: Path) -> None:
    (tmp_path / "services.csv").write_text(
        "id,name,organization_id\ns1,Grief group,o9\n", encoding="utf-8"
    )
    (tmp_path / "service_at_location.csv").write_text(
        "id,service_id,location_id\nx,s1,l9\n", encoding="utf-8"
    )
    package = read_package(tmp_path)
    assert package.tally["service_at_location.csv"] == {NOWHERE: 1}
    assert package.warnings == [
        "service_at_location.csv row 1: location_id 'l9' is not in the package's locations; "
        "left out"
    ]
    records = list(open_source(tmp_path, "hsds").records())
    assert [r.record["name"] for r in records if r.record] == ["Grief group"]
    assert records[0].warnings[0].startswith("organization_id 'o9' is not in the package")
