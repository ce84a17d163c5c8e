"""Model cards: edited per section through the API and the pages, audited with before and
after (the audit trail versions the card), and rendered as inert, sanitised markdown."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.core.models import AuditEvent
from apps.registry.templatetags.registry import render_markdown

pytestmark = pytest.mark.django_db

HOSTILE = {
    "description": "# Churn\n\n<script>alert(1)</script>",
    "limitations": "<img src=x onerror=alert(2)>",
    "evaluation": "[x](javascript:alert(3)) and [docs](https://example.com/doc)",
}


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_contributor_updates_model_card_and_it_is_audited(world, api, model_version_factory):
    model = model_version_factory().registered_model
    url = f"/api/v1/models/{model.pk}/card/"
    client = api(world.users["carl"])
    first = client.patch(url, {"description": "v1 text", "intended_use": "scoring"})
    assert first.status_code == 200, first.content
    assert first.json()["card"] == {"description": "v1 text", "intended_use": "scoring"}
    second = client.patch(url, {"description": "v2 text", "intended_use": "scoring"})
    assert second.json()["card"]["description"] == "v2 text"
    events = list(AuditEvent.objects.filter(action="model.card_update").order_by("id"))
    assert len(events) == 2
    assert events[1].changes == {"description": {"before": "v1 text", "after": "v2 text"}}
    assert events[1].actor_username == "carl" and events[1].project == world.alpha
    # An empty text removes the section.
    assert client.patch(url, {"intended_use": ""}).json()["card"] == {"description": "v2 text"}


def test_version_card_update(world, api, model_version_factory):
    version = model_version_factory()
    response = api(world.users["alice"]).patch(
        f"/api/v1/model-versions/{version.pk}/card/", {"evaluation": "AUC 0.9 on holdout"}
    )
    assert response.status_code == 200
    assert response.json()["card"] == {"evaluation": "AUC 0.9 on holdout"}
    event = AuditEvent.objects.get(action="model_version.card_update")
    assert event.object_id == str(version.pk)
    assert event.changes["evaluation"]["before"] == ""


def test_card_update_refuses_unknown_sections_and_low_roles(world, api, model_version_factory):
    version = model_version_factory()
    url = f"/api/v1/models/{version.registered_model_id}/card/"
    bad = api(world.users["carl"]).patch(url, {"description": "ok", "pricing": "x", "owner": 1})
    assert bad.status_code == 400
    assert set(bad.json()) == {"pricing", "owner"}
    assert "description" in bad.json()["pricing"][0]  # names the known sections
    assert api(world.users["vera"]).patch(url, {"description": "x"}).status_code == 403
    assert api(world.users["eve"]).patch(url, {"description": "x"}).status_code == 404
    version_url = f"/api/v1/model-versions/{version.pk}/card/"
    assert api(world.users["vera"]).patch(version_url, {"evaluation": "x"}).status_code == 403
    assert api(world.users["carl"]).patch(version_url, {"limitations": ["x"]}).status_code == 400
    assert not AuditEvent.objects.filter(action__endswith="card_update").exists()


@pytest.mark.parametrize(
    "text",
    ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[x](javascript:alert(1))"],
)
def test_markdown_is_rendered_inert(text):
    html = render_markdown(text)
    assert "<script" not in html and "<img" not in html
    assert "onerror" not in html or "&lt;img" in html
    assert "javascript:" not in html


def test_markdown_keeps_formatting_and_marks_links(world):
    html = render_markdown("**bold** [docs](https://example.com)\n\n| a |\n|---|\n| 1 |")
    assert "<strong>bold</strong>" in html and "<table>" in html
    assert 'rel="noopener noreferrer nofollow"' in html


def test_hostile_card_is_inert_on_the_pages(world, api, model_version_factory):
    version = model_version_factory()
    for url in (
        f"/api/v1/models/{version.registered_model_id}/card/",
        f"/api/v1/model-versions/{version.pk}/card/",
    ):
        assert api(world.users["carl"]).patch(url, HOSTILE).status_code == 200
    for page in (f"/models/{version.registered_model_id}/", f"/models/versions/{version.pk}/"):
        html = _client(world.users["vera"]).get(page).content.decode()
        card = html[html.index('id="card"') :]
        card = card[: card.index("</section>")]
        assert "<script>alert" not in card and "&lt;script&gt;alert(1)&lt;/script&gt;" in card
        assert "<img" not in card and "&lt;img src=x onerror=alert(2)&gt;" in card
        assert "javascript:" not in card
        assert 'href="https://example.com/doc" rel="noopener noreferrer nofollow"' in card
        assert "<h1>Churn</h1>" in card


def test_card_edit_page_form_and_history(world, model_version_factory):
    version = model_version_factory()
    model = version.registered_model
    carl = _client(world.users["carl"])
    page = carl.get(f"/models/{model.pk}/").content.decode()
    assert "Edit the card" in page
    response = carl.post(f"/models/{model.pk}/card/", {"description": "Predicts churn."})
    assert response.status_code == 302
    page = carl.get(f"/models/{model.pk}/").content.decode()
    assert "<p>Predicts churn.</p>" in page
    assert "Card history (1)" in page and "<code>description</code>" in page
    response = carl.post(f"/models/versions/{version.pk}/card/", {"evaluation": "Holdout."})
    assert response.status_code == 302
    assert "<p>Holdout.</p>" in carl.get(f"/models/versions/{version.pk}/").content.decode()
    # A viewer sees the card without the form and may not post one.
    vera = _client(world.users["vera"])
    assert "Edit the card" not in vera.get(f"/models/{model.pk}/").content.decode()
    assert vera.post(f"/models/{model.pk}/card/", {"description": "x"}).status_code == 403
    assert _client(world.users["eve"]).post(
        f"/models/versions/{version.pk}/card/", {"evaluation": "x"}
    ).status_code == 404  # fmt: skip
    too_long = carl.post(f"/models/{model.pk}/card/", {"description": "x" * 20_001})
    assert too_long.status_code == 400
