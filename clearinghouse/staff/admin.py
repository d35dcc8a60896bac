"""Administration: staff accounts and partner API keys (admins only)."""

from __future__ import annotations

import logging
from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from clearinghouse.accounts import (
    AccountError,
    create_api_key,
    create_user,
    end_sign_ins,
    revoke_api_key,
)
from clearinghouse.extensions import db
from clearinghouse.models import ApiKey, User
from clearinghouse.staff import bp, role_required
from clearinghouse.staff.common import user_id
from clearinghouse.staff.forms import ActionForm, ApiKeyForm, UserForm

log = logging.getLogger(__name__)


@bp.route("/users", methods=["GET", "POST"])
@role_required("admin")
def users() -> Any:
    form = UserForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = create_user(
                db.session, str(form.email.data), str(form.role.data), str(form.password.data)
            )
        except AccountError as error:
            db.session.rollback()
            form.email.errors = [str(error)]
            status = 400
        else:
            db.session.commit()
            log.info("event=user_created user_id=%s role=%s by=%s", user.id, user.role, user_id())
            flash(f"Created {user.role} account {user.email}.", "success")
            return redirect(url_for("staff.users"))
    elif form.is_submitted():
        status = 400
    accounts = list(db.session.scalars(select(User).order_by(User.email)))
    return render_template(
        "staff/users.html", form=form, accounts=accounts, action=ActionForm()
    ), status


@bp.route("/users/<int:account_id>/deactivate", methods=["POST"])
@role_required("admin")
def deactivate_user(account_id: int) -> Any:
    return _set_active(account_id, False)


@bp.route("/users/<int:account_id>/activate", methods=["POST"])
@role_required("admin")
def activate_user(account_id: int) -> Any:
    return _set_active(account_id, True)


def _set_active(account_id: int, active: bool) -> Any:
    account = db.session.get(User, account_id)
    if account is None:
        abort(404)
    if ActionForm().validate_on_submit():
        if account.id == current_user.id and not active:
            flash("You cannot deactivate your own account.", "error")
            return redirect(url_for("staff.users"))
        account.active = active
        if not active:
            end_sign_ins(db.session(), account)
        db.session.commit()
        log.info(
            "event=user_%s user_id=%s by=%s",
            "activated" if active else "deactivated",
            account.id,
            user_id(),
        )
        flash(f"{account.email} is {'active' if active else 'deactivated'}.", "success")
    return redirect(url_for("staff.users"))


@bp.route("/api-keys", methods=["GET", "POST"])
@role_required("admin")
def api_keys() -> Any:
    form = ApiKeyForm()
    new_key = None
    status = 200
    if form.validate_on_submit():
        try:
            api_key, new_key = create_api_key(db.session, str(form.name.data), user_id=user_id())
        except AccountError as error:
            db.session.rollback()
            form.name.errors = [str(error)]
            status = 400
        else:
            db.session.commit()
            log.info("event=api_key_created prefix=%s by=%s", api_key.prefix, user_id())
            form = ApiKeyForm(formdata=None)
    elif form.is_submitted():
        status = 400
    keys = list(
        db.session.scalars(
            select(ApiKey).options(joinedload(ApiKey.created_by)).order_by(ApiKey.created_at.desc())
        )
    )
    response = render_template(
        "staff/api_keys.html", form=form, keys=keys, new_key=new_key, action=ActionForm()
    )
    # The key is shown once: never cached by the browser or a proxy.
    return response, status, {"Cache-Control": "no-store"}


@bp.route("/api-keys/<int:key_id>/revoke", methods=["POST"])
@role_required("admin")
def revoke_key(key_id: int) -> Any:
    api_key = db.session.get(ApiKey, key_id)
    if api_key is None:
        abort(404)
    if ActionForm().validate_on_submit() and api_key.revoked_at is None:
        revoke_api_key(db.session, api_key)
        db.session.commit()
        log.info("event=api_key_revoked prefix=%s by=%s", api_key.prefix, user_id())
        flash(f"Revoked the key “{api_key.name}” (chk_{api_key.prefix}_…).", "success")
    return redirect(url_for("staff.api_keys"))
