"""Each promotion gate on its own: what passes, what fails, and what the detail says."""

from __future__ import annotations

from apps.core.models import Job
from apps.registry.models import ModelVersion, PromotionPolicy
from apps.registry.services.gates import gates_run, signature_diff


def gate(version, target="staging", name=""):
    gates, _ = gates_run(version, target)
    return next(g for g in gates if g["name"] == name)


def test_all_pass_for_a_clean_first_version(model_version_factory):
    gates, champion = gates_run(model_version_factory(), "staging")
    assert champion is None and all(g["passed"] for g in gates), gates
    assert "staged_first" not in {g["name"] for g in gates}


def test_training_job(model_version_factory):
    failed = model_version_factory(job_status="failed")
    assert gate(failed, name="training_job_succeeded")["passed"] is False
    assert "failed" in gate(failed, name="training_job_succeeded")["detail"]
    bare = model_version_factory(training_job=False)
    assert gate(bare, name="training_job_succeeded")["passed"] is False
    Job.objects.filter(pk=failed.training_job.job_id).update(status="succeeded")
    failed = ModelVersion.objects.get(pk=failed.pk)
    assert gate(failed, name="training_job_succeeded")["passed"] is True


def test_metrics_present_uses_the_task_default(model_version_factory):
    assert (
        gate(model_version_factory(metrics={"f1": 0.8}), name="metrics_present")["passed"] is False
    )
    regression = model_version_factory(task="regression", metrics={"rmse": 1.2}, name="price")
    assert gate(regression, name="metrics_present")["passed"] is True


def test_dataset_validation(model_version_factory):
    assert (
        gate(model_version_factory(validation_passed=False), name="dataset_validation")["passed"]
        is False
    )
    unchecked = model_version_factory(validation_passed=None)
    assert "not been checked" in gate(unchecked, name="dataset_validation")["detail"]
    PromotionPolicy.objects.create(
        registered_model=unchecked.registered_model, stage="staging", require_validation=False
    )
    assert gate(unchecked, name="dataset_validation")["passed"] is True


def test_floor_is_direction_aware(model_version_factory):
    version = model_version_factory(metrics={"accuracy": 0.8})
    PromotionPolicy.objects.create(
        registered_model=version.registered_model, stage="staging", floor=0.85
    )
    assert gate(version, name="metric_floor")["passed"] is False
    price = model_version_factory(name="price", task="regression", metrics={"rmse": 2.0})
    PromotionPolicy.objects.create(
        registered_model=price.registered_model, stage="staging", floor=3
    )
    assert gate(price, name="metric_floor")["passed"] is True


def test_champion_tolerance(model_version_factory):
    model_version_factory(stage="staging", metrics={"accuracy": 0.90})
    slightly_worse = model_version_factory(metrics={"accuracy": 0.895})
    much_worse = model_version_factory(metrics={"accuracy": 0.85})
    assert gate(slightly_worse, name="champion_tolerance")["passed"] is True
    result = gate(much_worse, name="champion_tolerance")
    assert result["passed"] is False and "champion v1" in result["detail"]
    model_version_factory(name="price", task="regression", metrics={"rmse": 1.0}, stage="staging")
    lower = model_version_factory(name="price", task="regression", metrics={"rmse": 0.5})
    higher = model_version_factory(name="price", task="regression", metrics={"rmse": 1.5})
    assert gate(lower, name="champion_tolerance")["passed"] is True
    assert gate(higher, name="champion_tolerance")["passed"] is False


def test_signature_compatibility_lists_differences(model_version_factory):
    model_version_factory(stage="staging")
    changed = model_version_factory(
        signature={"inputs": [{"name": "x1", "type": "string"}, {"name": "age", "type": "double"}]}
    )
    result = gate(changed, name="signature_compatible")
    assert result["passed"] is False
    for word in ("missing x2, colour", "added age", "x1 double→string"):
        assert word in result["detail"]
    assert gate(model_version_factory(), name="signature_compatible")["passed"] is True
    assert signature_diff({}, {}) == {"missing": [], "added": [], "changed": []}


def test_production_needs_staging_first(model_version_factory):
    fresh = model_version_factory()
    assert gate(fresh, "production", "staged_first")["passed"] is False
    staged = model_version_factory(stage="staging")
    assert gate(staged, "production", "staged_first")["passed"] is True
