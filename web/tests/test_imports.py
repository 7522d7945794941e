"""The import wizard: upload → columns → preview → run in the background → summary."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from capture.services import capture_lead
from imports import services as service
from imports.models import ImportJob
from imports.pipeline import ImportOptions
from imports.services import create_import_job
from imports.uploads import sweep_uploads
from leads.exports import safe_cell
from leads.models import Campaign, CampaignMember, Lead
from users.models import User

pytestmark = pytest.mark.django_db

ClientFor = Callable[[User], Client]

# Line 2 is new, line 3 is a lead already stored, line 4 a bad email (with a formula in a
# cell), line 5 the same person as line 2.
EXPORT = (
    "Email Address,First Name,Last Name,Company,Favourite Colour\n"
    "ann@acme.io,Ann,Lee,Acme,blue\n"
    "olga@beta.io,Olga,Berg,Beta,green\n"
    "not-an-email,Cy,Cole,Gamma,=cmd|' /C calc'!A0\n"
    "ann@acme.io,Annie,,Acme,red\n"
)
POLLING = 'hx-trigger="every 1s"'


@pytest.fixture
def data_dir(settings: Any, tmp_path: Path) -> Path:
    """Uploads and rejects go to a fresh DATA_DIR; Celery runs tasks in the test."""
    settings.DATA_DIR = tmp_path / "data"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    return settings.DATA_DIR


def upload(client: Client, name: str, content: bytes, **fields: str) -> Any:
    data = {"status": "registered", "key": "email", **fields}
    data["file"] = SimpleUploadedFile(name, content)  # type: ignore[assignment]
    return client.post("/imports/new/", data)


def suggested_post(response: Any) -> dict[str, str]:
    return {row.field.html_name: row.field.value() for row in response.context["rows"]}


def download(response: Any) -> str:
    body = b"".join(response.streaming_content)  # the test client closes it at the end
    return body.decode("utf-8-sig")


def test_marketing_walks_the_wizard_from_upload_to_rejects_file(
    org: Any,
    data_dir: Path,
    client_for: ClientFor,
    django_capture_on_commit_callbacks: Any,
) -> None:
    olga = capture_lead(
        {"email": "olga@beta.io", "first_name": "Olga"}, source="api", now=timezone.now()
    ).lead
    client = client_for(org.marketer)

    # Step 1: upload, with a campaign typed as a new name.
    response = upload(
        client, "hubspot-export.csv", EXPORT.encode(), new_campaign="Spring webinar",
        status="attended",
    )  # fmt: skip
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/imports/{job.pk}/mapping/"
    stored = Path(job.file_path)
    assert stored.parent == (data_dir / "imports").resolve()
    assert re.fullmatch(r"upload-[0-9a-f]{32}\.csv", stored.name)
    assert stored.read_text() == EXPORT
    assert (job.file_name, job.status, job.started_at, job.created_by) == (
        "hubspot-export.csv", "queued", None, org.marketer,
    )  # fmt: skip
    assert not Campaign.objects.filter(name="Spring webinar").exists()

    # Step 2: the columns, with samples and suggestions; the file was read as UTF-8, commas.
    response = client.get(f"/imports/{job.pk}/mapping/")
    rows = response.context["rows"]
    assert response.status_code == 200
    assert {row.name: row.field.value() for row in rows} == {
        "Email Address": "email",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Company": "company_name",
        "Favourite Colour": "custom:favourite_colour",
    }
    assert rows[0].samples == ["ann@acme.io", "olga@beta.io", "not-an-email"]
    assert response.context["info"].encoding == "utf-8"
    assert response.context["delimiter_label"] == "comma ,"

    response = client.post(f"/imports/{job.pk}/mapping/", suggested_post(response))
    job.refresh_from_db()
    assert response["Location"] == f"/imports/{job.pk}/preview/"
    assert job.options["mapping"]["Favourite Colour"] == "custom:favourite_colour"

    # Step 3: row by row what will happen and why, and the counts of a dry run.
    response = client.get(f"/imports/{job.pk}/preview/")
    preview = [(r.line, r.action, r.why) for r in response.context["rows"]]
    summary = response.context["summary"]
    assert preview == [
        (2, "create", "new lead: no lead has this email yet"),
        (3, "update", f"lead #{olga.pk} has this email: the row's filled cells update it"),
        (
            4,
            "reject",
            "email: 'not-an-email' is not a valid email address:"
            " An email address must have an @-sign.",
        ),
        (5, "merge", "same email as line 2: merged into one lead (later rows fill and overwrite)"),
    ]
    assert (summary.rows, summary.created, summary.updated, summary.merged, summary.rejected) == (
        4, 1, 1, 1, 1,
    )  # fmt: skip
    assert Lead.objects.count() == 1  # nothing written yet

    # Step 4: start; the task runs (eagerly here) once the request's transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/imports/{job.pk}/start/")
    job.refresh_from_db()
    assert response["Location"] == f"/imports/{job.pk}/"
    assert (job.status, job.rows_done, job.rows_total) == ("done", 4, 4)
    assert (job.created, job.updated, job.merged, job.rejected) == (1, 1, 1, 1)
    ann = Lead.objects.get(email="ann@acme.io")
    assert (ann.first_name, ann.custom_fields) == ("Annie", {"favourite_colour": "red"})
    spring = Campaign.objects.get(name="Spring webinar")
    assert set(CampaignMember.objects.filter(campaign=spring).values_list("status", flat=True)) == {
        "attended"
    }

    response = client.get(f"/imports/{job.pk}/")
    html = response.content.decode()
    assert response.context["state"] == "done"
    assert response.context["percent"] == 100
    assert POLLING not in html
    assert "4 rows read: 1 new lead, 1 updated, 1 merged into another row, 1 rejected" in html
    assert f'href="/imports/{job.pk}/rejects.csv"' in html

    # The rejected rows, with the reason, every cell safe to open in a spreadsheet.
    response = client.get(f"/imports/{job.pk}/rejects.csv")
    assert response["Content-Disposition"] == (
        f'attachment; filename="import-{job.pk}-rejects.csv"'
    )
    rejects = list(csv.DictReader(io.StringIO(download(response))))
    assert rejects == [
        {
            "_line": "4",
            "_reason": "email: 'not-an-email' is not a valid email address:"
            " An email address must have an @-sign.",
            "_warnings": "",
            "Email Address": "not-an-email",
            "First Name": "Cy",
            "Last Name": "Cole",
            "Company": "Gamma",
            "Favourite Colour": "'=cmd|' /C calc'!A0",
        }
    ]
    assert all(safe_cell(cell) == cell for row in rejects for cell in row.values())

    # The list shows it.
    response = client.get("/imports/")
    assert [(job.pk, state) for job, state, _ in response.context["rows"]] == [(job.pk, "done")]
    assert "Spring webinar" in response.content.decode()


def test_an_xlsx_upload_is_mapped_and_imported(
    org: Any,
    data_dir: Path,
    client_for: ClientFor,
    django_capture_on_commit_callbacks: Any,
) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Work Email", "Full Name", "Organization", "Lead Source", "Annual Revenue"])
    sheet.append(["xi@acme.io", "Xi Wang", "Acme", "webinar", 5000000])
    sheet.append(["yo@beta.io", "Yoko Ono", "Beta", None, None])
    content = io.BytesIO()
    book.save(content)
    client = client_for(org.admin)

    response = upload(client, "Zoho leads.xlsx", content.getvalue(), campaign=str(org.webinar.pk))
    job = ImportJob.objects.get()
    response = client.get(f"/imports/{job.pk}/mapping/")
    assert {row.name: row.field.value() for row in response.context["rows"]} == {
        "Work Email": "email",
        "Full Name": "full_name",
        "Organization": "company_name",
        "Lead Source": "source",
        "Annual Revenue": "custom:annual_revenue",
    }
    assert response.context["is_spreadsheet"] is True
    client.post(f"/imports/{job.pk}/mapping/", suggested_post(response))
    response = client.get(f"/imports/{job.pk}/preview/")
    assert [(r.line, r.action, r.name) for r in response.context["rows"]] == [
        (2, "create", "Xi Wang"),
        (3, "create", "Yoko Ono"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/imports/{job.pk}/start/")

    job.refresh_from_db()
    assert Path(job.file_path).suffix == ".xlsx"
    assert (job.status, job.created, job.rejected) == ("done", 2, 0)
    xi = Lead.objects.get(email="xi@acme.io")
    assert (xi.first_name, xi.last_name, xi.company_name, xi.source) == (
        "Xi", "Wang", "Acme", "webinar",
    )  # fmt: skip
    assert xi.custom_fields == {"annual_revenue": "5000000"}
    assert CampaignMember.objects.filter(campaign=org.webinar).count() == 2


def test_a_file_that_is_not_csv_or_excel_is_refused(
    org: Any, data_dir: Path, client_for: ClientFor
) -> None:
    response = upload(client_for(org.marketer), "leads.pdf", b"%PDF-1.4")

    assert response.status_code == 400
    assert "is not a CSV or Excel file" in response.context["form"].errors["file"][0]
    assert ImportJob.objects.count() == 0
    assert not list((data_dir / "imports").glob("*"))


def test_a_file_over_the_size_cap_is_refused(
    org: Any, data_dir: Path, settings: Any, client_for: ClientFor
) -> None:
    settings.IMPORT_MAX_UPLOAD_BYTES = 2 * 1024 * 1024
    response = upload(client_for(org.marketer), "big.csv", b"Email\n" + b"a" * 3 * 1024 * 1024)

    assert response.status_code == 400
    assert response.context["form"].errors["file"] == [
        "The file is 3 MB; the limit is 2 MB. Split it, or import it with `leadloop import`."
    ]
    assert ImportJob.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("leads.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "it is a PDF document, not a CSV file"),
        (
            "leads.csv",
            b"Email\x00\x01\x02\xff\xfe\x00garbage",
            "it holds binary data, not text: export a CSV (or XLSX) from the program",
        ),
    ],
)
def test_a_binary_file_is_refused_at_upload(
    org: Any, data_dir: Path, client_for: ClientFor, name: str, content: bytes, error: str
) -> None:
    response = upload(client_for(org.marketer), name, content)

    assert response.status_code == 400
    assert response.context["form"].errors["file"] == [f"“{name}” cannot be imported: {error}."]
    assert ImportJob.objects.count() == 0
    assert not list((data_dir / "imports").glob("*"))


def test_an_unreadable_spreadsheet_is_refused_and_not_kept(
    org: Any, data_dir: Path, client_for: ClientFor
) -> None:
    response = upload(client_for(org.marketer), "leads.xlsx", b"not a zip file")

    assert response.status_code == 400
    assert (
        response.context["form"].errors["file"][0]
        == "“leads.xlsx” cannot be imported: it is not an Excel (XLSX) file."
    )
    assert ImportJob.objects.count() == 0
    assert not list((data_dir / "imports").glob("*"))


def test_the_file_can_be_read_again_with_another_delimiter(
    org: Any, data_dir: Path, client_for: ClientFor
) -> None:
    client = client_for(org.marketer)
    upload(client, "semi.csv", b"Email;Company\na@acme.io;Acme, Inc.\n", delimiter=",")
    job = ImportJob.objects.get()
    response = client.get(f"/imports/{job.pk}/mapping/")
    assert [row.name for row in response.context["rows"]] == ["Email;Company"]

    response = client.post(
        f"/imports/{job.pk}/mapping/", {"step": "reread", "encoding": "", "delimiter": ";"}
    )
    response = client.get(f"/imports/{job.pk}/mapping/")

    assert [row.name for row in response.context["rows"]] == ["Email", "Company"]
    assert response.context["delimiter_label"] == "semicolon ;"


def test_a_mapping_without_the_key_is_sent_back_with_the_reason(
    org: Any, data_dir: Path, client_for: ClientFor
) -> None:
    client = client_for(org.marketer)
    upload(client, "a.csv", b"Email,Company\na@acme.io,Acme\n")
    job = ImportJob.objects.get()

    response = client.post(
        f"/imports/{job.pk}/mapping/", {"col_0": "ignore", "col_1": "company_name"}
    )

    assert response.status_code == 400
    assert response.context["error"] == (
        "no column holds the email the import is keyed on (columns: Email, Company);"
        " choose “Email” for the column that holds it"
    )


@pytest.mark.parametrize("who", ["rep1", "manager"])
def test_sales_gets_403_on_every_import_page(
    org: Any, data_dir: Path, client_for: ClientFor, who: str, tmp_path: Path
) -> None:
    path = tmp_path / "a.csv"
    path.write_text("Email\na@acme.io\n")
    job = create_import_job(path, ImportOptions(), now=timezone.now(), by=org.marketer)
    client = client_for(getattr(org, who))
    pages = ["/imports/", "/imports/new/"] + [
        f"/imports/{job.pk}/{page}"
        for page in ("", "mapping/", "preview/", "progress/", "rejects.csv")
    ]

    answers = [client.get(url).status_code for url in pages]
    answers += [
        client.post(f"/imports/{job.pk}/{action}/").status_code
        for action in ("start", "resume", "mapping")
    ]
    answers.append(client.post("/imports/new/").status_code)
    home = client.get("/").content.decode()

    assert answers == [403] * 11
    assert 'href="/imports/"' not in home
    assert ImportJob.objects.get().started_at is None


def test_marketing_sees_an_admins_import_but_not_files_outside_imports(
    org: Any, data_dir: Path, client_for: ClientFor, django_capture_on_commit_callbacks: Any
) -> None:
    admin = client_for(org.admin)
    upload(admin, "admins.csv", EXPORT.encode())
    job = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(f"/imports/{job.pk}/start/")
    marketer = client_for(org.marketer)

    listed = marketer.get("/imports/")
    page = marketer.get(f"/imports/{job.pk}/")
    rejects = marketer.get(f"/imports/{job.pk}/rejects.csv")
    assert [row[0].pk for row in listed.context["rows"]] == [job.pk]
    assert page.status_code == 200
    assert "_reason" in download(rejects)

    secret = data_dir / "leadloop-secret.txt"
    secret.write_text("not for download")
    for outside in (
        str(data_dir / "imports" / ".." / "leadloop-secret.txt"),
        str(secret),
        "/etc/passwd",
    ):
        ImportJob.objects.filter(pk=job.pk).update(rejects_path=outside)
        assert marketer.get(f"/imports/{job.pk}/rejects.csv").status_code == 404


def test_the_progress_fragment_polls_while_running_and_stops_when_done(
    org: Any, data_dir: Path, client_for: ClientFor, tmp_path: Path
) -> None:
    path = tmp_path / "a.csv"
    path.write_text("Email\na@acme.io\nb@acme.io\nc@acme.io\nd@acme.io\n")
    job = create_import_job(path, ImportOptions(), now=timezone.now(), by=org.marketer)
    client = client_for(org.marketer)
    url = f"/imports/{job.pk}/progress/"
    started = timezone.now() - timedelta(seconds=75)

    ImportJob.objects.filter(pk=job.pk).update(started_at=started)
    waiting = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    ImportJob.objects.filter(pk=job.pk).update(status="running", rows_total=4, rows_done=2)
    running = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    ImportJob.objects.filter(pk=job.pk).update(
        status="done", rows_done=4, created=4, finished_at=started + timedelta(seconds=5)
    )
    done = client.get(url, HTTP_HX_REQUEST="true").content.decode()

    assert POLLING in waiting and "Waiting for a worker" in waiting
    assert POLLING in running
    assert '<strong id="progress-percent">50 %</strong>' in running
    assert '<span id="progress-rows">2 / 4</span>' in running
    assert '<span id="progress-elapsed">1 min 15 s</span>' in running
    assert POLLING not in done
    assert '<span id="progress-elapsed">took 5 s</span>' in done
    assert "<html" not in done  # a fragment, not the page


def test_a_failed_import_shows_its_error_and_resumes(
    org: Any,
    data_dir: Path,
    client_for: ClientFor,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = client_for(org.marketer)
    upload(client, "a.csv", b"Email\na@acme.io\nb@acme.io\n")
    job = ImportJob.objects.get()

    def disk_full(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(service, "_apply_chunk", disk_full)
        with django_capture_on_commit_callbacks(execute=True):
            client.post(f"/imports/{job.pk}/start/")
    failed = client.get(f"/imports/{job.pk}/")
    html = failed.content.decode()
    assert failed.context["state"] == "failed"
    assert "disk full" in html and 'id="resume-button"' in html
    assert POLLING not in html

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/imports/{job.pk}/resume/")

    job.refresh_from_db()
    assert (job.status, job.error, job.created) == ("done", "", 2)
    assert Lead.objects.count() == 2


def test_a_started_import_cannot_be_started_twice_or_remapped(
    org: Any, data_dir: Path, client_for: ClientFor, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(org.marketer)
    upload(client, "a.csv", b"Email\na@acme.io\n")
    job = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/imports/{job.pk}/start/")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = client.post(f"/imports/{job.pk}/start/")
    mapping = client.get(f"/imports/{job.pk}/mapping/")

    assert again["Location"] == f"/imports/{job.pk}/"
    assert callbacks == []
    assert mapping["Location"] == f"/imports/{job.pk}/"
    assert ImportJob.objects.get().created == 1


def test_an_upload_nobody_started_expires_and_says_how_to_go_on(
    org: Any, data_dir: Path, client_for: ClientFor, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(org.marketer)
    upload(client, "forgotten.csv", b"Email\na@acme.io\n")
    job = ImportJob.objects.get()
    sweep_uploads(now=timezone.now() + timedelta(hours=25), max_age=timedelta(hours=24))

    listing = client.get("/imports/")
    mapping = client.get(f"/imports/{job.pk}/mapping/")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        start = client.post(f"/imports/{job.pk}/start/")
    page = client.get(f"/imports/{job.pk}/")

    assert [(row.pk, state) for row, state, _ in listing.context["rows"]] == [(job.pk, "expired")]
    assert mapping["Location"] == start["Location"] == f"/imports/{job.pk}/"
    assert callbacks == []
    html = page.content.decode()
    assert "Never started" in html
    assert "within 24 hours of the upload, so the uploaded file was deleted" in html
    assert 'href="/imports/new/"' in html
    assert POLLING not in html
    assert not Path(job.file_path).exists()
    assert (ImportJob.objects.get().status, Lead.objects.count()) == ("expired", 0)


def test_the_polled_fragment_costs_a_fixed_handful_of_queries(
    org: Any,
    data_dir: Path,
    client_for: ClientFor,
    tmp_path: Path,
    django_assert_max_num_queries: Any,
) -> None:
    path = tmp_path / "a.csv"
    path.write_text("Email\na@acme.io\n")
    job = create_import_job(path, ImportOptions(), now=timezone.now(), by=org.marketer)
    ImportJob.objects.filter(pk=job.pk).update(started_at=timezone.now(), status="running")
    client = client_for(org.marketer)

    with django_assert_max_num_queries(4):
        response = client.get(f"/imports/{job.pk}/progress/", HTTP_HX_REQUEST="true")

    assert POLLING in response.content.decode()


def test_the_lead_page_names_the_import_file_and_line_a_row_came_from(
    org: Any, client_for: ClientFor, tmp_path: Path
) -> None:
    path = tmp_path / "fair-2026.csv"
    path.write_text(EXPORT)
    job = create_import_job(path, ImportOptions(), now=timezone.now())
    service.run_import(job, now=timezone.now())
    ann = Lead.objects.get(email="ann@acme.io")

    page = client_for(org.admin).get(f"/leads/{ann.pk}/").content.decode()

    assert f"import #{job.pk} of fair-2026.csv, line 2" in page
    assert f"import #{job.pk} of fair-2026.csv, line 5" in page


def test_the_wizard_offers_activity_columns_and_says_what_it_keeps_as_written(
    org: Any,
    data_dir: Path,
    client_for: ClientFor,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = client_for(org.marketer)
    content = (
        "Email,Lead Source,TotalVisits,Specialization\n"
        "ann@acme.io,Olark Chat,4,Select\n"
        "bob@acme.io,Organic Search,,Finance\n"
        "cy@acme.io,Olark Chat,2,\n"
    )
    upload(client, "x-education.csv", content.encode())
    job = ImportJob.objects.get()

    response = client.get(f"/imports/{job.pk}/mapping/")
    assert {row.name: row.field.value() for row in response.context["rows"]} == {
        "Email": "email",
        "Lead Source": "source",
        "TotalVisits": "visits",
        "Specialization": "custom:specialization",
    }
    assert "Activity (becomes engagement events)" in response.content.decode()
    client.post(f"/imports/{job.pk}/mapping/", suggested_post(response))

    response = client.get(f"/imports/{job.pk}/preview/")
    said = (
        "Lead Source: 3 rows kept as written, not one of the choices:"
        " Olark Chat (2), Organic Search (1)"
    )
    assert response.context["kept_lines"] == [said]
    assert said in response.content.decode()
    assert [r.kept for r in response.context["rows"]] == [
        "source: 'Olark Chat'", "source: 'Organic Search'", "source: 'Olark Chat'",
    ]  # fmt: skip

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/imports/{job.pk}/start/")
    response = client.get(f"/imports/{job.pk}/")
    assert said in response.content.decode()
    assert list(
        Lead.objects.order_by("email").values_list("source", "custom_fields", "engagement_score")
    ) == [
        ("other", {"lead_source": "Olark Chat"}, 4),
        ("other", {"lead_source": "Organic Search", "specialization": "Finance"}, 0),
        ("other", {"lead_source": "Olark Chat"}, 2),
    ]
