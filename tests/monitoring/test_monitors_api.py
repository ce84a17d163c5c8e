"""Monitors and drift reports over the API: CRUD, validation by field, schedules kept in
django-celery-beat, roles and strangers, run now, filters, and queries per page."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.core.models import AuditEvent, Job
from apps.datasets.models import VersionStatus
from apps.deployments.models import Deployment
from apps.monitoring.models import AlertRule, DriftReport, Monitor
from apps.monitoring.services.monitor_checks import DRIFT_METHODS
from apps.registry.models import Stage

pytestmark = pytest.mark.django_db

URL = "/api/v1/monitors/"


@pytest.fixture
def carl(api, world):
    return api(world.users["carl"])


def create(client, deployment, **fields):
    return client.post(URL, {"deployment": deployment.slug, **fields}, format="json")


def task_of(monitor_id: int) -> PeriodicTask | None:
    monitor = Monitor.objects.get(pk=monitor_id)
    return PeriodicTask.objects.filter(pk=monitor.periodic_task_id).first()


def test_create_read_update_delete_with_its_schedule(
    world, monitored, carl, artifact_root, django_capture_on_commit_callbacks
):
    answer = create(carl, monitored.deployment, name="hourly", columns=["x1", "colour"],
                    per_column_method={"x1": "wasserstein"}, column_threshold=0.2,
                    window_predictions=500, min_rows=200)  # fmt: skip
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["deployment"] == "churn-production" and body["project"] == "alpha"
    assert body["schedule_minutes"] == 60 and body["scheduled"] is True
    assert body["latest_report"] is None and body["created_by"] == "carl"
    monitor_id = body["id"]

    task = task_of(monitor_id)
    assert task.name == f"monitor-{monitor_id}" and task.task == "monitoring.run_monitor"
    assert json.loads(task.kwargs) == {"monitor_id": monitor_id}
    assert (task.interval.every, task.interval.period, task.enabled) == (60, "minutes", True)
    # A new monitor alerts on dataset drift out of the box.
    rules = list(AlertRule.objects.filter(monitor_id=monitor_id).values_list("kind", flat=True))
    assert rules == ["dataset_drift"]
    assert AuditEvent.objects.filter(action="monitor.create", object_id=str(monitor_id)).exists()

    assert carl.get(f"{URL}{monitor_id}/").json()["per_column_method"] == {"x1": "wasserstein"}

    changed = carl.patch(f"{URL}{monitor_id}/", {"schedule_minutes": 15}, format="json")
    assert changed.status_code == 200, changed.content
    assert task_of(monitor_id).interval.every == 15
    assert task_of(monitor_id).pk == task.pk  # the same task, rescheduled

    assert (
        carl.patch(f"{URL}{monitor_id}/", {"enabled": False}, format="json").json()["scheduled"]
        is False
    )
    assert task_of(monitor_id) is None and not PeriodicTask.objects.filter(pk=task.pk).exists()
    carl.patch(f"{URL}{monitor_id}/", {"enabled": True}, format="json")
    assert task_of(monitor_id).interval.every == 15
    carl.patch(f"{URL}{monitor_id}/", {"schedule_minutes": 0}, format="json")
    assert task_of(monitor_id) is None
    carl.patch(f"{URL}{monitor_id}/", {"schedule_minutes": 30}, format="json")
    task_id = Monitor.objects.get(pk=monitor_id).periodic_task_id
    update = AuditEvent.objects.filter(action="monitor.update").latest("id")
    assert update.changes == {"schedule_minutes": {"from": 0, "to": 30}}

    report = DriftReport.objects.create(
        monitor_id=monitor_id, status="ok", html_path=f"drift-reports/{monitor_id}.html",
        performance={"html_path": f"drift-reports/{monitor_id}-performance.html"},
    )  # fmt: skip
    files = [artifact_root / report.html_path, artifact_root / report.performance["html_path"]]
    for path in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("<html></html>")
    with django_capture_on_commit_callbacks(execute=True):
        assert carl.delete(f"{URL}{monitor_id}/").status_code == 204
    assert not any(path.exists() for path in files)
    assert not DriftReport.objects.filter(pk=report.pk).exists()
    assert not Monitor.objects.filter(pk=monitor_id).exists()
    assert not PeriodicTask.objects.filter(pk=task_id).exists()
    assert AuditEvent.objects.filter(action="monitor.delete", object_id=str(monitor_id)).exists()


BAD = [
    ({"window_hours": 0}, "window_hours"),
    ({"window_predictions": 20, "min_rows": 50}, "window_predictions"),
    ({"schedule_minutes": 3}, "schedule_minutes"),
    ({"drift_share": 0}, "drift_share"),
    ({"drift_share": 1.5}, "drift_share"),
    ({"column_threshold": 0}, "column_threshold"),
    ({"min_rows": 1}, "min_rows"),
    ({"columns": ["income"]}, "columns"),
    ({"columns": ["amount"]}, "columns"),  # in the dataset, not a model input
    ({"columns": ["x1", "x1"]}, "columns"),
    ({"per_column_method": {"x1": "bogus"}}, "per_column_method"),
    ({"per_column_method": {"x1": "chisquare"}}, "per_column_method"),  # categorical only
    ({"per_column_method": {"colour": "ks"}}, "per_column_method"),  # numerical only
    ({"columns": ["x1"], "per_column_method": {"x2": "ks"}}, "per_column_method"),
    ({"name": "drift"}, "name"),  # the fixture's monitor has it
    ({"name": "   "}, "name"),
    ({"deployment": "nope"}, "deployment"),
    ({"reference_dataset_version": 999_999}, "reference_dataset_version"),
]


@pytest.mark.parametrize("fields, field", BAD)
def test_bad_settings_are_a_400_on_the_field_and_write_nothing(world, monitored, carl,
                                                               fields, field):  # fmt: skip
    monitors, tasks, audit = Monitor.objects.count(), PeriodicTask.objects.count(), AuditEvent
    before = audit.objects.count()
    answer = carl.post(URL, {"deployment": "churn-production", "name": "x", **fields}, "json")
    assert answer.status_code == 400, answer.content
    assert field in answer.json(), answer.json()
    assert Monitor.objects.count() == monitors and PeriodicTask.objects.count() == tasks
    assert audit.objects.count() == before


def test_reference_versions_must_be_ready_ours_and_have_the_columns(
    world, monitored, carl, model_version_factory, api
):
    version = monitored.dataset_version
    other = model_version_factory(project=world.beta, name="theirs").dataset_version
    answer = create(carl, monitored.deployment, name="a", reference_dataset_version=other.pk)
    assert answer.status_code == 400 and "reference_dataset_version" in answer.json()

    version.__class__.objects.filter(pk=version.pk).update(status=VersionStatus.PROCESSING)
    answer = create(carl, monitored.deployment, name="b", reference_dataset_version=version.pk)
    assert "not ready" in answer.json()["reference_dataset_version"][0]

    version.__class__.objects.filter(pk=version.pk).update(status=VersionStatus.READY)
    answer = create(carl, monitored.deployment, name="c", reference_dataset_version=version.pk)
    assert answer.status_code == 201, answer.content
    assert answer.json()["reference_dataset_version"] == version.pk

    # root sees every project, and still cannot point alpha's monitor at beta's data.
    answer = create(api(world.users["root"]), monitored.deployment, name="d",
                    reference_dataset_version=other.pk)  # fmt: skip
    assert answer.status_code == 400
    assert "No dataset version" in answer.json()["reference_dataset_version"][0]

    lacking = model_version_factory(name="narrow").dataset_version
    lacking.__class__.objects.filter(pk=lacking.pk).update(
        schema=[c for c in lacking.schema if c["name"] != "colour"]
    )
    answer = create(carl, monitored.deployment, name="e", reference_dataset_version=lacking.pk)
    assert "'colour'" in answer.json()["reference_dataset_version"][0]


def test_a_deployment_serving_nothing_cannot_be_monitored(world, monitored, carl):
    empty = Deployment.objects.create(
        project=world.alpha, registered_model=monitored.version.registered_model,
        environment="staging", slug="churn-staging",
    )  # fmt: skip
    answer = create(carl, empty, name="x")
    assert answer.status_code == 400 and "deployment" in answer.json()


def test_patch_keeps_the_whole_monitor_valid(world, monitored, carl):
    url = f"{URL}{monitored.monitor.pk}/"
    answer = carl.patch(url, {"window_predictions": 500, "min_rows": 600}, format="json")
    assert answer.status_code == 400 and "window_predictions" in answer.json()
    answer = carl.patch(url, {"name": "other", "columns": ["nope"]}, format="json")
    assert answer.status_code == 400
    monitored.monitor.refresh_from_db()
    assert monitored.monitor.name == "drift" and monitored.monitor.columns == []
    other = create(carl, monitored.deployment, name="second").json()
    answer = carl.patch(f"{URL}{other['id']}/", {"name": "drift"}, format="json")
    assert answer.status_code == 400 and "name" in answer.json()
    assert carl.put(url, {"name": "x"}, format="json").status_code == 405


def test_viewers_read_and_cannot_write(world, monitored, api):
    vera = api(world.users["vera"])
    url = f"{URL}{monitored.monitor.pk}/"
    assert vera.get(url).status_code == 200
    assert vera.get(URL).json()["count"] == 1
    assert create(vera, monitored.deployment, name="x").status_code == 403
    assert vera.patch(url, {"enabled": False}, format="json").status_code == 403
    assert vera.delete(url).status_code == 403
    assert vera.post(f"{url}run/").status_code == 403
    assert Monitor.objects.count() == 1 and DriftReport.objects.count() == 0


def test_strangers_get_404_and_see_nothing(world, monitored, api):
    eve = api(world.users["eve"])
    url = f"{URL}{monitored.monitor.pk}/"
    assert eve.get(url).status_code == 404
    assert eve.patch(url, {"enabled": False}, format="json").status_code == 404
    assert eve.delete(url).status_code == 404
    assert eve.post(f"{url}run/").status_code == 404
    assert eve.get(URL).json()["count"] == 0
    # Naming alpha's deployment in a body is as if it did not exist.
    answer = create(eve, monitored.deployment, name="x")
    assert answer.status_code == 400 and "deployment" in answer.json()
    DriftReport.objects.create(monitor=monitored.monitor, status="ok")
    assert eve.get("/api/v1/drift-reports/").json()["count"] == 0
    report = DriftReport.objects.get()
    assert eve.get(f"/api/v1/drift-reports/{report.pk}/").status_code == 404


def test_run_now_answers_the_pending_report_and_its_job(world, monitored, carl):
    answer = carl.post(f"{URL}{monitored.monitor.pk}/run/")
    assert answer.status_code == 202, answer.content
    body = answer.json()
    assert body["status"] == "pending" and body["trigger"] == "manual"
    assert body["deployment"] == "churn-production" and body["html_url"] is None
    job = Job.objects.get(pk=body["job"])
    assert (job.kind, job.queue, job.params) == ("monitoring.drift", "default",
                                                 {"report_id": body["id"]})  # fmt: skip
    assert job.created_by == world.users["carl"]
    assert AuditEvent.objects.filter(action="drift_report.request").exists()


def _reports(monitored, other_monitor):
    now = timezone.now()
    rows = [
        (monitored.monitor, "ok", True, 0.67, now - timedelta(hours=3)),
        (monitored.monitor, "ok", False, 0.0, now - timedelta(hours=2)),
        (monitored.monitor, "insufficient_data", None, None, now - timedelta(hours=1)),
        (other_monitor, "failed", None, None, now),
    ]
    made = []
    for monitor, status, drift, share, at in rows:
        report = DriftReport.objects.create(
            monitor=monitor, status=status, dataset_drift=drift, drift_share=share,
            columns=[{"column": "x1", "test": "K-S p_value", "score": 0.01, "threshold": 0.05,
                      "drifted": bool(drift)}],
            html_path="drift-reports/x.html" if status == "ok" else "",
        )  # fmt: skip
        DriftReport.objects.filter(pk=report.pk).update(created_at=at)
        made.append(report.pk)
    return made


def test_drift_reports_list_filter_and_detail(world, monitored, carl):
    other = Monitor.objects.create(project=world.alpha, deployment=monitored.deployment,
                                   name="other", schedule_minutes=0)  # fmt: skip
    drifted, calm, tiny, failed = _reports(monitored, other)
    url = "/api/v1/drift-reports/"

    def ids(query: str = "") -> list[int]:
        answer = carl.get(url + query)
        assert answer.status_code == 200, answer.content
        return [r["id"] for r in answer.json()["results"]]

    assert ids() == [failed, tiny, calm, drifted]  # newest first
    assert ids("?status=ok") == [calm, drifted]
    assert ids("?status=ok&status=failed") == [failed, calm, drifted]
    assert ids("?dataset_drift=true") == [drifted]
    assert ids(f"?monitor={other.pk}") == [failed]
    assert ids("?deployment=churn-production&project=alpha") == [failed, tiny, calm, drifted]
    assert ids("?deployment=nope") == [] and ids("?project=beta") == []
    after = (timezone.now() - timedelta(minutes=90)).isoformat()
    assert ids("?" + f"created_after={after}".replace("+", "%2B")) == [failed, tiny]
    assert ids("?" + f"created_before={after}".replace("+", "%2B")) == [calm, drifted]
    assert ids("?status=ok&ordering=drift_share") == [calm, drifted]

    body = carl.get(f"{url}{drifted}/").json()
    assert body["columns"] == [{"column": "x1", "test": "K-S p_value", "score": 0.01,
                                "threshold": 0.05, "drifted": True}]  # fmt: skip
    assert body["html_url"] == f"/monitoring/reports/{drifted}/report.html"
    assert body["monitor_name"] == "drift" and body["model_version"] is None

    # The monitor list carries each monitor's latest report.
    listed = {m["name"]: m["latest_report"] for m in carl.get(URL).json()["results"]}
    assert listed["drift"]["id"] == tiny and listed["drift"]["status"] == "insufficient_data"
    assert listed["other"]["id"] == failed


def test_lists_take_a_fixed_number_of_queries(world, monitored, carl, model_version_factory,
                                              deployment_factory,
                                              django_assert_max_num_queries):  # fmt: skip
    def grow(n: int) -> None:
        for i in range(n):
            version = model_version_factory(name=f"m{Monitor.objects.count()}-{i}",
                                            stage=Stage.PRODUCTION)  # fmt: skip
            deployment, _ = deployment_factory(stable=version, slug=f"d-{version.pk}")
            monitor = Monitor.objects.create(project=world.alpha, deployment=deployment,
                                             name="drift", schedule_minutes=0)  # fmt: skip
            _reports(monitored, monitor)

    grow(2)
    for url in (URL, "/api/v1/drift-reports/"):
        with django_assert_max_num_queries(8) as few:
            assert carl.get(url).status_code == 200
        grow(6)
        with django_assert_max_num_queries(len(few.captured_queries)):
            assert carl.get(url).status_code == 200


def test_the_method_list_is_evidentlys(world):
    from evidently.legacy.calculations.stattests.registry import _registered_stat_tests

    registered = {
        name: tuple(sorted(kind.value for kind in kinds if kind.value in ("num", "cat")))
        for name, kinds in _registered_stat_tests.items()
    }
    ours = {name: tuple(sorted(kinds)) for name, kinds in DRIFT_METHODS.items()}
    assert ours == {name: kinds for name, kinds in registered.items() if kinds}
