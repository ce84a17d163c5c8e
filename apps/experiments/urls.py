from django.urls import path

from apps.experiments.views import jobs, launch, pages

urlpatterns = [
    path("experiments/", pages.experiment_list, name="experiments"),
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
