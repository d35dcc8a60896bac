"""Partner webhooks (admins): each subscription's state and delivery log; resume a paused one."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from sqlalchemy import select

from clearinghouse import webhooks
from clearinghouse.extensions import db
from clearinghouse.models import WebhookDelivery, WebhookState, WebhookSubscription
from clearinghouse.staff import bp, role_required
from clearinghouse.staff.forms import SourceActionForm

LOG_ROWS = 200


def _subscription(subscription_id: int) -> WebhookSubscription:
    subscription = db.session.get(WebhookSubscription, subscription_id)
    if subscription is None:
        abort(404)
    return subscription


@bp.get("/webhooks")
@role_required("admin")
def webhook_subscriptions() -> Any:
    subscriptions = db.session.scalars(
        select(WebhookSubscription).order_by(
            WebhookSubscription.state.desc(), WebhookSubscription.id
        )
    )
    return render_template("staff/webhooks/index.html", subscriptions=list(subscriptions))


@bp.get("/webhooks/<int:subscription_id>")
@role_required("admin")
def webhook_log(subscription_id: int) -> Any:
    subscription = _subscription(subscription_id)
    deliveries = db.session.scalars(
        select(WebhookDelivery)
        .filter_by(subscription_id=subscription.id)
        .order_by(WebhookDelivery.id.desc())
        .limit(LOG_ROWS)
    )
    return render_template(
        "staff/webhooks/log.html",
        subscription=subscription,
        deliveries=list(deliveries),
        limit=LOG_ROWS,
    )


@bp.post("/webhooks/<int:subscription_id>/resume")
@role_required("admin")
def resume_webhook(subscription_id: int) -> Any:
    subscription = _subscription(subscription_id)
    if not SourceActionForm().validate_on_submit():
        abort(400)
    webhooks.resume(subscription)
    db.session.commit()
    flash(
        f"Resumed the webhook to {subscription.url}; it continues from where it stopped.", "success"
    )
    return redirect(url_for("staff.webhook_subscriptions"))


def paused_webhooks() -> list[WebhookSubscription]:
    """Subscriptions the worker gave up on (for the dashboard)."""
    query = select(WebhookSubscription).filter_by(state=WebhookState.PAUSED.value)
    return list(db.session.scalars(query.order_by(WebhookSubscription.id)))
