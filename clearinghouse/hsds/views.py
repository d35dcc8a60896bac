"""HSDS 3.0 API routes (Open Referral's openapi.json): lists in the `Page` wrapper or NDJSON."""

from __future__ import annotations

import json
import logging
import math
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any, NoReturn

from flask import Response, stream_with_context
from sqlalchemy import Select, func, select
from sqlalchemy.orm import InstrumentedAttribute

from clearinghouse.api.feed import stream_rows
from clearinghouse.api.http import (
    ApiProblem,
    bad_param,
    check_params,
    int_param,
    json_response,
    public_group_or_404,
    single,
    streamed,
)
from clearinghouse.extensions import db
from clearinghouse.groups import groups_by_id, public_url, with_details
from clearinghouse.hsds import bp, mapping
from clearinghouse.hsds import search as hsds_search
from clearinghouse.inputs import parse_timestamp
from clearinghouse.models import Group, GroupStatus, Organization, group_concerns
from clearinghouse.search import service as search_service
from clearinghouse.search.base import Hit, SearchQuery, SearchUnavailable
from clearinghouse.search.query import MAX_RESULT_WINDOW, QueryError
from clearinghouse.taxonomy import Taxonomy, default_taxonomy

log = logging.getLogger(__name__)

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 100
MAX_PAGE = 1_000_000
LIST_PARAMS = ("search", "page", "per_page", "format")
# Answered by the database; `search`, `taxonomy_term_id`, `postcode` and `proximity` by the engine.
SQL_FILTERS = ("taxonomy_id", "organization_id", "modified_after")
SERVICE_FILTERS = (*hsds_search.ENGINE_PARAMS, *SQL_FILTERS, "full", "minimal")
HSDS_OPENAPI = (
    "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/openapi.json"
)


@bp.get("/")
def info() -> Response:
    check_params(())
    return json_response(
        {
            "version": "3.0",
            "profile": "https://docs.openreferral.org/en/latest/hsds/",
            "openapi_url": HSDS_OPENAPI,
        }
    )


# --- parameters -------------------------------------------------------------------------


def _paging() -> tuple[int, int]:
    per_page = int_param("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    page = int_param("page", 1, 1, MAX_PAGE)
    return page, per_page


def _ndjson() -> bool:
    value = (single("format") or "json").strip().lower()
    if value not in ("json", "ndjson"):
        bad_param("format", f"{value[:20]!r} is not allowed; use json or ndjson")
    return value == "ndjson"


def _boolean(name: str) -> bool:
    value = single(name)
    if value is None or value == "false":
        return False
    if value == "true":
        return True
    bad_param(name, f"{value[:20]!r} is not a boolean; use true or false")


def _uuid(name: str, value: str) -> str:
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        bad_param(name, f"{value[:60]!r} is not a UUID")


def _search_text() -> str:
    return " ".join((single("search") or "").split())[:200]


def _modified_after() -> datetime | None:
    raw = single("modified_after")
    if raw is None or not raw.strip():
        return None
    try:
        return parse_timestamp(raw.strip().replace(" ", "T"))
    except ValueError as error:
        bad_param("modified_after", str(error))


# --- pages ------------------------------------------------------------------------------


def page_json(total: int, page: int, per_page: int, contents: list[Any]) -> dict[str, Any]:
    total_pages = math.ceil(total / per_page) if total else 0
    return {
        "total_items": total,
        "total_pages": total_pages,
        "page_number": page,
        "size": len(contents),
        "first_page": page == 1,
        "last_page": page >= total_pages,
        "empty": total == 0,
        "contents": contents,
    }


def _ndjson_response(items: Iterator[dict[str, Any]]) -> Response:
    lines = (json.dumps(item, ensure_ascii=False) + "\n" for item in items)
    return streamed(stream_with_context(lines), "application/x-ndjson")


def _list_response(items: list[dict[str, Any]]) -> Response:
    """A list computed in memory (taxonomies, terms): paged, or all of it as NDJSON."""
    if _ndjson():
        return _ndjson_response(iter(items))
    page, per_page = _paging()
    start = (page - 1) * per_page
    return json_response(page_json(len(items), page, per_page, items[start : start + per_page]))


def _query_response(
    query: Select[Any],
    key: InstrumentedAttribute[int],
    to_json: Callable[[Any], dict[str, Any]],
    *,
    details: bool = True,
) -> Response:
    """A list read from the database in `key` order: paged, or streamed as NDJSON."""
    if _ndjson():
        rows = stream_rows(query, key, details=details)
        return _ndjson_response(to_json(row) for row in rows)
    page, per_page = _paging()
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows_query = query.offset((page - 1) * per_page).limit(per_page)
    rows = db.session.scalars(with_details(rows_query) if details else rows_query)
    return json_response(page_json(total, page, per_page, [to_json(row) for row in rows]))


# --- services ---------------------------------------------------------------------------


@bp.get("/services")
def services() -> Response:
    check_params((*LIST_PARAMS, *SERVICE_FILTERS))
    full = _boolean("full")
    minimal = _boolean("minimal")
    if full and minimal:
        bad_param("minimal", "ask for full or minimal services, not both")
    tax = default_taxonomy()

    def to_json(group: Group) -> dict[str, Any]:
        if full:
            return mapping.service_json(group, public_url(group.slug), tax)
        if minimal:
            return mapping.service_minimal_json(group)
        return mapping.service_list_json(group, public_url(group.slug))

    if any(single(name) for name in hsds_search.ENGINE_PARAMS):
        return _searched_services(tax, to_json)
    return _query_response(_services_query(), Group.id, to_json)


def _searched_services(tax: Taxonomy, to_json: Callable[[Group], dict[str, Any]]) -> Response:
    """Text, term and place: the search engine's ranked answer, as /api/v1/groups gets it."""
    ndjson = _ndjson()
    page, per_page = (1, MAX_PER_PAGE) if ndjson else _paging()
    given = {name: single(name) or "" for name in hsds_search.ENGINE_PARAMS}
    term_id = single("taxonomy_term_id")
    try:
        query = hsds_search.services_query(
            given, _uuid("taxonomy_term_id", term_id) if term_id else None, page, per_page, tax
        )
        if any(single(name) for name in SQL_FILTERS):
            return _filtered_search(query, tax, to_json, ndjson=ndjson)
        first = _search(query, tax)
    except QueryError as error:
        bad_param(error.param, error.message)
    if ndjson:
        return _ndjson_response(to_json(group) for group in _every_hit(first, tax))
    contents = [to_json(hit.group) for hit in first.groups]
    return json_response(page_json(first.total, page, per_page, contents))


def _filtered_search(
    query: SearchQuery,
    tax: Taxonomy,
    to_json: Callable[[Group], dict[str, Any]],
    *,
    ndjson: bool,
) -> Response:
    """The engine's ranked ids (up to its result window) narrowed by the database-only filters."""
    ranked: list[int] = []
    for number in range(1, MAX_RESULT_WINDOW // MAX_PER_PAGE + 1):
        try:
            found = search_service.search_page(
                replace(query, page=number, per_page=MAX_PER_PAGE), _hit_ids, tax
            )
        except SearchUnavailable:
            _unavailable()
        ranked += found.groups
        if number * MAX_PER_PAGE >= found.total:
            break
    kept = set(db.session.scalars(_services_query(select(Group.id).where(Group.id.in_(ranked)))))
    ids = [group_id for group_id in ranked if group_id in kept]
    if not ndjson:
        on_page = ids[query.offset : query.offset + query.per_page]
        by_id = groups_by_id(db.session, on_page)
        contents = [to_json(by_id[i]) for i in on_page if i in by_id]
        return json_response(page_json(len(ids), query.page, query.per_page, contents))

    def every_group() -> Iterator[dict[str, Any]]:
        for start in range(0, len(ids), MAX_PER_PAGE):
            chunk = ids[start : start + MAX_PER_PAGE]
            by_id = groups_by_id(db.session, chunk)
            yield from (to_json(by_id[i]) for i in chunk if i in by_id)

    return _ndjson_response(every_group())


def _hit_ids(*pages: tuple[Hit, ...]) -> list[list[int]]:
    return [[hit.id for hit in hits] for hits in pages]


def _unavailable() -> NoReturn:
    log.warning("event=hsds_search_unavailable")
    raise ApiProblem(
        503, "search is briefly unavailable; retry in a minute", headers={"Retry-After": "60"}
    )


def _search(
    query: SearchQuery, tax: Taxonomy
) -> search_service.SearchPage[search_service.GroupHit]:
    try:
        return search_service.run_search(query, tax)
    except SearchUnavailable:
        _unavailable()


def _every_hit(
    first: search_service.SearchPage[search_service.GroupHit], tax: Taxonomy
) -> Iterator[Group]:
    """Every group the search finds, page after page, up to the engines' result window."""
    found = first
    while True:
        yield from (hit.group for hit in found.groups)
        query = found.query
        if query.page * query.per_page >= min(found.total, MAX_RESULT_WINDOW):
            return
        found = _search(replace(query, page=query.page + 1), tax)


def _services_query(query: Select[Any] | None = None) -> Select[Any]:
    """Active groups (of `query`, else all) by id, with the database-only filters given."""
    if query is None:
        query = select(Group)
    query = query.where(Group.status == GroupStatus.ACTIVE).order_by(Group.id)
    taxonomy_filter = single("taxonomy_id")
    if taxonomy_filter:
        wanted = _uuid("taxonomy_id", taxonomy_filter)
        if wanted == mapping.taxonomy_id(mapping.CONCERN_TAXONOMY):
            query = query.where(Group.id.in_(select(group_concerns.c.group_id)))
        elif wanted != mapping.taxonomy_id(mapping.ATTRIBUTE_TAXONOMY):
            bad_param("taxonomy_id", f"{wanted} is not a taxonomy here; see /hsds/taxonomies")
    organization = single("organization_id")
    if organization:
        org_uuid = _uuid("organization_id", organization)
        query = query.where(
            Group.organization_id.in_(select(Organization.id).where(Organization.uuid == org_uuid))
        )
    modified = _modified_after()
    if modified is not None:
        query = query.where(Group.updated_at >= modified)
    return query


@bp.get("/services/<service_id>")
def service(service_id: str) -> Response:
    check_params(())
    group = public_group_or_404(service_id, "service")
    return json_response(mapping.service_json(group, public_url(group.slug), default_taxonomy()))


# --- organisations ----------------------------------------------------------------------


def _public_organizations() -> Select[Any]:
    """Organisations with at least one public group (others may come from private submissions)."""
    with_public = select(Group.organization_id).where(
        Group.status == GroupStatus.ACTIVE, Group.organization_id.is_not(None)
    )
    return select(Organization).where(Organization.id.in_(with_public)).order_by(Organization.id)


@bp.get("/organizations")
def organizations() -> Response:
    check_params((*LIST_PARAMS, "full", "full_service"))
    full, full_service = _boolean("full"), _boolean("full_service")  # both checked
    with_services = full or full_service
    query = _public_organizations()
    text = _search_text()
    if text:
        query = query.where(func.lower(Organization.name).contains(text.lower(), autoescape=True))

    def to_json(found: Organization) -> dict[str, Any]:
        data = mapping.organization_json(found)
        if with_services:
            data["services"] = _organization_services(found, full=False)
        return data

    return _query_response(query, Organization.id, to_json, details=False)


@bp.get("/organizations/<organization_id>")
def organization(organization_id: str) -> Response:
    """One organisation with its public services (fully nested with full_service=true)."""
    check_params(("full_service",))
    full = _boolean("full_service")
    try:
        key = str(uuid.UUID(organization_id))
    except ValueError:
        raise ApiProblem(404, f"no organization has id {organization_id[:60]!r}") from None
    found = db.session.scalar(_public_organizations().where(Organization.uuid == key))
    if found is None:
        raise ApiProblem(404, f"no organization with public groups has id {key}")
    data = mapping.organization_json(found)
    data["services"] = _organization_services(found, full=full)
    return json_response(data)


def _organization_services(found: Organization, *, full: bool) -> list[dict[str, Any]]:
    query = (
        select(Group)
        .where(Group.organization_id == found.id, Group.status == GroupStatus.ACTIVE)
        .order_by(Group.id)
    )
    groups = db.session.scalars(with_details(query) if full else query)
    if full:
        tax = default_taxonomy()
        return [mapping.service_json(group, public_url(group.slug), tax) for group in groups]
    items = [mapping.service_list_json(group, public_url(group.slug)) for group in groups]
    return [{k: v for k, v in item.items() if k != "organization"} for item in items]


# --- taxonomies -------------------------------------------------------------------------


@bp.get("/taxonomies")
def taxonomies() -> Response:
    check_params(LIST_PARAMS)
    items = [mapping.taxonomy_json(name) for name in mapping.TAXONOMIES]
    text = _search_text().lower()
    if text:
        items = [item for item in items if text in f"{item['name']} {item['description']}".lower()]
    return _list_response(items)


@bp.get("/taxonomies/<taxonomy_id>")
def taxonomy_detail(taxonomy_id: str) -> Response:
    check_params(())
    for name in mapping.TAXONOMIES:
        if mapping.taxonomy_id(name) == taxonomy_id.strip().lower():
            return json_response(mapping.taxonomy_json(name))
    raise ApiProblem(404, f"no taxonomy has id {taxonomy_id[:60]!r}")


@bp.get("/taxonomy_terms")
def taxonomy_terms() -> Response:
    check_params((*LIST_PARAMS, "taxonomy_id", "parent_id", "top_only"))
    tax = default_taxonomy()
    items = mapping.all_terms(tax)
    wanted = single("taxonomy_id")
    if wanted:
        key = _uuid("taxonomy_id", wanted)
        if key not in {mapping.taxonomy_id(name) for name in mapping.TAXONOMIES}:
            bad_param("taxonomy_id", f"{key} is not a taxonomy here; see /hsds/taxonomies")
        items = [item for item in items if item["taxonomy_id"] == key]
    parent = single("parent_id")
    if parent:
        parent_key = _uuid("parent_id", parent)
        items = [item for item in items if item.get("parent_id") == parent_key]
    if _boolean("top_only"):
        items = [item for item in items if "parent_id" not in item]
    text = _search_text().lower()
    if text:
        synonyms = {mapping.concern_term_id(term.slug): " ".join(term.synonyms) for term in tax}
        items = [
            item
            for item in items
            if text
            in f"{item['name']} {item['code']} {item['description']} "
            f"{synonyms.get(item['id'], '')}".lower()
        ]
    return _list_response(items)


@bp.get("/taxonomy_terms/<term_id>")
def taxonomy_term(term_id: str) -> Response:
    check_params(())
    key = term_id.strip().lower()
    for item in mapping.all_terms(default_taxonomy()):
        if item["id"] == key:
            return json_response(item)
    raise ApiProblem(404, f"no taxonomy term has id {term_id[:60]!r}")
