"""Staff console forms (Flask-WTF: every form carries a CSRF token).

The listing form only gathers what was typed; `validate_listing` is the one judge of a
listing, and its errors are put back on the fields they name (`attach_errors`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from clearinghouse.geo import CA_PROVINCES, US_STATES
from clearinghouse.listings import FieldError, as_list
from clearinghouse.models import GroupStatus
from clearinghouse.schedule import INTERVALS
from clearinghouse.vocab import (
    ACCESSIBILITY,
    ATTENDANCE,
    AUDIENCES,
    COSTS,
    FORMATS,
    FREQUENCIES,
    ROLES,
    STATUSES,
    TIMEZONES,
)


def options(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """WTForms choices from (value, label) pairs."""
    return [SelectChoice(str(value), str(label)) for value, label in pairs]


REGION_PAIRS = [(code, f"{code} — {name}") for code, name in US_STATES.items()]
REGION_PAIRS += [(code, f"{code} — {name}") for code, name in CA_PROVINCES.items()]
TIMEZONE_PAIRS = [("", "From the map point"), *TIMEZONES.items()]
IMPORT_FORMAT_PAIRS = [
    ("csv", "CSV"),
    ("json", "JSON (project listing records)"),
    ("meeting-guide", "Meeting Guide JSON"),
    ("hsds", "HSDS"),
    ("bmlt", "BMLT JSON (NA)"),
]


INTERVAL_PAIRS = [
    (str(n), "every week" if n == 1 else "every other week" if n == 2 else f"every {n} weeks")
    for n in INTERVALS
]

# Schedule rows a form takes (a posted form with more rows keeps only the first ones).
MAX_RULES = 200


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class MeetingForm(Form):
    """One schedule rule row (a plain Form: the outer form carries the CSRF token)."""

    freq = SelectField("Repeats", choices=options((f, f) for f in FREQUENCIES), default="weekly")
    byday = StringField("Days", render_kw={"placeholder": "TU, TH  or  2TU, 4TU  or  -1FR"})
    start = StringField("Starts", render_kw={"placeholder": "19:00"})
    end = StringField("Ends", render_kw={"placeholder": "20:30"})
    note = StringField("Note")
    interval = SelectField("Every", choices=options(INTERVAL_PAIRS), default="1")
    anchor = StringField(
        "A date it meets (every other week)", render_kw={"placeholder": "2026-12-01"}
    )
    cancellations = StringField(
        "No meeting on", render_kw={"placeholder": "2026-12-24 Christmas Eve; 2026-12-31"}
    )

    def is_blank(self) -> bool:
        """A weekly row with nothing typed is an unused spare row."""
        typed = (
            self.byday.data,
            self.start.data,
            self.end.data,
            self.note.data,
            self.anchor.data,
            self.cancellations.data,
        )
        return self.freq.data != "arrangement" and not any((v or "").strip() for v in typed)


class ListingForm(FlaskForm):
    name = StringField("Name")
    description = TextAreaField("Description")
    organization = StringField("Organization")
    concerns = StringField("Concerns", description="Slugs, names or synonyms, separated by commas")
    format = SelectField("Format", choices=options(FORMATS.items()))
    attendance = SelectField("Attendance", choices=options(ATTENDANCE.items()))
    open = BooleanField("Open to newcomers", default=True)
    time_limited = BooleanField("Time-limited (runs for a set number of sessions)")
    cost = SelectField("Cost", choices=options(COSTS.items()))
    cost_note = StringField("Cost note")
    languages = StringField("Languages", description="ISO 639-1 codes or names: en, es")
    audience = MultiCheckboxField("Audience", choices=options(AUDIENCES.items()))
    accessibility = MultiCheckboxField("Accessibility", choices=options(ACCESSIBILITY.items()))
    contact_phone = StringField("Public phone")
    contact_email = StringField("Public email")
    contact_website = StringField("Website")
    online_url = StringField("Online join link")
    online_phone = StringField("Dial-in phone")
    online_notes = TextAreaField("Online notes")
    service_area = StringField("Service area", description="States or provinces: IL, WI")
    location_name = StringField("Venue")
    location_address = StringField("Street address")
    location_city = StringField("City")
    location_region = SelectField("State / province", choices=options([("", "—"), *REGION_PAIRS]))
    location_postal_code = StringField("ZIP / postal code")
    location_country = SelectField(
        "Country", choices=options([("US", "United States"), ("CA", "Canada")])
    )
    location_notes = TextAreaField("Location notes")
    pin_coordinates = BooleanField("Use these coordinates (manual pin) instead of the address")
    location_lat = StringField("Latitude")
    location_lon = StringField("Longitude")
    timezone = SelectField("Time zone", choices=options(TIMEZONE_PAIRS))
    meetings = FieldList(FormField(MeetingForm), min_entries=1, max_entries=MAX_RULES)
    closure = BooleanField("Temporarily closed (still listed, labelled, no meetings shown)")
    closure_until = StringField(
        "Closed until (the date meetings start again; blank for until further notice)",
        render_kw={"placeholder": "2027-01-10"},
    )
    closure_reason = StringField("Why it is closed (shown to the public)")
    cancellations = TextAreaField(
        "No meeting on (the whole group; one date a line, then the reason)",
        render_kw={"placeholder": "2026-12-24 Christmas Eve"},
    )
    private_contact_name = StringField("Leader name (private)")
    private_contact_phone = StringField("Leader phone (private)")
    private_contact_email = StringField("Leader email (private)")
    private_contact_notes = TextAreaField("Staff notes (private)")
    status = SelectField(
        "Status",
        choices=options((s, s) for s in STATUSES if s != GroupStatus.ARCHIVED),
        default=GroupStatus.ACTIVE.value,
    )
    # The listing's version when the form was opened (staff/conflicts.py).
    version = HiddenField(validators=[Optional(), Length(max=40)])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.general_errors: list[str] = []
        self.failed = False  # validation errors were attached (some only on schedule rows)
        self.conflict = False  # refused: the listing changed after the form was opened

    def record(self, *, include_status: bool) -> dict[str, Any]:
        """The raw listing record this form describes."""
        location: dict[str, Any] = {
            "name": self.location_name.data,
            "address": self.location_address.data,
            "city": self.location_city.data,
            "region": self.location_region.data,
            "postal_code": self.location_postal_code.data,
            "country": self.location_country.data or "US",
            "notes": self.location_notes.data,
            "timezone": self.timezone.data or None,
        }
        if self.pin_coordinates.data:
            location.update(lat=self.location_lat.data, lon=self.location_lon.data)
        placed = ("name", "address", "city", "region", "postal_code", "notes", "lat", "lon")
        if not any((str(location.get(key) or "")).strip() for key in placed):
            location = {}  # online or phone only: no place (the time zone stays on meetings)
        record: dict[str, Any] = {
            "name": self.name.data,
            "description": self.description.data,
            "organization": self.organization.data,
            "concerns": self.concerns.data,
            "format": self.format.data,
            "attendance": self.attendance.data,
            "open": bool(self.open.data),
            "time_limited": bool(self.time_limited.data),
            "cost": self.cost.data,
            "cost_note": self.cost_note.data,
            "languages": self.languages.data,
            "audience": list(self.audience.data or []),
            "accessibility": list(self.accessibility.data or []),
            "contact": {
                "phone": self.contact_phone.data,
                "email": self.contact_email.data,
                "website": self.contact_website.data,
            },
            "online": {
                "url": self.online_url.data,
                "phone": self.online_phone.data,
                "notes": self.online_notes.data,
            },
            "service_area": self.service_area.data,
            "location": location or None,
            "meetings": [
                {
                    "freq": row.freq.data,
                    "byday": row.byday.data,
                    "start": row.start.data,
                    "end": row.end.data,
                    "note": row.note.data,
                    "timezone": self.timezone.data or None,
                    "interval": row.interval.data,
                    "anchor": row.anchor.data,
                    "cancellations": row.cancellations.data,
                }
                for row in self.meeting_rows()
            ],
            "closure": self._closure(),
            "cancellations": self.cancellations.data,
            "private_contact": {
                "name": self.private_contact_name.data,
                "phone": self.private_contact_phone.data,
                "email": self.private_contact_email.data,
                "notes": self.private_contact_notes.data,
            },
        }
        if include_status:
            record["status"] = self.status.data
        return record

    def _closure(self) -> dict[str, Any] | None:
        """Closed when ticked, or when a date or a reason was typed (surely meant)."""
        until, reason = (self.closure_until.data or "").strip(), self.closure_reason.data or ""
        if not (self.closure.data or until or reason.strip()):
            return None
        return {"until": until or None, "reason": reason}

    def meeting_rows(self) -> list[MeetingForm]:
        return [entry.form for entry in self.meetings if not entry.form.is_blank()]

    def attach_errors(self, errors: Iterable[FieldError]) -> None:
        """Put each validation error on the field it names (or at the top of the form)."""
        rows = self.meeting_rows()
        self.failed = True
        for error in errors:
            field = self._field_for(error.field, rows)
            if field is None:
                self.general_errors.append(str(error))
            else:
                field.errors = [*field.errors, error.message]

    def _field_for(self, name: str, rows: list[MeetingForm]) -> Any:
        if name.startswith("meetings["):
            index_text, _, rest = name[len("meetings[") :].partition("]")
            if not index_text.isdigit() or int(index_text) >= len(rows):
                return None
            row = rows[int(index_text)]
            return getattr(row, rest.lstrip("."), None) or row.byday
        if name == "location":
            return self.location_lat
        if name == "website":
            return self.contact_website
        if name.startswith("location.") and name[len("location.") :] == "timezone":
            return self.timezone
        return self._fields.get(name.replace(".", "_"))

    @classmethod
    def data_from_record(cls, record: Mapping[str, Any]) -> dict[str, Any]:
        """Form values from a raw record (a stored group or a submission), forgiving shapes."""

        def part(name: str) -> Mapping[str, Any]:
            value = record.get(name)
            return value if isinstance(value, Mapping) else {}

        def text(value: Any) -> str:
            return "" if value is None else str(value)

        def joined(value: Any) -> str:
            items = (
                item.get("slug") or item.get("label") if isinstance(item, Mapping) else item
                for item in as_list(value)
            )
            return ", ".join(text(item) for item in items)

        location, contact, online, private = (
            part("location"),
            part("contact"),
            part("online"),
            part("private_contact"),
        )
        closure = part("closure")
        raw_meetings = record.get("meetings")
        meetings = (
            [m for m in raw_meetings if isinstance(m, Mapping)]
            if isinstance(raw_meetings, (list, tuple))
            else []
        )
        meetings = meetings[: MAX_RULES - 2]
        pinned = location.get("lat") not in (None, "") and not location.get("approximate")
        zone = location.get("timezone") or next(
            (m.get("timezone") for m in meetings if m.get("timezone")), ""
        )
        return {
            "name": text(record.get("name")),
            "description": text(record.get("description")),
            "organization": text(record.get("organization")),
            "concerns": joined(record.get("concerns")),
            "format": text(record.get("format")) or "peer-led",
            "attendance": text(record.get("attendance")) or "in-person",
            "open": record.get("open") not in (False, "false", "no", "0"),
            "time_limited": record.get("time_limited") in (True, "true", "yes", "1"),
            "cost": text(record.get("cost")) or "free",
            "cost_note": text(record.get("cost_note")),
            "languages": joined(record.get("languages")) or "en",
            "audience": [v for v in as_list(record.get("audience")) if v in AUDIENCES],
            "accessibility": [
                v for v in as_list(record.get("accessibility")) if v in ACCESSIBILITY
            ],
            "contact_phone": text(contact.get("phone")),
            "contact_email": text(contact.get("email")),
            "contact_website": text(contact.get("website") or record.get("website")),
            "online_url": text(online.get("url")),
            "online_phone": text(online.get("phone")),
            "online_notes": text(online.get("notes")),
            "service_area": joined(record.get("service_area")),
            "location_name": text(location.get("name")),
            "location_address": text(location.get("address")),
            "location_city": text(location.get("city")),
            "location_region": text(location.get("region")).upper(),
            "location_postal_code": text(location.get("postal_code")),
            "location_country": text(location.get("country")) or "US",
            "location_notes": text(location.get("notes")),
            "pin_coordinates": pinned,
            "location_lat": text(location.get("lat")),
            "location_lon": text(location.get("lon")),
            "timezone": text(zone),
            "meetings": [
                {
                    "freq": text(m.get("freq")) or "weekly",
                    "byday": joined(m.get("byday")),
                    "start": text(m.get("start")),
                    "end": text(m.get("end")),
                    "note": text(m.get("note")),
                    "interval": text(m.get("interval") or 1),
                    "anchor": text(m.get("anchor")),
                    "cancellations": cancellations_text(m.get("cancellations"), "; "),
                }
                for m in meetings
            ],
            "closure": bool(record.get("closure")),
            "closure_until": text(closure.get("until")),
            "closure_reason": text(closure.get("reason")),
            "cancellations": cancellations_text(record.get("cancellations"), "\n"),
            "private_contact_name": text(private.get("name")),
            "private_contact_phone": text(private.get("phone")),
            "private_contact_email": text(private.get("email")),
            "private_contact_notes": text(private.get("notes")),
            "status": text(record.get("status")) or GroupStatus.ACTIVE.value,
        }


def cancellations_text(value: Any, separator: str) -> str:
    """Stored days with no meeting as the text a form shows: "2026-12-24 Christmas Eve"."""
    if isinstance(value, str):
        return value
    lines = []
    for item in value if isinstance(value, (list, tuple)) else []:
        if isinstance(item, Mapping):
            lines.append(f"{item.get('date') or ''} {item.get('reason') or ''}".strip())
    return separator.join(lines)


def listing_form(record: Mapping[str, Any] | None = None, spare_rows: int = 2) -> ListingForm:
    """A listing form: from the request on POST, else prefilled from `record`."""
    data = ListingForm.data_from_record(record) if record is not None else None
    form = ListingForm(data=data)
    if not form.is_submitted():
        # Unknown values (e.g. a submission's region "Ilinois") must not break the select.
        for field in (form.location_region, form.timezone, form.format, form.attendance):
            values = [choice.value for choice in field.choices]
            if field.data not in values:
                field.data = values[0]
        for _ in range(min(spare_rows, MAX_RULES - len(form.meetings.entries))):
            form.meetings.append_entry()
    return form


class LoginForm(FlaskForm):
    email = StringField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1000)])
    remember = BooleanField("Keep me signed in on this computer")


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class ApproveForm(FlaskForm):
    """Approve a request, as reviewed against this version of its listing."""

    version = HiddenField(validators=[Optional(), Length(max=40)])


class BulkForm(FlaskForm):
    action = SelectField(
        "With selected",
        choices=options(
            [("verify", "Mark verified"), ("archive", "Archive"), ("restore", "Restore")]
        ),
    )
    ids = SelectMultipleField("Listings", choices=[], validate_choice=False)


class RejectForm(FlaskForm):
    reason = TextAreaField(
        "Reason (kept with the request)", validators=[DataRequired(), Length(max=2000)]
    )


class MergeForm(FlaskForm):
    other = StringField(
        "Duplicate to merge into this listing (its id or slug)",
        validators=[DataRequired(), Length(max=200)],
    )


class ImportForm(FlaskForm):
    file = FileField("File", validators=[FileRequired()])
    fmt = SelectField("Format", choices=options(IMPORT_FORMAT_PAIRS))
    source = StringField(
        "Source (who sent this file)",
        validators=[DataRequired("Name who sent this file, e.g. lakeside-hospice"), Length(max=80)],
        description="Listings are matched by their ids within a source: give the same name "
        "each time this partner sends a file, and a different one for every partner.",
    )
    concern = StringField(
        "Default concern (for feeds that carry none, e.g. alcohol)",
        validators=[Optional(), Length(max=80)],
    )


class ConfirmImportForm(FlaskForm):
    token = StringField(validators=[DataRequired(), Length(max=64)])


class UserForm(FlaskForm):
    email = StringField("Email", validators=[DataRequired(), Length(max=254)])
    role = SelectField("Role", choices=options((r, r) for r in ROLES), default="editor")
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1000)])


class ApiKeyForm(FlaskForm):
    name = StringField("Partner name", validators=[DataRequired(), Length(max=120)])


class SourceForm(FlaskForm):
    name = StringField("Name (e.g. sepia-intergroup)", validators=[DataRequired(), Length(max=80)])
    url = StringField("Feed address (https://…)", validators=[DataRequired(), Length(max=2000)])
    fmt = SelectField("Format")
    concern = StringField(
        "Default concern (for feeds that carry none, e.g. alcohol)",
        validators=[Optional(), Length(max=80)],
    )
    every = StringField("Refresh every (30m, 6h, 1d)", default="6h", validators=[Length(max=10)])


class SourceActionForm(FlaskForm):
    """Refresh, pause or resume: a button, with the form's CSRF token."""
