from django.contrib.auth import views as auth_views
from django.urls import path

from apps.core import health
from apps.core.views import audit, pages

urlpatterns = [
    path("", pages.dashboard, name="dashboard"),
    path("partials/jobs/", pages.jobs_partial, name="jobs-partial"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("audit/", audit.audit, name="audit"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    *[
        path(f"{name}/", pages.section, {"name": name}, name=name)
        for name in ("datasets", "experiments", "models", "deployments", "monitoring")
    ],
]
