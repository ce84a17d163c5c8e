"""The data plane: `/serve/<slug>/predict`."""

urlpatterns: list = []
