"""The one HTML rule (clearinghouse.markup): decode entities, remove markup, keep real text."""

from __future__ import annotations

import pytest

from clearinghouse.listings import validate_listing
from clearinghouse.markup import MAX_ROUNDS, TooMuchMarkup, strip_markup
from clearinghouse.taxonomy import Taxonomy
from tests.conftest import sample_record

# (what a partner sent, what we keep, whether "HTML was removed" is reported)
REAL_NOTES = [
    ("Email us at <info@group.org>", "Email us at <info@group.org>", False),
    ("Meets in room A<B", "Meets in room A<B", False),
    ("Ages 5 < 10, not > 3", "Ages 5 < 10, not > 3", False),
    ("We <3 newcomers", "We <3 newcomers", False),
    ("Ask for <John> at the door", "Ask for <John> at the door", False),
    ("Zoom ID 123 <passcode: 456>", "Zoom ID 123 <passcode: 456>", False),
    ("Fish &amp; Chips Hall", "Fish & Chips Hall", False),
    ("AT&T building, Tom & Jerry's", "AT&T building, Tom & Jerry's", False),
    ("Caf&eacute; &ndash; upstairs", "Café – upstairs", False),
    ("Meets in the <b>basement</b>", "Meets in the basement", True),
    ("Line one<br>Line two<br/>three", "Line one Line two three", True),
    ("<ul><li>Coffee</li><li>Literature</li></ul>", "Coffee Literature", True),
    ("<p>Side door</p><!-- old: front door -->", "Side door", True),
    ("Park &lt;b&gt;behind&lt;/b&gt; the church", "Park behind the church", True),
]
ATTACKS = [
    ("&lt;script&gt;alert(1)&lt;/script&gt;", ""),
    ("<script>alert(1)</script>Hi", "Hi"),
    ("&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;", ""),
    ("&#60;script&#62;alert(1)&#60;/script&#62;Hi", "Hi"),
    ("&#x3C;img src=x onerror=alert(1)&#x3E;Hi", "Hi"),
    ("<img src=x onerror=alert(1)>Hi", "Hi"),
    ('<IMG SRC="jav&#x09;ascript:alert(1);">Hi', "Hi"),
    ("<svg/onload=alert(1)>Hi", "Hi"),
    ("<x onclick=alert(1)>Hi</x>", "Hi</x>"),
    ('<a href="javascript:alert(1)">click</a>', "click"),
    ("<style>body{display:none}</style>Group", "Group"),
    ("<iframe src=//evil.example>", ""),
    ("Hi <img src=x onerror=alert(1)", "Hi "),
    ("<scr<b>ipt>alert(1)</scr</b>ipt>Hi", "Hi"),
    ("<<script>script>alert(1)<</script>/script>Hi", "Hi"),
    ('<img alt=">" src=x onerror=alert(1)>Hi', "Hi"),
]


@pytest.mark.parametrize(("given", "kept", "removed"), REAL_NOTES)
def test_real_notes_keep_their_text(given: str, kept: str, removed: bool) -> None:
    text, was_removed = strip_markup(given)
    assert " ".join(text.split()) == kept
    assert was_removed is removed


@pytest.mark.parametrize(("given", "kept"), ATTACKS)
def test_markup_is_removed_however_it_is_encoded(given: str, kept: str) -> None:
    text, removed = strip_markup(given)
    assert text == kept
    assert removed
    assert strip_markup(text) == (text, False)  # what is stored is stable


def test_markup_encoded_beyond_reason_is_refused() -> None:
    given = "&amp;" * 0 + "&" + "amp;" * (MAX_ROUNDS + 1) + "lt;script&gt;"
    with pytest.raises(TooMuchMarkup):
        strip_markup(given)


def test_an_entity_encoded_script_is_reported_and_not_stored(taxonomy: Taxonomy) -> None:
    record = sample_record(description="&lt;script&gt;alert(1)&lt;/script&gt;Weekly circle")
    validation = validate_listing(record, taxonomy)
    assert validation.data is not None
    assert validation.data.description == "Weekly circle"
    assert [(w.field, w.message) for w in validation.warnings] == [
        ("description", "HTML was removed")
    ]


def test_an_address_in_angle_brackets_is_kept_without_a_warning(taxonomy: Taxonomy) -> None:
    validation = validate_listing(sample_record(description="Email <info@group.org>"), taxonomy)
    assert validation.data is not None
    assert validation.data.description == "Email <info@group.org>"
    assert validation.warnings == []
