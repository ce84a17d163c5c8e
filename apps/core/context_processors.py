from __future__ import annotations

from django.http import HttpRequest

NAVIGATION = [
    ("dashboard", "Dashboard"),
    ("datasets", "Datasets"),
    ("experiments", "Experiments"),
    ("models", "Models"),
    ("reviews", "Reviews"),
    ("deployments", "Deployments"),
    ("monitoring", "Monitoring"),
    ("costs", "Costs"),
    ("audit", "Audit"),
]


# Pages that belong to a navigation entry under another URL name.
SECTION_OF = {"alerts": "monitoring", "monitoring-deployment": "monitoring"}


def navigation(request: HttpRequest) -> dict:
    match = getattr(request, "resolver_match", None)
    current = match.url_name if match else ""
    current = SECTION_OF.get(current, current)
    return {"nav_items": NAVIGATION, "nav_current": current, "nav_badges": _Badges(request)}


class _Badges:
    """Counts shown next to navigation entries, computed only when a template reads them
    (one query each): pending reviews for the user, unread inbox items, open alerts."""

    def __init__(self, request: HttpRequest) -> None:
        self.user = getattr(request, "user", None)
        self._cache: dict[str, int] = {}

    def _count(self, key: str, compute) -> int:
        if self.user is None or not self.user.is_authenticated:
            return 0
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    @property
    def reviews(self) -> int:
        from apps.registry.selectors.policies import reviewable_requests

        return self._count("reviews", lambda: reviewable_requests(user=self.user).count())

    @property
    def inbox(self) -> int:
        from apps.notifications.models import InboxItem

        return self._count(
            "inbox", lambda: InboxItem.objects.filter(user=self.user, read_at=None).count()
        )

    @property
    def monitoring(self) -> int:
        from apps.monitoring.selectors.alerts import open_alert_count

        return self._count("monitoring", lambda: open_alert_count(user=self.user))
