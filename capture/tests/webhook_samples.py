"""Webhook deliveries shaped like the tools marketing uses, with the mappings for them."""

from __future__ import annotations

import copy
from typing import Any

# A webinar tool's "webinar ended" delivery in Zoom's envelope: the webinar, then everyone
# who registered, with whether they came.
ZOOM_WEBINAR: dict[str, Any] = {
    "event": "webinar.ended",
    "event_ts": 1794823200000,
    "payload": {
        "account_id": "AAAbbbCCCddd",
        "object": {
            "id": "86172659103",
            "uuid": "4444AAAiAAAAAiAiAiiAii==",
            "host_id": "z8yCxjabcdEFGHfp8uQ",
            "topic": "Forecasting without spreadsheets",
            "start_time": "2026-11-16T09:00:00Z",
            "duration": 60,
            "participants": [
                {
                    "status": "attended",
                    "registration_time": "2026-11-10T14:03:11Z",
                    "join_time": "2026-11-16T09:01:40Z",
                    "leave_time": "2026-11-16T09:58:02Z",
                    "duration": 3382,
                    "participant": {
                        "email": "Warm@DE.de",
                        "first_name": "Wanda",
                        "last_name": "Warm",
                        "org": "Deutsche Widgets",
                        "job_title": "Controller",
                        "country": "Germany",
                    },
                },
                {
                    "status": "attended",
                    "registration_time": "2026-11-12T08:15:00Z",
                    "join_time": "2026-11-16T09:00:05Z",
                    "leave_time": "2026-11-16T10:00:00Z",
                    "duration": 3595,
                    "participant": {
                        "email": "bo@beta.io",
                        "first_name": "Bo",
                        "last_name": "Berg",
                        "org": "Beta",
                        "job_title": "Head of Finance",
                        "country": "France",
                    },
                },
                {
                    "status": "absent",
                    "registration_time": "2026-11-14T19:40:00Z",
                    "join_time": None,
                    "participant": {
                        "email": "cy@gamma.io",
                        "first_name": "Cy",
                        "last_name": "Grey",
                        "org": "Gamma",
                    },
                },
            ],
        },
    },
}

ZOOM_MAPPING: dict[str, Any] = {
    "items": "payload.object.participants",
    "email": "participant.email",
    "occurred_at": ["join_time", "registration_time"],
    "kind": {
        "path": "status",
        "map": {
            "attended": "webinar_attended",
            "registered": "webinar_registered",
            "absent": "webinar_no_show",
        },
    },
    "idempotency_key": "{$.payload.object.id}:{participant.email}:{status}",
    "member_status": {
        "path": "status",
        "map": {"attended": "attended", "registered": "registered", "absent": "no-show"},
    },
    "properties": {"webinar": "$.payload.object.topic", "seconds": "duration"},
    "lead": {
        "first_name": "participant.first_name",
        "last_name": "participant.last_name",
        "company_name": "participant.org",
        "title": "participant.job_title",
        "country": "participant.country",
    },
}

# A form builder's response delivery in Typeform's shape: one response per delivery, the
# answers a list told apart by each question's `ref`.
TYPEFORM_RESPONSE: dict[str, Any] = {
    "event_id": "01JCX4TR6M1Q6K5T8XW2N3B4C5",
    "event_type": "form_response",
    "form_response": {
        "form_id": "lT4Z3j",
        "token": "a3a12ec67a1365927098a606107fac15",
        "landed_at": "2026-11-16T09:27:41Z",
        "submitted_at": "2026-11-16T09:30:05Z",
        "hidden": {"utm_source": "newsletter", "utm_campaign": "q4-demo"},
        "definition": {"id": "lT4Z3j", "title": "Book a demo"},
        "answers": [
            {
                "type": "text",
                "text": "Ann",
                "field": {"id": "Q1xq", "type": "short_text", "ref": "first_name"},
            },
            {
                "type": "email",
                "email": "ann@acme.io",
                "field": {"id": "Q2em", "type": "email", "ref": "work_email"},
            },
            {
                "type": "text",
                "text": "Acme",
                "field": {"id": "Q3co", "type": "short_text", "ref": "company"},
            },
            {
                "type": "number",
                "number": 250,
                "field": {"id": "Q4em", "type": "number", "ref": "employees"},
            },
            {
                "type": "choice",
                "choice": {"label": "Right now"},
                "field": {"id": "Q5tl", "type": "multiple_choice", "ref": "timeline"},
            },
            {
                "type": "choice",
                "choice": {"label": "I decide"},
                "field": {"id": "Q6au", "type": "multiple_choice", "ref": "authority"},
            },
            {
                "type": "text",
                "text": "Forecast pipeline per region",
                "field": {"id": "Q7nd", "type": "long_text", "ref": "need"},
            },
            {
                "type": "text",
                "text": "Germany",
                "field": {"id": "Q8ct", "type": "short_text", "ref": "country"},
            },
        ],
    },
}

TYPEFORM_MAPPING: dict[str, Any] = {
    "items": "form_response",
    "email": "answers[field.ref=work_email].email",
    "occurred_at": "submitted_at",
    "kind": "form_submit",
    "idempotency_key": "token",
    "properties": {"form": "definition.title", "utm_source": "hidden.utm_source"},
    "lead": {
        "first_name": "answers[field.ref=first_name].text",
        "company_name": "answers[field.ref=company].text",
        "employees": "answers[field.ref=employees].number",
        "need": "answers[field.ref=need].text",
        "country": "answers[field.ref=country].text",
        "timeline": {
            "path": "answers[field.ref=timeline].choice.label",
            "map": {
                "Right now": "now",
                "This quarter": "quarter",
                "This year": "year",
                "Just looking": "later",
            },
        },
        "authority": {
            "path": "answers[field.ref=authority].choice.label",
            "map": {"I decide": "decision_maker", "I recommend": "influencer"},
            "default": "",
        },
        "custom_fields": {"utm_campaign": "hidden.utm_campaign"},
    },
    "update_known_leads": True,
}

# A form tool that posts each submission as one flat object (Jotform's webhook shape once
# decoded), with local times and no offset.
FLAT_FORM: dict[str, Any] = {
    "submissionID": "5821093847561234567",
    "formID": "240123456789012",
    "created_at": "2026-11-16 10:45:00",
    "q3_email": "li@delta.io",
    "q4_name": {"first": "Li", "last": "Wu"},
    "q5_company": "Delta",
}

FLAT_MAPPING: dict[str, Any] = {
    "items": "",
    "email": "q3_email",
    "occurred_at": "created_at",
    "timezone": "Europe/Berlin",
    "kind": "form_submit",
    "idempotency_key": "{formID}:{submissionID}",
    "lead": {"first_name": "q4_name.first", "last_name": "q4_name.last"},
}


def zoom(**changes: Any) -> dict[str, Any]:
    """A copy of the Zoom delivery, safe to change."""
    payload = copy.deepcopy(ZOOM_WEBINAR)
    payload.update(changes)
    return payload


def typeform() -> dict[str, Any]:
    return copy.deepcopy(TYPEFORM_RESPONSE)
