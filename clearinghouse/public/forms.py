"""Public forms: suggest a new group, suggest an edit to a listed one.

Field checks live in `clearinghouse.listings.validate_listing` (the one validation for forms
and imports); these forms only carry the values, turn them into the raw listing shape and
put each validation error back on the field a person typed into.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.fields.choices import SelectChoice

from clearinghouse import vocab
from clearinghouse.listings import FieldError, as_list, email_problem


def options(pairs: Any) -> list[SelectChoice]:
    """WTForms choices from (value, label) pairs."""
    return [SelectChoice(str(value), str(label)) for value, label in pairs]


TIMEZONES = [("", "Same as the meeting place"), *vocab.TIMEZONES.items()]
DAY_CHOICES = list(zip(vocab.ICAL_DAYS, vocab.DAYS.values(), strict=True))
WEEKS = [("1", "1st"), ("2", "2nd"), ("3", "3rd"), ("4", "4th"), ("-1", "Last")]


class MultiCheckboxField(SelectMultipleField):
    """Several checkboxes sharing one name; an unknown value is left to validation."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()

    def pre_validate(self, form: Any) -> None:
        """Accept any submitted value; the listing validation reports what is not allowed."""


class SpamCheckMixin:
    """A honeypot: a field hidden from people (CSS and aria-hidden) that bots fill in."""

    homepage = StringField("Leave this field empty")

    def is_spam(self) -> bool:
        return bool((self.homepage.data or "").strip())


class NewGroupForm(SpamCheckMixin, FlaskForm):
    name = StringField("Group name")
    concerns = StringField("What is the group for?")
    description = TextAreaField("What happens at the group?")
    organization = StringField("Organization it belongs to (if any)")
    format = RadioField(
        "Who leads it?",
        choices=options(list(vocab.FORMATS.items())),
        default="peer-led",
    )
    attendance = RadioField(
        "How do people take part?",
        choices=options(list(vocab.ATTENDANCE.items())),
        default="in-person",
    )
    open = RadioField(
        "Can newcomers just come?",
        choices=options([("yes", "Yes, anyone can come"), ("no", "No, people register first")]),
        default="yes",
    )
    time_limited = BooleanField("It runs for a fixed number of sessions")
    cost = RadioField("Cost", choices=options(list(vocab.COSTS.items())), default="free")
    cost_note = StringField("About the cost (optional)")
    languages = StringField("Languages", default="English")
    audience = MultiCheckboxField(
        "Who is it for? (optional)", choices=options(list(vocab.AUDIENCES.items()))
    )
    accessibility = MultiCheckboxField(
        "Accessibility (optional)", choices=options(list(vocab.ACCESSIBILITY.items()))
    )
    location_name = StringField("Name of the place (optional)")
    address = StringField("Street address")
    city = StringField("City or town")
    region = StringField("State or province")
    postal_code = StringField("ZIP or postal code")
    online_url = StringField("Link to join online")
    online_phone = StringField("Phone number to join by phone")
    online_notes = TextAreaField("How to join (optional)")
    meeting_freq = RadioField(
        "How often does it meet?",
        choices=options(
            [
                ("weekly", "Every week"),
                ("monthly", "Some weeks of the month"),
                ("arrangement", "By arrangement"),
            ]
        ),
        default="weekly",
    )
    meeting_weeks = MultiCheckboxField("Which weeks of the month?", choices=options(WEEKS))
    meeting_days = MultiCheckboxField("Which days?", choices=options(DAY_CHOICES))
    meeting_start = StringField("Starts at")
    meeting_end = StringField("Ends at")
    meeting_timezone = SelectField("Time zone", choices=options(TIMEZONES), default="")
    contact_phone = StringField("Public phone")
    contact_email = StringField("Public email")
    website = StringField("Website")
    submitter_email = StringField("Your email (optional)")
    message = TextAreaField("Anything else our staff should know? (optional)")

    def raw_listing(self) -> dict[str, Any]:
        """The submission in the project's raw listing shape (strings as typed)."""
        raw: dict[str, Any] = {
            "name": self.name.data or "",
            "description": self.description.data or "",
            "organization": self.organization.data or "",
            "concerns": [part.strip() for part in as_list(self.concerns.data) if part.strip()],
            "format": self.format.data,
            "attendance": self.attendance.data,
            "open": self.open.data != "no",
            "time_limited": bool(self.time_limited.data),
            "cost": self.cost.data,
            "cost_note": self.cost_note.data or "",
            "languages": [part.strip() for part in as_list(self.languages.data) if part.strip()],
            "audience": list(self.audience.data or []),
            "accessibility": list(self.accessibility.data or []),
            "contact": {
                "phone": self.contact_phone.data or "",
                "email": self.contact_email.data or "",
                "website": self.website.data or "",
            },
        }
        location = {
            "name": self.location_name.data or "",
            "address": self.address.data or "",
            "city": self.city.data or "",
            "region": self.region.data or "",
            "postal_code": self.postal_code.data or "",
        }
        if any(value.strip() for value in location.values()):
            raw["location"] = location
        online = {
            "url": self.online_url.data or "",
            "phone": self.online_phone.data or "",
            "notes": self.online_notes.data or "",
        }
        if any(value.strip() for value in online.values()):
            raw["online"] = online
        raw["meetings"] = [self._meeting()]
        return raw

    def _meeting(self) -> dict[str, Any]:
        freq = self.meeting_freq.data or "weekly"
        days = list(self.meeting_days.data or [])
        if freq == "monthly":
            weeks = list(self.meeting_weeks.data or [])
            byday = [f"{week}{day}" for day in days for week in weeks] if weeks else days
        else:
            byday = days
        return {
            "freq": freq,
            "byday": byday if freq != "arrangement" else [],
            "start": self.meeting_start.data or "",
            "end": self.meeting_end.data or "",
            "timezone": self.meeting_timezone.data or "",
        }

    def extra_errors(self) -> list[FieldError]:
        """What the form asks beyond a valid listing: a place or a way to join, a contact."""
        errors: list[FieldError] = []
        attendance = self.attendance.data
        if attendance in ("in-person", "hybrid") and not (
            (self.city.data or "").strip() or (self.postal_code.data or "").strip()
        ):
            errors.append(FieldError("city", "give the city or ZIP code where the group meets"))
        if attendance in ("online", "hybrid") and not (self.online_url.data or "").strip():
            errors.append(FieldError("online_url", "give the link people use to join online"))
        if attendance == "phone" and not (self.online_phone.data or "").strip():
            errors.append(FieldError("online_phone", "give the number people call to join"))
        message = email_problem((self.submitter_email.data or "").strip())
        if message:
            errors.append(FieldError("submitter_email", message))
        return errors

    def attach_errors(self, errors: list[FieldError]) -> list[tuple[str, str, str]]:
        """Put each error on its form field; returns (field id, label, message) for a summary."""
        summary: list[tuple[str, str, str]] = []
        for error in errors:
            field = self._field_for(error)
            field.errors = [*list(field.errors or []), _sentence(error.message)]
            summary.append((field.id, str(field.label.text), _sentence(error.message)))
        return summary

    def _field_for(self, error: FieldError) -> Field:
        name = error.field
        if name.startswith("meetings["):
            rest = name.partition("].")[2]
            if rest in ("timezone",):
                return self.meeting_timezone
            if rest == "freq":
                return self.meeting_freq
            start, end = self.meeting_start.data or "", self.meeting_end.data or ""
            if start and repr(start) in error.message:
                return self.meeting_start
            if end and repr(end) in error.message:
                return self.meeting_end
            return self.meeting_days
        target = FIELD_FOR_ERROR.get(name, name)
        field = self._fields.get(target)
        return field if field is not None else self.name


FIELD_FOR_ERROR = {
    "location": "city",
    "location.name": "location_name",
    "location.address": "address",
    "location.city": "city",
    "location.region": "region",
    "location.postal_code": "postal_code",
    "location.country": "postal_code",
    "location.timezone": "meeting_timezone",
    "location.lat": "city",
    "location.lon": "city",
    "online.url": "online_url",
    "online.phone": "online_phone",
    "online.notes": "online_notes",
    "contact.phone": "contact_phone",
    "contact.email": "contact_email",
    "contact.website": "website",
    "meetings": "meeting_days",
}


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


class SuggestEditForm(SpamCheckMixin, FlaskForm):
    """What is wrong with a listing; each filled field becomes part of the payload."""

    name = StringField("The group's name should be")
    meetings = TextAreaField("When it meets (days, times)")
    location = TextAreaField("Where it meets")
    online = TextAreaField("How to join online or by phone")
    contact = TextAreaField("Contact details")
    cost = StringField("Cost")
    description = TextAreaField("Description")
    no_longer_meets = BooleanField("This group no longer meets")
    message = TextAreaField("Anything else? (optional)")
    submitter_email = StringField("Your email (optional)")

    PAYLOAD_FIELDS = ("name", "meetings", "location", "online", "contact", "cost", "description")

    def payload(self) -> dict[str, str]:
        suggested = {
            name: (self[name].data or "").strip()
            for name in self.PAYLOAD_FIELDS
            if (self[name].data or "").strip()
        }
        if self.no_longer_meets.data:
            suggested["status"] = "no longer meets"
        return suggested

    def check(self) -> bool:
        """At least one suggestion, and a usable email if one was given."""
        ok = True
        if not self.payload() and not (self.message.data or "").strip():
            self.name.errors = ["Tell us at least one thing that should change."]
            ok = False
        message = email_problem((self.submitter_email.data or "").strip())
        if message:
            self.submitter_email.errors = [_sentence(message)]
            ok = False
        return ok
