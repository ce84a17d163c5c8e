"""How a webhook payload is serialised and signed; receivers verify with the same recipe.

The signed message is `<timestamp>.<body>` (the Unix time in seconds, a dot, the exact body
bytes), so a captured request cannot be replayed later with a fresh timestamp.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any


def body_bytes(payload: dict[str, Any]) -> bytes:
    """One canonical serialisation: every attempt sends (and signs) the same bytes."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """What a receiver does (kept here so the tests check the documented recipe)."""
    expected = signature(secret, int(timestamp), body)
    return hmac.compare_digest(expected, header)


def new_secret() -> str:
    return secrets.token_urlsafe(32)
