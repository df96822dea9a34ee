"""The codes officials hand out: one-time invite codes (kept only as keyed hashes) and signed,
single-use visit tokens for a counter."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from survey.visits import issue_visit_token


def invite_code() -> str:
    """A one-time code easy to read out: 8 characters without look-alikes, in two groups."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    raw = "".join(secrets.choice(alphabet) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def hash_code(secret: str, code: str) -> str:
    """Codes are stored and compared as HMAC-SHA256 keyed with the privacy secret (a copy of the
    database alone cannot be searched for them), tolerant of case, spaces and a missing dash."""
    normal = "".join(ch for ch in code.upper() if ch.isalnum())
    return hmac.new(secret.encode(), f"invite:{normal}".encode(), hashlib.sha256).hexdigest()


def visit_token(secret: str, agency: str, now: datetime, lifetime: timedelta) -> str:
    """A fresh signed single-use visit token for `agency`."""
    nonce = "".join(secrets.choice("0123456789abcdefghijklmnopqrstuvwxyz") for _ in range(8))
    expires_minute = int((now + lifetime).timestamp() // 60)
    return issue_visit_token(secret, agency, expires_minute, nonce)
