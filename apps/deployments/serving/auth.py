"""Serving tokens: `Authorization: Bearer TOKEN`, checked against the deployment's sha256 hash
(the form apps/deployments/services/tokens.py stores), in constant time."""

from __future__ import annotations

import hashlib
import hmac


def bearer_ok(header: str, token_hash: str) -> bool:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or not token_hash:
        return False
    presented = hashlib.sha256(token.strip().encode()).hexdigest()
    return hmac.compare_digest(presented, token_hash)
