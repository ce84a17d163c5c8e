"""Webhooks (project admins manage, members read without the secret), their deliveries with
every attempt, and the caller's own inbox."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core.api.base import ProjectScopedViewSet
from apps.core.models import Role
from apps.notifications import selectors, services, webhooks
from apps.notifications.api import serializers as s
from apps.notifications.models import DeliveryStatus, InboxItem, Webhook, WebhookDelivery


class WebhookFilter(django_filters.FilterSet):
    project = django_filters.CharFilter(field_name="project__slug", help_text="Project slug")

    class Meta:
        model = Webhook
        fields = ["project", "active"]


class WebhookViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ProjectScopedViewSet):
    """Outbound webhooks of your projects: signed JSON POSTs for the events they subscribe to."""

    queryset = Webhook.objects.none()
    serializer_class = s.WebhookSerializer
    filterset_class = WebhookFilter
    ordering_fields = ["created_at", "url"]
    action_roles = {
        "update": Role.ADMIN,
        "partial_update": Role.ADMIN,
        "destroy": Role.ADMIN,
        "test": Role.ADMIN,
    }

    def get_queryset(self):
        return selectors.webhook_list(user=self.request.user)

    def _answer(self, webhook: Webhook, serializer=s.WebhookSerializer, code: int = 200):
        fresh = self.get_queryset().get(pk=webhook.pk)
        return Response(serializer(fresh, context=self.get_serializer_context()).data, code)

    @extend_schema(request=s.WebhookCreateSerializer, responses={201: s.WebhookCreatedSerializer})
    def create(self, request):
        data = s.WebhookCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        self.require_project_role(values["project"], Role.ADMIN)
        webhook = webhooks.webhook_create(actor=request.user, **values)
        return self._answer(webhook, s.WebhookCreatedSerializer, status.HTTP_201_CREATED)

    @extend_schema(request=s.WebhookUpdateSerializer, responses=s.WebhookSerializer)
    def partial_update(self, request, pk: str | None = None):
        webhook = self.get_object()
        data = s.WebhookUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        webhook = webhooks.webhook_update(
            actor=request.user, webhook=webhook, **data.validated_data
        )
        return self._answer(webhook)

    @extend_schema(request=s.WebhookUpdateSerializer, responses=s.WebhookSerializer)
    def update(self, request, pk: str | None = None):
        return self.partial_update(request, pk)

    def destroy(self, request, pk: str | None = None):
        webhooks.webhook_delete(actor=request.user, webhook=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={202: s.WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def test(self, request, pk: str | None = None):
        """Send a `webhook.test` event to this webhook now (whatever it subscribes to)."""
        delivery = webhooks.webhook_send_test(actor=request.user, webhook=self.get_object())
        fresh = selectors.delivery_list(user=request.user).get(pk=delivery.pk)
        return Response(s.WebhookDeliverySerializer(fresh).data, status=status.HTTP_202_ACCEPTED)


class DeliveryFilter(django_filters.FilterSet):
    # A plain number: a choice field would answer 400 for ids of other projects' webhooks
    # and so reveal which ids exist.
    webhook = django_filters.NumberFilter(field_name="webhook_id", help_text="Webhook id")
    project = django_filters.CharFilter(field_name="webhook__project__slug")
    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices)

    class Meta:
        model = WebhookDelivery
        fields = ["webhook", "project", "status", "event"]


class WebhookDeliveryViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, ProjectScopedViewSet
):
    """Each event sent to a webhook, newest first, with every attempt (status code, error,
    the first 2 KB of the answer, duration). Filter with `?webhook=ID`."""

    queryset = WebhookDelivery.objects.none()
    serializer_class = s.WebhookDeliverySerializer
    filterset_class = DeliveryFilter
    project_path = "webhook__project"
    ordering_fields = ["created_at"]

    def get_queryset(self):
        return selectors.delivery_list(user=self.request.user)


class InboxFilter(django_filters.FilterSet):
    unread = django_filters.BooleanFilter(
        field_name="read_at", lookup_expr="isnull", help_text="true: only unread items"
    )
    project = django_filters.CharFilter(field_name="project__slug")

    class Meta:
        model = InboxItem
        fields = ["unread", "project", "event"]


class InboxViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your inbox: requests to review and decisions on your requests, newest first. Only your
    own items exist for you."""

    queryset = InboxItem.objects.none()
    serializer_class = s.InboxItemSerializer
    filterset_class = InboxFilter
    ordering_fields = ["created_at"]

    def get_queryset(self):
        return selectors.inbox_list(user=self.request.user)

    @extend_schema(request=None, responses=s.InboxItemSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request, pk: str | None = None):
        item = services.inbox_mark_read(user=request.user, item=self.get_object())
        return Response(s.InboxItemSerializer(item).data)

    @extend_schema(request=None, responses=s.ReadAllSerializer)
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        marked = services.inbox_mark_all_read(user=request.user)
        return Response({"marked": marked})
