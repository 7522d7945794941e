import re
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from outgoing_webhooks.rules import (
    Gap,
    advance_cursor,
    private_address,
    retry_delay,
    signature_header,
    stage_change_event,
    url_problem,
    verify_signature,
)

NOW = datetime(2026, 11, 16, 10, tzinfo=UTC)
WAIT = timedelta(minutes=10)


@pytest.mark.parametrize(
    ("to_stage", "reason", "event"),
    [
        ("new", "captured via api", "lead.created"),
        ("mql", "scored sales-ready", "lead.sales_ready"),
        ("customer", "won", "lead.won"),
        ("recycled", "lost: went with a rival", "lead.lost"),
        ("recycled", "not worked in time", "lead.recycled"),
        ("opportunity", "opportunity 5000", "lead.converted"),
        ("disqualified", "spam", "lead.disqualified"),
    ],
)
def test_each_stage_change_is_one_event(to_stage, reason, event) -> None:
    assert stage_change_event(to_stage, reason) == event


@pytest.mark.parametrize(
    ("attempts", "minutes"), [(1, 1), (2, 2), (3, 4), (5, 16), (9, 256), (12, 360)]
)
def test_waits_double_up_to_six_hours(attempts, minutes) -> None:
    assert retry_delay(attempts) == timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://crm.example.com/hooks", None),
        ("http://10.0.0.5:8080/x", None),
        ("file:///etc/passwd", "must start with http:// or https://"),
        ("javascript:alert(1)", "must start with http:// or https://"),
        ("https:///nohost", "must name a host, e.g. https://crm.example.com/hooks/leadloop"),
        ("http://example.com:notaport/", "is not a URL"),
    ],
)
def test_only_http_urls_with_a_host_are_targets(url, problem) -> None:
    assert url_problem(url) == problem


@pytest.mark.parametrize(
    ("addresses", "found"),
    [
        (["93.184.215.14"], None),
        (["2606:2800:21f:cb07:6820:80da:af6b:8b2c"], None),
        (["127.0.0.1"], "127.0.0.1"),
        (["93.184.215.14", "10.1.2.3"], "10.1.2.3"),
        (["169.254.169.254"], "169.254.169.254"),
        (["::1"], "::1"),
        (["::ffff:192.168.0.1"], "192.168.0.1"),
        (["fe80::1%eth0"], "fe80::1"),
    ],
)
def test_private_addresses_are_found(addresses, found) -> None:
    assert private_address(addresses) == found


def test_a_signature_verifies_only_with_its_secret_body_and_a_recent_time() -> None:
    header = signature_header("whsec_a", 1_700_000_000, b'{"a":1}')

    assert verify_signature("whsec_a", header, b'{"a":1}', now=1_700_000_100)
    assert not verify_signature("whsec_b", header, b'{"a":1}', now=1_700_000_100)
    assert not verify_signature("whsec_a", header, b'{"a":2}', now=1_700_000_100)
    assert not verify_signature("whsec_a", header, b'{"a":1}', now=1_700_000_000 + 301)


def test_the_readme_receiver_snippet_verifies_a_signature() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    code = re.search(r"```python\n(\s*import hashlib.*?)```", readme, re.S)
    assert code is not None
    namespace: dict = {}
    exec(textwrap.dedent(code[1]), namespace)
    body = b'{"type":"lead.won"}'

    header = signature_header("whsec_x", int(time.time()), body)
    assert namespace["verify"]("whsec_x", header, body)
    assert not namespace["verify"]("whsec_y", header, body)


def test_the_cursor_moves_to_the_highest_id_read_and_keeps_the_missing_ones() -> None:
    last, gaps = advance_cursor(10, [], [11, 12, 15], batch_full=False, now=NOW, wait=WAIT)

    assert (last, gaps) == (15, [Gap(13, 14, NOW)])


def test_a_gap_filled_later_is_read_and_forgotten() -> None:
    later = NOW + timedelta(minutes=1)
    last, gaps = advance_cursor(
        15, [Gap(13, 14, NOW)], [13, 16], batch_full=False, now=later, wait=WAIT
    )

    assert (last, gaps) == (16, [Gap(14, 14, NOW)])


def test_a_gap_older_than_the_wait_is_given_up() -> None:
    last, gaps = advance_cursor(
        15,
        [Gap(13, 14, NOW)],
        [],
        batch_full=False,
        now=NOW + WAIT + timedelta(seconds=1),
        wait=WAIT,
    )

    assert (last, gaps) == (15, [])


def test_with_a_full_batch_gaps_beyond_it_were_not_looked_at() -> None:
    last, gaps = advance_cursor(
        100, [Gap(3, 4, NOW), Gap(50, 60, NOW)], [3, 5], batch_full=True, now=NOW, wait=WAIT
    )

    assert (last, gaps) == (100, [Gap(4, 4, NOW), Gap(50, 60, NOW)])


def test_a_huge_rolled_back_range_is_one_gap() -> None:
    last, gaps = advance_cursor(0, [], [1, 2_000_002], batch_full=False, now=NOW, wait=WAIT)

    assert (last, gaps) == (2_000_002, [Gap(2, 2_000_001, NOW)])
