"""Portal settings, read from the environment.

Without any variables set the portal runs on the embedded default: SQLite, an MLflow store and
a Celery broker, all inside VAR_DIR. Production sets DATABASE_URL, CELERY_BROKER_URL,
MLFLOW_TRACKING_URI, ARTIFACT_ROOT and SECRET_KEY (see README.md).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from portal.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var"))).resolve()

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false")
    SECRET_KEY = "insecure-embedded-default-key-set-SECRET_KEY-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
PORT = env_int("PORT", 8000, minimum=1)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "apps.core",
    "apps.datasets",
    "apps.experiments",
    "apps.registry",
    "apps.notifications",
    "apps.deployments",
    "apps.monitoring",
    "apps.costs",
    "apps.lineage",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.core.middleware.RequestIdMiddleware",
    # After whitenoise: static files are not views and would only add noise to the histogram.
    "apps.core.middleware.RequestMetricsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.core.context_processors.navigation",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'portal.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Web and worker share the file: wait for the other's write lock instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- static files: the portal's own CSS/JS plus packages installed from npm ----------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    # plotly.js ships inside the Python package: no CDN, same version as the server side.
    "apps.core.staticfinders.PlotlyJsFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- artifacts and MLflow -------------------------------------------------------------------
ARTIFACT_ROOT = env_str("ARTIFACT_ROOT", str(VAR_DIR / "artifacts"))
MLFLOW_TRACKING_URI = env_str("MLFLOW_TRACKING_URI", f"sqlite:///{VAR_DIR / 'mlflow.db'}")
MLFLOW_ARTIFACT_ROOT = env_str("MLFLOW_ARTIFACT_ROOT", str(Path(ARTIFACT_ROOT) / "mlflow"))

# Training cost: hourly rates per device type (any currency; shown as is).
COST_PER_HOUR_CPU = env_float("COST_PER_HOUR_CPU", 0.10, minimum=0)
COST_PER_HOUR_CUDA = env_float("COST_PER_HOUR_CUDA", 2.50, minimum=0)

# Uploads stream to disk (hashed on the way) and are refused past this size.
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 2 * 1024**3, minimum=1)
FILE_UPLOAD_HANDLERS = ["apps.datasets.uploads.HashingUploadHandler"]
DATASET_MAX_COLUMNS = env_int("DATASET_MAX_COLUMNS", 2000, minimum=1)
# Bytes per CSV block read while profiling; types are inferred from the first block.
DATASET_BLOCK_SIZE = env_int("DATASET_BLOCK_SIZE", 16 * 1024**2, minimum=1024)

# --- Celery ---------------------------------------------------------------------------------
# The embedded default broker is a folder: no server to install, shared by web and worker.
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 12 * 3600, minimum=60)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)

# Jobs: a running job's worker writes a heartbeat; the reaper fails jobs whose heartbeat is stale.
JOB_HEARTBEAT_SECONDS = env_int("JOB_HEARTBEAT_SECONDS", 10, minimum=1)
JOB_STALE_AFTER_SECONDS = env_int("JOB_STALE_AFTER_SECONDS", 120, minimum=2)
JOB_REAP_INTERVAL_SECONDS = env_int("JOB_REAP_INTERVAL_SECONDS", 60, minimum=1)
if JOB_STALE_AFTER_SECONDS <= JOB_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured("JOB_STALE_AFTER_SECONDS must exceed JOB_HEARTBEAT_SECONDS")
if CELERY_VISIBILITY_TIMEOUT <= JOB_STALE_AFTER_SECONDS:
    raise ImproperlyConfigured("CELERY_VISIBILITY_TIMEOUT must exceed JOB_STALE_AFTER_SECONDS")

# The runs table mirrors the MLflow store: new and running runs every interval, all runs (and
# deletions) every full interval.
RUNS_SYNC_INTERVAL_SECONDS = env_int("RUNS_SYNC_INTERVAL_SECONDS", 60, minimum=5)
RUNS_FULL_SYNC_INTERVAL_SECONDS = env_int("RUNS_FULL_SYNC_INTERVAL_SECONDS", 3600, minimum=60)

# Sweeps: the most trials one sweep may plan (each is a training job).
SWEEP_MAX_TRIALS = env_int("SWEEP_MAX_TRIALS", 100, minimum=1)

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.core.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": env_int("API_PAGE_SIZE", 50, minimum=1),
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "apps.core.api.schema.PortalAutoSchema",
    "EXCEPTION_HANDLER": "apps.core.api.exceptions.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MLOps Portal API",
    "DESCRIPTION": "Datasets, experiments, models, promotions, deployments and monitoring.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "apps.core.models.projects.Role",
        "JobStatusEnum": "apps.core.models.jobs.JobStatus",
        "DatasetVersionStatusEnum": "apps.datasets.models.VersionStatus",
        "SweepStatusEnum": "apps.experiments.models.sweeps.SweepStatus",
        "RunStatusEnum": "apps.experiments.models.runs.RunStatus",
        "DriftReportStatusEnum": "apps.monitoring.models.monitors.ReportStatus",
        "DriftReportTriggerEnum": "apps.monitoring.models.monitors.ReportTrigger",
        "AlertStatusEnum": "apps.monitoring.models.alerts.AlertStatus",
        "AlertRuleKindEnum": "apps.monitoring.models.alerts.RuleKind",
        "RetrainRunStatusEnum": "apps.monitoring.models.retrain.RetrainStatus",
        "RetrainTriggerEnum": "apps.monitoring.models.retrain.RetrainTrigger",
        "RetrainDataEnum": "apps.monitoring.models.retrain.RetrainData",
    },
}

# --- demo seed ------------------------------------------------------------------------------
DEMO_USERNAME = env_str("DEMO_USERNAME", "admin")
DEMO_PASSWORD = env_str("DEMO_PASSWORD", "portal-demo")

# --- observability ---------------------------------------------------------------------------
# /metrics answers a scraper that sends `Authorization: Bearer METRICS_TOKEN` (empty: no token
# accepted) or connects from one of METRICS_ALLOWED_NETWORKS (CIDRs; the peer address, so behind
# a proxy use the token). Database figures cover the last METRICS_WINDOW_SECONDS.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", ["127.0.0.1/32", "::1/128"])
for _network in METRICS_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {_exc}") from _exc
METRICS_WINDOW_SECONDS = env_int("METRICS_WINDOW_SECONDS", 3600, minimum=60)
METRICS_QUEUE_TIMEOUT_SECONDS = env_float("METRICS_QUEUE_TIMEOUT_SECONDS", 1.0, minimum=0.05)
# plain: one readable line per record (the default, for `make run`); json: one JSON object per
# line for log collectors. Both carry the request id, in web and worker processes alike.
LOG_FORMAT = env_str("LOG_FORMAT", "plain").strip().lower()
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: use plain or json")
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "apps.core.logging.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"},
        "json": {"()": "apps.core.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)

# --- costs ---
# Budgets and cost reports are in this currency; the hourly rates above are assumed to be too.
COST_CURRENCY = env_str("COST_CURRENCY", "USD")
# Serving cost: each deployment runs this many serving processes at this rate per hour while it
# exists. 0 means "not configured": serving costs nothing and cost per 1,000 predictions is unknown.
SERVING_COST_PER_HOUR = env_float("SERVING_COST_PER_HOUR", 0.0, minimum=0)
SERVING_PROCESSES_PER_DEPLOYMENT = env_int("SERVING_PROCESSES_PER_DEPLOYMENT", 1, minimum=1)
BUDGET_CHECK_INTERVAL_SECONDS = env_int("BUDGET_CHECK_INTERVAL_SECONDS", 600, minimum=10)
