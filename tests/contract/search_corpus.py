"""The hand-built corpus of the search contract: ~40 listings at known places and distances.

Places are offsets (great circle, in miles) from Chicago, Springfield IL and Toronto; online
and phone groups have no place and some have a service area.  Keys: c = Chicago area,
s = Springfield, t = Toronto, o = online/phone, x = not active (never indexed).
"""

from __future__ import annotations

from typing import Any

from geopy.distance import great_circle

CHICAGO = (41.8781, -87.6298)
SPRINGFIELD = (39.7817, -89.6501)
TORONTO = (43.6532, -79.3832)
CITY = {CHICAGO: ("Chicago", "IL", "US"), SPRINGFIELD: ("Springfield", "IL", "US")}
CITY[TORONTO] = ("Toronto", "ON", "CA")


def offset(origin: tuple[float, float], miles: float, bearing: float) -> tuple[float, float]:
    """The point `miles` from `origin` on `bearing` degrees (great circle)."""
    point = great_circle(miles=miles).destination(origin, bearing)
    return (round(point.latitude, 6), round(point.longitude, 6))


def listing(
    name: str,
    concerns: list[str],
    *,
    near: tuple[float, float] | None = CHICAGO,
    miles: float = 1.0,
    bearing: float = 0.0,
    attendance: str = "in-person",
    meetings: tuple[tuple[str, str], ...] = (("TU", "19:00"),),
    freq: str = "weekly",
    description: str = "",
    **fields: Any,
) -> dict[str, Any]:
    """A raw record for the corpus: a place `miles` from a city, or online/phone only."""
    record: dict[str, Any] = {
        "name": name,
        "description": description or f"{name}: a self-help group. Newcomers welcome.",
        "concerns": concerns,
        "attendance": attendance,
        "meetings": [
            {"freq": freq, "byday": [day], "start": start, "timezone": "America/Chicago"}
            for day, start in meetings
        ],
        **fields,
    }
    if attendance in ("online", "hybrid"):
        record["online"] = {"url": "https://meet.example.org/" + name.lower().replace(" ", "-")}
    if attendance == "phone":
        record["online"] = {"phone": "312-555-0100"}
    if near is None or attendance in ("online", "phone"):
        record["location"] = None
    else:
        city, region, country = CITY[near]
        lat, lon = offset(near, miles, bearing)
        record["location"] = {
            "name": f"{name} room",
            "city": city,
            "region": region,
            "country": country,
            "lat": lat,
            "lon": lon,
        }
    return record


# key -> (status, record).  Distances are from the city centre, in miles.
CORPUS: dict[str, tuple[str, dict[str, Any]]] = {
    "c01": (
        "active",
        listing("Northside Grief Circle", ["grief-loss"], miles=2, accessibility=["wheelchair"]),
    ),
    "c02": (
        "active",
        listing(
            "Bereaved Parents Evening Group",
            ["loss-of-a-child"],
            miles=5,
            bearing=315,
            meetings=(("WE", "18:30"),),
            audience=["parents"],
            description="For mothers and fathers whose child has died.",
        ),
    ),
    "c03": (
        "active",
        listing(
            "Widows and Widowers Coffee",
            ["loss-of-spouse"],
            miles=8,
            bearing=180,
            attendance="hybrid",
            meetings=(("SA", "10:00"),),
            languages=["en", "es"],
            cost="donation",
            audience=["seniors"],
            accessibility=["wheelchair", "hearing-loop"],
        ),
    ),
    "c04": (
        "active",
        listing(
            "Downtown AA Lunch Meeting",
            ["alcohol"],
            miles=0.5,
            bearing=90,
            meetings=(("MO", "12:00"), ("WE", "12:00"), ("FR", "12:00")),
            accessibility=["transit"],
        ),
    ),
    "c05": (
        "active",
        listing(
            "Grupo de Alcohólicos en Español",
            ["alcohol"],
            miles=6,
            bearing=270,
            meetings=(("TH", "20:00"),),
            languages=["es"],
            cost="donation",
            audience=["men"],
        ),
    ),
    "c06": (
        "active",
        listing(
            "Women in Recovery",
            ["drugs", "alcohol"],
            miles=10,
            bearing=200,
            attendance="hybrid",
            format="professional-expert",
            meetings=(("TU", "18:00"),),
            cost="fee",
            audience=["women"],
            accessibility=["childcare"],
        ),
    ),
    "c07": (
        "active",
        listing(
            "Depression Peer Support",
            ["depression"],
            miles=24.7,
            bearing=300,
            meetings=(("MO", "19:00"),),
        ),
    ),
    "c08": (
        "active",
        listing(
            "Anxiety Skills Workshop",
            ["anxiety"],
            miles=25.3,
            bearing=300,
            format="professional-expert",
            meetings=(("TH", "14:00"),),
            cost="fee",
            audience=["young-adults"],
            accessibility=["asl"],
        ),
    ),
    "c09": (
        "active",
        listing(
            "Late Night Recovery Talk", ["drugs"], miles=12, bearing=45, meetings=(("FR", "22:00"),)
        ),
    ),
    "c10": (
        "active",
        listing(
            "Parents Together",
            ["single-parents"],
            miles=15,
            bearing=135,
            meetings=(("SU", "09:00"),),
            audience=["parents", "families"],
            accessibility=["childcare"],
        ),
    ),
    "c11": (
        "active",
        listing(
            "Caregivers of People with Dementia",
            ["dementia-caregivers"],
            miles=40,
            bearing=250,
            format="professional-expert",
            freq="monthly",
            meetings=(("2TU", "13:00"),),
            audience=["caregivers"],
            accessibility=["wheelchair", "parking"],
        ),
    ),
    "c12": (
        "active",
        listing(
            "Breast Cancer Survivors Network",
            ["breast-cancer"],
            miles=3,
            bearing=30,
            format="professional-expert",
            meetings=(("WE", "17:30"),),
            audience=["women"],
            accessibility=["wheelchair"],
        ),
    ),
    "c13": (
        "active",
        listing(
            "Divorce Recovery Circle",
            ["divorce-separation"],
            miles=20,
            bearing=10,
            meetings=(("TH", "19:30"),),
            cost="donation",
        ),
    ),
    "c14": (
        "active",
        listing(
            "Polish Grief Support",
            ["grief-loss"],
            miles=7,
            bearing=240,
            meetings=(("SA", "11:00"),),
            languages=["pl"],
        ),
    ),
    "c15": (
        "active",
        listing(
            "Rainbow Grief Group",
            ["grief-loss", "lgbtq"],
            miles=4,
            bearing=20,
            meetings=(("MO", "18:00"),),
            audience=["lgbtq"],
            accessibility=["wheelchair"],
        ),
    ),
    "c16": (
        "active",
        listing(
            "Veterans Peer Connection",
            ["veterans"],
            miles=9,
            bearing=160,
            meetings=(("WE", "19:00"),),
            audience=["veterans"],
            accessibility=["parking"],
            description="Veterans talk over coffee; families welcome.",
        ),
    ),
    "c17": (
        "active",
        listing(
            "Chronic Pain Support",
            ["chronic-pain"],
            miles=11,
            bearing=100,
            attendance="hybrid",
            meetings=(("MO", "13:00"),),
            accessibility=["captions"],
        ),
    ),
    "c18": (
        "active",
        listing(
            "Gamblers Recovery Group",
            ["gambling"],
            miles=13,
            bearing=350,
            meetings=(("TU", "21:30"),),
        ),
    ),
    "c19": (
        "active",
        listing(
            "Autism Parents Network",
            ["autism", "special-needs-parents"],
            miles=16,
            bearing=80,
            meetings=(("SA", "10:00"),),
            languages=["en", "es"],
            audience=["parents"],
            accessibility=["wheelchair"],
        ),
    ),
    "c20": (
        "active",
        listing(
            "Suicide Loss Survivors",
            ["suicide-loss"],
            miles=18,
            bearing=200,
            meetings=(("TH", "19:00"),),
        ),
    ),
    "c21": (
        "active",
        listing(
            "Teen Grief Club",
            ["children-teen-grief"],
            miles=5.5,
            bearing=60,
            format="professional-expert",
            meetings=(("WE", "16:00"),),
            audience=["teens"],
        ),
    ),
    "c22": (
        "active",
        listing(
            "Overeaters Support",
            ["food-addiction"],
            miles=9.5,
            bearing=20,
            meetings=(("FR", "07:30"),),
            cost="donation",
        ),
    ),
    "s01": (
        "active",
        listing(
            "Springfield Grief Share",
            ["grief-loss"],
            near=SPRINGFIELD,
            miles=1,
            format="professional-expert",
            meetings=(("TU", "18:00"),),
        ),
    ),
    "s02": (
        "active",
        listing(
            "Capital City AA",
            ["alcohol"],
            near=SPRINGFIELD,
            miles=2,
            bearing=90,
            meetings=(("SA", "08:00"),),
        ),
    ),
    "s03": (
        "active",
        listing(
            "Springfield Caregivers Coffee",
            ["dementia-caregivers"],
            near=SPRINGFIELD,
            miles=3,
            bearing=180,
            attendance="hybrid",
            meetings=(("WE", "10:00"),),
            cost="donation",
        ),
    ),
    "t01": (
        "active",
        listing(
            "Toronto Bereavement Circle",
            ["grief-loss"],
            near=TORONTO,
            miles=1,
            languages=["en", "fr"],
        ),
    ),
    "t02": (
        "active",
        listing(
            "Groupe de deuil francophone",
            ["grief-loss"],
            near=TORONTO,
            miles=2,
            bearing=90,
            meetings=(("WE", "19:00"),),
            languages=["fr"],
        ),
    ),
    "t03": (
        "active",
        listing(
            "Toronto Alcohol Recovery",
            ["alcohol"],
            near=TORONTO,
            miles=3,
            bearing=180,
            attendance="hybrid",
            meetings=(("TH", "19:00"),),
        ),
    ),
    "o01": (
        "active",
        listing(
            "Online Grief Support Nationwide",
            ["grief-loss"],
            attendance="online",
            meetings=(("TU", "20:00"),),
        ),
    ),
    "o02": (
        "active",
        listing(
            "Illinois Grief Phone Line",
            ["grief-loss"],
            attendance="phone",
            format="professional-expert",
            meetings=(("MO", "10:00"),),
            service_area=["IL"],
        ),
    ),
    "o03": (
        "active",
        listing(
            "Ontario Online Anxiety Group",
            ["anxiety"],
            attendance="online",
            meetings=(("WE", "19:00"),),
            service_area=["ON"],
        ),
    ),
    "o04": (
        "active",
        listing(
            "Online AA Morning Meeting",
            ["alcohol"],
            attendance="online",
            meetings=(("MO", "07:00"), ("TU", "07:00"), ("WE", "07:00")),
        ),
    ),
    "o05": (
        "active",
        listing(
            "Spanish Online Depression Group",
            ["depression"],
            attendance="online",
            meetings=(("TH", "19:00"),),
            languages=["es"],
            service_area=["IL", "IN"],
        ),
    ),
    "o06": (
        "active",
        listing(
            "Texas Caregiver Phone Support",
            ["dementia-caregivers"],
            attendance="phone",
            meetings=(("TU", "12:00"),),
            service_area=["TX"],
        ),
    ),
    "o07": (
        "active",
        listing(
            "Virtual Divorce Support",
            ["divorce-separation"],
            attendance="online",
            format="professional-expert",
            meetings=(("SU", "19:00"),),
            cost="fee",
        ),
    ),
    "o08": (
        "active",
        listing(
            "Phone Support for Caregivers in Illinois",
            ["dementia-caregivers"],
            attendance="phone",
            meetings=(("FR", "15:00"),),
            service_area=["IL"],
        ),
    ),
    "x01": ("pending", listing("Pending Grief Group", ["grief-loss"], miles=1, bearing=10)),
    "x02": ("inactive", listing("Inactive AA Group", ["alcohol"], miles=1, bearing=20)),
    "x03": ("archived", listing("Archived Grief Group", ["grief-loss"], miles=1, bearing=30)),
}
