import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.env import env_bool, env_int, env_list


def test_booleans_are_parsed_strictly(monkeypatch):
    for raw, expected in (("true", True), ("0", False), ("YES", True), ("off", False)):
        monkeypatch.setenv("X_FLAG", raw)
        assert env_bool("X_FLAG", not expected) is expected
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG"):
        env_bool("X_FLAG", False)


def test_integers_are_checked(monkeypatch):
    monkeypatch.setenv("X_NUM", "12")
    assert env_int("X_NUM", 1, minimum=10) == 12
    monkeypatch.setenv("X_NUM", "twelve")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env_int("X_NUM", 1)
    monkeypatch.setenv("X_NUM", "3")
    with pytest.raises(ImproperlyConfigured, match="at least 10"):
        env_int("X_NUM", 1, minimum=10)
    monkeypatch.delenv("X_NUM")
    assert env_int("X_NUM", 7) == 7


def test_lists_split_on_commas(monkeypatch):
    monkeypatch.setenv("X_LIST", " a, b,,c ")
    assert env_list("X_LIST", []) == ["a", "b", "c"]
