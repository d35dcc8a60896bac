"""Meeting Guide's vocabulary (code4recovery/spec) beside ours: one table, read and written.

The importer (`indexer.meeting_guide`) reads feeds with these tables and the export
(`clearinghouse.api.meeting_guide`) writes them, so a code changes in one place.  Each facet
is a list of (Meeting Guide code, our value) pairs: several codes may read as one value
(`G`, `L`… → lgbtq), and a value is written as the first code listed for it.  A value with
no code of its own may be written as the nearest code (`*_WRITTEN_AS`); it reads back as that
code's value, so those are the only entries that do not survive a round trip.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

V = TypeVar("V")

# Meeting Guide numbers days from Sunday = 0; ours are iCalendar codes.
DAY_CODES = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")
DAY_NUMBERS = {code: number for number, code in enumerate(DAY_CODES)}

# Meeting Guide type codes (code4recovery/spec types.json) with their English names.
TYPE_NAMES = {
    "11": "11th Step Meditation", "12x12": "12 Steps & 12 Traditions", "A": "Secular",
    "ABSI": "As Bill Sees It", "AF": "Afrikaans", "AL": "Concurrent with Alateen",
    "AL-AN": "Concurrent with Al-Anon", "AM": "Amharic", "AR": "Arabic",
    "ASL": "American Sign Language", "B": "Big Book", "BA": "Babysitting Available",
    "BE": "Newcomer", "BG": "Bulgarian", "BI": "Bisexual", "BRK": "Breakfast", "C": "Closed",
    "CAN": "Candlelight", "CF": "Child-Friendly", "D": "Discussion", "DA": "Danish",
    "DB": "Digital Basket", "DD": "Dual Diagnosis", "DE": "German", "DR": "Daily Reflections",
    "EL": "Greek", "EN": "English", "FA": "Persian", "FI": "Finnish", "FF": "Fragrance Free",
    "FR": "French", "G": "Gay", "GR": "Grapevine", "H": "Birthday", "HE": "Hebrew",
    "HI": "Hindi", "HR": "Croatian", "HU": "Hungarian", "IS": "Icelandic", "ITA": "Italian",
    "JA": "Japanese", "KA": "Georgian", "KOR": "Korean", "L": "Lesbian", "LGBTQ": "LGBTQ",
    "LIT": "Literature", "LS": "Living Sober", "LT": "Lithuanian", "M": "Men",
    "MED": "Meditation", "ML": "Malayalam", "MT": "Maltese", "N": "Native American",
    "NB": "Non-Binary", "NDG": "Indigenous", "NE": "Nepali", "NL": "Dutch", "NO": "Norwegian",
    "O": "Open", "OUT": "Outdoor", "P": "Professionals", "POA": "Proof of Attendance",
    "POC": "People of Color", "POL": "Polish", "POR": "Portuguese", "PUN": "Punjabi",
    "RUS": "Russian", "S": "Spanish", "SEN": "Seniors", "SK": "Slovak", "SL": "Slovenian",
    "SM": "Smoking Permitted", "SP": "Speaker", "ST": "Step Study", "SV": "Swedish",
    "T": "Transgender", "TC": "Location Temporarily Closed", "TH": "Thai", "TL": "Tagalog",
    "TR": "Tradition Study", "TUR": "Turkish", "UK": "Ukrainian", "W": "Women",
    "X": "Wheelchair Access", "XB": "Wheelchair-Accessible Bathroom",
    "XT": "Cross Talk Permitted", "Y": "Young People",
    # Codes the feeds use that types.json leaves to the attendance option.
    "ONL": "Online Meeting", "HY": "Hybrid",
}  # fmt: skip

OPEN_CODES = (("O", True), ("C", False))
# Written for a group closed for now; read as closed until further notice (without a link).
TEMPORARILY_CLOSED = "TC"
LANGUAGE_CODES = (
    ("EN", "en"), ("S", "es"), ("FR", "fr"), ("DE", "de"), ("ITA", "it"), ("POL", "pl"),
    ("POR", "pt"), ("RUS", "ru"), ("KOR", "ko"), ("JA", "ja"), ("HE", "he"), ("HI", "hi"),
    ("FA", "fa"), ("AR", "ar"), ("AM", "am"), ("AF", "af"), ("BG", "bg"), ("DA", "da"),
    ("EL", "el"), ("FI", "fi"), ("HR", "hr"), ("HU", "hu"), ("IS", "is"), ("KA", "ka"),
    ("LT", "lt"), ("ML", "ml"), ("MT", "mt"), ("NE", "ne"), ("NL", "nl"), ("NO", "no"),
    ("PUN", "pa"), ("SK", "sk"), ("SL", "sl"), ("SV", "sv"), ("TH", "th"), ("TL", "tl"),
    ("TUR", "tr"), ("UK", "uk"),
)  # fmt: skip
# `CF` (Child-Friendly: children may come along) is not an audience: a "families" group is
# for family members.  It stays a meeting type in the description, and families has no code.
AUDIENCE_CODES = (
    ("W", "women"), ("M", "men"), ("Y", "young-adults"), ("SEN", "seniors"),
    ("LGBTQ", "lgbtq"), ("G", "lgbtq"), ("L", "lgbtq"), ("BI", "lgbtq"), ("T", "lgbtq"),
    ("NB", "lgbtq"), ("POC", "people-of-color"), ("BE", "newcomers"),
)  # fmt: skip
# The spec has no code for teens; Young People is the nearest (read back as young-adults).
AUDIENCE_WRITTEN_AS = {"teens": "Y"}
ACCESSIBILITY_CODES = (
    ("X", "wheelchair"), ("XB", "wheelchair"), ("ASL", "asl"), ("FF", "fragrance-free"),
    ("BA", "childcare"),
)  # fmt: skip


def reading(pairs: Iterable[tuple[str, V]]) -> dict[str, V]:
    """Code → our value, for reading a feed."""
    return dict(pairs)


def writing(pairs: Iterable[tuple[str, V]], nearest: Mapping[V, str] | None = None) -> dict[V, str]:
    """Our value → its first code (then the `nearest` codes of values without one)."""
    codes: dict[V, str] = {}
    for code, value in pairs:
        codes.setdefault(value, code)
    return codes | dict(nearest or {})


OPEN = reading(OPEN_CODES)
LANGUAGES = reading(LANGUAGE_CODES)
AUDIENCE = reading(AUDIENCE_CODES)
ACCESSIBILITY = reading(ACCESSIBILITY_CODES)
OPEN_TYPES = writing(OPEN_CODES)
LANGUAGE_TYPES = writing(LANGUAGE_CODES)
AUDIENCE_TYPES = writing(AUDIENCE_CODES, AUDIENCE_WRITTEN_AS)
ACCESSIBILITY_TYPES = writing(ACCESSIBILITY_CODES)
