"""Bulk imports through the service, the way the wizard and the command line use it."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from django.db import transaction

from capture.models import Submission
from identity.dedup import scan_duplicates
from identity.merging import merge_leads
from identity.models import DuplicateCandidate, LeadMatchKeys
from imports import apply
from imports import services as service
from imports.models import ImportJob
from imports.pipeline import ImportOptions
from imports.services import (
    create_import_job,
    inspect_file,
    plan_import,
    preview_import,
    run_import,
)
from imports.tasks import run_import_task
from leads.models import Account, CampaignMember, Lead, StageChange
from users.models import Team

HEADER = "Email,First Name,Last Name,Company,Job Title,Phone,Country"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def run(path: Path, now: datetime, **options: object) -> ImportJob:
    job = create_import_job(path, ImportOptions(**options), now=now)  # type: ignore[arg-type]
    run_import(job, now=now)
    job.refresh_from_db()
    return job


def counts(job: ImportJob) -> tuple[int, int, int, int]:
    return job.created, job.updated, job.merged, job.rejected


@pytest.mark.parametrize(
    ("encoding", "detected", "bom"),
    [
        ("utf-8", "utf-8-sig", b"\xef\xbb\xbf"),
        ("utf-8", "utf-8", b""),
        ("latin-1", "latin-1", b""),
        ("cp1252", "cp1252", b""),
    ],
)
def test_encodings_are_detected_and_accents_survive(
    tmp_path, org, now, encoding, detected, bom
) -> None:
    price = "€ 5k" if encoding != "latin-1" else "5k"
    text = f"{HEADER},Notes\nrene@acme.io,René,Müller,Acme,CTO,,Germany,{price}\n"
    path = tmp_path / "people.csv"
    path.write_bytes(bom + text.encode(encoding))

    info = inspect_file(path)
    job = run(path, now)

    assert info.encoding == detected
    assert info.sample_rows[0]["First Name"] == "René"
    assert counts(job) == (1, 0, 0, 0)
    lead = Lead.objects.get()
    assert (lead.first_name, lead.last_name) == ("René", "Müller")
    assert lead.need == price


def test_semicolons_and_quoted_fields_with_newlines_and_delimiters(tmp_path, org, now) -> None:
    path = write(
        tmp_path / "export.csv",
        "E-mail;FirstName;Company Name;Comments\r\n"
        'ann@acme.io;Ann;"Acme; Inc.";"line one\r\nline two; still"\r\n'
        'bob@beta.io;Bob;"Beta ""the best""";\r\n',
    )

    info = inspect_file(path)
    job = run(path, now)

    assert info.delimiter == ";"
    assert info.suggested_mapping == {
        "E-mail": "email",
        "FirstName": "first_name",
        "Company Name": "company_name",
        "Comments": "need",
    }
    assert counts(job) == (2, 0, 0, 0)
    ann = Lead.objects.get(email="ann@acme.io")
    assert ann.company_name == "Acme; Inc."
    assert ann.need == "line one\r\nline two; still"
    assert Lead.objects.get(email="bob@beta.io").company_name == 'Beta "the best"'


def test_ragged_rows_are_reported_by_line_and_the_rest_imported(tmp_path, org, now) -> None:
    path = write(
        tmp_path / "ragged.csv",
        "email,first_name,last_name\n"
        'a@acme.io,Ann,"two\nlines"\n'  # lines 2-3
        "b@acme.io,Bob\n"  # line 4: a field short
        "c@acme.io,Cy,Cole,extra\n"  # line 5: a field too many
        "\n"
        "d@acme.io,Di,Doe\n",  # line 7
    )
    rejects = tmp_path / "rejects.csv"

    job = create_import_job(path, ImportOptions(), now=now, rejects_path=rejects)
    run_import(job, now=now)
    job.refresh_from_db()

    assert counts(job) == (2, 0, 0, 2)
    assert set(Lead.objects.values_list("email", flat=True)) == {"a@acme.io", "d@acme.io"}
    with open(rejects, encoding="utf-8-sig") as file:
        rows = list(csv.DictReader(file))
    assert [(r["_line"], r["_reason"]) for r in rows] == [
        ("4", "ragged row: 2 fields where the header has 3"),
        ("5", "ragged row: 4 fields where the header has 3"),
    ]


def test_a_stray_quote_falls_back_to_the_forgiving_reader(tmp_path, org, now) -> None:
    path = write(
        tmp_path / "stray.csv",
        'email,title\na@acme.io,27" monitor buyer\nb@acme.io,CTO,x\nc@acme.io,VP\n',
    )

    preview = preview_import(path, ImportOptions(), now=now)

    assert [(o.line, o.action, o.reason) for o in preview] == [
        (2, "create", ""),
        (3, "reject", "ragged row: 3 fields where the header has 2"),
        (4, "create", ""),
    ]
    assert preview[0].values["title"] == '27" monitor buyer'


def test_invalid_emails_reject_their_row_and_unreadable_phones_only_warn(
    tmp_path, org, now
) -> None:
    path = write(
        tmp_path / "bad.csv",
        f"{HEADER}\n"
        "ok@acme.io,Ok,,,,+44 20 7946 0958,\n"
        "not-an-email,Bad,,,,,\n"
        "phone@acme.io,Ph,,,,+44 12,\n"
        ",NoKey,,,,,\n"
        "local@acme.io,Loc,,,,030 1234567,Germany\n"
        "where@acme.io,Wh,,,,030 1234567,\n",
    )

    preview = preview_import(path, ImportOptions(), now=now)
    job = run(path, now)

    assert [(o.line, o.action, o.reason, o.warnings) for o in preview] == [
        (2, "create", "", ""),
        (
            3,
            "reject",
            "email: 'not-an-email' is not a valid email address:"
            " An email address must have an @-sign.",
            "",
        ),
        (4, "create", "", "phone: '+44 12' is not a possible phone number"),
        (5, "reject", "no email", ""),
        (6, "create", "", ""),
        (
            7,
            "create",
            "",
            "phone: '030 1234567' has no country code and the row no known country",
        ),
    ]
    assert counts(job) == (4, 0, 0, 2)
    assert job.warned == 2
    assert dict(Lead.objects.values_list("email", "phone")) == {
        "ok@acme.io": "+442079460958",
        "phone@acme.io": "",
        "local@acme.io": "+49301234567",
        "where@acme.io": "",
    }


def test_choices_as_exports_spell_them_are_read_and_the_rest_kept_as_written(
    tmp_path, org, now
) -> None:
    path = write(
        tmp_path / "timeline.csv",
        "Email,Timeline,Authority,Country\n"
        "a@acme.io,this_quarter,Decision-Maker,Deutschland\n"
        "b@acme.io,This year,economic buyer,UK\n"
        "c@acme.io,within 6 months,END_USER,usa\n"
        "d@acme.io,whenever,boss,Narnia\n",
    )

    preview = preview_import(path, ImportOptions(), now=now)
    job = run(path, now)

    assert [(o.action, o.warnings, o.kept) for o in preview] == [
        ("create", "", ""),
        ("create", "", ""),
        ("create", "", ""),
        ("create", "", "country: 'Narnia'; authority: 'boss'; timeline: 'whenever'"),
    ]
    assert counts(job) == (4, 0, 0, 0)
    assert job.warned == 0
    assert list(
        Lead.objects.order_by("email").values_list(
            "email", "timeline", "authority", "country", "custom_fields"
        )
    ) == [
        ("a@acme.io", "quarter", "decision_maker", "DE", {}),
        ("b@acme.io", "year", "decision_maker", "GB", {}),
        ("c@acme.io", "year", "user", "US", {}),
        (
            "d@acme.io", "", "", "",
            {"authority": "boss", "country": "Narnia", "timeline": "whenever"},
        ),
    ]  # fmt: skip
    assert [kept["column"] for kept in job.kept_as_written] == ["Authority", "Timeline", "Country"]
    rejects = Path(job.rejects_path).read_text(encoding="utf-8-sig").splitlines()
    assert rejects == ["_line,_reason,_warnings,Email,Timeline,Authority,Country"]


def test_duplicates_in_the_file_are_folded_later_rows_winning(tmp_path, org, now) -> None:
    path = write(
        tmp_path / "dupes.csv",
        f"{HEADER}\n"
        "ann@acme.io,Ann,,Acme,Engineer,,\n"
        " ANN@Acme.io ,,Smith,,CTO,,\n"
        "bob@acme.io,Bob,,,,,\n"
        "ann@acme.io,Annie,,,,,Germany\n",
    )

    preview = preview_import(path, ImportOptions(), now=now)
    job = run(path, now)

    assert [o.action for o in preview] == ["create", "merge", "create", "merge"]
    assert counts(job) == (2, 0, 2, 0)
    ann = Lead.objects.get(email="ann@acme.io")
    assert (ann.first_name, ann.last_name, ann.title, ann.country) == (
        "Annie",
        "Smith",
        "CTO",
        "DE",
    )
    # Each row is a submission that names its job and line; the file is not copied.
    assert list(
        Submission.objects.filter(lead=ann)
        .order_by("line")
        .values_list("import_job", "line", "was_created", "payload")
    ) == [(job.pk, 2, True, {}), (job.pk, 3, False, {}), (job.pk, 5, False, {})]


def test_importing_the_same_file_twice_creates_nothing_the_second_time(tmp_path, org, now) -> None:
    path = write(
        tmp_path / "twice.csv",
        f"{HEADER}\na@acme.io,A,,,,,\nb@acme.io,B,,,,,\nb@acme.io,Bee,,,,,\n",
    )

    first = run(path, now)
    second = run(path, now + timedelta(hours=1))

    assert counts(first) == (2, 0, 1, 0)
    assert counts(second) == (0, 2, 1, 0)
    assert Lead.objects.count() == 2
    assert StageChange.objects.filter(from_stage="").count() == 2


def test_the_history_date_is_kept_as_the_arrival(tmp_path, org, now) -> None:
    path = write(
        tmp_path / "history.csv",
        "Email,Create Date\n"
        "old@acme.io,2023-02-01 08:30:00\n"
        "us@acme.io,03/15/2024\n"
        "iso@acme.io,2024-05-06T10:00:00+02:00\n"
        "none@acme.io,\n"
        "later@acme.io,2099-01-01\n"
        "junk@acme.io,sometime\n",
    )

    job = run(path, now)

    arrived = dict(Lead.objects.values_list("email", "arrived_at"))
    assert arrived == {
        "old@acme.io": datetime(2023, 2, 1, 8, 30, tzinfo=UTC),
        "us@acme.io": datetime(2024, 3, 15, tzinfo=UTC),
        "iso@acme.io": datetime(2024, 5, 6, 8, 0, tzinfo=UTC),
        "none@acme.io": now,
        # A date that cannot be the arrival is left out, with a warning: the lead is kept.
        "later@acme.io": now,
        "junk@acme.io": now,
    }
    assert counts(job) == (6, 0, 0, 0)
    assert job.warned == 2
    arrival = StageChange.objects.get(lead__email="old@acme.io", from_stage="")
    assert arrival.changed_at == datetime(2023, 2, 1, 8, 30, tzinfo=UTC)


def test_an_earlier_history_date_moves_a_stored_lead_arrival_back(tmp_path, org, now) -> None:
    run(write(tmp_path / "a.csv", "Email\nann@acme.io\n"), now)
    run(write(tmp_path / "b.csv", "Email,Created Date\nann@acme.io,2022-01-01\n"), now)

    assert Lead.objects.get().arrived_at == datetime(2022, 1, 1, tzinfo=UTC)


def test_registrants_then_attendees_make_members_who_attended(tmp_path, org, now) -> None:
    registrants = write(
        tmp_path / "registrants.csv",
        "Email,Registration Time\na@acme.io,2026-11-01 10:00\nb@acme.io,2026-11-02 11:00\n",
    )
    attendees = write(tmp_path / "attendees.csv", "Email\na@acme.io\n")

    run(registrants, now, campaign_id=org.webinar.pk, status="registered")
    run(attendees, now, campaign_id=org.webinar.pk, status="attended")
    run(registrants, now, campaign_id=org.webinar.pk, status="registered")

    members = dict(CampaignMember.objects.values_list("lead__email", "status"))
    assert members == {"a@acme.io": "attended", "b@acme.io": "registered"}
    joined = CampaignMember.objects.get(lead__email="b@acme.io").joined_at
    assert joined == datetime(2026, 11, 2, 11, 0, tzinfo=UTC)
    assert Lead.objects.get(email="a@acme.io").first_campaign == org.webinar


def test_one_status_column_for_registrants_and_attendees(tmp_path, org, now) -> None:
    path = write(
        tmp_path / "zoom.csv",
        "Attended,Email,First Name\nYes,a@acme.io,A\nNo,b@acme.io,B\n,c@acme.io,C\n",
    )

    job = run(path, now, campaign_id=org.webinar.pk)

    assert counts(job) == (3, 0, 0, 0)
    assert dict(CampaignMember.objects.values_list("lead__email", "status")) == {
        "a@acme.io": "attended",
        "b@acme.io": "no-show",
        "c@acme.io": "registered",
    }


def test_accounts_by_website_or_work_email_never_free_mail(tmp_path, org, now) -> None:
    path = write(
        tmp_path / "companies.csv",
        "Email,Company,Website\n"
        "a@acme.io,Acme,\n"
        "b@acme.io,,\n"
        "c@gmail.com,Gmail user Co,\n"
        "d@yahoo.com,Delta,https://www.delta.example/about\n"
        "e@bigco.com,,\n",
    )

    run(path, now)

    accounts = dict(Lead.objects.values_list("email", "account__domain"))
    assert accounts == {
        "a@acme.io": "acme.io",
        "b@acme.io": "acme.io",
        "c@gmail.com": None,
        "d@yahoo.com": "delta.example",
        "e@bigco.com": "bigco.com",
    }
    assert Account.objects.get(domain="acme.io").name == "Acme"
    assert not Account.objects.filter(domain__in=["gmail.com", "yahoo.com"]).exists()
    # bigco.com is the marquee account: its lead is sales-ready whatever its score.
    assert Lead.objects.get(email="e@bigco.com").segment == "sales_ready"


def test_sales_ready_leads_are_round_robin_assigned_with_sla(tmp_path, org, now) -> None:
    Team.objects.filter(pk=org.emea.pk).update(last_assigned_user=org.rep1)
    hot = "Email,Authority,Budget,Timeline,Country,Notes\n"
    rows = "".join(
        f"hot{i}@acme{i}.io,decision maker,20000,now,Germany,replace it\n" for i in range(3)
    )
    rows += "us@corp.io,decision maker,20000,now,United States,need\n"
    rows += "cold@acme.io,,,,Germany,\n"
    path = write(tmp_path / "hot.csv", hot + rows)

    run(path, now)

    owners = dict(Lead.objects.values_list("email", "owner__username"))
    assert owners == {
        "hot0@acme0.io": "rep2",
        "hot1@acme1.io": "rep1",
        "hot2@acme2.io": "rep2",
        "us@corp.io": "rep3",
        "cold@acme.io": None,
    }
    hot0 = Lead.objects.get(email="hot0@acme0.io")
    assert (hot0.stage, hot0.team, hot0.assigned_at) == ("mql", org.emea, now)
    # 24 business hours in a 9–17 calendar from Monday 10:00 is Thursday 10:00.
    assert hot0.sla_due_at == datetime(2026, 11, 19, 10, 0, tzinfo=UTC)
    assert Lead.objects.get(email="us@corp.io").team == org.americas
    assert Team.objects.get(pk=org.emea.pk).last_assigned_user == org.rep2
    cold = Lead.objects.get(email="cold@acme.io")
    assert (cold.stage, cold.sla_due_at) == ("nurturing", None)
    assert list(
        StageChange.objects.filter(lead=hot0).values_list("from_stage", "to_stage", "reason")
    ) == [("", "new", "captured via import"), ("new", "mql", "score 70")]


def test_a_stored_lead_that_becomes_sales_ready_is_assigned(tmp_path, org, now) -> None:
    run(write(tmp_path / "a.csv", "Email,Country\nann@acme.io,France\n"), now)
    later = now + timedelta(days=1)
    run(
        write(
            tmp_path / "b.csv",
            "Email,Authority,Timeline,Budget,Notes\nann@acme.io,dm,now,50000,a CRM\n",
        ),
        later,
    )

    ann = Lead.objects.get()
    assert (ann.stage, ann.segment, ann.score) == ("mql", "sales_ready", 70)
    assert (ann.team, ann.owner, ann.assigned_at) == (org.emea, org.rep1, later)
    assert ann.sla_due_at == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert list(ann.stage_changes.values_list("from_stage", "to_stage")) == [
        ("", "new"),
        ("new", "nurturing"),
        ("nurturing", "mql"),
    ]


def test_a_file_larger_than_one_statement_updates_movers_and_stayers_apart(
    tmp_path, org, now
) -> None:
    """150 rows: SQLite gets them 64 to a statement plus a remainder. On the second
    import, every fifth stored lead becomes sales-ready (moved, assigned) and the others
    only change their title, by the other UPDATE; none of them may lose a value."""
    first = "".join(f"lead{i}@acme.io,First{i},,,,,France\n" for i in range(150))
    run(write(tmp_path / "a.csv", f"{HEADER}\n{first}"), now)
    later = now + timedelta(days=1)
    second = "".join(
        f"lead{i}@acme.io,Title{i}" + (",dm,now,50000,a CRM" if i % 5 == 0 else ",,,,")
        + "\n"
        for i in range(150)
    )  # fmt: skip
    job = run(
        write(tmp_path / "b.csv", f"Email,Job Title,Authority,Timeline,Budget,Notes\n{second}"),
        later,
    )

    assert counts(job) == (0, 150, 0, 0)
    leads = {lead.email: lead for lead in Lead.objects.all()}
    assert len(leads) == 150
    for i in range(150):
        lead = leads[f"lead{i}@acme.io"]
        assert (lead.first_name, lead.title, lead.country) == (f"First{i}", f"Title{i}", "FR")
        if i % 5 == 0:
            assert (lead.stage, lead.owner is not None, lead.assigned_at) == ("mql", True, later)
            assert lead.stage_changed_at == later
        else:
            assert (lead.stage, lead.owner, lead.sla_due_at) == ("nurturing", None, None)
            assert lead.stage_changed_at == now
    assert StageChange.objects.filter(to_stage="mql").count() == 30


def test_key_external_id_updates_by_crm_id_and_adopts_by_email(tmp_path, org, now) -> None:
    run(write(tmp_path / "a.csv", "Email,First Name\nann@acme.io,Ann\n"), now)
    path = write(
        tmp_path / "crm.csv",
        "Record ID,Email,First Name\n"
        "CRM-1,ann@acme.io,Anna\n"
        "CRM-2,bob@acme.io,Bob\n"
        "CRM-3,,Nomail\n"
        ",x@acme.io,NoId\n",
    )

    first = run(path, now, key="external_id")
    path2 = write(
        tmp_path / "crm2.csv", "Record ID,Email\nCRM-1,ann.new@acme.io\nCRM-9,bob@acme.io\n"
    )
    second = run(path2, now, key="external_id")

    assert counts(first) == (2, 1, 0, 1)
    assert counts(second) == (0, 1, 0, 1)
    assert dict(Lead.objects.values_list("external_id", "email")) == {
        "CRM-1": "ann.new@acme.io",
        "CRM-2": "bob@acme.io",
        "CRM-3": None,
    }
    assert second.write_rejects == [
        [3, f"email: bob@acme.io belongs to lead #{Lead.objects.get(external_id='CRM-2').pk}"]
    ]


def test_custom_columns_are_kept_and_merged(tmp_path, org, now) -> None:
    run(write(tmp_path / "a.csv", "Email,Shoe Size,Annual Revenue\na@acme.io,42,1M\n"), now)
    run(write(tmp_path / "b.csv", "Email,Favourite Colour,Shoe Size\na@acme.io,blue,\n"), now)

    assert Lead.objects.get().custom_fields == {
        "shoe_size": "42",
        "annual_revenue": "1M",
        "favourite_colour": "blue",
    }


def test_a_huge_cell_rejects_its_row_only(tmp_path, org, now) -> None:
    path = write(tmp_path / "huge.csv", f"Email,Notes\na@acme.io,{'x' * 40_000}\nb@acme.io,ok\n")

    preview = preview_import(path, ImportOptions(), now=now)

    assert [(o.action, o.reason) for o in preview] == [
        ("reject", "Notes: cell longer than 32767 characters"),
        ("create", ""),
    ]


def test_rejects_file_neutralises_formulas(tmp_path, org, now) -> None:
    path = write(
        tmp_path / "evil.csv",
        'Email,First Name,Phone\nbad,"=HYPERLINK(""http://x"",""y"")",+1\n@evil,-2+3,\n',
    )
    rejects = tmp_path / "out" / "rejects.csv"

    job = create_import_job(path, ImportOptions(), now=now, rejects_path=rejects)
    run_import(job, now=now)

    with open(rejects, encoding="utf-8-sig") as file:
        rows = list(csv.DictReader(file))
    assert [(r["First Name"], r["Phone"], r["Email"]) for r in rows] == [
        ('\'=HYPERLINK("http://x","y")', "'+1", "bad"),
        ("'-2+3", "", "'@evil"),
    ]


def test_xlsx_files_are_read_like_csv(tmp_path, org, now) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Email Address", "First Name", "Phone Number", "Created Date", "Employees"])
    naive = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC).replace(tzinfo=None)  # as Excel holds it
    sheet.append(["x@acme.io", "Xé", 2025550123, naive, 250])
    sheet.append(["nope", "N", None, None, None])
    path = tmp_path / "leads.xlsx"
    book.save(path)

    info = inspect_file(path)
    job = run(path, now, phone_region="US")

    assert info.columns == [
        "Email Address",
        "First Name",
        "Phone Number",
        "Created Date",
        "Employees",
    ]
    assert counts(job) == (1, 0, 0, 1)
    lead = Lead.objects.get()
    assert (lead.first_name, lead.phone, lead.employees) == ("Xé", "+12025550123", 250)
    assert lead.arrived_at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_a_dry_run_writes_nothing(tmp_path, org, now) -> None:
    path = write(tmp_path / "dry.csv", "Email\na@acme.io\na@acme.io\nbad\n")

    summary = plan_import(path, ImportOptions(), now=now)

    assert (summary.created, summary.updated, summary.merged, summary.rejected) == (1, 0, 1, 1)
    assert Lead.objects.count() == 0
    assert ImportJob.objects.count() == 0


def test_a_crashed_job_resumes_without_duplicates(tmp_path, org, now, monkeypatch) -> None:
    lines = "".join(f"p{i}@acme.io,P{i}\n" for i in range(10))
    path = write(tmp_path / "big.csv", "Email,First Name\n" + lines + "p3@acme.io,Again\n")
    job = create_import_job(path, ImportOptions(chunk_size=4), now=now)
    real_apply = service._apply_chunk
    calls = []

    def crash_on_second_chunk(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("worker lost")
        return real_apply(*args, **kwargs)

    monkeypatch.setattr(service, "_apply_chunk", crash_on_second_chunk)
    with pytest.raises(RuntimeError):
        run_import(job, now=now)
    job.refresh_from_db()
    assert (job.status, job.records_done, job.rows_done, Lead.objects.count()) == (
        "failed",
        4,
        5,
        4,
    )

    run_import(job, now=now)
    job.refresh_from_db()

    assert (job.status, job.rows_done, job.records_done) == ("done", 11, 10)
    assert counts(job) == (10, 0, 1, 0)
    assert Lead.objects.count() == 10
    assert Lead.objects.get(email="p3@acme.io").first_name == "Again"
    # Even a re-run from the very start creates nobody twice.
    again = run(path, now, chunk_size=4)
    assert counts(again) == (0, 10, 1, 0)
    assert Lead.objects.count() == 10


def test_the_task_is_safe_to_run_twice(tmp_path, org, now) -> None:
    path = write(tmp_path / "task.csv", "Email\na@acme.io\nb@acme.io\n")
    job = create_import_job(path, ImportOptions(), now=now)

    run_import_task(job.pk)
    run_import_task(job.pk)

    job.refresh_from_db()
    assert (job.status, job.created, job.updated, job.rows_done, job.rows_total) == (
        "done",
        2,
        0,
        2,
        2,
    )
    assert Lead.objects.count() == 2


def test_a_rejected_lead_is_not_sent_back_to_sales_by_a_reimport(tmp_path, org, now) -> None:
    from followup.services import reject_lead

    hot = "Email,Authority,Timeline,Budget,Notes,Country\nann@acme.io,dm,now,50000,a CRM,France\n"
    run(write(tmp_path / "a.csv", hot), now)
    ann = Lead.objects.get()
    reject_lead(ann, by=org.rep1, reason="just researching", now=now)

    run(write(tmp_path / "b.csv", hot), now + timedelta(days=1))

    ann.refresh_from_db()
    assert (ann.stage, ann.owner) == ("recycled", None)


def test_an_address_a_merge_freed_updates_the_survivor(tmp_path, org, now) -> None:
    run(write(tmp_path / "a.csv", "Email,First Name\nann@acme.io,Ann\nann.lee@gmail.com,A.\n"), now)
    ann, dup = Lead.objects.get(email="ann@acme.io"), Lead.objects.get(email="ann.lee@gmail.com")
    merge_leads(ann, dup, by=org.admin, now=now)
    again = write(tmp_path / "b.csv", "Email,Job Title\nann.lee@gmail.com,CTO\nbob@acme.io,\n")

    preview = preview_import(again, ImportOptions(), now=now)
    job = run(again, now)

    assert [(o.action, o.lead_id) for o in preview] == [("update", ann.pk), ("create", None)]
    assert counts(job) == (1, 1, 0, 0)
    ann.refresh_from_db()
    assert (ann.email, ann.first_name, ann.title) == ("ann@acme.io", "Ann", "CTO")
    assert not Lead.objects.filter(email="ann.lee@gmail.com").exists()


def test_a_changed_phone_or_name_is_checked_for_duplicates_again(tmp_path, org, now) -> None:
    header = "Email,First Name,Last Name,Company,Phone,Country"
    run(
        write(
            tmp_path / "a.csv",
            f"{header}\nann@acme.io,Ann,Lee,Acme,+49 30 1234567,Germany\n"
            "bob@beta.io,Bob,Berg,Beta,+49 30 7654321,Germany\n",
        ),
        now,
    )
    assert scan_duplicates(now=now) == 2
    assert not DuplicateCandidate.objects.exists()

    # Bob's number is now Ann's; Ann only gets a title, which no duplicate check reads.
    run(
        write(
            tmp_path / "b.csv",
            "Email,Phone,Job Title\nbob@beta.io,+49 30 1234567,\nann@acme.io,,CTO\n",
        ),
        now,
    )

    ann, bob = Lead.objects.get(email="ann@acme.io"), Lead.objects.get(email="bob@beta.io")
    assert LeadMatchKeys.objects.filter(lead=ann).exists()
    assert not LeadMatchKeys.objects.filter(lead=bob).exists()
    assert scan_duplicates(now=now) == 1
    pair = DuplicateCandidate.objects.get()
    assert {pair.lead_a_id, pair.lead_b_id} == {ann.pk, bob.pk}


def test_progress_moves_inside_a_chunk_and_never_goes_back(tmp_path, org, now) -> None:
    rows = "".join(f"p{i}@acme.io,P{i},,,,,\n" for i in range(200))
    job = create_import_job(
        write(tmp_path / "p.csv", f"{HEADER}\n{rows}"), ImportOptions(), now=now
    )
    seen: list[tuple[int, int]] = []

    run_import(job, now=now, progress=lambda done, total: seen.append((done, total)))

    done = [d for d, _ in seen]
    assert {t for _, t in seen} == {200}
    assert done == sorted(done)
    assert (done[0], done[-1]) == (0, 200)
    assert len([d for d in done if 0 < d < 200]) >= 5  # one chunk, yet the bar moves


def test_the_account_book_forgets_accounts_of_a_chunk_that_rolled_back(org, now) -> None:
    book = apply.AccountBook()
    wanted = pl.DataFrame({"domain": ["acme.io"], "name": ["Acme"]})
    acme = book.for_domains(wanted, now=now)["id"].to_list()
    book.commit()

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        book.for_domains(pl.DataFrame({"domain": ["beta.io"], "name": ["Beta"]}), now=now)
        raise Rollback
    book.rollback()
    assert book.frame["domain"].to_list() == ["acme.io"]
    again = book.for_domains(
        pl.DataFrame({"domain": ["acme.io", "beta.io"], "name": ["Acme", "Beta"]}), now=now
    )

    stored = dict(
        Account.objects.filter(domain__in=["acme.io", "beta.io"]).values_list("domain", "pk")
    )
    assert dict(again.select("domain", "id").rows()) == stored
    assert stored["acme.io"] == acme[0]
    assert book.for_ids([stored["beta.io"]])["domain"].to_list() == ["beta.io"]


def test_an_import_routes_by_the_same_rules_as_one_lead(tmp_path, org, now) -> None:
    from routing.models import Assignment
    from routing.rulebook import create_rule

    create_rule(by=org.manager, now=now, name="Bavaria", target="user", to_user=org.rep3,
                conditions=[{"field": "state", "op": "is", "value": "Bavaria"}])  # fmt: skip
    create_rule(by=org.manager, now=now, name="Software", target="queue", to_team=org.americas,
                conditions=[{"field": "industry", "op": "is", "value": "software"}])  # fmt: skip
    head = "Email,Authority,Budget,Timeline,Country,State,Industry,Notes\n"
    rows = "a@acme.io,decision maker,20000,now,Germany,Bavaria,Retail,need\n"
    rows += "b@beta.io,decision maker,20000,now,Germany,Saxony,Software,need\n"
    rows += "c@gamma.io,decision maker,20000,now,Germany,Saxony,Retail,need\n"
    path = write(tmp_path / "hot.csv", head + rows)

    run(path, now)

    routed = {
        lead.email: (lead.owner.username if lead.owner else None, lead.team and lead.team.name)
        for lead in Lead.objects.select_related("owner", "team")
    }
    assert routed == {
        "a@acme.io": ("rep3", "Americas"),
        "b@beta.io": (None, "Americas"),
        "c@gamma.io": ("rep1", "EMEA"),
    }
    summaries = {a.lead.email: a.summary for a in Assignment.objects.select_related(
        "lead", "to_owner", "to_team", "from_owner", "from_team")}  # fmt: skip
    assert summaries == {
        "a@acme.io": "Assigned to rep3 by rule 'Bavaria'",
        "b@beta.io": "Assigned to team Americas's queue by rule 'Software'",
        "c@gamma.io": "Assigned to rep1 (round robin in team EMEA)",
    }
