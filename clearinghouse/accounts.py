"""Staff accounts and partner API keys: only hashes are stored."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

import limits
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, select

from clearinghouse.models import ApiKey, DbSession, StaffSession, User, utcnow
from clearinghouse.vocab import ROLES

_hasher = PasswordHasher()
KEY_PREFIX = "chk_"
# What create_api_key makes; anything else is unknown without asking the database.
_KEY_SHAPE = re.compile(r"chk_[0-9a-f]{1,16}_[A-Za-z0-9_-]{1,180}")
MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    """A request about accounts or keys that cannot be carried out, said plainly."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_user(session: DbSession, email: str, role: str, password: str) -> User:
    email = email.strip().lower()
    if "@" not in email:
        raise AccountError(f"{email!r} is not an email address")
    if role not in ROLES:
        raise AccountError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise AccountError(f"a user with email {email} already exists")
    user = User(email=email, role=role, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user


def set_password(session: DbSession, user: User, password: str) -> None:
    """A new password ends every sign-in the account had (a copied cookie included)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = hash_password(password)
    end_sign_ins(session, user)


# -- sign-ins: the cookie carries a random token; the server keeps its hash and expiry ---------


def open_sign_in(session: DbSession, user: User, lifetime: timedelta) -> str:
    """Start a sign-in lasting `lifetime`; `user.get_id()` is its token from now on.

    Expired sign-ins (anyone's: also of accounts that never sign in again) are swept here.
    """
    now = utcnow()
    session.execute(delete(StaffSession).where(StaffSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(user_id=user.id, token_hash=_key_hash(token), expires_at=now + lifetime)
    )
    session.flush()
    user.__dict__["sign_in_token"] = token
    return token


def find_signed_in(session: DbSession, token: str) -> User | None:
    """The active user of an unexpired, unrevoked sign-in, or None."""
    if not token:
        return None
    row = session.scalar(select(StaffSession).where(StaffSession.token_hash == _key_hash(token)))
    if row is None or row.expires_at <= utcnow():
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    user.__dict__["sign_in_token"] = token
    return user


def end_sign_in(session: DbSession, token: str | None) -> None:
    if token:
        session.execute(delete(StaffSession).where(StaffSession.token_hash == _key_hash(token)))


def end_sign_ins(session: DbSession, user: User) -> None:
    """Sign the account out everywhere."""
    session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))


def _key_hash(key: str) -> str:
    # Keys are 256-bit random tokens, so a fast keyed-free hash is enough (no brute force).
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(
    session: DbSession, name: str, *, rate_limit: str = "120/minute", user_id: int | None = None
) -> tuple[ApiKey, str]:
    """Make a key; the plain key is returned once and never stored."""
    name = name.strip()
    if not name:
        raise AccountError("an API key needs a name (the partner it is for)")
    rate_limit = check_rate_limit(rate_limit)
    prefix = secrets.token_hex(4)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey(
        name=name,
        prefix=prefix,
        key_hash=_key_hash(key),
        rate_limit=rate_limit,
        created_by_id=user_id,
    )
    session.add(api_key)
    session.flush()
    return api_key, key


def check_rate_limit(text: str) -> str:
    """A rate limit like "120/minute" or "10/second;1000/hour", as the API enforces it."""
    text = text.strip()
    try:
        parsed = limits.parse_many(text)
    except ValueError:
        parsed = []
    if not parsed or any(item.amount < 1 for item in parsed):
        raise AccountError(
            f"rate limit {text!r} is not understood; write e.g. 120/minute or 10/second;1000/hour"
        )
    return text


# Built once: every API request looks its key up, and building the statement cost as much as
# running it.
_KEY_BY_PREFIX = select(ApiKey).where(ApiKey.prefix == bindparam("prefix"))


def match_api_key(session: DbSession, key: str) -> ApiKey | None:
    """The key matching `key`, revoked or not (so the API can say "revoked", not "unknown")."""
    if not _KEY_SHAPE.fullmatch(key):
        return None
    prefix = key[len(KEY_PREFIX) :].split("_", 1)[0]
    api_key = session.scalar(_KEY_BY_PREFIX, {"prefix": prefix})
    if api_key is None or not hmac.compare_digest(api_key.key_hash, _key_hash(key)):
        return None
    return api_key


def revoke_api_key(session: DbSession, api_key: ApiKey) -> None:
    api_key.revoked_at = utcnow()
    session.flush()
