"""A viewer opens a registered model, reads its card (markdown, inert HTML), picks two versions
and compares them: a grouped bar chart is drawn and the signature differences are marked."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.registry.services.cards import card_update
from tests.conftest import PASSWORD
from tests.registry.conftest import model_version_factory  # noqa: F401 (a fixture)
from tests.registry.test_models_api import promote

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_model_page_and_compare(world, live_server, page, model_version_factory):  # noqa: F811
    from playwright.sync_api import expect

    u = world.users
    v1 = model_version_factory(metrics={"accuracy": 0.81, "f1": 0.77, "loss": 0.42})
    signature = {"inputs": [{"name": "x1", "type": "double"}, {"name": "x2", "type": "long"}]}
    v2 = model_version_factory(
        metrics={"accuracy": 0.86, "f1": 0.8, "loss": 0.35}, signature=signature
    )
    promote(v1, stage="production", at=timezone.now() - timedelta(days=2), requester=u["carl"],
            approvers=[u["rita"], u["alice"]], comment="looks good")  # fmt: skip
    card_update(actor=u["carl"], obj=v1.registered_model, sections={
        "description": "Predicts **churn** of customers.\n\n<script>alert(1)</script>",
        "limitations": "- Trained on 2024 data only\n- [docs](https://example.com/doc)",
    })  # fmt: skip
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    page.goto(live_server.url + "/login/")
    page.fill("#id_username", "vera")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(live_server.url + "/models/")
    page.click("text=churn")
    expect(page.locator("tr[data-version]")).to_have_count(2)
    expect(page.locator('[data-section="description"] strong')).to_have_text("churn")
    expect(page.locator('[data-section="description"]')).to_contain_text(
        "<script>alert(1)</script>"
    )
    if os.environ.get("SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOTS"], "model.png"), full_page=True)
    page.click("#compare-button")  # v1 as A, v2 as B by default
    expect(page.locator("#version-chart .main-svg").first).to_be_visible()
    expect(page.locator('tr[data-input="colour"][data-state="only_a"]')).to_have_count(1)
    expect(page.locator('tr[data-input="x2"][data-state="changed"]')).to_have_count(1)
    if os.environ.get("SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOTS"], "compare.png"), full_page=True)
    page.goto(live_server.url + f"/models/versions/{v2.pk}/")
    expect(page.locator("#lineage")).to_contain_text("validation passed")
    if os.environ.get("SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOTS"], "version.png"), full_page=True)
    assert dialogs == []
