"""/api/v1/retrain-policies/: CRUD with its schedule, the run history, the manual trigger,
validation, roles and strangers."""

from __future__ import annotations

import json

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from apps.core.models import AuditEvent
from apps.monitoring.models import RetrainPolicy, RetrainRun
from apps.monitoring.services.retrain import retrain_policy_create
from apps.registry.models import Stage

pytestmark = pytest.mark.django_db

URL = "/api/v1/retrain-policies/"


def create(api, world, model_id: int, user: str = "carl", **fields):
    return api(world.users[user]).post(URL, {"model": model_id, **fields}, format="json")


def test_contributor_creates_one_policy_per_model_with_its_schedule(world, api, monitored):
    model = monitored.version.registered_model
    response = create(api, world, model.pk, schedule_hours=6, data="reference_plus_labelled")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["model"] == {"id": model.pk, "name": "churn"} and body["project"] == "alpha"
    assert body["created_by"] == "carl" and body["cooldown_minutes"] == 360
    assert (body["enabled"], body["on_drift_alert"], body["on_new_dataset_version"]) == (
        True, True, False,
    )  # fmt: skip
    assert body["scheduled"] is True and body["last_run"] is None
    task = PeriodicTask.objects.get(name=f"retrain-{body['id']}")
    assert task.task == "monitoring.retrain_scheduled" and task.enabled
    assert json.loads(task.kwargs) == {"policy_id": body["id"]}
    assert (task.interval.every, task.interval.period) == (6, IntervalSchedule.HOURS)
    assert RetrainPolicy.objects.get().periodic_task == task
    event = AuditEvent.objects.get(action="retrain_policy.create")
    assert event.changes["schedule"] == {"every_hours": 6, "periodic_task": task.pk}

    second = create(api, world, model.pk, user="alice")
    assert second.status_code == 400 and "model" in second.json()
    assert (
        RetrainPolicy.objects.count() == 1
        and PeriodicTask.objects.filter(task="monitoring.retrain_scheduled").count() == 1
    )


@pytest.mark.parametrize(
    "fields,field",
    [
        ({"schedule_hours": -1}, "schedule_hours"),
        ({"schedule_hours": 10**6}, "schedule_hours"),
        ({"cooldown_minutes": "soon"}, "cooldown_minutes"),
        ({"labelled_days": 0}, "labelled_days"),
        ({"data": "everything"}, "data"),
        ({"enabled": "perhaps"}, "enabled"),
    ],
)
def test_bad_fields_are_refused_and_nothing_is_written(world, api, monitored, fields, field):
    response = create(api, world, monitored.version.registered_model_id, **fields)
    assert response.status_code == 400 and field in response.json(), response.content
    assert (
        not RetrainPolicy.objects.exists()
        and not PeriodicTask.objects.filter(task="monitoring.retrain_scheduled").exists()
    )


def test_who_may_create(world, api, monitored, model_version_factory):
    model_id = monitored.version.registered_model_id
    assert create(api, world, model_id, user="vera").status_code == 403
    # A stranger's view: the model does not exist (no hint that it does).
    stranger = create(api, world, model_id, user="eve")
    assert stranger.status_code == 400 and stranger.json()["model"] == [
        f"Model {model_id} not found."
    ]
    assert create(api, world, 2**31 - 2).status_code == 400
    assert create(api, world, "abc").status_code == 400
    assert not RetrainPolicy.objects.exists()
    beta_model = model_version_factory(project=world.beta, name="beta-model").registered_model
    assert create(api, world, beta_model.pk, user="eve").status_code == 201


def test_update_keeps_the_schedule_in_step(world, api, monitored):
    policy = retrain_policy_create(
        actor=world.users["carl"], registered_model=monitored.version.registered_model
    )
    client = api(world.users["carl"])
    assert PeriodicTask.objects.filter(name=f"retrain-{policy.pk}").count() == 0

    body = client.patch(f"{URL}{policy.pk}/", {"schedule_hours": 6}, format="json").json()
    assert body["scheduled"] is True and body["schedule_hours"] == 6
    task = PeriodicTask.objects.get(name=f"retrain-{policy.pk}")

    response = client.put(f"{URL}{policy.pk}/", {"schedule_hours": 12}, format="json")
    assert response.status_code == 200 and response.json()["on_drift_alert"] is True
    task.refresh_from_db()
    assert task.interval.every == 12 and task.enabled

    client.patch(f"{URL}{policy.pk}/", {"enabled": False}, format="json")
    assert not PeriodicTask.objects.filter(pk=task.pk).exists()
    policy.refresh_from_db()
    assert policy.periodic_task is None and policy.schedule_hours == 12

    changes = list(
        AuditEvent.objects.filter(action="retrain_policy.update")
        .order_by("id")
        .values_list("changes", flat=True)
    )
    assert len(changes) == 3
    assert changes[-1] == {"enabled": {"from": True, "to": False}, "schedule": "removed"}
    assert (
        client.patch(f"{URL}{policy.pk}/", {"labelled_days": 0}, format="json").status_code == 400
    )
    assert policy.created_by == world.users["carl"]


def test_roles_and_strangers_on_an_existing_policy(world, api, monitored):
    policy = retrain_policy_create(
        actor=world.users["carl"], registered_model=monitored.version.registered_model,
        schedule_hours=1,
    )  # fmt: skip
    detail = f"{URL}{policy.pk}/"
    assert api(world.users["vera"]).get(detail).status_code == 200
    assert api(world.users["vera"]).patch(detail, {"enabled": False}).status_code == 403
    for method in ("get", "patch", "delete"):
        assert getattr(api(world.users["eve"]), method)(detail).status_code == 404
    assert api(world.users["eve"]).get(f"{detail}runs/").status_code == 404
    assert api(world.users["eve"]).post(f"{detail}trigger/").status_code == 404
    assert api(world.users["vera"]).post(f"{detail}trigger/").status_code == 403
    assert api(world.users["eve"]).get(URL).json()["count"] == 0

    assert api(world.users["carl"]).delete(detail).status_code == 403  # admins delete
    assert api(world.users["alice"]).delete(detail).status_code == 204
    assert not RetrainPolicy.objects.exists()
    assert not PeriodicTask.objects.filter(name=f"retrain-{policy.pk}").exists()
    assert AuditEvent.objects.filter(action="retrain_policy.delete").exists()


def test_manual_trigger_202_then_409_with_the_recorded_skip(world, api, monitored):
    policy = retrain_policy_create(
        actor=world.users["carl"], registered_model=monitored.version.registered_model
    )
    client = api(world.users["carl"])
    launched = client.post(f"{URL}{policy.pk}/trigger/")
    assert launched.status_code == 202, launched.content
    run = launched.json()
    assert (run["trigger"], run["status"], run["created_by"]) == ("manual", "training", "carl")
    assert run["base_version"] == {"id": monitored.version.pk, "version": 1}
    assert run["training_job"]["status"] == "queued"

    refused = client.post(f"{URL}{policy.pk}/trigger/")
    assert refused.status_code == 409
    body = refused.json()
    assert "one retraining at a time" in body["detail"]
    assert body["run"]["status"] == "skipped" and body["run"]["reason"] == body["detail"]

    history = client.get(f"{URL}{policy.pk}/runs/").json()
    assert history["count"] == 2
    assert [r["status"] for r in history["results"]] == ["skipped", "training"]
    listed = client.get(URL).json()["results"][0]
    assert listed["last_run"]["status"] == "skipped"

    client.patch(f"{URL}{policy.pk}/", {"enabled": False}, format="json")
    disabled = client.post(f"{URL}{policy.pk}/trigger/")
    assert disabled.status_code == 409 and disabled.json()["run"] is None
    assert RetrainRun.objects.count() == 2


def test_lists_cost_a_fixed_number_of_queries(
    world, api, model_version_factory, django_assert_max_num_queries
):
    client = api(world.users["vera"])
    for i in range(6):
        version = model_version_factory(name=f"m{i}", stage=Stage.PRODUCTION)
        policy = retrain_policy_create(
            actor=world.users["carl"], registered_model=version.registered_model
        )
    for _ in range(5):
        RetrainRun.objects.create(policy=policy, trigger="manual", status="skipped", reason="x")
    client.get(URL)  # warm the token lookup's caches alike for both counts
    with django_assert_max_num_queries(6):
        body = client.get(URL).json()
    assert body["count"] == 6 and all(p["last_run"] is None for p in body["results"][:5])
    with django_assert_max_num_queries(7):
        runs = client.get(f"{URL}{policy.pk}/runs/").json()
    assert runs["count"] == 5
    filtered = client.get(URL, {"model": policy.registered_model_id}).json()
    assert [p["id"] for p in filtered["results"]] == [policy.pk]
