from rest_framework.routers import DefaultRouter

from apps.experiments.api import views

router = DefaultRouter()
router.include_root_view = False
router.register("training-jobs", views.TrainingJobViewSet, basename="training-job")
router.register("experiments", views.ExperimentViewSet, basename="experiment")
router.register("training-templates", views.TemplateViewSet, basename="training-template")

urlpatterns = router.urls
