"""Word lists for the synthetic listing generator (`indexer.generate`): concern phrases, names.

Everything here is invented or generic. Group and venue names use common place words, never a
real person's name; contact details use reserved example domains and 555-01xx numbers.
"""

from __future__ import annotations

from typing import Final, NamedTuple


class Topic(NamedTuple):
    """How a concern reads in a group's name ("Grief Support Group") and who it is for."""

    name: str
    who: str


# One entry per concern slug.  A slug missing here (the taxonomy grew) falls back to its label.
TOPICS: Final[dict[str, Topic]] = {
    # Addiction & recovery
    "addiction-recovery": Topic("Recovery Support Group", "people in recovery from any addiction"),
    "alcohol": Topic("Alcohol Recovery Group", "people who want to stop drinking"),
    "drugs": Topic("Drug Recovery Support Group", "people recovering from drug use"),
    "opioids": Topic(
        "Opioid Recovery Support Group",
        "people recovering from opioid use, including those on medication-assisted treatment",
    ),
    "cocaine-stimulants": Topic(
        "Stimulant Recovery Group", "people recovering from cocaine, meth or other stimulants"
    ),
    "marijuana": Topic(
        "Cannabis Recovery Group", "people who want to quit or cut back on marijuana"
    ),
    "gambling": Topic("Gambling Recovery Group", "people whose gambling has become a problem"),
    "smoking-nicotine": Topic(
        "Quit Smoking Support Group", "people quitting cigarettes, vaping or other nicotine"
    ),
    "food-addiction": Topic(
        "Compulsive Eating Recovery Group", "people struggling with compulsive overeating"
    ),
    "sex-love-addiction": Topic(
        "Sex & Love Addiction Recovery Group",
        "people recovering from compulsive sexual behavior or love addiction",
    ),
    "internet-gaming": Topic(
        "Tech & Gaming Balance Group",
        "people whose gaming, internet or phone use feels out of control",
    ),
    "shopping-spending": Topic(
        "Compulsive Spending Support Group", "people who struggle with compulsive shopping"
    ),
    "families-of-addicts": Topic(
        "Family & Friends of Addicts Group",
        "family members and friends of someone with an addiction",
    ),
    "adult-children-alcoholics": Topic(
        "Adult Children of Alcoholics Group",
        "adults who grew up in alcoholic or otherwise troubled homes",
    ),
    "codependency": Topic(
        "Codependency Recovery Group", "people who want healthier, more balanced relationships"
    ),
    "dual-diagnosis": Topic(
        "Dual Recovery Group",
        "people living with both a mental health condition and a substance use problem",
    ),
    # Mental health
    "mental-health": Topic(
        "Mental Health Peer Support Group", "people living with a mental health condition"
    ),
    "depression": Topic("Depression Support Group", "adults living with depression"),
    "bipolar": Topic("Bipolar Support Group", "people living with bipolar disorder"),
    "anxiety": Topic("Anxiety Support Group", "people who live with anxiety, worry or panic"),
    "ocd": Topic("OCD Support Group", "people living with obsessive-compulsive disorder"),
    "ptsd": Topic("PTSD & Trauma Recovery Group", "people healing from trauma and PTSD"),
    "schizophrenia-psychosis": Topic(
        "Hearing Voices Group", "people who hear voices or live with schizophrenia or psychosis"
    ),
    "eating-disorders": Topic(
        "Eating Disorder Recovery Group", "people recovering from anorexia, bulimia or binge eating"
    ),
    "self-harm": Topic("Self-Harm Recovery Group", "people who self-harm or are working to stop"),
    "suicide-attempt-survivors": Topic(
        "Attempt Survivors Group",
        "people who have survived a suicide attempt or live with suicidal thoughts",
    ),
    "postpartum": Topic(
        "Postpartum Support Group",
        "new and expecting parents facing depression or anxiety around birth",
    ),
    "hoarding": Topic("Hoarding Support Group", "people who struggle with clutter and hoarding"),
    "borderline-personality": Topic(
        "BPD Support Group", "people living with borderline personality disorder"
    ),
    "emotional-wellbeing": Topic(
        "Stress & Wellbeing Circle", "people feeling overwhelmed who want help coping with stress"
    ),
    "family-mental-illness": Topic(
        "Family Support Group for Mental Illness",
        "family members and friends of people living with mental illness",
    ),
    # Grief & loss
    "grief-loss": Topic("Grief Support Group", "people grieving the death of someone they love"),
    "loss-of-a-child": Topic("Bereaved Parents Group", "parents who have lost a child of any age"),
    "loss-of-spouse": Topic(
        "Widowed Persons Support Group", "people who have lost a spouse or partner"
    ),
    "suicide-loss": Topic(
        "Survivors of Suicide Loss Group", "people who have lost someone to suicide"
    ),
    "pregnancy-infant-loss": Topic(
        "Pregnancy & Infant Loss Support",
        "parents who have been through miscarriage, stillbirth or the death of a baby",
    ),
    "pet-loss": Topic("Pet Loss Support Group", "people grieving the loss of an animal companion"),
    "loss-of-a-parent": Topic(
        "Loss of a Parent Grief Group", "adults grieving the death of a mother or father"
    ),
    "sibling-loss": Topic("Sibling Loss Support Group", "people who have lost a brother or sister"),
    "children-teen-grief": Topic(
        "Children's Grief Group", "grieving children, teens and their families"
    ),
    "homicide-loss": Topic(
        "Homicide Survivors Support Group",
        "families and friends of people lost to homicide or violence",
    ),
    "overdose-loss": Topic(
        "Overdose Loss Support Group", "people who have lost someone to overdose or addiction"
    ),
    "military-loss": Topic(
        "Military Loss Support Group", "families grieving a service member or veteran"
    ),
    # Cancer
    "cancer": Topic("Cancer Support Group", "people living with cancer"),
    "breast-cancer": Topic("Breast Cancer Support Group", "people diagnosed with breast cancer"),
    "prostate-cancer": Topic(
        "Prostate Cancer Support Group", "men with prostate cancer and their partners"
    ),
    "lung-cancer": Topic("Lung Cancer Support Group", "people living with lung cancer"),
    "colorectal-cancer": Topic(
        "Colorectal Cancer Support Group", "people facing colon or rectal cancer"
    ),
    "blood-cancers": Topic(
        "Blood Cancer Support Group", "people with leukemia, lymphoma or myeloma"
    ),
    "gynecologic-cancers": Topic(
        "Ovarian & Gynecologic Cancer Group", "women facing ovarian, uterine or cervical cancer"
    ),
    "childhood-cancer": Topic(
        "Families of Children with Cancer", "parents and families of children with cancer"
    ),
    "young-adult-cancer": Topic(
        "Young Adult Cancer Circle", "people in their twenties and thirties facing cancer"
    ),
    "brain-tumor": Topic(
        "Brain Tumor Support Group", "people with brain tumors and the people who love them"
    ),
    "cancer-survivorship": Topic(
        "Cancer Survivors Group", "people who have finished cancer treatment and what comes after"
    ),
    # Health conditions
    "health-conditions": Topic(
        "Chronic Illness Support Group", "people living with a chronic health condition"
    ),
    "diabetes": Topic("Diabetes Support Group", "people living with type 1 or type 2 diabetes"),
    "heart-disease": Topic(
        "Heart Health Support Group", "people living with heart disease or recovering from surgery"
    ),
    "stroke": Topic("Stroke Survivors Group", "stroke survivors and their families"),
    "chronic-pain": Topic("Chronic Pain Support Group", "people living with ongoing pain"),
    "fibromyalgia": Topic("Fibromyalgia Support Group", "people living with fibromyalgia"),
    "chronic-fatigue": Topic("ME/CFS Support Group", "people living with ME/CFS"),
    "multiple-sclerosis": Topic("MS Support Group", "people living with multiple sclerosis"),
    "parkinsons": Topic(
        "Parkinson's Support Group", "people with Parkinson's disease and their care partners"
    ),
    "als": Topic("ALS Support Group", "people living with ALS and their families"),
    "epilepsy": Topic("Epilepsy Support Group", "people living with epilepsy or seizures"),
    "hiv-aids": Topic("HIV Support Group", "people living with HIV"),
    "lupus": Topic("Lupus Support Group", "people living with lupus"),
    "kidney-disease": Topic(
        "Kidney & Dialysis Support Group", "people with kidney disease or on dialysis"
    ),
    "brain-injury": Topic(
        "Brain Injury Support Group", "brain injury survivors and their families"
    ),
    "long-covid": Topic("Long COVID Support Group", "people still feeling the effects of COVID-19"),
    "infertility": Topic("Infertility Support Group", "people and couples facing infertility"),
    "ostomy": Topic("Ostomy Support Group", "people living with an ostomy"),
    "hearing-loss": Topic("Hearing Loss Support Group", "adults with hearing loss"),
    "vision-loss": Topic("Low Vision Support Group", "people living with low vision or blindness"),
    "rare-diseases": Topic(
        "Rare Disease Support Network", "people and families living with a rare disease"
    ),
    "dementia-living-with": Topic(
        "Living with Memory Loss Group", "people in the early stages of dementia or memory loss"
    ),
    "arthritis": Topic("Arthritis Support Group", "people living with arthritis"),
    "ibd": Topic(
        "Crohn's & Colitis Support Group",
        "people living with Crohn's disease or ulcerative colitis",
    ),
    "lung-disease": Topic("COPD & Lung Health Group", "people living with COPD or lung disease"),
    "migraine": Topic("Migraine Support Group", "people living with migraine or chronic headache"),
    "organ-transplant": Topic(
        "Transplant Support Group", "transplant candidates, recipients and their families"
    ),
    "weight-bariatric": Topic(
        "Bariatric Surgery Support Group", "people before and after weight-loss surgery"
    ),
    # Disabilities
    "disabilities": Topic(
        "Disability Peer Support Group", "people with disabilities and their families"
    ),
    "autism": Topic("Autism Support Group", "autistic adults and families of autistic children"),
    "adhd": Topic("ADHD Support Group", "adults with ADHD and parents of children with ADHD"),
    "down-syndrome": Topic("Down Syndrome Family Group", "families of people with Down syndrome"),
    "intellectual-developmental": Topic(
        "Developmental Disabilities Family Group",
        "people with intellectual and developmental disabilities and their families",
    ),
    "cerebral-palsy": Topic(
        "Cerebral Palsy Support Group", "people with cerebral palsy and their families"
    ),
    "physical-disability": Topic(
        "Mobility & Disability Peer Group", "people with physical disabilities"
    ),
    "spinal-cord-injury": Topic(
        "Spinal Cord Injury Peer Group", "people living with spinal cord injury or paralysis"
    ),
    "amputation": Topic("Amputee Support Group", "people living with limb loss"),
    "learning-disabilities": Topic(
        "Learning Differences Parent Group", "people with learning disabilities and their families"
    ),
    "deaf-community": Topic(
        "Deaf & Hard of Hearing Social Group", "Deaf and hard-of-hearing people"
    ),
    "stuttering": Topic("Stuttering Support Group", "people who stutter"),
    "spina-bifida": Topic(
        "Spina Bifida Family Group", "people with spina bifida and their families"
    ),
    "dwarfism": Topic(
        "Dwarfism Family Support Group", "people of short stature and their families"
    ),
    "neuromuscular": Topic(
        "Neuromuscular Disease Support Group",
        "people living with muscular dystrophy or another neuromuscular disease",
    ),
    # Caregiving
    "caregiving": Topic("Family Caregivers Support Group", "family caregivers of all kinds"),
    "dementia-caregivers": Topic(
        "Dementia Caregivers Support Group",
        "family members caring for someone with Alzheimer's or another dementia",
    ),
    "cancer-caregivers": Topic(
        "Cancer Caregivers Group", "people caring for a loved one with cancer"
    ),
    "aging-parents": Topic(
        "Caring for Aging Parents Group", "adult children caring for an aging parent"
    ),
    "special-needs-parents": Topic(
        "Special Needs Parents Circle", "parents of children with special needs"
    ),
    "kinship-care": Topic(
        "Grandparents Raising Grandchildren", "grandparents and other relatives raising children"
    ),
    "spouse-caregivers": Topic(
        "Spouse & Partner Caregivers Group",
        "people caring for a chronically ill or disabled spouse or partner",
    ),
    "hospice-end-of-life": Topic(
        "End of Life Support Group", "people facing the end of life and those caring for them"
    ),
    # Parenting & family
    "parenting-family": Topic("Parent Support Group", "parents and caregivers"),
    "single-parents": Topic("Single Parents Support Group", "single parents"),
    "new-parents": Topic("New Parents Circle", "new and expecting parents"),
    "parents-of-teens": Topic("Parents of Teens Group", "parents of teenagers"),
    "adoption": Topic(
        "Adoptive Families Support Group", "adoptive parents, adoptees and birth parents"
    ),
    "foster-families": Topic("Foster Parent Support Group", "foster parents and foster families"),
    "co-parenting": Topic(
        "Co-Parenting Support Group", "parents sharing custody after separation or divorce"
    ),
    "blended-families": Topic("Stepfamily Support Group", "stepparents and blended families"),
    "parents-of-lgbtq": Topic(
        "Parents of LGBTQ+ Kids Group", "parents and families of LGBTQ+ people"
    ),
    "parents-of-multiples": Topic(
        "Parents of Multiples Club", "parents of twins, triplets and more"
    ),
    "fathers": Topic("Dads' Support Group", "fathers and father figures"),
    "family-estrangement": Topic(
        "Family Estrangement Support Group", "people estranged from a parent, child or sibling"
    ),
    "teen-parents": Topic("Young Parents Group", "teen and young parents"),
    # Abuse & trauma
    "abuse-trauma": Topic("Trauma Survivors Support Group", "survivors of abuse and trauma"),
    "domestic-violence": Topic(
        "Domestic Violence Survivors Group", "survivors of domestic violence"
    ),
    "sexual-assault": Topic("Sexual Assault Survivors Group", "survivors of sexual assault"),
    "childhood-abuse": Topic(
        "Adult Survivors of Childhood Abuse", "adults who were abused as children"
    ),
    "human-trafficking": Topic("Trafficking Survivors Group", "survivors of human trafficking"),
    "crime-victims": Topic("Crime Victims Support Group", "people affected by crime"),
    "dating-violence": Topic(
        "Healthy Relationships Teen Group", "teens and young adults affected by dating violence"
    ),
    "elder-abuse": Topic(
        "Elder Abuse Survivors Group", "older adults who have experienced abuse or exploitation"
    ),
    "clergy-abuse": Topic(
        "Survivors of Clergy Abuse Group", "survivors of abuse by clergy or institutions"
    ),
    "traffic-crash-victims": Topic(
        "Traffic Crash Victims Support Group",
        "people injured or bereaved by drunk driving or traffic crashes",
    ),
    "emotional-abuse": Topic(
        "Emotional Abuse Recovery Group", "people healing from narcissistic or emotional abuse"
    ),
    "bullying": Topic(
        "Bullying Support Group", "young people affected by bullying and their parents"
    ),
    # Life transitions
    "life-transitions": Topic(
        "Life Transitions Support Group", "people going through a major life change"
    ),
    "divorce-separation": Topic(
        "Divorce Recovery Group", "people going through separation or divorce"
    ),
    "job-loss": Topic("Job Seekers Support Group", "people dealing with unemployment or job loss"),
    "retirement": Topic("Retirement Transitions Group", "people adjusting to retirement"),
    "immigrants-newcomers": Topic(
        "Newcomers Support Circle", "immigrants and refugees settling into a new country"
    ),
    "empty-nest": Topic("Empty Nesters Group", "parents whose children have left home"),
    "aging": Topic("Positive Aging Group", "older adults"),
    "young-adult-transitions": Topic(
        "Young Adult Transitions Group", "young adults navigating college, work and independence"
    ),
    # Identity & community
    "identity-community": Topic("Community Support Circle", "community members"),
    "lgbtq": Topic("LGBTQ+ Peer Support Group", "LGBTQ+ people"),
    "transgender": Topic(
        "Trans & Nonbinary Support Group", "transgender, nonbinary and questioning people"
    ),
    "lgbtq-elders": Topic("LGBTQ+ Elders Circle", "LGBTQ+ older adults"),
    "veterans": Topic("Veterans Peer Support Group", "veterans of all eras"),
    "military-families": Topic(
        "Military Families Support Group", "spouses and families of service members"
    ),
    "black-community": Topic("Black Wellness Circle", "Black and African American adults"),
    "latino-community": Topic("Latino Community Support Circle", "Latino and Hispanic adults"),
    "asian-pacific-islander": Topic(
        "AAPI Community Support Group", "Asian American and Pacific Islander adults"
    ),
    "native-american": Topic(
        "Native Wellness Circle", "Native American and Alaska Native community members"
    ),
    "mens-issues": Topic("Men's Support Group", "men who want a place to talk"),
    "womens-issues": Topic("Women's Support Circle", "women looking for connection and support"),
    "faith-based": Topic("Faith-Based Support Group", "people who want support grounded in faith"),
    # Justice involvement
    "justice-involvement": Topic(
        "Justice-Involved Support Group", "people affected by the justice system"
    ),
    "incarceration": Topic("Inside Peer Support Group", "people who are currently incarcerated"),
    "families-of-incarcerated": Topic(
        "Families of Incarcerated Loved Ones", "families of people who are incarcerated"
    ),
    "reentry": Topic("Reentry Support Group", "people returning home after incarceration"),
    "juvenile-justice": Topic(
        "Youth & Families Justice Group",
        "young people involved with the justice system and their families",
    ),
    # Money & housing
    "money-housing": Topic("Financial Hardship Support Group", "people facing financial hardship"),
    "debt": Topic("Debt & Money Stress Group", "people struggling with debt or money problems"),
    "homelessness": Topic(
        "Housing Peer Support Group", "people experiencing homelessness or housing insecurity"
    ),
    "runaway-youth": Topic(
        "Youth Drop-In Support Group", "young people without a stable place to live"
    ),
    "food-insecurity": Topic("Community Table Support Group", "people facing food insecurity"),
    # Relationships & social connection
    "relationships-social": Topic(
        "Relationships Support Group", "people seeking healthier relationships"
    ),
    "loneliness": Topic("Connection Circle", "people who feel lonely or isolated"),
    "social-anxiety": Topic(
        "Social Anxiety Support Group", "people with social anxiety or shyness"
    ),
    "marriage-couples": Topic("Couples Support Group", "married and committed couples"),
    "infidelity": Topic("Infidelity Recovery Group", "people healing after infidelity or betrayal"),
    "dating-singles": Topic("Singles Support Circle", "single adults navigating dating"),
}

# Names some concerns' groups really go by; {place}, {city}, {day} and {part} are filled in.
# Mutual-aid fellowships (AA, NA, Al-Anon, SMART Recovery) name meetings like this everywhere;
# the generator never sets one of them as the listing's organisation.
SPECIAL_NAMES: Final[dict[str, tuple[str, ...]]] = {
    "alcohol": (
        "{day} {part} Serenity AA",
        "{place} Big Book Study",
        "Came to Believe AA — {place}",
        "Keep It Simple AA",
        "Happy Destiny Group",
        "Back to Basics AA — {city}",
        "{day} {part} Step Study",
        "One Day at a Time AA",
        "SMART Recovery — {place}",
        "Serenity Seekers AA",
    ),
    "drugs": (
        "Clean and Serene NA",
        "{day} {part} NA — {place}",
        "Just for Today NA",
        "SMART Recovery — {place}",
        "Recovery Dharma — {place}",
    ),
    "opioids": ("MAT-Friendly Recovery Circle — {place}", "{day} {part} Opioid Recovery Group"),
    "gambling": ("{place} GA Meeting", "{day} Night Gamblers Recovery"),
    "families-of-addicts": (
        "{place} Al-Anon Family Group",
        "Hope for Today Al-Anon",
        "Nar-Anon — {place}",
        "Parents of Addicted Loved Ones — {city}",
    ),
    "adult-children-alcoholics": ("ACA — {place}", "{day} {part} ACA Meeting"),
    "codependency": ("CoDA — {place}", "{day} Night CoDA"),
    "dual-diagnosis": ("Double Recovery — {place}",),
    "dementia-caregivers": (
        "Caregivers of Loved Ones with Dementia — {city}",
        "Memory Care Partners Group — {place}",
    ),
    "autism": ("Parents of Children with Autism Circle", "Autistic Adults Meetup — {place}"),
    "loss-of-spouse": ("{place} Widow and Widower Circle", "New Beginnings After Loss"),
    "grief-loss": (
        "{place} Grief Support Group",
        "Healing Hearts Grief Group",
        "Journey Through Grief",
    ),
    "depression": ("{day} {part} Mood Support Circle", "Depression & Bipolar Peer Group — {place}"),
    "anxiety": ("Calm Minds Anxiety Group — {place}",),
    "kinship-care": ("Grandparents Raising Grandchildren — {city}",),
    "veterans": ("Vets Helping Vets — {place}", "{place} Veterans Coffee Group"),
    "breast-cancer": ("Pink Ribbon Circle — {place}", "Breast Cancer Sisters"),
    "new-parents": ("{place} New Moms Group", "Baby & Me Support Circle"),
}

# Spanish names for groups that meet in Spanish, by concern or its parent.
SPANISH_NAMES: Final[dict[str, str]] = {
    "alcohol": "Grupo Hispano de AA",
    "drugs": "Grupo de Recuperación",
    "addiction-recovery": "Grupo de Recuperación",
    "families-of-addicts": "Grupo de Familias en Recuperación",
    "grief-loss": "Grupo de Apoyo para el Duelo",
    "mental-health": "Grupo de Apoyo de Salud Mental",
    "caregiving": "Grupo de Apoyo para Cuidadores",
    "parenting-family": "Círculo de Padres y Madres",
    "cancer": "Grupo de Apoyo para el Cáncer",
    "diabetes": "Grupo de Apoyo para la Diabetes",
    "domestic-violence": "Grupo de Sobrevivientes de Violencia Doméstica",
    "abuse-trauma": "Grupo de Apoyo para Sobrevivientes",
    "immigrants-newcomers": "Círculo de Apoyo para Inmigrantes",
}

# Audience tags a concern's groups often carry.
AUDIENCE_HINTS: Final[dict[str, tuple[str, ...]]] = {
    "veterans": ("veterans",),
    "military-families": ("veterans", "families"),
    "military-loss": ("veterans", "families"),
    "children-teen-grief": ("children", "teens", "families"),
    "aging": ("seniors",),
    "retirement": ("seniors",),
    "lgbtq-elders": ("lgbtq", "seniors"),
    "elder-abuse": ("seniors",),
    "lgbtq": ("lgbtq",),
    "transgender": ("lgbtq",),
    "parents-of-lgbtq": ("parents", "families"),
    "young-adult-cancer": ("young-adults",),
    "young-adult-transitions": ("young-adults",),
    "teen-parents": ("teens", "parents"),
    "dating-violence": ("teens", "young-adults"),
    "bullying": ("teens", "parents"),
    "runaway-youth": ("teens", "young-adults"),
    "juvenile-justice": ("teens", "families"),
    "mens-issues": ("men",),
    "fathers": ("men", "parents"),
    "prostate-cancer": ("men",),
    "womens-issues": ("women",),
    "gynecologic-cancers": ("women",),
    "postpartum": ("parents", "women"),
    "black-community": ("people-of-color",),
    "latino-community": ("people-of-color",),
    "asian-pacific-islander": ("people-of-color",),
    "native-american": ("people-of-color",),
    "immigrants-newcomers": ("newcomers",),
    "kinship-care": ("caregivers", "seniors"),
    "childhood-cancer": ("parents", "families"),
    "special-needs-parents": ("parents", "caregivers"),
}
AUDIENCE_PREFIX: Final[dict[str, str]] = {
    "women": "Women's",
    "men": "Men's",
    "young-adults": "Young Adult",
    "seniors": "Senior",
    "lgbtq": "LGBTQ+",
    "veterans": "Veterans'",
}

# Concerns whose groups are more often professionally led (a clinician, nurse, social worker).
PROFESSIONAL_LEANING: Final = frozenset(
    {
        "childhood-cancer", "brain-tumor", "blood-cancers", "lung-cancer", "postpartum",
        "eating-disorders", "infertility", "organ-transplant", "weight-bariatric",
        "hospice-end-of-life", "incarceration", "sexual-assault", "domestic-violence",
        "human-trafficking", "children-teen-grief", "dementia-living-with", "ostomy",
        "kidney-disease", "heart-disease", "stroke", "diabetes", "long-covid", "juvenile-justice",
        "bullying", "dating-violence", "self-harm", "suicide-attempt-survivors",
    }
)  # fmt: skip
# Fellowship-style concerns: almost always peer-led, free or by donation, open.
FELLOWSHIP: Final = frozenset(
    {
        "alcohol", "drugs", "opioids", "cocaine-stimulants", "marijuana", "gambling",
        "food-addiction", "sex-love-addiction", "internet-gaming", "shopping-spending",
        "families-of-addicts", "adult-children-alcoholics", "codependency", "debt",
    }
)  # fmt: skip

# Relative weights: the most common kinds of groups; every other concern weighs 1.
CONCERN_WEIGHTS: Final[dict[str, float]] = {
    "alcohol": 14, "drugs": 6, "opioids": 3, "families-of-addicts": 5, "grief-loss": 5,
    "loss-of-spouse": 3, "loss-of-a-child": 2, "depression": 5, "anxiety": 4, "bipolar": 2,
    "mental-health": 2, "family-mental-illness": 2, "dementia-caregivers": 4, "caregiving": 2,
    "aging-parents": 2, "cancer": 3, "breast-cancer": 3, "cancer-caregivers": 2,
    "parenting-family": 2, "new-parents": 2, "special-needs-parents": 2, "autism": 2,
    "veterans": 2, "divorce-separation": 2, "domestic-violence": 2, "diabetes": 2,
    "parkinsons": 2, "chronic-pain": 2, "codependency": 2, "adult-children-alcoholics": 2,
    "gambling": 2, "ptsd": 2, "eating-disorders": 2, "lgbtq": 2, "food-addiction": 2,
}  # fmt: skip
PARENT_WEIGHT: Final = 0.6

PROFESSIONALS: Final = (
    "a licensed clinical social worker",
    "a hospital chaplain",
    "an oncology nurse",
    "a licensed marriage and family therapist",
    "a certified peer specialist",
    "a licensed professional counselor",
    "a psychologist",
    "a nurse educator",
    "a trained bereavement counselor",
    "a certified recovery coach",
)

# Invented first names for private facilitator contacts (staff-only data; no surnames).
FIRST_NAMES: Final = (
    "Ari", "Bea", "Cal", "Dara", "Eli", "Faye", "Gus", "Hana", "Ivo", "Jo", "Kit", "Lena",
    "Mo", "Nell", "Otto", "Pia", "Quin", "Rosa", "Sol", "Tess", "Uma", "Val", "Wren", "Zed",
)  # fmt: skip
PRIVATE_NOTES: Final = (
    "Facilitator prefers a text message to a call.",
    "Meeting room key is kept at the front desk.",
    "Co-facilitates with another member; either can be reached at this number.",
    "Confirmed details by phone at the last verification.",
    "Asked that we not give out this number to the public.",
    "Group is looking for a second facilitator.",
    "Room may change during the summer; call before listing changes.",
    "",
)

STREETS: Final = (
    "Main", "Oak", "Maple", "Park", "Elm", "Pine", "Cedar", "Lake", "Hill", "Church",
    "Center", "Spring", "River", "Walnut", "Chestnut", "Highland", "Sunset", "Meadow",
    "Ridge", "Valley", "Forest", "Willow", "Mill", "Market", "Union", "Grove", "Prospect",
    "Broad", "Front", "Water", "College", "School", "Central", "Fairview", "Orchard",
    "1st", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th", "9th", "10th", "12th", "14th",
)  # fmt: skip
STREET_TYPES: Final = ("St", "St", "Ave", "Ave", "Rd", "Blvd", "Dr", "Ln", "Way", "Pkwy")
STREET_PREFIXES: Final = ("", "", "", "", "N ", "S ", "E ", "W ")

NEIGHBORHOODS: Final = (
    "Lakeview", "Riverside", "Brookside", "Fairview", "Hillcrest", "Oak Park", "Maple Grove",
    "Cedar Hill", "Elm Heights", "Pine Valley", "Westwood", "Eastgate", "Northfield",
    "Southridge", "Meadowbrook", "Willow Creek", "Parkside", "Sunnyside", "Highland Park",
    "Old Town", "Midtown", "Mill Creek", "Spring Valley", "Rosewood", "Glenwood",
)  # fmt: skip
SIDES: Final = ("Eastside", "Westside", "Northside", "Southside", "Downtown")
CHURCH_NAMES: Final = (
    "Grace Lutheran Church", "First Presbyterian Church", "Trinity United Methodist Church",
    "St. Paul's Episcopal Church", "Good Shepherd Church", "Unitarian Universalist Fellowship",
    "First Baptist Church", "Holy Family Parish", "Peace Lutheran Church",
    "Community Church of the Redeemer", "St. Mark's Church", "Faith Community Church",
    "Hope Reformed Church", "Temple Beth Shalom", "Friends Meeting House",
)  # fmt: skip
CHURCH_ROOMS: Final = ("Fellowship Hall", "Parish Hall", "Room 101", "Lower Level", "Chapel")
HOSPITAL_FORMS: Final = (
    "{city} Regional Medical Center",
    "{county} General Hospital",
    "{hood} Community Hospital",
    "{hood} Medical Pavilion",
)
HOSPITAL_ROOMS: Final = (
    "Conference Room B",
    "Education Center",
    "Wellness Library",
    "Classroom 2",
    "Cafeteria Meeting Room",
)
OTHER_VENUES: Final = (
    "{city} Public Library",
    "{hood} Branch Library",
    "{city} Community Center",
    "{hood} Recreation Center",
    "{city} Senior Center",
    "{hood} Wellness Center",
    "{hood} Counseling Center",
    "{county} Family Resource Center",
    "{city} Veterans Memorial Hall",
    "{hood} Neighborhood House",
)
# Extra venues for a concern family (by parent slug), mixed in with the ones above.
FAMILY_VENUES: Final[dict[str, tuple[str, ...]]] = {
    "addiction-recovery": ("Serenity Clubhouse", "{hood} Recovery Club", "Alano Club of {city}"),
    "cancer": ("{city} Cancer Center", "{hood} Cancer Resource Center"),
    "identity-community": ("{city} Cultural Center", "{hood} Community Center"),
    "disabilities": ("{city} Center for Independent Living",),
}
ORGANIZATION_FORMS: Final = (
    "{city} Community Wellness Network",
    "{county} Family Support Alliance",
    "{hood} Peer Support Collective",
    "{state_name} Community Resource Collaborative",
    "{county} Health Partners",
    "{state_name} Peer Support Coalition",
    "{city} Area Mutual Aid Council",
    "Heartland Helping Hands",
    "{hood} Healing Circle Project",
    "Friends of {city} Support Groups",
)
# Invented organisations for a concern family (by parent slug).
FAMILY_ORGANIZATIONS: Final[dict[str, tuple[str, ...]]] = {
    "grief-loss": ("{city} Center for Grief and Loss", "{hood} Valley Grief Center"),
    "mental-health": ("{county} Mental Wellness Alliance", "{state_name} Peer Recovery Network"),
    "cancer": ("{city} Cancer Support Community Network", "{hood} Cancer Resource Center"),
    "caregiving": ("{city} Caregiver Resource Center", "{state_name} Caregiver Collaborative"),
    "parenting-family": ("{county} Family Connections", "{city} Parent Network"),
    "disabilities": ("{state_name} Disability Family Network", "{city} Access Alliance"),
    "health-conditions": ("{county} Health Partners", "{city} Chronic Illness Network"),
    "abuse-trauma": ("{county} Survivor Resource Center", "{city} Safe Harbor Project"),
}
ONLINE_NOTES: Final = (
    "Camera optional; you can just listen.",
    "Email the facilitator for the passcode.",
    "The link is sent after you register.",
    "Join a few minutes early so we can start on time.",
    "Waiting room is on; you'll be let in shortly after the start.",
    "",
)
PHONE_NOTES: Final = (
    "Dial in and enter the access code when prompted.",
    "Toll-free conference line; no computer needed.",
    "Call a few minutes early; the line opens ten minutes before.",
)
COST_NOTES: Final = (
    "$10 per session; no one is turned away for lack of funds.",
    "$120 for the series; scholarships available.",
    "Sliding scale, $5–$25 per meeting.",
    "$25 per session; some insurance accepted.",
    "$40 one-time registration fee covers workbook and materials.",
)
DONATION_NOTES: Final = (
    "A basket is passed; give what you can, or nothing.",
    "Suggested donation $2 to help with rent.",
    "",
)

# Sentences for descriptions; {who}, {pro}, {weeks} are filled in.
OPENINGS: Final = (
    "A {kind} group for {who}.",
    "We are {who} who meet to share experiences and support one another.",
    "This group offers a safe, confidential space for {who}.",
    "A welcoming place for {who} to talk with others who understand.",
    "Open to {who}, wherever you are on the journey.",
    "Whether this is new to you or you have lived with it for years, {who} are welcome here.",
)
PEER_LINES: Final = (
    "Meetings are led by members who have been there themselves.",
    "There are no experts here, just people who understand.",
    "Members take turns facilitating.",
    "We share what has helped us and listen without judgment.",
)
PROFESSIONAL_LINES: Final = (
    "Facilitated by {pro}.",
    "Led by {pro}, with time for questions and sharing.",
    "Each meeting includes a short talk by {pro} followed by open discussion.",
)
OPEN_LINES: Final = (
    "Newcomers are always welcome; just come.",
    "Drop in any week; no need to call ahead.",
    "You don't have to speak; listening is fine.",
)
CLOSED_LINES: Final = (
    "Please call ahead before your first meeting.",
    "Registration is required and space is limited.",
    "New members join after a short phone conversation with the facilitator.",
)
TIME_LIMITED_LINES: Final = (
    "This is a {weeks}-week series that starts several times a year.",
    "The group runs for {weeks} weeks; register for the next series.",
)
ONLINE_LINES: Final = (
    "We meet by video, so you can join from home.",
    "Meetings are held online; a phone or computer is all you need.",
)
PHONE_LINES: Final = ("Join by phone from anywhere; no computer needed.",)
HYBRID_LINES: Final = ("Join in person or by video.", "Come in person or join online.")
SPANISH_LINES: Final = ("Meetings are held in Spanish.", "Las reuniones son en español.")
EXTRA_LINES: Final = (
    "Family members are welcome at the first meeting of each month.",
    "Bring a friend if it helps you feel comfortable.",
    "Everything shared in the group stays in the group.",
    "Literature and a list of local resources are available at each meeting.",
    "Each meeting ends with time to exchange phone numbers if you want to.",
)
VENUE_LINES: Final = (
    "Coffee and light refreshments are provided.",
    "Parking is free behind the building.",
    "We often go out for coffee afterwards.",
    "Look for the sign on the side door.",
)
BILINGUAL_LINES: Final = (
    "Meetings are bilingual, in English and Spanish.",
    "Se habla español; meetings are in English and Spanish.",
)
# Words in a topic that already say who the group is for: no audience prefix in front of them.
AUDIENCE_WORDS: Final = frozenset(
    {
        "youth", "teen", "teens", "young", "men", "men's", "women", "women's", "dads", "dads'",
        "elders", "children", "children's", "veterans", "lgbtq", "seniors", "grandparents",
        "families", "family", "parents", "parent", "couples", "fathers", "moms",
    }
)  # fmt: skip

# 2020 census resident population by state (thousands): how many groups each state gets.
STATE_POPULATION: Final[dict[str, int]] = {
    "AL": 5024, "AK": 733, "AZ": 7152, "AR": 3012, "CA": 39538, "CO": 5774, "CT": 3606,
    "DE": 990, "DC": 690, "FL": 21538, "GA": 10712, "HI": 1455, "ID": 1839, "IL": 12813,
    "IN": 6786, "IA": 3190, "KS": 2938, "KY": 4506, "LA": 4658, "ME": 1362, "MD": 6177,
    "MA": 7030, "MI": 10077, "MN": 5706, "MS": 2961, "MO": 6154, "MT": 1084, "NE": 1962,
    "NV": 3105, "NH": 1378, "NJ": 9289, "NM": 2118, "NY": 20201, "NC": 10439, "ND": 779,
    "OH": 11799, "OK": 3959, "OR": 4237, "PA": 13003, "RI": 1097, "SC": 5118, "SD": 887,
    "TN": 6911, "TX": 29146, "UT": 3272, "VT": 643, "VA": 8631, "WA": 7705, "WV": 1794,
    "WI": 5894, "WY": 577,
}  # fmt: skip
