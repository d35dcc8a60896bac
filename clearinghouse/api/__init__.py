"""The partner API (/api/v1): search, single groups, concerns, change feed, exports, webhooks."""

from __future__ import annotations

from flask import Blueprint

from clearinghouse.api.http import install

bp = Blueprint("api", __name__, url_prefix="/api/v1")
install(bp, public=("api.openapi",))

from clearinghouse.api import views, webhooks  # noqa: E402,F401  (routes register on bp)
