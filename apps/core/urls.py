from django.contrib.auth import views as auth_views
from django.urls import path

from apps.core import health
from apps.core.observability import views as metrics_views
from apps.core.views import audit, pages, projects

urlpatterns = [
    path("", pages.dashboard, name="dashboard"),
    path("partials/jobs/", pages.jobs_partial, name="jobs-partial"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("audit/", audit.audit, name="audit"),
    path("projects/", projects.project_list, name="projects"),
    path("projects/<slug:slug>/", projects.project_detail, name="project-detail"),
    path("projects/<slug:slug>/members/", projects.member_add, name="member-add"),
    path(
        "projects/<slug:slug>/members/<str:username>/",
        projects.member_change,
        name="member-change",
    ),
    path("projects/<slug:slug>/worker-check/", projects.worker_check, name="worker-check"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_views.metrics, name="metrics"),
]
