from django.urls import path

from apps.experiments.views import jobs, launch, pages, runs, sweeps

urlpatterns = [
    path("experiments/", pages.experiment_list, name="experiments"),
    path("runs/", runs.run_table, name="runs"),
    path("runs/compare/", runs.run_compare, name="run-compare"),
    path("runs/sync/", runs.run_sync, name="runs-sync"),
    path("runs/<int:pk>/", runs.run_detail, name="run"),
    path("sweeps/", sweeps.sweep_list, name="sweeps"),
    path("sweeps/new/", sweeps.sweep_new, name="sweep-new"),
    path("sweeps/<int:pk>/", sweeps.sweep_detail, name="sweep"),
    path("sweeps/<int:pk>/live/", sweeps.sweep_live, name="sweep-live"),
    path("sweeps/<int:pk>/cancel/", sweeps.sweep_cancel, name="sweep-cancel"),
    path("training-jobs/new/", launch.training_job_new, name="training-job-new"),
    path(
        "training-jobs/new/<slug:part>/",
        launch.training_job_form_part,
        name="training-job-form-part",
    ),
    path("training-jobs/<int:pk>/", jobs.training_job_detail, name="training-job"),
    path("training-jobs/<int:pk>/live/", jobs.training_job_live, name="training-job-live"),
    path("training-jobs/<int:pk>/cancel/", jobs.training_job_cancel, name="training-job-cancel"),
    path("training-jobs/<int:pk>/rerun/", jobs.training_job_rerun, name="training-job-rerun"),
]
