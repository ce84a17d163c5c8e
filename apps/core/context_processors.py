from __future__ import annotations

from django.http import HttpRequest

NAVIGATION = [
    ("dashboard", "Dashboard"),
    ("datasets", "Datasets"),
    ("experiments", "Experiments"),
    ("models", "Models"),
    ("deployments", "Deployments"),
    ("monitoring", "Monitoring"),
    ("audit", "Audit"),
]


def navigation(request: HttpRequest) -> dict:
    match = getattr(request, "resolver_match", None)
    current = match.url_name if match else ""
    return {"nav_items": NAVIGATION, "nav_current": current}
