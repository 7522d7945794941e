"""Every model and field has a name people read in the admin: plurals spelled right
("webhook deliveries", not "webhook deliverys"), acronyms in capitals ("SLA hours")."""

from __future__ import annotations

import re

import pytest
from django.apps import apps

OURS = {"users", "leads", "capture", "imports", "identity", "qualify", "routing", "followup", "api"}

# model -> (verbose_name, verbose_name_plural)
EXPECTED = {
    "users.Team": ("team", "teams"),
    "users.Leave": ("leave", "leaves"),
    "routing.RoutingRule": ("routing rule", "routing rules"),
    "users.User": ("user", "users"),
    "users.ApiToken": ("API token", "API tokens"),
    "users.Notification": ("notification", "notifications"),
    "leads.Account": ("account", "accounts"),
    "leads.Campaign": ("campaign", "campaigns"),
    "leads.Lead": ("lead", "leads"),
    "leads.CampaignMember": ("campaign membership", "campaign memberships"),
    "leads.StageChange": ("stage change", "stage changes"),
    "capture.Submission": ("submission", "submissions"),
    "capture.WebForm": ("web form", "web forms"),
    "capture.WebhookSource": ("webhook source", "webhook sources"),
    "capture.WebhookDelivery": ("webhook delivery", "webhook deliveries"),
    "capture.RateCounter": ("rate counter", "rate counters"),
    "imports.ImportJob": ("import job", "import jobs"),
    "identity.LeadMatchKeys": ("lead match keys", "lead match keys"),
    "identity.DuplicateCandidate": ("possible duplicate", "possible duplicates"),
    "identity.MergeRecord": ("merge", "merges"),
    "qualify.Event": ("engagement event", "engagement events"),
    "qualify.ScoringModelVersion": ("scoring model version", "scoring model versions"),
    "qualify.EngagementSignal": ("engagement signal", "engagement signals"),
    "qualify.ScoreChange": ("score change", "score changes"),
    "routing.Assignment": ("assignment", "assignments"),
    "routing.SlaPolicy": ("SLA policy", "SLA policies"),
    "routing.SlaStep": ("SLA step", "SLA steps"),
    "routing.TurnRollup": ("follow-up roll-up", "follow-up roll-up"),
    "routing.TurnCampaign": ("turn's campaign", "turns' campaigns"),
    "followup.Touch": ("touch", "touches"),
    "followup.Opportunity": ("opportunity", "opportunities"),
    "followup.Cadence": ("cadence", "cadences"),
    "followup.CadenceStep": ("cadence step", "cadence steps"),
    "followup.CadenceRule": ("cadence rule", "cadence rules"),
    "followup.AttemptPolicy": ("minimum attempts policy", "minimum attempts policies"),
    "followup.Enrolment": ("enrolment", "enrolments"),
    "followup.Task": ("task", "tasks"),
    "api.IdempotencyKey": ("idempotency key", "idempotency keys"),
}

ACRONYMS = re.compile(r"\b(sla|api|url|utm|ip|id|csv|mql|sql|ltv|roi|json|http)\b")


def test_every_model_has_the_expected_names() -> None:
    names = {
        model._meta.label: (str(model._meta.verbose_name), str(model._meta.verbose_name_plural))
        for model in apps.get_models()
        if model._meta.app_label in OURS
    }

    assert names == EXPECTED


@pytest.mark.parametrize(
    "model", [m for m in apps.get_models() if m._meta.app_label in OURS], ids=str
)
def test_field_names_write_acronyms_in_capitals(model: type) -> None:
    lower_acronyms = {
        field.name: str(field.verbose_name)
        for field in model._meta.get_fields()  # type: ignore[attr-defined]
        if field.concrete and ACRONYMS.search(str(field.verbose_name))
    }

    assert lower_acronyms == {}


def test_the_admin_index_lists_models_by_their_plural(org, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(org.admin)

    body = client.get("/admin/").content.decode()

    for plural in ("Webhook deliveries", "Touches", "Lead match keys", "API tokens"):
        assert f">{plural}</a>" in body
    for wrong in ("deliverys", "Touchs", "keyss"):
        assert wrong not in body
