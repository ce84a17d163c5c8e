from rest_framework.routers import DefaultRouter

from apps.experiments.api import runs, sweeps, views

router = DefaultRouter()
router.include_root_view = False
router.register("training-jobs", views.TrainingJobViewSet, basename="training-job")
router.register("experiments", views.ExperimentViewSet, basename="experiment")
router.register("training-templates", views.TemplateViewSet, basename="training-template")
router.register("runs", runs.RunViewSet, basename="run")
router.register("sweeps", sweeps.SweepViewSet, basename="sweep")

urlpatterns = router.urls
