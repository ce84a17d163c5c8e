"""Search plans: grid products, ranges in linear and log space, seeded random, field errors."""

import math

import pytest

from workers.training.search import NON_FIELD, plan_trials

SPACE = {
    "learning_rate": {"min": 1e-4, "max": 1e-1, "scale": "log"},
    "dropout": {"min": 0, "max": 0.5},
    "batch_size": {"values": [32, 64]},
    "optimizer": ["adam", "sgd"],
}


def test_grid_is_the_cartesian_product():
    plan, errors = plan_trials(SPACE, "grid", 100)
    assert errors == {}
    assert len(plan) == 3 * 3 * 2 * 2
    assert len({tuple(sorted(t.items())) for t in plan}) == len(plan)
    assert {t["optimizer"] for t in plan} == {"adam", "sgd"}
    assert {t["batch_size"] for t in plan} == {32, 64}


def test_grid_ranges_are_evenly_spaced_in_linear_or_log_space():
    plan, _ = plan_trials(SPACE, "grid", 100)
    assert sorted({t["dropout"] for t in plan}) == [0.0, 0.25, 0.5]
    rates = sorted({t["learning_rate"] for t in plan})
    assert rates[0] == pytest.approx(1e-4) and rates[-1] == pytest.approx(1e-1)
    assert rates[1] == pytest.approx(math.sqrt(1e-4 * 1e-1), rel=1e-5)  # geometric middle


def test_grid_steps_and_int_type():
    plan, errors = plan_trials(
        {"epochs": {"min": 1, "max": 10, "type": "int", "steps": 4}}, "grid", 10
    )
    assert errors == {}
    assert [t["epochs"] for t in plan] == [1, 4, 7, 10]
    assert all(isinstance(t["epochs"], int) for t in plan)
    # Rounding can make neighbours equal: each value appears once.
    plan, _ = plan_trials({"epochs": {"min": 1, "max": 2, "type": "int", "steps": 5}}, "grid", 10)
    assert [t["epochs"] for t in plan] == [1, 2]


def test_a_grid_larger_than_max_trials_says_how_large_it_is():
    plan, errors = plan_trials(SPACE, "grid", 10)
    assert plan == []
    assert "36 combinations" in errors[NON_FIELD][0]


def test_random_is_reproducible_from_its_seed_and_stays_in_range():
    first, errors = plan_trials(SPACE, "random", 20, seed=7)
    assert errors == {} and len(first) == 20
    assert plan_trials(SPACE, "random", 20, seed=7)[0] == first
    assert plan_trials(SPACE, "random", 20, seed=8)[0] != first
    for trial in first:
        assert 1e-4 <= trial["learning_rate"] <= 1e-1
        assert 0 <= trial["dropout"] <= 0.5
        assert trial["batch_size"] in (32, 64) and trial["optimizer"] in ("adam", "sgd")


def test_random_log_ranges_sample_every_decade():
    plan, _ = plan_trials({"lr": {"min": 1e-6, "max": 1.0, "scale": "log"}}, "random", 60, seed=1)
    decades = {math.floor(math.log10(t["lr"])) for t in plan}
    assert len(decades) >= 5  # uniform in linear space would put almost all in the last one


def test_random_int_ranges_and_small_discrete_spaces():
    plan, _ = plan_trials({"n": {"min": 2, "max": 5, "type": "int"}}, "random", 50, seed=3)
    assert {t["n"] for t in plan} == {2, 3, 4, 5}  # no repeats: the space has 4 points
    assert len(plan) == 4


@pytest.mark.parametrize(
    "spec,fragment",
    [
        ({"min": 2, "max": 1}, "greater than max"),
        ({"min": 0, "max": 1, "scale": "log"}, "min > 0"),
        ({"values": []}, "must not be empty"),
        ([], "must not be empty"),
        ({"min": 0, "max": 1, "stepz": 3}, "Unknown key"),
        ({"min": 0, "max": 1, "scale": "cubic"}, "linear or log"),
        ({"min": 0, "max": 1, "type": "str"}, "int or float"),
        ({"min": 0, "max": 1, "steps": 0}, "steps"),
        ({"min": "0", "max": 1}, "numeric min and max"),
        ({"min": 0.2, "max": 0.8, "type": "int"}, "No integer"),
        ({"values": [1], "min": 0}, "no other keys"),
        ("adam", "list of values"),
        (list(range(1001)), "At most 1000 values"),
    ],
)
def test_errors_name_the_parameter(spec, fragment):
    plan, errors = plan_trials({"x": spec, "ok": [1, 2]}, "grid", 100)
    assert plan == []
    assert list(errors) == ["x"]
    assert any(fragment in message for message in errors["x"]), errors


@pytest.mark.parametrize(
    "space,strategy,max_trials",
    [({}, "grid", 5), ([1], "grid", 5), ({"x": [1]}, "bayes", 5), ({"x": [1]}, "grid", 0)],
)
def test_errors_about_the_whole_search(space, strategy, max_trials):
    plan, errors = plan_trials(space, strategy, max_trials)
    assert plan == [] and list(errors) == [NON_FIELD]
