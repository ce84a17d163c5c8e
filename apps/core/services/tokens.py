from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from apps.core.models import ApiToken
from apps.core.models.tokens import hash_key
from apps.core.services.audit import audit_record


@transaction.atomic
def api_token_create(*, user: AbstractBaseUser, name: str = "api") -> tuple[ApiToken, str]:
    """Issue a token; the plain key is returned here only and never stored."""
    key = ApiToken.new_key()
    token = ApiToken.objects.create(
        user=user, name=name, key_hash=hash_key(key), key_prefix=key[:12]
    )
    audit_record(
        actor=user, action="api_token.create", obj=token, changes={"name": name, "prefix": key[:12]}
    )
    return token, key
