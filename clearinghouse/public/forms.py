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
from clearinghouse.i18n import (
    N_,
    current_language,
    gettext,
    localized_message,
    message_patterns,
)
from clearinghouse.i18n import lazy_gettext as _l
from clearinghouse.listings import FieldError, as_list, email_problem


def options(pairs: Any) -> list[SelectChoice]:
    """WTForms choices from (value, label) pairs, labels read in the visitor's language."""
    return [SelectChoice(str(value), _l(str(label))) for value, label in pairs]


TIMEZONES = [("", N_("Same as the meeting place")), *vocab.TIMEZONES.items()]
DAY_CHOICES = list(zip(vocab.ICAL_DAYS, vocab.DAYS.values(), strict=True))
WEEKS = [("1", N_("1st")), ("2", N_("2nd")), ("3", N_("3rd")), ("4", N_("4th")), ("-1", N_("Last"))]


def default_language_names() -> str:
    """What the languages field starts as: the language the visitor reads the form in."""
    return "Español" if current_language() == "es" else "English"


class MultiCheckboxField(SelectMultipleField):
    """Several checkboxes sharing one name; an unknown value is left to validation."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()

    def pre_validate(self, form: Any) -> None:
        """Accept any submitted value; the listing validation reports what is not allowed."""


class SpamCheckMixin:
    """A honeypot: a field hidden from people (CSS and aria-hidden) that bots fill in."""

    homepage = StringField(_l("Leave this field empty"))

    def is_spam(self) -> bool:
        return bool((self.homepage.data or "").strip())


class NewGroupForm(SpamCheckMixin, FlaskForm):
    name = StringField(_l("Group name"))
    concerns = StringField(_l("What is the group for?"))
    description = TextAreaField(_l("What happens at the group?"))
    organization = StringField(_l("Organization it belongs to (if any)"))
    format = RadioField(
        _l("Who leads it?"),
        choices=options(list(vocab.FORMATS.items())),
        default="peer-led",
    )
    attendance = RadioField(
        _l("How do people take part?"),
        choices=options(list(vocab.ATTENDANCE.items())),
        default="in-person",
    )
    open = RadioField(
        _l("Can newcomers just come?"),
        choices=options(
            [("yes", N_("Yes, anyone can come")), ("no", N_("No, people register first"))]
        ),
        default="yes",
    )
    time_limited = BooleanField(_l("It runs for a fixed number of sessions"))
    cost = RadioField(_l("Cost"), choices=options(list(vocab.COSTS.items())), default="free")
    cost_note = StringField(_l("About the cost (optional)"))
    languages = StringField(_l("Languages"), default=lambda: default_language_names())
    audience = MultiCheckboxField(
        _l("Who is it for? (optional)"), choices=options(list(vocab.AUDIENCES.items()))
    )
    accessibility = MultiCheckboxField(
        _l("Accessibility (optional)"), choices=options(list(vocab.ACCESSIBILITY.items()))
    )
    location_name = StringField(_l("Name of the place (optional)"))
    address = StringField(_l("Street address"))
    city = StringField(_l("City or town"))
    region = StringField(_l("State or province"))
    postal_code = StringField(_l("ZIP or postal code"))
    online_url = StringField(_l("Link to join online"))
    online_phone = StringField(_l("Phone number to join by phone"))
    online_notes = TextAreaField(_l("How to join (optional)"))
    meeting_freq = RadioField(
        _l("How often does it meet?"),
        choices=options(
            [
                ("weekly", N_("Every week")),
                ("monthly", N_("Some weeks of the month")),
                ("arrangement", N_("By arrangement")),
            ]
        ),
        default="weekly",
    )
    meeting_weeks = MultiCheckboxField(_l("Which weeks of the month?"), choices=options(WEEKS))
    meeting_days = MultiCheckboxField(_l("Which days?"), choices=options(DAY_CHOICES))
    meeting_start = StringField(_l("Starts at"))
    meeting_end = StringField(_l("Ends at"))
    meeting_timezone = SelectField(_l("Time zone"), choices=options(TIMEZONES), default="")
    contact_phone = StringField(_l("Public phone"))
    contact_email = StringField(_l("Public email"))
    website = StringField(_l("Website"))
    submitter_email = StringField(_l("Your email (optional)"))
    message = TextAreaField(_l("Anything else our staff should know? (optional)"))

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
            errors.append(FieldError("city", N_("give the city or ZIP code where the group meets")))
        if attendance in ("online", "hybrid") and not (self.online_url.data or "").strip():
            errors.append(FieldError("online_url", N_("give the link people use to join online")))
        if attendance == "phone" and not (self.online_phone.data or "").strip():
            errors.append(FieldError("online_phone", N_("give the number people call to join")))
        message = email_problem((self.submitter_email.data or "").strip())
        if message:
            errors.append(FieldError("submitter_email", message))
        return errors

    def attach_errors(self, errors: list[FieldError]) -> list[tuple[str, str, str]]:
        """Put each error on its form field; returns (field id, label, message) for a summary."""
        summary: list[tuple[str, str, str]] = []
        for error in errors:
            field = self._field_for(error)
            message = _sentence(localized(error.message))
            field.errors = [*list(field.errors or []), message]
            summary.append((field.id, str(field.label.text), message))
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


# The validation messages a public form can show (clearinghouse/listings.py words them for
# forms, imports and the API alike); `%(value)s` stands for the value quoted in the message.
FORM_MESSAGES = (
    N_("is required"),
    N_("at least one concern is required"),
    N_("at least one day is required (or freq arrangement)"),
    N_("HTML was removed"),
    N_("%(value)s is not an email address (for example name@example.org)"),
    N_("%(value)s is not a phone number"),
    N_("%(value)s is not a web address (http or https)"),
    N_("%(value)s is not a web address"),
    N_("%(value)s is not a time (use HH:MM, e.g. 19:00 or 7:00 pm)"),
    N_("%(value)s is not a time: hours run 0–23 and minutes 0–59"),
    N_("%(value)s is not a US state or Canadian province"),
    N_("%(value)s is not a known value and was left out"),
    N_("is %(value)s characters long; at most %(limit)s are allowed"),
)
_FORM_PATTERNS = message_patterns(FORM_MESSAGES)


def localized(message: str) -> str:
    """A validation message in the visitor's language (as written when it has no translation)."""
    return localized_message(message, _FORM_PATTERNS)


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


class SuggestEditForm(SpamCheckMixin, FlaskForm):
    """What is wrong with a listing; each filled field becomes part of the payload."""

    name = StringField(_l("The group's name should be"))
    meetings = TextAreaField(_l("When it meets (days, times)"))
    location = TextAreaField(_l("Where it meets"))
    online = TextAreaField(_l("How to join online or by phone"))
    contact = TextAreaField(_l("Contact details"))
    cost = StringField(_l("Cost"))
    description = TextAreaField(_l("Description"))
    no_longer_meets = BooleanField(_l("This group no longer meets"))
    message = TextAreaField(_l("Anything else? (optional)"))
    submitter_email = StringField(_l("Your email (optional)"))

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
            self.name.errors = [gettext("Tell us at least one thing that should change.")]
            ok = False
        message = email_problem((self.submitter_email.data or "").strip())
        if message:
            self.submitter_email.errors = [_sentence(localized(message))]
            ok = False
        return ok
