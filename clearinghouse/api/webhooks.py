"""Partner webhook subscriptions: register a URL, list your own, delete one.

The key that registers a subscription owns it: another key can neither see nor delete it.
These routes take the Bearer key, not a cookie, so CSRF does not apply.
"""

from __future__ import annotations

import logging
from typing import NoReturn

from flask import Response, current_app, request
from sqlalchemy import select

from clearinghouse import webhooks
from clearinghouse.api import bp
from clearinghouse.api.http import ApiProblem, check_params, current_key, json_response
from clearinghouse.extensions import db
from clearinghouse.models import ApiKey, WebhookSubscription
from clearinghouse.taxonomy import default_taxonomy

log = logging.getLogger(__name__)

FIELDS = ("url", "concerns", "regions", "since")


def _key() -> ApiKey:
    key = current_key()
    if key is None:  # every route here needs a key; install() has checked it
        raise ApiProblem(401, "send your API key as 'Authorization: Bearer <key>'")
    return key


@bp.post("/webhooks")
def create_webhook() -> Response:
    """Subscribe a URL; the answer carries the signing secret, shown this once."""
    check_params(())
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiProblem(
            400,
            'send a JSON object: {"url": "https://…", "concerns": [...], "regions": [...]}',
            slug="invalid-body",
        )
    unknown = sorted(str(name)[:40] for name in body if name not in FIELDS)
    if unknown:
        _invalid(unknown[0], f"not a field; allowed: {', '.join(FIELDS)}")
    try:
        subscription, secret = webhooks.subscribe(
            db.session(),
            _key(),
            url=body.get("url"),
            concerns=body.get("concerns"),
            regions=body.get("regions"),
            since=body.get("since"),
            taxonomy=default_taxonomy(),
            settings=webhooks.WebhookSettings.from_config(current_app.config),
        )
    except webhooks.WebhookError as error:
        db.session.rollback()
        _invalid(error.field, error.reason)
    db.session.commit()
    response = json_response({**webhooks.subscription_json(subscription), "secret": secret})
    response.status_code = 201
    return response


def _invalid(field: str, reason: str) -> NoReturn:
    raise ApiProblem(
        400, f"{field}: {reason}", slug="invalid-body", invalid_params=[(field, reason)]
    )


@bp.get("/webhooks")
def list_webhooks() -> Response:
    check_params(())
    subscriptions = webhooks.subscriptions_for(db.session(), _key())
    return json_response({"data": [webhooks.subscription_json(sub) for sub in subscriptions]})


@bp.delete("/webhooks/<subscription_id>")
def delete_webhook(subscription_id: str) -> Response:
    check_params(())
    subscription = db.session.scalar(
        select(WebhookSubscription).filter_by(uuid=subscription_id[:36], api_key=_key())
    )
    if subscription is None:
        raise ApiProblem(404, f"you have no webhook with id {subscription_id[:60]!r}")
    db.session.delete(subscription)
    db.session.commit()
    log.info("event=webhook_deleted subscription=%s", subscription_id)
    return current_app.response_class(status=204)
