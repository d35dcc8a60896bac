"""The HSDS 3.0 API (/hsds): groups as Open Referral services, concerns as taxonomy terms.

HSDS data is public, but the endpoints take the same API keys as /api/v1 so that every
partner's traffic has one rate limit and one last-used time; only `/` (what this API is)
answers without a key.
"""

from __future__ import annotations

from flask import Blueprint

from clearinghouse.api.http import install

bp = Blueprint("hsds", __name__, url_prefix="/hsds")
install(bp, public=("hsds.info",))

from clearinghouse.hsds import views  # noqa: E402,F401  (routes register on bp)
