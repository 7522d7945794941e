"""REST API for marketing email (marketing and admins): templates (CRUD, a preview as a
lead one sees, a test send) and the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from api.common import CleanInput, InputSchema, api_user
from api.errors import ERROR_RESPONSES, ApiError
from nurture import services
from nurture.choices import MessageStatus
from nurture.models import EmailTemplate, Message
from users.models import User

router = Router(tags=["email"])


class TemplateIn(InputSchema):
    name: str = Field(max_length=150)
    subject: str = Field(max_length=300)
    html_body: str = ""
    text_body: str = ""


class TemplatePatch(InputSchema):
    name: str | None = Field(None, max_length=150)
    subject: str | None = Field(None, max_length=300)
    html_body: str | None = None
    text_body: str | None = None


class TemplateOut(Schema):
    id: int
    name: str
    subject: str
    html_body: str
    text_body: str
    created_at: datetime
    updated_at: datetime


class PreviewIn(InputSchema):
    lead_id: int = Field(description="A lead you see: the template as it would get it")


class PreviewOut(Schema):
    subject: str
    text: str
    html: str = Field(description="With the CSS inlined")


class TestSendIn(InputSchema):
    to: str = Field(max_length=254)
    lead_id: int | None = Field(None, description="Render as this lead (else empty fields)")


class MessageOut(Schema):
    id: int
    lead_id: int | None
    template_id: int | None
    purpose: str
    consent_purpose: str = Field(description="The consent purpose it needs; blank: a test send")
    to_address: str
    subject: str
    status: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    sent_at: datetime | None
    last_error: str
    message_id: str
    opened_at: datetime | None = Field(None, description="First open (the tracking pixel)")
    clicked_at: datetime | None = Field(None, description="First click on a tracked link")


class OutboxFilters(CleanInput):
    status: MessageStatus | None = None
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=1_000_000)


class OutboxPageOut(Schema):
    count: int
    limit: int
    offset: int
    items: list[MessageOut]


def _marketing(request: HttpRequest) -> User:
    user = api_user(request)
    services.check_may_send(user)
    return user


def _template(template_id: int) -> EmailTemplate:
    found = EmailTemplate.objects.filter(pk=template_id).first()
    if found is None:
        raise ApiError(404, "template_id", f"no email template with id {template_id}")
    return found


def _lead(user: User, lead_id: int) -> Any:
    lead = services.lead_seen_by(user, lead_id)
    if lead is None:
        raise ApiError(404, "lead_id", f"no lead with id {lead_id}")
    return lead


def template_out(template: EmailTemplate) -> dict[str, Any]:
    return {
        field: getattr(template, field) for field in TemplateOut.model_fields if field != "id"
    } | {"id": template.pk}


def message_out(message: Message) -> dict[str, Any]:
    return {
        field: getattr(message, field) for field in MessageOut.model_fields if field != "id"
    } | {"id": message.pk}


@router.get("/email-templates", response={200: list[TemplateOut], **ERROR_RESPONSES},
            summary="Email templates")  # fmt: skip
def list_templates(request: HttpRequest) -> list[dict[str, Any]]:
    _marketing(request)
    return [template_out(t) for t in EmailTemplate.objects.order_by("name")]


@router.post("/email-templates", response={201: TemplateOut, **ERROR_RESPONSES},
             summary="Create a template (refused, naming the line, if it does not compile)")  # fmt: skip
def post_template(request: HttpRequest, payload: TemplateIn) -> Status[dict[str, Any]]:
    user = _marketing(request)
    template = services.create_template(by=user, now=timezone.now(), **payload.model_dump())
    return Status(201, template_out(template))


@router.get("/email-templates/{template_id}", response={200: TemplateOut, **ERROR_RESPONSES},
            summary="A template")  # fmt: skip
def get_template(request: HttpRequest, template_id: int) -> dict[str, Any]:
    _marketing(request)
    return template_out(_template(template_id))


@router.patch("/email-templates/{template_id}", response={200: TemplateOut, **ERROR_RESPONSES},
              summary="Change a template")  # fmt: skip
def patch_template(
    request: HttpRequest, template_id: int, payload: TemplatePatch
) -> dict[str, Any]:
    user = _marketing(request)
    changes = payload.model_dump(exclude_unset=True)
    template = services.update_template(
        _template(template_id), by=user, now=timezone.now(), **changes
    )
    return template_out(template)


@router.delete("/email-templates/{template_id}", response={204: None, **ERROR_RESPONSES},
               summary="Delete a template (messages sent with it stay in the outbox)")  # fmt: skip
def delete_template(request: HttpRequest, template_id: int) -> Status[None]:
    user = _marketing(request)
    services.delete_template(_template(template_id), by=user)
    return Status(204, None)


@router.post("/email-templates/{template_id}/preview", response={200: PreviewOut, **ERROR_RESPONSES},
             summary="The template as a lead you see would get it")  # fmt: skip
def preview_template(request: HttpRequest, template_id: int, payload: PreviewIn) -> dict[str, Any]:
    user = _marketing(request)
    rendered = services.preview(_template(template_id), _lead(user, payload.lead_id))
    return {"subject": rendered.subject, "text": rendered.text, "html": rendered.html}


@router.post("/email-templates/{template_id}/test-send", response={200: MessageOut, **ERROR_RESPONSES},
             summary="Send the template to an address now (as a lead, or with empty fields)")  # fmt: skip
def test_send_template(
    request: HttpRequest, template_id: int, payload: TestSendIn
) -> dict[str, Any]:
    user = _marketing(request)
    lead = _lead(user, payload.lead_id) if payload.lead_id is not None else None
    message = services.test_send(
        _template(template_id), to=payload.to, lead=lead, by=user, now=timezone.now()
    )
    return message_out(message)


@router.get("/outbox", response={200: OutboxPageOut, **ERROR_RESPONSES},
            summary="The outbox: every message, newest first")  # fmt: skip
def list_outbox(request: HttpRequest, filters: Query[OutboxFilters]) -> dict[str, Any]:
    _marketing(request)
    rows = services.outbox(status=filters.status)
    page = rows[filters.offset : filters.offset + filters.limit]
    return {
        "count": rows.count(),
        "limit": filters.limit,
        "offset": filters.offset,
        "items": [message_out(m) for m in page],
    }
