from django.urls import path

from apps.datasets.views import pages, versions

urlpatterns = [
    path("datasets/", pages.dataset_list, name="datasets"),
    path("datasets/new/", pages.dataset_create, name="dataset-create"),
    path("datasets/<int:pk>/", pages.dataset_detail, name="dataset-detail"),
    path("datasets/<int:pk>/rules/", pages.rule_add, name="dataset-rule-add"),
    path(
        "datasets/<int:pk>/rules/<int:rule_pk>/delete/",
        pages.rule_delete,
        name="dataset-rule-delete",
    ),
    path("dataset-versions/<int:pk>/", versions.version_detail, name="dataset-version-detail"),
    path(
        "dataset-versions/<int:pk>/status/", versions.version_status, name="dataset-version-status"
    ),
    path(
        "dataset-versions/<int:pk>/diff/", versions.version_diff_page, name="dataset-version-diff"
    ),
]
