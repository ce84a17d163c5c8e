"""Pages of registered models and versions (list, detail, card, policy, compare)."""

from django.urls import path

from apps.registry.views import models, versions

urlpatterns = [
    path("models/", models.model_list, name="models"),
    path("models/compare/", versions.model_compare, name="model-compare"),
    path("models/versions/<int:pk>/", versions.version_detail, name="model-version"),
    path("models/versions/<int:pk>/card/", versions.version_card_edit, name="model-version-card"),
    path("models/<int:pk>/", models.model_detail, name="model"),
    path("models/<int:pk>/card/", models.model_card_edit, name="model-card"),
    path("models/<int:pk>/policies/<slug:stage>/", models.model_policy_edit, name="model-policy"),
]
