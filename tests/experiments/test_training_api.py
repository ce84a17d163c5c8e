import pytest

from apps.core.models import AuditEvent, Job
from apps.experiments.models import TrainingJob
from tests.datasets.conftest import process, upload

pytestmark = pytest.mark.django_db


def body(version, **overrides):
    return {
        "project": "alpha",
        "experiment": "churn",
        "dataset_version": version.pk,
        "target": "label",
        "task": "classification",
        "template": "mlp",
        "params": {"epochs": 3},
        **overrides,
    }


def test_contributor_launches_a_job_on_the_gpu_queue(world, api, ready_version):
    response = api(world.users["carl"]).post(
        "/api/v1/training-jobs/", body(ready_version), format="json"
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["status"], data["experiment"], data["model_name"]) == ("queued", "churn", "churn")
    assert data["params"]["epochs"] == 3 and "learning_rate" in data["params"]
    training = TrainingJob.objects.get(pk=data["id"])
    assert training.job.queue == "gpu" and training.job.kind == "training.train"
    assert AuditEvent.objects.filter(action="training_job.create").count() == 1
    assert AuditEvent.objects.filter(action="experiment.create").count() == 1


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"params": {"epochs": 0}}, "params"),
        ({"params": {"epochs": "many"}}, "params"),
        ({"params": {"learning_rate": True}}, "params"),
        ({"params": {"optimizer": "rmsprop"}}, "params"),
        ({"params": {"not_a_param": 1}}, "params"),
        ({"template": "transformer"}, "template"),
        ({"target": "nope"}, "target"),
        ({"task": "clustering"}, "task"),
        ({"task": "regression", "target": "colour"}, "target"),
        ({"dataset_version": 999999}, "dataset_version"),
        ({"experiment": ""}, "experiment"),
    ],
)
def test_bad_input_is_refused_before_anything_is_queued(
    world, api, ready_version, overrides, field
):
    jobs_before = Job.objects.count()
    response = api(world.users["carl"]).post(
        "/api/v1/training-jobs/", body(ready_version, **overrides), format="json"
    )
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert Job.objects.count() == jobs_before
    assert TrainingJob.objects.count() == 0


def test_param_errors_name_the_parameter(world, api, ready_version):
    response = api(world.users["carl"]).post(
        "/api/v1/training-jobs/", body(ready_version, params={"epochs": -1}), format="json"
    )
    assert "epochs" in response.json()["params"]


def test_a_failed_dataset_version_cannot_be_trained_on(world, api, dataset):
    failed = process(upload(api(world.users["carl"]), dataset.pk, "a,b\n1,2\n3,4,5\n").json()["id"])
    assert failed.status == "failed"
    response = api(world.users["carl"]).post(
        "/api/v1/training-jobs/", body(failed, target="a"), format="json"
    )
    assert response.status_code == 400
    assert "not ready" in response.json()["dataset_version"][0]


def test_permissions(world, api, ready_version):
    assert (
        api(world.users["vera"])
        .post("/api/v1/training-jobs/", body(ready_version), format="json")
        .status_code
        == 403
    )
    # For a stranger the project in the body does not exist.
    assert (
        api(world.users["eve"])
        .post("/api/v1/training-jobs/", body(ready_version), format="json")
        .status_code
        == 400
    )
    created = (
        api(world.users["carl"])
        .post("/api/v1/training-jobs/", body(ready_version), format="json")
        .json()
    )
    assert api(world.users["eve"]).get(f"/api/v1/training-jobs/{created['id']}/").status_code == 404
    assert (
        api(world.users["vera"]).post(f"/api/v1/training-jobs/{created['id']}/cancel/").status_code
        == 403
    )


def test_cancel_a_queued_job(world, api, ready_version):
    carl = api(world.users["carl"])
    created = carl.post("/api/v1/training-jobs/", body(ready_version), format="json").json()
    response = carl.post(f"/api/v1/training-jobs/{created['id']}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    again = carl.post(f"/api/v1/training-jobs/{created['id']}/cancel/")
    assert again.status_code == 409


def test_model_names_belong_to_one_project(world, api, ready_version):
    from apps.registry.models import RegisteredModel

    RegisteredModel.objects.create(project=world.beta, name="shared-name")
    response = api(world.users["carl"]).post(
        "/api/v1/training-jobs/", body(ready_version, model_name="shared-name"), format="json"
    )
    assert response.status_code == 400 and "model_name" in response.json()


def test_templates_endpoint_lists_parameter_schemas(world, api):
    templates = api(world.users["vera"]).get("/api/v1/training-templates/").json()
    names = {t["name"]: t["params"] for t in templates}
    assert {"linear", "mlp"} <= set(names)
    assert names["mlp"]["epochs"]["default"] >= 1
