"""The OpenAPI document matches the live API: every route documented, every response valid."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from clearinghouse.models import Group
from tests.api_support import api_headers, index_all

__all__ = ["api_headers"]


@pytest.fixture
def document(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()  # type: ignore[no-any-return]


@pytest.fixture
def groups(make_group: Callable[..., Group]) -> list[Group]:
    made = [
        make_group(organization="Chicago Grief Network", audience=["women"]),
        make_group(
            name="Monthly Circle",
            concerns=["alcohol"],
            meetings=[{"freq": "monthly", "byday": ["2TU", "-1FR"], "start": "18:30"}],
        ),
        make_group(
            name="Online Circle",
            location=None,
            online={"url": "https://meet.example.org/c", "phone": "800-555-0100"},
            meetings=[{"freq": "arrangement"}],
        ),
    ]
    archived = make_group(name="Gone", status="archived")
    index_all()
    return [*made, archived]


def validate(document: dict[str, Any], schema: dict[str, Any], instance: Any) -> None:
    """Validate against a schema that may $ref the document's components ("#/components/…")."""
    # Placed inside the document, the schema's local refs resolve against the document.
    contents = {**document, "$defs": {"target": schema}}
    resource = Resource.from_contents(contents, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource("urn:api", resource)
    validator = Draft202012Validator(
        {"$ref": "urn:api#/$defs/target"}, registry=registry, format_checker=FormatChecker()
    )
    errors = list(validator.iter_errors(instance))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]


def response_schema(document: dict[str, Any], path: str, status: str) -> tuple[str, Any]:
    response = document["paths"][path]["get"]["responses"][status]
    if "$ref" in response:
        response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    ((media_type, content),) = response["content"].items()
    return media_type, content["schema"]


def test_every_api_route_is_documented(app: Flask, document: dict[str, Any]) -> None:
    routes = {
        re.sub(r"<\w+>", "{id}", rule.rule.removeprefix("/api/v1"))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
    }
    assert routes == set(document["paths"])


def test_live_responses_match_their_documented_schemas(
    client: FlaskClient,
    api_headers: dict[str, str],
    document: dict[str, Any],
    groups: list[Group],
) -> None:
    requests = {
        "/groups": [
            "/api/v1/groups",
            "/api/v1/groups?near=60614&radius=50&concern=grief-loss",
            "/api/v1/groups?q=circle&per_page=1&page=2&sort=name",
        ],
        "/groups/{id}": [f"/api/v1/groups/{group.uuid}" for group in groups[:3]],
        "/concerns": ["/api/v1/concerns"],
        "/changes": ["/api/v1/changes", "/api/v1/changes?since=2&limit=2"],
        "/meeting-guide.json": ["/api/v1/meeting-guide.json"],
        "/openapi.json": ["/api/v1/openapi.json"],
        "/export.ndjson": ["/api/v1/export.ndjson"],
        "/webhooks": ["/api/v1/webhooks"],
    }
    assert set(requests) == {path for path, item in document["paths"].items() if "get" in item}
    for path, urls in requests.items():
        media_type, schema = response_schema(document, path, "200")
        for url in urls:
            response = client.get(url, headers=api_headers)
            assert response.status_code == 200, url
            assert response.mimetype == media_type, url
            if media_type == "application/x-ndjson":
                lines = response.get_data(as_text=True).splitlines()
                assert len(lines) == 3
                for line in lines:
                    validate(document, {"$ref": "#/components/schemas/Group"}, json.loads(line))
            else:
                validate(document, schema, response.get_json())


def test_a_new_webhook_and_the_list_match_their_documented_schemas(
    client: FlaskClient, api_headers: dict[str, str], document: dict[str, Any]
) -> None:
    operation = document["paths"]["/webhooks"]["post"]
    request_schema = operation["requestBody"]["content"]["application/json"]["schema"]
    body = {"url": "https://partner.example.org/hook", "concerns": ["grief-loss"]}
    validate(document, request_schema, body)
    response = client.post("/api/v1/webhooks", json=body, headers=api_headers)
    assert response.status_code == 201
    validate(
        document,
        operation["responses"]["201"]["content"]["application/json"]["schema"],
        response.get_json(),
    )
    _media_type, schema = response_schema(document, "/webhooks", "200")
    listed = client.get("/api/v1/webhooks", headers=api_headers).get_json()
    assert len(listed["data"]) == 1
    validate(document, schema, listed)


@pytest.mark.parametrize(
    ("url", "status", "with_key"),
    [
        ("/api/v1/groups?per_page=500", "400", True),
        ("/api/v1/changes?since=x", "400", True),
        ("/api/v1/groups/00000000-0000-0000-0000-000000000000", "404", True),
        ("/api/v1/concerns", "401", False),
    ],
)
def test_documented_errors_are_problem_documents(
    client: FlaskClient,
    api_headers: dict[str, str],
    document: dict[str, Any],
    url: str,
    status: str,
    with_key: bool,
) -> None:
    response = client.get(url, headers=api_headers if with_key else {})
    assert str(response.status_code) == status
    path = "/" + url.removeprefix("/api/v1/").split("?")[0]
    if path.startswith("/groups/"):
        path = "/groups/{id}"
    media_type, schema = response_schema(document, path, status)
    assert response.mimetype == media_type == "application/problem+json"
    validate(document, schema, response.get_json(force=True))
