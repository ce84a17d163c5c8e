from __future__ import annotations

from rest_framework import serializers

from apps.core.api.serializers import ProjectField
from apps.notifications.models import (
    EVENTS,
    InboxItem,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
    http_url,
)
from apps.notifications.webhooks import MIN_SECRET_LENGTH

EVENTS_HELP = "Event names to receive; empty (the default) means every event."
SECRET_HELP = (
    f"HMAC-SHA256 key, at least {MIN_SECRET_LENGTH} characters; write-only. Leave it out on "
    "create to have one generated (returned once in the answer)."
)


def _events_field(**kwargs) -> serializers.MultipleChoiceField:
    # A flat field: a bad name is one message under `events`, not one keyed by list index.
    return serializers.MultipleChoiceField(
        choices=list(EVENTS.items()), help_text=EVENTS_HELP, **kwargs
    )


class WebhookSerializer(serializers.ModelSerializer):
    project = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    secret_hint = serializers.CharField(
        read_only=True, help_text="The secret's last characters, to tell secrets apart."
    )
    last_status = serializers.CharField(
        read_only=True, allow_null=True, help_text="Status of the latest delivery, if any."
    )
    last_delivery_at = serializers.DateTimeField(read_only=True, allow_null=True)
    failed_count = serializers.IntegerField(read_only=True, help_text="Deliveries that failed.")

    class Meta:
        model = Webhook
        fields = [
            "id", "project", "url", "events", "active", "secret_hint", "created_by",
            "created_at", "last_status", "last_delivery_at", "failed_count",
        ]  # fmt: skip
        read_only_fields = fields


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="Shown this once: store it where your receiver can read it."
    )

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookCreateSerializer(serializers.Serializer):
    project = ProjectField()
    url = serializers.CharField(max_length=500, validators=[http_url])
    events = _events_field(required=False, default=list)
    secret = serializers.CharField(
        min_length=MIN_SECRET_LENGTH, max_length=200, required=False, write_only=True,
        help_text=SECRET_HELP,
    )  # fmt: skip
    active = serializers.BooleanField(required=False, default=True)


class WebhookUpdateSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=500, validators=[http_url], required=False)
    events = _events_field(required=False)
    secret = serializers.CharField(
        min_length=MIN_SECRET_LENGTH, max_length=200, required=False, write_only=True,
        help_text="A new secret (rotation); write-only.",
    )  # fmt: skip
    active = serializers.BooleanField(required=False)


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["number", "at", "status_code", "error", "response_body", "duration_ms"]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    attempt_log = WebhookAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id", "webhook", "event", "status", "attempts", "next_attempt_at", "created_at",
            "delivered_at", "payload", "attempt_log",
        ]  # fmt: skip
        read_only_fields = fields


class InboxItemSerializer(serializers.ModelSerializer):
    project = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    unread = serializers.SerializerMethodField()

    class Meta:
        model = InboxItem
        fields = [
            "id", "project", "event", "title", "body", "url", "created_at", "read_at", "unread"
        ]  # fmt: skip
        read_only_fields = fields

    def get_unread(self, item: InboxItem) -> bool:
        return item.read_at is None


class ReadAllSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="Items that were unread.")
