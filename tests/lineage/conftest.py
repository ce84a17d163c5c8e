from tests.registry.conftest import model_version_factory  # noqa: F401
