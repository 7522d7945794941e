"""Reads of intake's tables for pages and reports."""

from __future__ import annotations

from leads.models import Lead
from leads.timeline import TimelineEntry, person_name

from .models import Submission


def _detail(submission: Submission) -> str:
    """Its campaign, and for an import row the job, file and line it came from."""
    parts = [submission.campaign.name] if submission.campaign else []
    job = submission.import_job
    if job is not None:
        parts.append(f"import #{job.pk} of {job.file_name}, line {submission.line}")
    return " · ".join(parts)


def timeline_entries(lead: Lead, limit: int) -> list[TimelineEntry]:
    """The lead's newest `limit` submissions: where each came from, and who sent it."""
    submissions = (
        Submission.objects.filter(lead=lead)
        .select_related("campaign", "submitted_by", "import_job")
        .order_by("-received_at")[:limit]
    )
    return [
        TimelineEntry(
            submission.received_at,
            "submission",
            f"submission via {submission.source.replace('_', ' ')}"
            + (" (new lead)" if submission.was_created else ""),
            _detail(submission),
            person_name(submission.submitted_by),
        )
        for submission in submissions
    ]
