"""Leadloop settings, read from the environment with safe embedded defaults.

Every variable is listed in `.env.example`. With nothing set, Leadloop runs on one
machine: SQLite (WAL) for data and a SQLite-backed Celery broker, no server to install.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
import plotly
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("LEADLOOP_DATA_DIR", BASE_DIR / "var"))
DATA_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
PRODUCTION = env_bool("LEADLOOP_PRODUCTION", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when LEADLOOP_PRODUCTION is on")
    SECRET_KEY = "leadloop-insecure-embedded-default-key-change-me-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    # django-ninja's own copy of Swagger UI: /api/v1/docs works without internet.
    "ninja",
    "users",
    "leads",
    "capture",
    "imports",
    "identity",
    "qualify",
    "routing",
    "followup",
    "nurture",
    "analytics",
    "outgoing_webhooks",
    "api",
    "web",
    "demo",
    # The project itself, for the `run_due` command (leadloop/sweeps.py).
    "leadloop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Pages render in the signed-in viewer's time zone (User.timezone).
    "web.middleware.ViewerTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as axes asks: it turns a login that axes refused into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "leadloop.urls"
WSGI_APPLICATION = "leadloop.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The project's overrides of Django's own templates (the admin's footer).
        "DIRS": [BASE_DIR / "leadloop" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "web.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DEFAULT_SQLITE_PATH = DATA_DIR / "leadloop.sqlite3"
DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{DEFAULT_SQLITE_PATH}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE makes every write transaction take the write lock up front, so two
        # processes never both read a round-robin pointer and then collide on the write.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
            " PRAGMA foreign_keys=ON;"
        ),
    }
    # Tests use a file, not ":memory:", so threads in concurrency tests get their own
    # connections to one shared database.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-leadloop.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "users.User"

# Checked where a person chooses a password: the admin's user and password forms,
# `createsuperuser` and `changepassword`. set_password (seed_demo's "demo", test fixtures)
# does not run them.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# axes first: a locked-out user name or address is refused before its password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

# --- Internationalisation ----------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files ----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Plotly's JS ships inside the Python package: served from here, never from a CDN.
STATICFILES_DIRS = [("plotly", Path(plotly.__file__).parent / "package_data")]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Security ---------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Celery -----------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get(
    "CELERY_BROKER_URL", f"sqla+sqlite:///{DATA_DIR / 'celery-broker.sqlite3'}"
)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
SLA_SWEEP_SECONDS = int(os.environ.get("SLA_SWEEP_SECONDS", "60"))
DUPLICATE_SWEEP_SECONDS = int(os.environ.get("DUPLICATE_SWEEP_SECONDS", "300"))
CLEAN_UP_SWEEP_SECONDS = int(os.environ.get("CLEAN_UP_SWEEP_SECONDS", "300"))
# How often the score decay sweep runs (qualify.services.run_due).
SCORE_DECAY_SWEEP_SECONDS = int(os.environ.get("SCORE_DECAY_SWEEP_SECONDS", "3600"))
# The time-driven sweeps, in the order `leadloop run_due` runs them: each is
# `run_due(*, now) -> int`, idempotent (leadloop/sweeps.py). Beat runs each on its own
# schedule below.
LEADLOOP_SWEEPS = [
    "routing.services.run_due",
    "qualify.services.run_due",
    # Open leads of reps deactivated or on leave go to others by the routing rules.
    "routing.availability.run_due",
    "routing.escalation.run_due",
    "followup.services.run_due",
    "users.services.send_notification_emails",
    # Smart lists follow their leads (and engagement windows move with time).
    "nurture.lists.run_due",
    # Nurture programs: the leads their rules pick enrolled, then the due runs advanced
    # (after the lists, which the rules read; before the outbox, which sends what the
    # programs' send steps queued in the same `run_due`).
    "nurture.programs.enrol_due",
    "nurture.programs.run_due",
    # Content streams: leads join and leave, due pieces queued (before the outbox sends).
    "nurture.streams.run_due",
    # The marketing outbox: due messages sent (cap, quiet hours, domain rates kept).
    "nurture.services.run_due",
    # Last: it sends what the sweeps before it recorded (breaches, recycled leads).
    "outgoing_webhooks.services.run_due",
]
LISTS_SWEEP_SECONDS = int(os.environ.get("LISTS_SWEEP_SECONDS", "300"))
WEBHOOK_SWEEP_SECONDS = int(os.environ.get("WEBHOOK_SWEEP_SECONDS", "30"))
AVAILABILITY_SWEEP_SECONDS = int(os.environ.get("AVAILABILITY_SWEEP_SECONDS", "300"))
CELERY_BEAT_SCHEDULE = {
    "availability-sweep": {
        "task": "routing.tasks.sweep_availability_task",
        "schedule": AVAILABILITY_SWEEP_SECONDS,
        "options": {"expires": AVAILABILITY_SWEEP_SECONDS},
    },
    # Engagement fades with the scoring model's half-life: rescore the leads it moved.
    "score-decay-sweep": {
        "task": "qualify.tasks.decay_scores_task",
        "schedule": SCORE_DECAY_SWEEP_SECONDS,
        "options": {"expires": SCORE_DECAY_SWEEP_SECONDS},
    },
    "sla-sweep": {
        "task": "routing.tasks.sweep_sla_task",
        "schedule": SLA_SWEEP_SECONDS,
        "options": {"expires": SLA_SWEEP_SECONDS},
    },
    # Reminders before an SLA deadline, then the team's ladder: reassign, hand back.
    "sla-ladder-sweep": {
        "task": "routing.tasks.sweep_sla_ladder_task",
        "schedule": SLA_SWEEP_SECONDS,
        "options": {"expires": SLA_SWEEP_SECONDS},
    },
    # The notification emails the moment after commit missed (a crash, a worker down).
    "notification-email-sweep": {
        "task": "users.tasks.send_notification_emails_task",
        "schedule": SLA_SWEEP_SECONDS,
        "options": {"expires": SLA_SWEEP_SECONDS},
    },
    # Cadences that ran out without contact hand their leads back to marketing.
    "cadence-sweep": {
        "task": "followup.tasks.sweep_cadences_task",
        "schedule": SLA_SWEEP_SECONDS,
        "options": {"expires": SLA_SWEEP_SECONDS},
    },
    # Leads written in bulk (imports) are checked for likely duplicates here.
    "duplicate-sweep": {
        "task": "identity.tasks.scan_duplicates_task",
        "schedule": DUPLICATE_SWEEP_SECONDS,
        "options": {"expires": DUPLICATE_SWEEP_SECONDS},
    },
    # Abandoned import uploads and the files no import needs any more.
    "imports-clean-up": {
        "task": "imports.tasks.clean_up_imports_task",
        "schedule": CLEAN_UP_SWEEP_SECONDS,
        "options": {"expires": CLEAN_UP_SWEEP_SECONDS},
    },
    # The rate counts of past minutes, old webhook deliveries.
    "capture-clean-up": {
        "task": "capture.tasks.clean_up_capture_task",
        "schedule": CLEAN_UP_SWEEP_SECONDS,
        "options": {"expires": CLEAN_UP_SWEEP_SECONDS},
    },
    # Smart lists recomputed: members joined and left since the last sweep.
    "lists-sweep": {
        "task": "nurture.tasks.refresh_lists_task",
        "schedule": LISTS_SWEEP_SECONDS,
        "options": {"expires": LISTS_SWEEP_SECONDS},
    },
}
# The marketing outbox (nurture): due messages claimed and sent.
OUTBOX_SWEEP_SECONDS = int(os.environ.get("OUTBOX_SWEEP_SECONDS", "10"))
CELERY_BEAT_SCHEDULE["outbox"] = {
    "task": "nurture.tasks.send_due_email_task",
    "schedule": OUTBOX_SWEEP_SECONDS,
    "options": {"expires": OUTBOX_SWEEP_SECONDS},
}
# Nurture programs: enrolment by the programs' rules, then the due runs advanced.
PROGRAMS_SWEEP_SECONDS = int(os.environ.get("PROGRAMS_SWEEP_SECONDS", "60"))
CELERY_BEAT_SCHEDULE["programs"] = {
    "task": "nurture.tasks.run_programs_task",
    "schedule": PROGRAMS_SWEEP_SECONDS,
    "options": {"expires": PROGRAMS_SWEEP_SECONDS},
}
# Outgoing webhooks: lead events queued from the history, due deliveries sent.
CELERY_BEAT_SCHEDULE["outgoing-webhooks"] = {
    "task": "outgoing_webhooks.tasks.send_webhooks_task",
    "schedule": WEBHOOK_SWEEP_SECONDS,
    "options": {"expires": WEBHOOK_SWEEP_SECONDS},
}
# Content streams (nurture): members joined and left, the next pieces queued.
STREAMS_SWEEP_SECONDS = int(os.environ.get("STREAMS_SWEEP_SECONDS", "300"))
CELERY_BEAT_SCHEDULE["streams"] = {
    "task": "nurture.tasks.send_stream_pieces_task",
    "schedule": STREAMS_SWEEP_SECONDS,
    "options": {"expires": STREAMS_SWEEP_SECONDS},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

# --- Email ------------------------------------------------------------------------------
# EMAIL_URL: console:// (print mail, the default), smtp://user:pass@host:port,
# smtp+tls://… (STARTTLS) or smtps://… (implicit TLS).
EMAIL_URL = os.environ.get("EMAIL_URL", "console://")


def mailer_from_url(url: str) -> dict[str, object]:
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    if parts.scheme == "console":
        return {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if parts.scheme == "locmem":
        return {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    if parts.scheme not in {"smtp", "smtp+tls", "smtps"}:
        raise ImproperlyConfigured(f"EMAIL_URL: unknown scheme {parts.scheme!r}")
    return {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": parts.hostname or "127.0.0.1",
            "port": parts.port or 25,
            "username": unquote(parts.username or ""),
            "password": unquote(parts.password or ""),
            "use_tls": parts.scheme == "smtp+tls",
            "use_ssl": parts.scheme == "smtps",
            "timeout": 30,
        },
    }


MAILERS = {"default": mailer_from_url(EMAIL_URL)}
# A provider through django-anymail instead of SMTP: EMAIL_BACKEND names its backend
# (anymail.backends.postmark.EmailBackend, ….mailgun.EmailBackend, …) and every
# ANYMAIL_<NAME> variable becomes ANYMAIL["<NAME>"] (ANYMAIL_POSTMARK_SERVER_TOKEN=…,
# ANYMAIL_WEBHOOK_SECRET=user:password for its tracking webhooks under /anymail/).
# (Django 6.1 refuses an EMAIL_BACKEND setting beside MAILERS: the variable feeds MAILERS.)
_EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "")
ANYMAIL = {
    name.removeprefix("ANYMAIL_"): value
    for name, value in os.environ.items()
    if name.startswith("ANYMAIL_")
}
if _EMAIL_BACKEND:
    MAILERS = {"default": {"BACKEND": _EMAIL_BACKEND}}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "leadloop@localhost")
# Where people open Leadloop: the links in notification emails and the ones the CLI
# prints (set-password links of `leadloop people create`) start with it; pages and the
# API use the address they were asked on. Default: where `make run` serves (PORT).
LEADLOOP_BASE_URL = os.environ.get(
    "LEADLOOP_BASE_URL", f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"
).rstrip("/")
# The marketing outbox (nurture). At most this many marketing emails a lead a week
# (across all programs); a capped message waits, it is not dropped.
LEADLOOP_EMAIL_WEEKLY_CAP = int(os.environ.get("LEADLOOP_EMAIL_WEEKLY_CAP", "2"))
# No marketing email in these local hours (HH:MM-HH:MM, may wrap midnight; "" for none),
# in the lead's team's time zone, else LEADLOOP_EMAIL_TIMEZONE.
LEADLOOP_EMAIL_QUIET_HOURS = os.environ.get("LEADLOOP_EMAIL_QUIET_HOURS", "21:00-08:00")
LEADLOOP_EMAIL_TIMEZONE = os.environ.get("LEADLOOP_EMAIL_TIMEZONE", TIME_ZONE)
# Messages a minute to one recipient domain (gmail.com, a customer's domain).
LEADLOOP_EMAIL_DOMAIN_RATE_PER_MINUTE = int(
    os.environ.get("LEADLOOP_EMAIL_DOMAIN_RATE_PER_MINUTE", "600")
)
# A claimed message not marked sent within this many seconds is taken up again.
LEADLOOP_EMAIL_LEASE_SECONDS = int(os.environ.get("LEADLOOP_EMAIL_LEASE_SECONDS", "300"))
# Temporary failures (4xx, connection refused) retried with back-off this many times.
LEADLOOP_EMAIL_MAX_ATTEMPTS = int(os.environ.get("LEADLOOP_EMAIL_MAX_ATTEMPTS", "8"))
# The right-hand side of the Message-IDs the outbox gives its messages.
LEADLOOP_EMAIL_DOMAIN = os.environ.get("LEADLOOP_EMAIL_DOMAIN", "leadloop.local")
# Email tracking: open pixel and click redirect requests per IP address and minute that
# are recorded (past it, the pixel and the redirect still answer, recording nothing).
LEADLOOP_TRACKING_RATE_PER_MINUTE = int(os.environ.get("LEADLOOP_TRACKING_RATE_PER_MINUTE", "120"))
# Soft bounces (since the last delivery) that suppress an address.
LEADLOOP_EMAIL_SOFT_BOUNCE_LIMIT = int(os.environ.get("LEADLOOP_EMAIL_SOFT_BOUNCE_LIMIT", "3"))
# The shared secret of POST /api/v1/email/events signed with HMAC-SHA256 (header
# X-Leadloop-Signature: sha256=<hex of the body's HMAC>); empty: API tokens only.
LEADLOOP_EMAIL_EVENTS_SECRET = os.environ.get("LEADLOOP_EMAIL_EVENTS_SECRET", "")

# --- Leadloop -------------------------------------------------------------------------
# Default SLA for a first touch, in business hours of the assigned team's calendar.
# The currency of every amount (budgets, campaign costs, deals): one per installation.
LEADLOOP_CURRENCY = os.environ.get("LEADLOOP_CURRENCY", "EUR").strip().upper() or "EUR"
LEADLOOP_DEFAULT_SLA_HOURS = int(os.environ.get("LEADLOOP_DEFAULT_SLA_HOURS", "24"))
# A team whose SLA is this many business hours or fewer routes only to reps inside their
# working hours (a lead due within the hour should not land on someone asleep).
LEADLOOP_ROUTING_WORKING_HOURS_SLA = int(os.environ.get("LEADLOOP_ROUTING_WORKING_HOURS_SLA", "4"))
# The minimum follow-up before a lead may be dropped for "no response", for a team without
# its own policy: so many contact attempts over at least so many channels.
LEADLOOP_MIN_ATTEMPTS = int(os.environ.get("LEADLOOP_MIN_ATTEMPTS", "6"))
LEADLOOP_MIN_CHANNELS = int(os.environ.get("LEADLOOP_MIN_CHANNELS", "2"))
# Days a lead gets to answer the last step of its cadence before it goes back to marketing.
LEADLOOP_CADENCE_WAIT_DAYS = int(os.environ.get("LEADLOOP_CADENCE_WAIT_DAYS", "2"))
# Events for an email Leadloop has not seen yet create a lead ("create") or are dropped
# and reported back ("ignore").
LEADLOOP_UNKNOWN_EVENT_EMAIL = os.environ.get("LEADLOOP_UNKNOWN_EVENT_EMAIL", "create")
# Public form submissions allowed per IP address and minute.
LEADLOOP_FORM_RATE_PER_MINUTE = int(os.environ.get("LEADLOOP_FORM_RATE_PER_MINUTE", "20"))
# Reverse proxies in front of Leadloop that append to X-Forwarded-For (nginx, a load
# balancer): with 1, the client is the last address of that header, not the proxy's.
LEADLOOP_TRUSTED_PROXIES = int(os.environ.get("LEADLOOP_TRUSTED_PROXIES", "0"))
# Webhook deliveries allowed per source and minute (each may carry up to 1000 events).
LEADLOOP_HOOK_RATE_PER_MINUTE = int(os.environ.get("LEADLOOP_HOOK_RATE_PER_MINUTE", "120"))
# An upload in the import wizard that nobody started within this many hours is deleted
# and its draft shown as expired (imports.uploads).
LEADLOOP_IMPORT_UPLOAD_TTL_HOURS = int(os.environ.get("LEADLOOP_IMPORT_UPLOAD_TTL_HOURS", "24"))
if LEADLOOP_IMPORT_UPLOAD_TTL_HOURS < 1:
    raise ImproperlyConfigured("LEADLOOP_IMPORT_UPLOAD_TTL_HOURS must be 1 or more")
# Deliveries logged per webhook source (shown on its page); beat's clean-up sweep deletes
# older ones.
LEADLOOP_WEBHOOK_DELIVERIES_KEPT = int(os.environ.get("LEADLOOP_WEBHOOK_DELIVERIES_KEPT", "200"))
if LEADLOOP_WEBHOOK_DELIVERIES_KEPT < 1:
    raise ImproperlyConfigured("LEADLOOP_WEBHOOK_DELIVERIES_KEPT must be 1 or more")
# Requests without the source's token (anyone can send them) logged per source and minute.
LEADLOOP_HOOK_UNAUTHENTICATED_LOGGED = int(
    os.environ.get("LEADLOOP_HOOK_UNAUTHENTICATED_LOGGED", "20")
)

# Failed logins (both /login/ and /admin/login/), counted by django-axes in its tables.
# LEADLOOP_LOGIN_FAILURE_LIMIT failures for one user name, or from one address, lock that
# user name or address out for LEADLOOP_LOGIN_LOCKOUT_MINUTES; another try while locked
# starts the wait again. A successful login clears the counts of its user name and
# address. `leadloop axes_reset` (or axes_reset_username / axes_reset_ip) lifts locks.
LEADLOOP_LOGIN_FAILURE_LIMIT = int(os.environ.get("LEADLOOP_LOGIN_FAILURE_LIMIT", "5"))
if LEADLOOP_LOGIN_FAILURE_LIMIT < 1:
    raise ImproperlyConfigured("LEADLOOP_LOGIN_FAILURE_LIMIT must be 1 or more")
LEADLOOP_LOGIN_LOCKOUT_MINUTES = int(os.environ.get("LEADLOOP_LOGIN_LOCKOUT_MINUTES", "15"))
if LEADLOOP_LOGIN_LOCKOUT_MINUTES < 1:
    raise ImproperlyConfigured("LEADLOOP_LOGIN_LOCKOUT_MINUTES must be 1 or more")
AXES_FAILURE_LIMIT = LEADLOOP_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LEADLOOP_LOGIN_LOCKOUT_MINUTES)
# Either one locks: a user name guessed at from many addresses, or one address trying
# many user names.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
# The client address as the rate limits see it: X-Forwarded-For is read only behind
# LEADLOOP_TRUSTED_PROXIES proxies, and then only the entry the nearest proxy wrote.
AXES_CLIENT_IP_CALLABLE = "web.logins.client_address"
AXES_LOCKOUT_CALLABLE = "web.logins.locked_out"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["CACHE_URL"],
    }
    if os.environ.get("CACHE_URL")
    else {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "leadloop_cache",
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # httpx logs every request at INFO; the delivery log already keeps each webhook POST.
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}

# Outgoing webhooks (outgoing_webhooks/): seconds a receiver has to answer a POST; attempts
# before a delivery is failed (waits between them double from 1 minute, at most 6 hours);
# whether receivers on loopback, private or link-local addresses may be called (off:
# a subscription cannot reach services inside Leadloop's own network; on for a receiver
# on the same machine or LAN); how long the sweep waits for a history row whose id it
# passed to be committed.
LEADLOOP_WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("LEADLOOP_WEBHOOK_TIMEOUT_SECONDS", "5"))
if not 0 < LEADLOOP_WEBHOOK_TIMEOUT_SECONDS <= 30:
    raise ImproperlyConfigured("LEADLOOP_WEBHOOK_TIMEOUT_SECONDS must be above 0 and at most 30")
LEADLOOP_WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("LEADLOOP_WEBHOOK_MAX_ATTEMPTS", "10"))
if LEADLOOP_WEBHOOK_MAX_ATTEMPTS < 1:
    raise ImproperlyConfigured("LEADLOOP_WEBHOOK_MAX_ATTEMPTS must be 1 or more")
LEADLOOP_WEBHOOK_ALLOW_PRIVATE = env_bool("LEADLOOP_WEBHOOK_ALLOW_PRIVATE", False)
# Days the outgoing delivery log keeps delivered and failed deliveries (their payloads).
LEADLOOP_WEBHOOK_LOG_DAYS = int(os.environ.get("LEADLOOP_WEBHOOK_LOG_DAYS", "30"))
if LEADLOOP_WEBHOOK_LOG_DAYS < 1:
    raise ImproperlyConfigured("LEADLOOP_WEBHOOK_LOG_DAYS must be 1 or more")
LEADLOOP_WEBHOOK_GAP_WAIT_SECONDS = int(os.environ.get("LEADLOOP_WEBHOOK_GAP_WAIT_SECONDS", "600"))
