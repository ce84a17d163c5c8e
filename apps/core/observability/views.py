"""`/metrics`: Prometheus text format, for a bearer token or an allowed network only.

REMOTE_ADDR is the peer address; behind a proxy or load balancer that is the proxy, so there
give the scraper METRICS_TOKEN instead of widening METRICS_ALLOWED_NETWORKS to the proxy.
"""

from __future__ import annotations

import hmac
import ipaddress
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from apps.core.observability.metrics import scrape_registry


@cache
def _networks(
    spec: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    # Bytes: compare_digest refuses non-ASCII str, and a client chooses this header.
    offered = header.removeprefix("Bearer ").strip().encode()
    if token and header.startswith("Bearer ") and hmac.compare_digest(offered, token.encode()):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # a dual-stack listener reports ::ffff:127.0.0.1
    return any(address in net for net in _networks(tuple(settings.METRICS_ALLOWED_NETWORKS)))


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return HttpResponse(
            "Forbidden: send Authorization: Bearer <METRICS_TOKEN> or scrape from an address "
            "in METRICS_ALLOWED_NETWORKS.\n",
            status=403,
            content_type="text/plain",
        )
    # The classic 0.0.4 text type: every Prometheus version reads it (our names need no UTF-8).
    body = generate_latest(scrape_registry())
    return HttpResponse(body, content_type=CONTENT_TYPE_PLAIN_0_0_4)
