"""Schedules and dates in Spanish: "El segundo y cuarto martes de cada mes, 7:00–8:30 p. m.".

Spanish orders these words differently from English (articles, plural days, ordinals before
the day, "del mes"), so the sentences are built here rather than pieced together from
translated fragments; `present.py` chooses this module on Spanish pages.  Pure functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from babel.dates import format_date

from clearinghouse import schedule
from clearinghouse.schedule import Rule

DAYS = {
    "MO": "lunes",
    "TU": "martes",
    "WE": "miércoles",
    "TH": "jueves",
    "FR": "viernes",
    "SA": "sábado",
    "SU": "domingo",
}
PLURAL_DAYS = DAYS | {"SA": "sábados", "SU": "domingos"}
ORDINALS = {
    "1": "primer",
    "2": "segundo",
    "3": "tercer",
    "4": "cuarto",
    "5": "quinto",
    "-1": "último",
}
# The zone after "hora": "hora del Centro".
ZONES = {
    "Eastern": "del Este",
    "Central": "del Centro",
    "Mountain": "de la Montaña",
    "Arizona": "de Arizona",
    "Pacific": "del Pacífico",
    "Alaska": "de Alaska",
    "Hawaii": "de Hawái",
    "Atlantic": "del Atlántico",
    "Newfoundland": "de Terranova",
    "Central (Saskatchewan)": "del Centro (Saskatchewan)",
}


def format_time(value: time) -> str:
    """ "7:00 p. m." """
    hour = value.hour % 12 or 12
    return f"{hour}:{value.minute:02d} {'a. m.' if value.hour < 12 else 'p. m.'}"


def zone_words(english_zone: str) -> str:
    """ "hora del Centro" for "Central"; an IANA name stays as it is ("hora de Europe/Madrid")."""
    return f"hora {ZONES.get(english_zone, 'de ' + english_zone)}"


def describe(rule: Rule) -> str:
    """The Spanish of `schedule.describe`: "Los martes y jueves, 7:00–8:30 p. m. hora del Este"."""
    if rule.freq == "arrangement" or not rule.byday:
        return "A convenir" + (f" — {rule.note}" if rule.note else "")
    if rule.freq == "weekly" and rule.interval > 1:
        every = "cada dos semanas" if rule.interval == 2 else f"cada {rule.interval} semanas"
        days = f"{every}, los " + _join([PLURAL_DAYS[token] for token in rule.byday])
    elif rule.freq == "weekly":
        days = "los " + _join([PLURAL_DAYS[token] for token in rule.byday])
    else:
        by_day: dict[str, list[str]] = {}
        for token in rule.byday:
            match = schedule.match_byday(token)
            if match is None:
                continue
            by_day.setdefault(match["day"], []).append(ORDINALS[match["ordinal"] or "1"])
        days = (
            "; ".join(f"el {_join(ordinals)} {DAYS[day]}" for day, ordinals in by_day.items())
            + " de cada mes"
        )
    text = days
    if rule.start:
        span = format_time(rule.start)
        if rule.end:
            start_text, end_text = span, format_time(rule.end)
            if start_text[-5:] == end_text[-5:]:
                start_text = start_text[:-6]
            span = f"{start_text}–{end_text}"
        text += f", {span}"
        zone = schedule.zone_abbreviation(rule.timezone)
        if zone:
            text += f" {zone_words(zone)}"
    if rule.note:
        text += f" ({rule.note})"
    return text[0].upper() + text[1:]


def closure_text(closure: schedule.Closure, today: date | None = None) -> str:
    """The Spanish of `schedule.closure_text`: "Cerrado temporalmente hasta el 10 de enero de
    2027: renovación" ("" once it is over)."""
    if today is not None and not closure.covers(today):
        return ""
    text = "Cerrado temporalmente"
    if closure.until is not None:
        text += f" hasta el {long_day(closure.until)}"
    return f"{text}: {closure.reason}" if closure.reason else text


def cancellation_text(cancellation: schedule.Cancellation) -> str:
    """The Spanish of `schedule.cancellation_text`: "No hay reunión el jueves, 24 de diciembre
    de 2026 (Nochebuena)"."""
    day = format_date(cancellation.day, "EEEE, d 'de' MMMM 'de' y", locale="es")
    text = f"No hay reunión el {day}"
    return f"{text} ({cancellation.reason})" if cancellation.reason else text


def long_day(day: date) -> str:
    """ "10 de enero de 2027" """
    return format_date(day, "d 'de' MMMM 'de' y", locale="es")


def day_text(moment: datetime) -> str:
    """ "martes, 24 de noviembre" """
    return format_date(moment.date(), "EEEE, d 'de' MMMM", locale="es")


def short_day_text(moment: datetime) -> str:
    """ "mar, 24 nov" """
    return format_date(moment.date(), "EEE, d MMM", locale="es").replace(".", "")


def long_date(moment: datetime) -> str:
    """ "3 de noviembre de 2026" """
    return format_date(moment.date(), "d 'de' MMMM 'de' y", locale="es")


def your_time(start: datetime, zone: str | None) -> str:
    """The Spanish of `schedule.your_time`: "6:00 p. m. en su hora" (or "" when the same)."""
    english = schedule.your_time(start, zone)
    if not english or zone is None:
        return ""
    seen = start.astimezone(ZoneInfo(zone))
    clock = format_time(seen.time())
    if seen.date() != start.date():
        clock = f"{format_date(seen.date(), 'EEE', locale='es').rstrip('.')} {clock}"
    return f"{clock} en su hora"


def _join(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " y " + words[-1]
