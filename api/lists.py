"""REST API for lists of leads (`nurture.lists`): every user reads lists and the members
they may see; marketing and admins create, change, refresh and fill them (403 for other
roles, 422 naming the condition at fault)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from api.common import (
    InputSchema,
    Outcome,
    RowId,
    api_user,
    idempotency_key_header,
    idempotent_answer,
)
from api.errors import ERROR_RESPONSES, ApiError
from api.leads import LeadPageOut, lead_summary
from nurture import lists
from nurture.choices import ListKind
from nurture.models import LeadList
from users.access import visible_leads
from users.models import User

router = Router(tags=["lists"])

CONDITIONS_HELP = (
    'Conditions, all of which must hold; {"any": [...]} holds when one of its conditions'
    ' does. A field: {"field": "country", "op": "in", "value": ["DE"]} (lead,'
    ' account.* and custom.<key> fields); a campaign: {"field": "campaign", "op":'
    ' "is", "value": "Webinar", "status": "no-show"}; engagement: {"field":'
    ' "event", "kind": "email_click", "count": 1, "days": 30, "property":'
    ' {"name": "url", "op": "contains", "value": "/pricing"}}.'
)


class ListOut(Schema):
    id: int
    name: str
    kind: ListKind
    conditions: list[dict[str, Any]] = Field(description=CONDITIONS_HELP)
    conditions_text: str = Field(description="The conditions one a line, as the UI shows them")
    members: int = Field(description="Members among the leads you may see")
    refreshed_at: datetime | None
    last_joined: int = Field(description="Leads that joined at the last refresh")
    last_left: int = Field(description="Leads that left at the last refresh")
    created_at: datetime


class ListPageOut(Schema):
    count: int
    limit: int
    offset: int
    items: list[ListOut]


class ListIn(InputSchema):
    name: str = Field(min_length=1, max_length=100)
    kind: ListKind = ListKind.SMART
    conditions: list[Any] = Field([], description=CONDITIONS_HELP)


class ListPatch(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=100)
    conditions: list[Any] | None = Field(None, description=CONDITIONS_HELP)


class Paging(Schema):
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0)


class LeadIdsIn(InputSchema):
    lead_ids: list[RowId] = Field(min_length=1, max_length=10000)


class MembersChangedOut(Schema):
    changed: int = Field(description="Leads that joined (POST) or left (DELETE)")
    members: int = Field(description="Members among the leads you may see")


class RefreshOut(Schema):
    joined: int
    left: int
    members: int


def _counted(user: User) -> QuerySet[LeadList]:
    scope = visible_leads(user).values("pk")
    return LeadList.objects.annotate(
        member_count=Count("members", filter=Q(members__lead__in=scope))
    ).order_by("name")


def list_out(lead_list: LeadList, members: int) -> dict[str, Any]:
    return {
        "id": lead_list.pk,
        "name": lead_list.name,
        "kind": lead_list.kind,
        "conditions": lead_list.definition,
        "conditions_text": lists.definition_as_text(lead_list.definition),
        "members": members,
        "refreshed_at": lead_list.refreshed_at,
        "last_joined": lead_list.last_joined,
        "last_left": lead_list.last_left,
        "created_at": lead_list.created_at,
    }


def _get(user: User, list_id: int) -> LeadList:
    found = _counted(user).filter(pk=list_id).first()
    if found is None:
        raise ApiError(404, "list_id", f"no list with id {list_id}")
    return found


def _detail(user: User, list_id: int) -> dict[str, Any]:
    found = _get(user, list_id)
    return list_out(found, found.member_count)  # type: ignore[attr-defined]


@router.get("/lists", response={200: ListPageOut, **ERROR_RESPONSES}, summary="Lists of leads")
def get_lists(request: HttpRequest, paging: Query[Paging]) -> dict[str, Any]:
    found = _counted(api_user(request))
    page = found[paging.offset : paging.offset + paging.limit]
    return {
        "count": found.count(),
        "limit": paging.limit,
        "offset": paging.offset,
        "items": [list_out(item, item.member_count) for item in page],  # type: ignore[attr-defined]
    }


@router.get("/lists/{list_id}", response={200: ListOut, **ERROR_RESPONSES}, summary="A list")
def get_list(request: HttpRequest, list_id: int) -> dict[str, Any]:
    return _detail(api_user(request), list_id)


@router.post("/lists", response={201: ListOut, **ERROR_RESPONSES}, summary="Create a list")
def post_list(
    request: HttpRequest,
    response: HttpResponse,
    payload: ListIn,
    idempotency_key: str | None = idempotency_key_header(),
) -> Status[dict[str, Any]]:
    user = api_user(request)
    now = timezone.now()

    def work() -> Outcome:
        made = lists.create_list(
            by=user, name=payload.name, kind=payload.kind, definition=payload.conditions, now=now
        )
        return 201, ListOut.model_validate(_detail(user, made.pk)).model_dump(mode="json")

    return idempotent_answer(
        request,
        response,
        user=user,
        key=idempotency_key,
        body=payload.model_dump(mode="json"),
        now=now,
        work=work,
    )


@router.patch(
    "/lists/{list_id}",
    response={200: ListOut, **ERROR_RESPONSES},
    summary="Rename a list or change a smart list's conditions",
)
def patch_list(request: HttpRequest, list_id: int, payload: ListPatch) -> dict[str, Any]:
    user = api_user(request)
    found = _get(user, list_id)
    lists.update_list(
        found, by=user, name=payload.name, definition=payload.conditions, now=timezone.now()
    )
    return _detail(user, list_id)


@router.delete("/lists/{list_id}", response={204: None, **ERROR_RESPONSES}, summary="Delete a list")
def delete_list(request: HttpRequest, list_id: int) -> Status[None]:
    user = api_user(request)
    lists.delete_list(_get(user, list_id), by=user)
    return Status(204, None)


@router.post(
    "/lists/{list_id}/refresh",
    response={200: RefreshOut, **ERROR_RESPONSES},
    summary="Recompute a smart list's members now",
)
def refresh_list(request: HttpRequest, list_id: int) -> dict[str, Any]:
    user = api_user(request)
    done = lists.refresh_now(_get(user, list_id), by=user, now=timezone.now())
    members = _get(user, list_id).member_count  # type: ignore[attr-defined]
    return {"joined": done.joined, "left": done.left, "members": members}


@router.get(
    "/lists/{list_id}/members",
    response={200: LeadPageOut, **ERROR_RESPONSES},
    summary="A list's members among the leads you may see",
)
def get_members(request: HttpRequest, list_id: int, paging: Query[Paging]) -> dict[str, Any]:
    user = api_user(request)
    found = _get(user, list_id)
    leads = (
        lists.members(found, viewer=user)
        .select_related("owner", "team")
        .order_by("-arrived_at", "-pk")
    )
    now = timezone.now()
    page = leads[paging.offset : paging.offset + paging.limit]
    return {
        "count": leads.count(),
        "limit": paging.limit,
        "offset": paging.offset,
        "items": [lead_summary(lead, now=now) for lead in page],
    }


@router.post(
    "/lists/{list_id}/members",
    response={200: MembersChangedOut, **ERROR_RESPONSES},
    summary="Add leads to a static list (leads you may not see are left out)",
)
def post_members(request: HttpRequest, list_id: int, payload: LeadIdsIn) -> dict[str, Any]:
    user = api_user(request)
    found = _get(user, list_id)
    changed = lists.add_leads(found, payload.lead_ids, by=user, now=timezone.now())
    return {"changed": changed, "members": _get(user, list_id).member_count}  # type: ignore[attr-defined]


@router.delete(
    "/lists/{list_id}/members",
    response={200: MembersChangedOut, **ERROR_RESPONSES},
    summary="Remove leads from a static list",
)
def delete_members(request: HttpRequest, list_id: int, payload: LeadIdsIn) -> dict[str, Any]:
    user = api_user(request)
    found = _get(user, list_id)
    changed = lists.remove_leads(found, payload.lead_ids, by=user)
    return {"changed": changed, "members": _get(user, list_id).member_count}  # type: ignore[attr-defined]
