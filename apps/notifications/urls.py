"""Pages of the inbox and of a project's webhooks."""

from django.urls import path

from apps.notifications.views import inbox, webhooks

urlpatterns = [
    path("inbox/", inbox.inbox, name="inbox"),
    path("inbox/read-all/", inbox.inbox_read_all, name="inbox-read-all"),
    path("inbox/<int:pk>/", inbox.inbox_open, name="inbox-open"),
    path("inbox/<int:pk>/read/", inbox.inbox_read, name="inbox-read"),
    path("projects/<slug:slug>/webhooks/", webhooks.webhook_list, name="webhooks"),
    path("projects/<slug:slug>/webhooks/<int:pk>/", webhooks.webhook_detail, name="webhook"),
    path(
        "projects/<slug:slug>/webhooks/<int:pk>/edit/", webhooks.webhook_edit, name="webhook-edit"
    ),
    path(
        "projects/<slug:slug>/webhooks/<int:pk>/test/", webhooks.webhook_test, name="webhook-test"
    ),
    path(
        "projects/<slug:slug>/webhooks/<int:pk>/delete/",
        webhooks.webhook_delete,
        name="webhook-delete",
    ),
]
