"""The REST API root, version 1: each app contributes a router from its own `api.py`.

Errors share one JSON shape naming the field (see leadloop/api_errors.py for the shape
and the status codes).
"""

from typing import Any

from ninja import NinjaAPI
from ninja.errors import ValidationError, ValidationErrorContext

from api.auth import BearerTokenAuth
from api.cadences import router as cadences_router
from api.campaigns import router as campaigns_router
from api.consent import router as consent_router
from api.email import router as email_router
from api.email_events import router as email_events_router
from api.events import router as events_router
from api.followup import router as followup_router
from api.leads import router as leads_router
from api.lists import router as lists_router
from api.notifications import router as notifications_router
from api.people import router as people_router
from api.programs import router as programs_router
from api.reports import router as reports_router
from api.routing import router as routing_router
from api.scoring import router as scoring_router
from api.sla import router as sla_router
from api.streams import router as streams_router
from api.tasks import router as tasks_router
from api.webhook_subscriptions import router as webhook_subscriptions_router

from .errors import field_errors_from_contexts, install_error_handlers


class LeadloopAPI(NinjaAPI):
    def validation_error_from_error_contexts(
        self, error_contexts: list[ValidationErrorContext[Any]]
    ) -> ValidationError:
        # Name fields as the client wrote them ("email", "events.3.kind"), not as Ninja
        # locates them internally (("body", "payload", "email")).
        return ValidationError(field_errors_from_contexts(error_contexts))


api = LeadloopAPI(
    title="Leadloop API",
    version="1",
    description=(
        "Token auth: `Authorization: Bearer <token>` (create one with `leadloop api_token"
        " USERNAME`). Every 4xx answers `{detail, errors: [{field, message}]}`: 400 body"
        " not JSON, 401 no or bad token, 403 role may not, 404 no such lead or not yours to"
        " see, 409 conflicts with the lead's current stage or a reused Idempotency-Key, 422"
        " invalid input. Writes accept an `Idempotency-Key` header."
    ),
    urls_namespace="api-v1",
    openapi_url="/openapi.json",
    docs_url="/docs",
    auth=BearerTokenAuth(),
)
install_error_handlers(api)
api.add_router("", leads_router)
api.add_router("", followup_router)
api.add_router("", events_router)
api.add_router("", reports_router)
api.add_router("", people_router)
api.add_router("", campaigns_router)
api.add_router("", notifications_router)
api.add_router("", webhook_subscriptions_router)
api.add_router("", routing_router)
api.add_router("", sla_router)
api.add_router("", tasks_router)
api.add_router("", cadences_router)
api.add_router("", scoring_router)
api.add_router("", email_router)
api.add_router("", email_events_router)
api.add_router("", lists_router)
api.add_router("", streams_router)
api.add_router("", consent_router)
api.add_router("", programs_router)
