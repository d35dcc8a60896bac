"""Fuzz /hsds from Open Referral's own HSDS 3.0 OpenAPI document (read from ../shared)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from jsonschema import Draft202012Validator
from schemathesis.specs.openapi.checks import positive_data_acceptance

from clearinghouse.models import Group
from tests.api_support import HSDS_SCHEMAS, load_json, new_key

MAX_EXAMPLES = 40
BASE = "http://localhost/hsds"
REMOTE = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/"
# Not part of this API (the issue lists the routes it serves).
NOT_SERVED = ("/service_at_locations", "/service_at_locations/{id}")


def hsds_document() -> dict[str, Any]:
    """The official document with its remote schema refs replaced by the local files.

    Each operation also gets a `default` problem+json response: the official document only
    describes 200s, and this API answers bad input with documented RFC 9457 problems.
    """
    document = copy.deepcopy(load_json(HSDS_SCHEMAS / "openapi.json"))
    for path in NOT_SERVED:
        document["paths"].pop(path)
    document["servers"] = [{"url": BASE}]
    problem = {
        "description": "RFC 9457 problem",
        "content": {
            "application/problem+json": {
                "schema": {
                    "type": "object",
                    "required": ["type", "title", "status", "detail"],
                }
            }
        },
    }
    for item in document["paths"].values():
        item["get"]["responses"]["default"] = problem
    return _inline(document)


def _inline(node: Any) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REMOTE):
            return load_json(HSDS_SCHEMAS / ref.removeprefix(REMOTE))
        return {key: _inline(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(item) for item in node]
    return node


DOCUMENT = hsds_document()
schema = schemathesis.openapi.from_dict(DOCUMENT)


def page_items_schema(path: str) -> dict[str, Any]:
    """The documented schema of one item of a list operation's page `contents`."""
    page = DOCUMENT["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    return page["schema"]["properties"]["contents"]["items"]


# The official document cannot say which values exist (ids, taxonomy terms) or that dates must
# parse, so schema-valid requests are often rightly refused; every other check runs.
EXCLUDED_CHECKS = [positive_data_acceptance]


@pytest.fixture
def hsds_target(app: Flask, make_group: Callable[..., Group]) -> tuple[Flask, dict[str, str]]:
    make_group(organization="Chicago Grief Network", audience=["women"])
    make_group(
        name="Monthly Circle",
        concerns=["alcohol"],
        meetings=[{"freq": "monthly", "byday": ["2TU"], "start": "18:30"}],
    )
    make_group(
        name="Online Circle",
        location=None,
        online={"url": "https://meet.example.org/c"},
        service_area=["IL"],
    )
    return app, {"Authorization": f"Bearer {new_key()}", "Accept-Encoding": "identity"}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_hsds_matches_the_official_document(
    case: Any, hsds_target: tuple[Flask, dict[str, str]]
) -> None:
    app, headers = hsds_target
    case.operation.schema.app = app
    response = case.call(app=app, headers=headers)
    if response.headers.get("Content-Type", [""])[0].startswith("application/x-ndjson"):
        # format=ndjson: each line is one item of the documented page's contents, and valid.
        items = Draft202012Validator(page_items_schema(case.operation.path))
        lines = response.content.decode().splitlines()
        assert lines, case.operation.path  # the fixture's groups are in every list
        for line in lines:
            errors = [f"{list(e.path)}: {e.message}" for e in items.iter_errors(json.loads(line))]
            assert not errors, (case.operation.path, errors[:5])
        return
    case.validate_response(response, excluded_checks=EXCLUDED_CHECKS, headers=headers)
