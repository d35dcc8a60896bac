"""Controlled vocabularies: the values each facet may take, their labels and lay spellings."""

from __future__ import annotations

from clearinghouse.models import GroupStatus


def N_(text: str) -> str:
    """Marks a label for the Spanish catalog; public pages show it through i18n.translated."""
    return text


FORMATS = {
    "peer-led": N_("Peer-led"),
    "professional-expert": N_("Professional-expert"),
}
ATTENDANCE = {
    "in-person": N_("In person"),
    "online": N_("Online"),
    "phone": N_("By phone"),
    "hybrid": N_("In person and online"),
}
COSTS = {"free": N_("Free"), "donation": N_("Donation"), "fee": N_("Fee")}
STATUSES = tuple(status.value for status in GroupStatus)
ROLES = ("admin", "editor")
FREQUENCIES = ("weekly", "monthly", "arrangement")

AUDIENCES = {
    "women": N_("Women"),
    "men": N_("Men"),
    "teens": N_("Teens"),
    "young-adults": N_("Young adults"),
    "seniors": N_("Seniors"),
    "lgbtq": N_("LGBTQ+"),
    "veterans": N_("Veterans"),
    "parents": N_("Parents"),
    "families": N_("Families"),
    "caregivers": N_("Caregivers"),
    "children": N_("Children"),
    "people-of-color": N_("People of color"),
    "newcomers": N_("Newcomers"),
}
ACCESSIBILITY = {
    "wheelchair": N_("Wheelchair accessible"),
    "asl": N_("ASL interpreted"),
    "hearing-loop": N_("Hearing loop"),
    "fragrance-free": N_("Fragrance free"),
    "childcare": N_("Childcare available"),
    "parking": N_("Parking"),
    "transit": N_("Near public transit"),
    "captions": N_("Captions online"),
}
DAYS = {
    "mon": N_("Monday"),
    "tue": N_("Tuesday"),
    "wed": N_("Wednesday"),
    "thu": N_("Thursday"),
    "fri": N_("Friday"),
    "sat": N_("Saturday"),
    "sun": N_("Sunday"),
}
# iCalendar day codes in the same order as DAYS.
ICAL_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
DAY_FROM_ICAL = dict(zip(ICAL_DAYS, DAYS, strict=True))

# The time zones forms offer (public and staff alike); any other IANA zone is still valid.
TIMEZONES = {
    "America/New_York": N_("Eastern"),
    "America/Chicago": N_("Central"),
    "America/Denver": N_("Mountain"),
    "America/Phoenix": N_("Arizona"),
    "America/Los_Angeles": N_("Pacific"),
    "America/Anchorage": N_("Alaska"),
    "Pacific/Honolulu": N_("Hawaii"),
    "America/Halifax": N_("Atlantic"),
    "America/St_Johns": N_("Newfoundland"),
    "America/Regina": N_("Saskatchewan"),
    "America/Puerto_Rico": N_("Puerto Rico"),
}

# Parts of the day by local start time: [start, end) in hours.
TIMES_OF_DAY = {
    "morning": (N_("Morning (before noon)"), 5, 12),
    "afternoon": (N_("Afternoon (noon–5 pm)"), 12, 17),
    "evening": (N_("Evening (5–9 pm)"), 17, 21),
    "night": (N_("Night (9 pm and later)"), 21, 29),
}


def time_of_day(hour: int) -> str:
    """The part of the day a meeting starting at `hour` (0-23) belongs to."""
    for slug, (_label, start, end) in TIMES_OF_DAY.items():
        if start <= hour < end or start <= hour + 24 < end:
            return slug
    return "night"


LANGUAGES = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "zh": "Chinese",
    "vi": "Vietnamese",
    "ko": "Korean",
    "tl": "Tagalog",
    "ar": "Arabic",
    "ru": "Russian",
    "pt": "Portuguese",
    "ht": "Haitian Creole",
    "de": "German",
    "it": "Italian",
    "pl": "Polish",
    "hi": "Hindi",
    "ur": "Urdu",
    "fa": "Persian",
    "ja": "Japanese",
    "he": "Hebrew",
    "yi": "Yiddish",
    "el": "Greek",
    "uk": "Ukrainian",
    "so": "Somali",
    "am": "Amharic",
    "bn": "Bengali",
    "pa": "Punjabi",
    "gu": "Gujarati",
    "hy": "Armenian",
    "km": "Khmer",
    "lo": "Lao",
    "nv": "Navajo",
    "sm": "Samoan",
    "th": "Thai",
    "tr": "Turkish",
    "nl": "Dutch",
    "sv": "Swedish",
    "ro": "Romanian",
    "hu": "Hungarian",
    "cs": "Czech",
    "sr": "Serbian",
    "hr": "Croatian",
    "bs": "Bosnian",
    "sw": "Swahili",
    "yo": "Yoruba",
    "ig": "Igbo",
    "ne": "Nepali",
    "my": "Burmese",
    "ta": "Tamil",
    "te": "Telugu",
    "ml": "Malayalam",
    "id": "Indonesian",
    "ms": "Malay",
    "sq": "Albanian",
}
# The other ISO 639-1 codes: accepted, shown by code when there is no label above.
_OTHER_ISO_639_1 = (
    "aa ab ae af ak an as av ay az ba be bg bh bi bm bo br ca ce ch co cr cu cv cy da dv dz ee eo "
    "et eu ff fi fj fo fy ga gd gl gn gv ha ho hm hz ia ie ii ik io is iu jv ka kg ki kj kk kl "
    "kn kr ks ku kv kw ky la lb lg li ln lt lu lv mg mh mi mk mn mr mt na nb nd ng nn no nr ny "
    "oc oj om or os pi ps qu rm rn rw sa sc sd se sg si sk sl sn ss st su tg ti tk tn to ts tt "
    "tw ty ug uz ve vo wa wo xh za zu"
)
ISO_639_1 = frozenset(LANGUAGES) | frozenset(_OTHER_ISO_639_1.split())
LANGUAGE_NAMES = {name.lower(): code for code, name in LANGUAGES.items()} | {
    "español": "es",
    "espanol": "es",
    "francais": "fr",
    "français": "fr",
    "mandarin": "zh",
    "cantonese": "zh",
    "farsi": "fa",
    "creole": "ht",
    "kreyol": "ht",
    "filipino": "tl",
    # Spanish names, as the Spanish form invites people to type them.
    "inglés": "en",
    "ingles": "en",
    "francés": "fr",
    "chino": "zh",
    "vietnamita": "vi",
    "coreano": "ko",
    "tagalo": "tl",
    "árabe": "ar",
    "arabe": "ar",
    "ruso": "ru",
    "portugués": "pt",
    "portugues": "pt",
    "criollo haitiano": "ht",
    "alemán": "de",
    "aleman": "de",
    "italiano": "it",
    "polaco": "pl",
}


def label(vocabulary: dict[str, str], value: str) -> str:
    """The label of a value, or the value itself when it has none."""
    return vocabulary.get(value, value)
