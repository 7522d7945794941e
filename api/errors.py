"""One error shape for the whole REST API: every 4xx names the field and says what is wrong.

    {"detail": "email: 'x' is not a valid email address",
     "errors": [{"field": "email", "message": "'x' is not a valid email address"}]}

`field` is the dotted path into the request: a body field ("email", "events.3.kind"), a
query parameter ("stage"), a header ("Idempotency-Key", "Authorization") or "body" when
the body as a whole is wrong (not JSON, not an object).

Status codes:
- 400 the body is not JSON;
- 401 no token, or an unknown or revoked one;
- 403 the role may not do this (to a lead the user can see);
- 404 no such lead, or one outside the user's scope (the two look the same on purpose);
- 409 the request conflicts with the current state: a lifecycle move the lead's stage does
  not allow, or an Idempotency-Key reused with a different body;
- 422 the request itself is invalid: wrong type, unknown field, bad value, missing reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError, ValidationErrorContext

from followup.actions import ActionError, NotAllowed
from leads.errors import FieldError, NotPermitted
from leads.lifecycle import TransitionError

if TYPE_CHECKING:
    from ninja import NinjaAPI

# TransitionError fields that mean "not from the stage the lead is in now": a conflict with
# the lead's state, not a malformed request. Every other field (reason, amount,
# occurred_at) is something the caller must fix in the request.
STATE_FIELDS = frozenset({"to_stage", "stage", "action"})


class FieldErrorOut(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    detail: str
    errors: list[FieldErrorOut]


# Every error status an endpoint may answer, for its OpenAPI entry.
ERROR_RESPONSES: dict[int, type[ErrorOut]] = {
    code: ErrorOut for code in (400, 401, 403, 404, 409, 422)
}


class ApiError(Exception):
    """A refusal decided by an API adapter, answered in the common error shape."""

    def __init__(self, status: int, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.status = status
        self.field = field
        self.message = message


def error_body(errors: list[tuple[str, str]], detail: str | None = None) -> dict[str, Any]:
    if detail is None:
        if len(errors) == 1:
            detail = f"{errors[0][0]}: {errors[0][1]}"
        else:
            detail = f"{len(errors)} invalid fields: " + ", ".join(f for f, _ in errors)
    return {
        "detail": detail,
        "errors": [{"field": field, "message": message} for field, message in errors],
    }


def transition_status(field: str) -> int:
    return 409 if field in STATE_FIELDS else 422


# Pydantic's wording for the common cases, said the way the rest of the API says it.
MESSAGES = {
    "extra_forbidden": "unknown field",
    "missing": "required",
}


def field_errors_from_contexts(contexts: list[ValidationErrorContext[Any]]) -> list[dict[str, Any]]:
    """Pydantic errors as {field, message}: the dotted location without the "body" prefix
    or the name of the view argument the body was read into."""
    errors: list[dict[str, Any]] = []
    for context in contexts:
        model = context.model
        reverse_map = getattr(model, "__ninja_flatten_map_reverse__", {})
        single = getattr(model, "__read_from_single_attr__", None)
        for error in context.pydantic_validation_error.errors(include_url=False):
            loc = tuple(reverse_map.get(error["loc"], error["loc"]))
            if single and loc[:1] == (single,):
                loc = loc[1:]
            field = ".".join(str(part) for part in loc) or "body"
            message = MESSAGES.get(error["type"], error["msg"])
            if not loc and error["type"] in {"missing", "model_attributes_type", "dict_type"}:
                message = "a JSON object is required"
            errors.append({"field": field, "message": message})
    return errors


def install_error_handlers(api: NinjaAPI) -> None:
    """Answer every refusal in the common shape; bad input never becomes a 500."""

    def respond(request: HttpRequest, status: int, body: dict[str, Any]) -> HttpResponse:
        return api.create_response(request, body, status=status)

    def on_validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        pairs = [(str(e["field"]), str(e["message"])) for e in exc.errors]
        return respond(request, 422, error_body(pairs))

    def on_field_error(request: HttpRequest, exc: FieldError) -> HttpResponse:
        return respond(request, 422, error_body([(exc.field, exc.message)]))

    def on_not_permitted(request: HttpRequest, exc: NotPermitted) -> HttpResponse:
        return respond(request, 403, error_body([(exc.field, exc.message)]))

    def on_transition(request: HttpRequest, exc: TransitionError) -> HttpResponse:
        status = transition_status(exc.field)
        return respond(request, status, error_body([(exc.field, exc.message)]))

    def on_action_error(request: HttpRequest, exc: ActionError) -> HttpResponse:
        status = 409 if exc.is_conflict else 422
        return respond(request, status, error_body([(exc.field, exc.message)]))

    def on_not_allowed(request: HttpRequest, exc: NotAllowed) -> HttpResponse:
        return respond(request, 403, error_body([(exc.field, exc.message)]))

    def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return respond(request, exc.status, error_body([(exc.field, exc.message)]))

    def on_auth(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        body = error_body(
            [("Authorization", "send a valid API token as 'Authorization: Bearer <token>'")],
            detail="Unauthorized",
        )
        response = respond(request, 401, body)
        response["WWW-Authenticate"] = "Bearer"
        return response

    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        # Ninja raises 400 only when the body cannot be parsed.
        field = "body" if exc.status_code == 400 else ""
        message = "is not valid JSON" if exc.status_code == 400 else str(exc)
        errors = [(field, message)] if field else []
        return respond(request, exc.status_code, error_body(errors, detail=str(exc)))

    def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return respond(request, 404, error_body([], detail=str(exc) or "Not found"))

    register(api, ValidationError, on_validation)
    register(api, FieldError, on_field_error)
    register(api, NotPermitted, on_not_permitted)
    register(api, TransitionError, on_transition)
    register(api, ActionError, on_action_error)
    register(api, NotAllowed, on_not_allowed)
    register(api, ApiError, on_api_error)
    register(api, AuthenticationError, on_auth)
    register(api, HttpError, on_http_error)
    register(api, Http404, on_not_found)


def register[E: Exception](
    api: NinjaAPI, exc_class: type[E], handler: Callable[[HttpRequest, E], HttpResponse]
) -> None:
    # Ninja types a handler as taking the exception or its class; it only passes instances.
    api.add_exception_handler(exc_class, cast(Any, handler))
