"""The one rule for HTML in a listing's text: decode entities, then remove markup, keep the rest.

Listings leave us as text in HTML pages (escaped), but also in JSON, HSDS, Meeting Guide
and .ics that partner sites may paste into their pages as they are, so stored text must
hold no markup that a browser would act on — however it arrived — and lose none of what a
person wrote:

1. Entities are decoded first (`&lt;b&gt;` is `<b>`, `AT&amp;T` is `AT&T`), and again until
   nothing changes, so double-encoded markup is found too.
2. Then markup is removed: comments; `script`, `style` and the other elements whose
   content is code, with that content; and every tag that is an HTML or SVG element
   (`<b>`, `</p>`, `<svg/onload=…>`) or carries an attribute value (`<x onclick=…>`),
   including one left open at the end of the text (`<img src=x onerror=…`).  Block tags
   (`<br>`, `<p>`, `<li>` …) leave a space so words do not run together.
3. Anything else is text and stays: `<info@group.org>`, `room A<B`, `I <3 it`,
   `<passcode: 456>`, `5 < 6 > 4` — a browser may read some of them as an unknown tag, but
   one without an attribute value can do nothing.

Removal repeats until the text is stable, so markup that removal itself would assemble
(`<scr<b>ipt>`) is removed too.
"""

from __future__ import annotations

import html
import re

HTML_ELEMENTS = frozenset((
    "a", "abbr", "acronym", "address", "animate", "animatemotion", "animatetransform", "applet",
    "area", "article", "aside", "audio", "b", "base", "basefont", "bdi", "bdo", "bgsound",
    "big", "blink", "blockquote", "body", "br", "button", "canvas", "caption", "center",
    "circle", "cite", "clippath", "code", "col", "colgroup", "data", "datalist", "dd", "defs",
    "del", "desc", "details", "dfn", "dialog", "dir", "div", "dl", "dt", "ellipse", "em",
    "embed", "feimage", "fieldset", "figcaption", "figure", "filter", "font", "footer",
    "foreignobject", "form", "frame", "frameset", "g", "h1", "h2", "h3", "h4", "h5", "h6",
    "head", "header", "hgroup", "hr", "html", "i", "iframe", "image", "img", "input", "ins",
    "isindex", "kbd", "keygen", "label", "layer", "legend", "li", "line", "lineargradient",
    "link", "listing", "main", "map", "mark", "marker", "marquee", "mask", "math", "menu",
    "menuitem", "meta", "meter", "mi", "mn", "mo", "multicol", "nav", "nextid", "nobr",
    "noembed", "noframes", "noscript", "object", "ol", "optgroup", "option", "output", "p",
    "param", "path", "pattern", "picture", "plaintext", "polygon", "polyline", "pre",
    "progress", "q", "radialgradient", "rb", "rect", "rp", "rt", "rtc", "ruby", "s", "samp",
    "script", "search", "section", "select", "set", "slot", "small", "source", "spacer", "span",
    "stop", "strike", "strong", "style", "sub", "summary", "sup", "svg", "switch", "symbol",
    "table", "tbody", "td", "template", "text", "textarea", "textpath", "tfoot", "th", "thead",
    "time", "title", "tr", "track", "tspan", "tt", "u", "ul", "use", "var", "video", "view",
    "wbr", "xmp"
))  # fmt: skip
# Elements whose content is code or not shown as text: removed with their content.
_CODE_ELEMENTS = ("script", "style", "iframe", "noscript", "noembed", "noframes", "template",
                  "textarea", "title", "xmp")  # fmt: skip
_BLOCK_ELEMENTS = frozenset((
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
    "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul"
))  # fmt: skip
_ATTRIBUTES = r"""(?:"[^"]*"|'[^']*'|[^'"<>])*"""
_COMMENT = re.compile(r"<!--.*?(?:--!?>|$)|<![^>]*(?:>|$)|<\?[^>]*(?:>|$)", re.S)
_CODE = re.compile(
    rf"<({'|'.join(_CODE_ELEMENTS)})\b{_ATTRIBUTES}(?:>.*?(?:</\1\s*>|$)|$)", re.S | re.I
)
_TAG = re.compile(rf"<(/?)([A-Za-z][^\s/<>]*)({_ATTRIBUTES})>")
_OPEN_TAG = re.compile(r"<(/?)([A-Za-z][^\s/<>]*)([^<>]*)$")
MAX_ROUNDS = 50


class TooMuchMarkup(ValueError):
    """Text encoded or nested more than `MAX_ROUNDS` times: not something a person wrote."""


def strip_markup(value: str) -> tuple[str, bool]:
    """(the text with markup removed, whether any markup was removed); see the module doc."""
    removed = False
    for _round in range(MAX_ROUNDS):
        decoded = html.unescape(value) if "&" in value else value
        stripped = _remove_markup(decoded) if "<" in decoded else decoded
        removed = removed or stripped != decoded
        if stripped == value:
            return value, removed
        value = stripped
    raise TooMuchMarkup(f"holds HTML encoded or nested more than {MAX_ROUNDS} times")


def _remove_markup(text: str) -> str:
    text = _COMMENT.sub("", text)
    text = _CODE.sub("", text)
    text = _TAG.sub(_tag_replacement, text)
    return _OPEN_TAG.sub(_open_tag_replacement, text)


def _tag_replacement(match: re.Match[str]) -> str:
    name, attributes = match[2].lower(), match[3]
    if name not in HTML_ELEMENTS and "=" not in attributes:
        return match[0]  # text that only looks like a tag: <info@group.org>, room A<B
    return " " if name in _BLOCK_ELEMENTS else ""


def _open_tag_replacement(match: re.Match[str]) -> str:
    """A tag left open at the end is only markup when it carries an attribute value."""
    return "" if "=" in match[3] else match[0]
