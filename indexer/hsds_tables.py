"""HSDS tabular data (a datapackage, or a folder of CSV tables) → nested HSDS 3.0 services.

Reads HSDS 3.0, HSDS 1.1 and Ohana table layouts and assembles each row of `services.csv`
into the nested service object that `indexer.hsds_reader` already maps to a listing, so the
mapping lives in one place.  Every row of every table is accounted for in `Package.tally`
(table → outcome → rows): used, pointing at a record that is not in the package, linked to
nothing, unusable, or in a table this importer does not read.  See docs/import-formats.md.

A service is offered at a location when `service_at_location` (3.0) or `services_at_location`
(1.1) says so, when the service row names a `location_id` (Ohana), when a schedule row names
both, or, failing those, when its organisation has exactly one location.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clearinghouse.schedule import ScheduleError, parse_day, parse_time
from indexer.reader_base import FIELD_LIMIT, FormatError, detect_encoding

Row = dict[str, str]
USED = "used"
NOWHERE = "points nowhere"
UNLINKED = "linked to nothing"
UNUSABLE = "unusable"
NOT_READ = "table not imported"
UNREFERENCED = "not referenced by any service"
# Our table name → the names the layouts use for it.
TABLES = {
    "services": ("services",),
    "organizations": ("organizations",),
    "locations": ("locations",),
    "service_at_location": ("service_at_location", "services_at_location"),
    "addresses": ("addresses", "physical_addresses", "postal_addresses", "mail_addresses"),
    "phones": ("phones",),
    "schedules": ("schedules", "regular_schedules"),
    "attributes": ("attributes", "services_taxonomy"),
    "taxonomy_terms": ("taxonomy_terms", "taxonomy"),
    "languages": ("languages",),
    "accessibility": ("accessibility", "accessibility_for_disabilities"),
    "contacts": ("contacts",),
    "cost_options": ("cost_options",),
    "service_areas": ("service_areas",),
}
_POSTAL = ("postal_addresses", "mail_addresses")
_ISO_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")  # HSDS 1.1 weekday 1 = Monday
_DIGITS = re.compile(r"\d")


@dataclass
class Package:
    """The services of a package, what to tell about each, and what became of every row."""

    services: list[dict[str, Any]]
    row_warnings: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    tally: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    warnings: list[str] = field(default_factory=list)


def is_package(path: Path) -> bool:
    return path.is_dir() or path.name == "datapackage.json"


def read_package(path: Path) -> Package:
    """The services of the package at `path` (a folder, or its datapackage.json)."""
    folder = path if path.is_dir() else path.parent
    files = _table_files(folder, path)
    if "services.csv" not in files:
        raise FormatError(
            f"{path.name}: no services.csv in {folder.name}; expected an HSDS datapackage "
            "(a folder of CSV tables with services.csv, or its datapackage.json)"
        )
    tables = {name: _read_csv(files[name]) for name in files}
    return _Assembler(tables).package()


def _table_files(folder: Path, path: Path) -> dict[str, Path]:
    """CSV file name → path: the datapackage's resources, else every CSV in the folder."""
    descriptor = folder / "datapackage.json"
    if descriptor.is_file():
        try:
            resources = json.loads(descriptor.read_text(encoding="utf-8")).get("resources", [])
        except (json.JSONDecodeError, AttributeError) as error:
            message = f"{path.name}: datapackage.json is not a datapackage ({error})"
            raise FormatError(message) from None
        named = [str(r.get("path") or "") for r in resources if isinstance(r, dict)]
        found = {Path(name).name: folder / Path(name).name for name in named}
        found = {name: file for name, file in found.items() if file.is_file()}
        if found:
            return found
    return {file.name: file for file in sorted(folder.glob("*.csv"))}


def _read_csv(path: Path) -> list[Row]:
    if csv.field_size_limit() < FIELD_LIMIT:
        csv.field_size_limit(FIELD_LIMIT)
    encoding = detect_encoding(path)
    with path.open(encoding=encoding.name, errors=encoding.errors, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [{str(k).strip(): (v or "").strip() for k, v in row.items() if k} for row in rows]


class _Assembler:
    """Joins the tables around services; counts what became of each row."""

    def __init__(self, files: dict[str, list[Row]]) -> None:
        self.files = files
        self.result = Package(services=[])
        self.tally = self.result.tally
        by_name = {alias: ours for ours, aliases in TABLES.items() for alias in aliases}
        self.tables: dict[str, list[tuple[str, int, Row]]] = defaultdict(list)
        for file_name, rows in files.items():
            stem = file_name.removesuffix(".csv")
            if stem not in by_name:
                self.tally[file_name][NOT_READ] += len(rows)
                continue
            for number, row in enumerate(rows, start=1):
                self.tables[by_name[stem]].append((file_name, number, row))
        self.services = self._by_id("services")
        self.organizations = self._by_id("organizations")
        self.locations = self._by_id("locations")
        self.terms = {
            row.get("id") or row.get("taxonomy_id", ""): row
            for _f, _n, row in self.tables["taxonomy_terms"]
        }
        self.used_orgs: set[str] = set()
        self.used_locations: set[str] = set()
        self.used_terms: set[str] = set()

    def _by_id(self, table: str) -> dict[str, Row]:
        return {row["id"]: row for _file, _number, row in self.tables[table] if row.get("id")}

    def count(self, file_name: str, outcome: str) -> None:
        self.tally[file_name][outcome] += 1

    def link(self, file_name: str, number: int, row: Row, key: str, known: dict[str, Row]) -> str:
        """The id in `row[key]` if it names a known record; else "" (and a warning)."""
        value = row.get(key, "")
        if value and value not in known:
            table = key.removesuffix("_id")
            self.result.warnings.append(
                f"{file_name} row {number}: {key} {value!r} is not in the package's {table}s; "
                "left out"
            )
            return ""
        return value

    # -- assembly ----------------------------------------------------------------------

    def package(self) -> Package:
        places = self._places()
        self._service_rows(places)
        for found in places.values():
            for place in found:  # 1.x schedules on the location hold for its services there
                place["schedules"] = place["schedules"] or place["location"].get("schedules", [])
        self._leftovers()
        return self.result

    def _places(self) -> dict[str, list[dict[str, Any]]]:
        """Service id → its service_at_location objects (each with its location nested)."""
        pairs: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)

        def add(service_id: str, location_id: str, sal: Row | None = None) -> dict[str, Any]:
            place = pairs[service_id].get(location_id)
            if place is None:
                self.used_locations.add(location_id)
                place = {
                    "id": (sal or {}).get("id") or location_id,
                    "description": (sal or {}).get("description", ""),
                    "location": self._location_record(location_id),
                    "schedules": [],
                    "phones": [],
                }
                pairs[service_id][location_id] = place
            return place

        self.sal_ids: dict[str, tuple[str, str]] = {}
        for file_name, number, row in self.tables["service_at_location"]:
            service = self.link(file_name, number, row, "service_id", self.services)
            location = self.link(file_name, number, row, "location_id", self.locations)
            if service and location:
                add(service, location, row)
                self.sal_ids[row.get("id") or f"{service}@{location}"] = (service, location)
                self.count(file_name, USED)
            else:
                self.count(file_name, NOWHERE if row.get("service_id") and row.get("location_id")
                           else UNLINKED)  # fmt: skip
        for file_name, number, row in self.tables["services"]:
            # Ohana: services hang off a location.
            located = row.get("location_id") and row.get("id")
            if located and self.link(file_name, number, row, "location_id", self.locations):
                add(row["id"], row["location_id"])
        for _file, _number, row in self.tables["schedules"]:
            service, location = row.get("service_id", ""), row.get("location_id", "")
            if service in self.services and location in self.locations:
                add(service, location)
        if not self.tables["service_at_location"]:
            sites: dict[str, list[str]] = defaultdict(list)
            for location_id, location_row in self.locations.items():
                sites[location_row.get("organization_id", "")].append(location_id)
            for service_id, service_row in self.services.items():
                organization = service_row.get("organization_id", "")
                own = sites.get(organization, []) if organization else []
                if service_id not in pairs and len(own) == 1:
                    add(service_id, own[0])
        self.pairs = pairs
        return {service: list(found.values()) for service, found in pairs.items()}

    def _service_rows(self, places: dict[str, list[dict[str, Any]]]) -> None:
        extras = self._service_extras()
        for file_name, number, row in self.tables["services"]:
            service_id = row.get("id", "")
            service: dict[str, Any] = {
                "id": service_id,
                "name": row.get("name", ""),
                "alternate_name": row.get("alternate_name", ""),
                "description": row.get("description", ""),
                "url": row.get("url") or row.get("website", ""),
                "email": row.get("email", ""),
                "status": row.get("status", ""),
                "fees_description": row.get("fees_description") or row.get("fees", ""),
                "eligibility_description": row.get("eligibility_description")
                or row.get("eligibility", ""),
                "service_at_locations": places.get(service_id, []) if service_id else [],
            }
            organization_id = row.get("organization_id") or _place_organization(service)
            if organization_id in self.organizations:
                self.used_orgs.add(organization_id)
                name = self.organizations[organization_id].get("name")
                service["organization"] = {"id": organization_id, "name": name}
            elif organization_id:
                self.result.row_warnings[number].append(
                    f"organization_id {row['organization_id']!r} is not in the package; "
                    "imported without its organisation"
                )
            for key, items in extras.get(service_id, {}).items():
                service[key] = items
            if row.get("taxonomy_ids"):  # Ohana and HSDS 1.1: term ids on the service row
                service.setdefault("attributes", []).extend(
                    self._terms(row["taxonomy_ids"].split(","), number)
                )
            if row.get("languages"):  # Ohana: a comma list of language names
                service.setdefault("languages", []).extend(
                    {"name": name.strip()} for name in row["languages"].split(",") if name.strip()
                )
            self.count(file_name, USED if row.get("name") else UNUSABLE)
            self.result.services.append(service)

    def _terms(self, ids: list[str], number: int) -> list[dict[str, Any]]:
        found = []
        for term_id in (value.strip() for value in ids):
            if term_id in self.terms:
                self.used_terms.add(term_id)
                term = self.terms[term_id]
                found.append(
                    {"taxonomy_term": {"name": term.get("name"), "code": term.get("code")}}
                )
            elif term_id:
                self.result.row_warnings[number].append(
                    f"taxonomy term {term_id!r} is not in the package; left out"
                )
        return found

    def _service_extras(self) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """Rows hanging off a service (phones, schedules, terms…), by service id."""
        extras: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
        for file_name, number, row in self.tables["attributes"]:
            service = row.get("link_id") or row.get("service_id", "")
            term_id = row.get("taxonomy_term_id") or row.get("taxonomy_id", "")
            if service not in self.services:
                self._miss(file_name, number, "service", service)
            elif term_id not in self.terms:
                self._miss(file_name, number, "taxonomy term", term_id)
            else:
                self.used_terms.add(term_id)
                term = self.terms[term_id]
                extras[service]["attributes"].append(
                    {"taxonomy_term": {"name": term.get("name"), "code": term.get("code")}}
                )
                self.count(file_name, USED)
        self._attach("phones", extras, self._phone)
        self._attach("schedules", extras, self._schedule)
        self._attach("languages", extras, _language)
        self._attach("contacts", extras, _contact)
        self._attach("cost_options", extras, lambda row: dict(row))
        self._attach("service_areas", extras, _service_area)
        self._attach("addresses", extras, _address_row)
        self._attach("accessibility", extras, _accessibility)
        return extras

    def _miss(self, file_name: str, number: int, what: str, value: str) -> None:
        self.count(file_name, NOWHERE if value else UNLINKED)
        if value:
            self.result.warnings.append(
                f"{file_name} row {number}: {what} {value!r} is not in the package; left out"
            )

    def _attach(
        self,
        table: str,
        extras: dict[str, dict[str, list[dict[str, Any]]]],
        build: Any,
    ) -> None:
        """Each row to its place (service at location, location) or its service."""
        for file_name, number, row in self.tables[table]:
            item = build(row)
            if item is None:
                self.count(file_name, UNUSABLE)
                continue
            if isinstance(item, dict) and file_name.removesuffix(".csv") in _POSTAL:
                item["address_type"] = "postal"
            target = self._target(row, table)
            if (
                target is None
                and row.get("location_id") in self.locations
                and not row.get("service_id")
            ):
                self.count(file_name, "at a location no service is offered at")
                continue
            if target is None:
                ids = [row.get(k, "") for k in ("service_at_location_id", "service_id",
                                                  "location_id") if row.get(k)]  # fmt: skip
                self._miss(file_name, number, "record", ids[0] if ids else "")
                continue
            if target[0] == "service":
                extras[target[1]][table].append(item)
            else:
                target[1].setdefault(_LOCATION_KEYS.get(table, table), []).append(item)
            self.count(file_name, USED)

    def _target(self, row: Row, table: str) -> tuple[str, Any] | None:
        service, location = row.get("service_id", ""), row.get("location_id", "")
        sal = self.sal_ids.get(row.get("service_at_location_id", ""))
        pairs = getattr(self, "pairs", {})
        if table in ("schedules", "phones", "contacts") and sal:
            return "place", pairs[sal[0]][sal[1]]
        if table in ("schedules", "phones") and service in pairs and location in pairs[service]:
            return "place", pairs[service][location]
        if service in self.services:
            return "service", service
        if location in self.used_locations and table in _LOCATION_KEYS:
            return "place", self._location_record(location)
        return None

    # -- locations -----------------------------------------------------------------------

    def _location_record(self, location_id: str) -> dict[str, Any]:
        """One shared dict per location, filled in as rows attach to it."""
        cache: dict[str, dict[str, Any]] = self.__dict__.setdefault("_location_cache", {})
        if location_id not in cache:
            row = self.locations[location_id]
            virtual = row.get("location_type") == "virtual" or row.get("virtual") == "true"
            cache[location_id] = {
                "id": location_id,
                "organization_id": row.get("organization_id", ""),
                "name": row.get("name", ""),
                "description": row.get("description") or row.get("short_desc", ""),
                "transportation": row.get("transportation", ""),
                "latitude": _coordinate(row.get("latitude"), 90, self, location_id),
                "longitude": _coordinate(row.get("longitude"), 180, self, location_id),
                "location_type": "virtual" if virtual else "physical",
                "url": row.get("url") or row.get("website", ""),
                "accessibility": [
                    {"description": part.strip()}
                    for part in row.get("accessibility", "").split(",")
                    if part.strip()
                ],
            }
            location = cache[location_id]
            if location["latitude"] is None or location["longitude"] is None:
                location["latitude"] = location["longitude"] = None
        return cache[location_id]

    def _leftovers(self) -> None:
        """Organisations, locations and terms no service uses are counted, not lost."""
        for table, used, known in (
            ("organizations", self.used_orgs, self.organizations),
            ("locations", self.used_locations, self.locations),
            ("taxonomy_terms", self.used_terms, self.terms),
        ):
            for file_name, _number, row in self.tables[table]:
                key = row.get("id") or row.get("taxonomy_id", "")
                if key and key in used and key in known:
                    self.count(file_name, USED)
                    used.discard(key)  # a repeated id counts once; the next is unreferenced
                else:
                    self.count(file_name, UNREFERENCED)

    # -- rows ----------------------------------------------------------------------------

    def _phone(self, row: Row) -> dict[str, Any] | None:
        found = _ONE_PHONE.search(row.get("number", ""))
        number = found[0].strip() if found else ""
        kind = (row.get("type") or row.get("number_type") or "").lower()
        if len(_DIGITS.findall(number)) < 7 or kind == "fax":
            return None
        return {"number": number, "extension": row.get("extension") or None, "type": kind}

    def _schedule(self, row: Row) -> dict[str, Any] | None:
        """A 3.0 RRULE row as it is; a 1.x weekday row as a weekly rule on that day."""
        if row.get("freq"):
            return dict(row)
        day = row.get("weekday", "")
        try:
            code = _ISO_WEEKDAYS[int(day) - 1] if day.isdigit() else parse_day(day)
        except (ScheduleError, IndexError):
            return None
        opens, closes = _time(row.get("opens_at", "")), _time(row.get("closes_at", ""))
        if opens and closes and closes <= opens:
            closes = ""  # "9am"–"03:00": a typo for 3 pm or a night; the start is still right
        return {"freq": "WEEKLY", "byday": code, "opens_at": opens, "closes_at": closes}


# Rows that may hang off a location alone (the key it has in the nested location).
_LOCATION_KEYS = {
    name: name
    for name in ("addresses", "accessibility", "phones", "languages", "schedules", "contacts")
}
# One phone number in a cell that holds several, or words around one.
_ONE_PHONE = re.compile(r"\+?\(?\d[\d\s().-]{5,}\d(\s*(x|ext\.?)\s*\d+)?", re.IGNORECASE)


def _place_organization(service: dict[str, Any]) -> str:
    """Ohana hangs services off locations: the organisation is the location's."""
    for place in service["service_at_locations"]:
        organization = place["location"].get("organization_id")
        if organization:
            return str(organization)
    return ""


def _time(value: str) -> str:
    try:
        return parse_time(value).strftime("%H:%M") if value else ""
    except ScheduleError:
        return ""


def _coordinate(value: Any, bound: float, assembler: _Assembler, location_id: str) -> Any:
    """A coordinate in range, else None (and a warning): the address still places it."""
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not -bound <= number <= bound:
        assembler.result.warnings.append(
            f"locations.csv: location {location_id!r} has coordinate {value!r}, out of range; "
            "left out"
        )
        return None
    return number


def _language(row: Row) -> dict[str, Any] | None:
    name = row.get("name") or row.get("language", "")
    return {"name": name, "code": row.get("code", "")} if name or row.get("code") else None


def _contact(row: Row) -> dict[str, Any] | None:
    if not (row.get("name") or row.get("email")):
        return None
    return {"name": row.get("name", ""), "email": row.get("email", "")}


def _service_area(row: Row) -> dict[str, Any] | None:
    name = row.get("name") or row.get("service_area", "")
    return {"name": name} if name else None


def _accessibility(row: Row) -> dict[str, Any] | None:
    text = row.get("description") or row.get("accessibility", "")
    return {"description": text, "details": row.get("details", "")} if text else None


def _address_row(row: Row) -> dict[str, Any] | None:
    street = " ".join(row.get(k, "") for k in ("address_1",) if row.get(k))
    if not (street or row.get("city") or row.get("postal_code")):
        return None
    return {
        "address_1": street,
        "address_2": row.get("address_2", ""),
        "city": row.get("city", ""),
        "state_province": row.get("state_province", ""),
        "postal_code": row.get("postal_code", ""),
        "country": row.get("country", ""),
        "address_type": row.get("address_type") or "physical",
    }


def iter_tally(package: Package) -> Iterator[str]:
    """ "phones.csv: 982 rows — 900 used, 82 points nowhere" lines, for people."""
    for file_name, outcomes in sorted(package.tally.items()):
        parts = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
        yield f"{file_name}: {sum(outcomes.values())} rows — {parts}"
