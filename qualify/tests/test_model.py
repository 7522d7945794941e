"""The scoring model as a document: every operator, grades, segments, refusals, and the
one-by-one and bulk engines agreeing on a grid of profiles."""

from __future__ import annotations

import copy
import random
from decimal import Decimal
from typing import Any

import polars as pl
import pytest

from qualify.document import ModelInvalid, default_document, validate
from qualify.rules import Profile, Scorer, compile_model
from qualify.vectorised import score_frame


def model_with(fit: list[dict[str, Any]], **changes: Any) -> dict[str, Any]:
    document = default_document()
    document["fit"] = fit
    for key, value in changes.items():
        document[key] = value
    return document


def scorer_for(document: dict[str, Any]) -> Scorer:
    return compile_model(validate(document))


def rule(field: str, operator: str, value: Any = None, points: int = 7) -> dict[str, Any]:
    made = {"label": f"{field} {operator}", "field": field, "operator": operator, "points": points}
    if value is not None:
        made["value"] = value
    return made


@pytest.mark.parametrize(
    ("condition", "values", "matches"),
    [
        (rule("industry", "equals", "Software"), {"industry": "Software"}, True),
        (rule("industry", "equals", "Software"), {"industry": "software"}, False),
        (rule("industry", "one_of", ["Software", "Banking"]), {"industry": "Banking"}, True),
        (rule("industry", "one_of", ["Software", "Banking"]), {"industry": "Retail"}, False),
        (rule("custom.page", "contains", "/PRICING"), {"custom.page": "/en/pricing/team"}, True),
        (rule("custom.page", "contains", "/pricing"), {"custom.page": "/blog"}, False),
        (rule("country", "starts_with", "d"), {"country": "DE"}, True),
        (rule("country", "starts_with", "d"), {"country": "AD"}, False),
        (rule("budget", "range", {"min": 100, "max": 200}), {"budget": Decimal("100")}, True),
        (rule("budget", "range", {"min": 100, "max": 200}), {"budget": Decimal("200")}, False),
        (rule("budget", "range", {"min": 100}), {"budget": None}, False),
        (rule("custom.seats", "range", {"max": 10}), {"custom.seats": 9}, True),
        (rule("custom.seats", "range", {"max": 10}), {"custom.seats": "many"}, False),
        (rule("title", "regex", r"(?i)^head of"), {"title": "Head of Growth"}, True),
        (rule("title", "regex", r"(?i)^head of"), {"title": "Deputy head of"}, False),
        (rule("need", "is_empty"), {"need": "   "}, True),
        (rule("need", "is_empty"), {"need": "a CRM"}, False),
        (rule("custom.plan", "is_not_empty"), {"custom.plan": "pro"}, True),
        (rule("custom.plan", "is_not_empty"), {}, False),
        (rule("account.is_marquee", "equals", True), {"account.is_marquee": True}, True),
        (rule("account.industry", "equals", "Retail"), {"account.industry": "Retail"}, True),
        (rule("custom.trial", "equals", "true"), {"custom.trial": True}, True),
    ],
)
def test_each_operator_matches_what_it_says_in_both_engines(
    condition: dict[str, Any], values: dict[str, Any], matches: bool
) -> None:
    document = model_with([condition])
    own = {k: v for k, v in values.items() if k in ("need", "title", "budget")}
    profile = Profile(**own, values={k: v for k, v in values.items() if k not in own})

    result = scorer_for(document).score(profile)
    frame = _frame([profile], sorted(validate(document).fields()))
    scored = score_frame(frame, validate(document))
    assert isinstance(scored, pl.DataFrame)

    assert result.fit == (7 if matches else 0)
    assert scored["fit_score"].to_list() == [result.fit]


@pytest.mark.parametrize(
    ("fit", "grade"),
    [(80, "A"), (50, "A"), (49, "B"), (30, "B"), (29, "C"), (15, "C"), (14, "D"), (-5, "D")],
)
def test_the_grade_follows_the_fit_thresholds(fit: int, grade: str) -> None:
    document = model_with([rule("need", "is_not_empty", points=fit)])
    document["grades"] = {"A": 50, "B": 30, "C": 15}

    assert scorer_for(document).score(Profile(need="x")).grade == grade


def test_segments_come_from_grade_and_score_first_match_wins() -> None:
    document = model_with([rule("need", "is_not_empty", points=55)])
    document["segments"]["rules"] = [
        {"segment": "disqualified", "grades": ["D"]},
        {"segment": "sales_ready", "grades": ["A"], "score": {"min": 70}},
    ]
    scorer = scorer_for(document)

    assert scorer.score(Profile(need="x", engagement=10)).segment == "nurture"
    assert scorer.score(Profile(need="x", engagement=15)).segment == "sales_ready"
    assert scorer.score(Profile()).segment == "disqualified"


def test_a_marquee_account_is_sales_ready_whatever_the_rules_say() -> None:
    document = model_with([rule("need", "is_empty", points=-100)])

    result = scorer_for(document).score(Profile(is_marquee=True))

    assert result.segment == "sales_ready"
    assert result.score_reasons == [
        {"points": -100, "label": "need is_empty"},
        {"points": 0, "label": "marquee account: always sales-ready"},
    ]


def test_a_recycled_lead_returns_only_on_the_models_fresh_engagement() -> None:
    document = default_document()
    document["segments"]["reengagement_points"] = 35
    scorer = scorer_for(document)

    assert scorer.stage_for_segment("recycled", "sales_ready", 64, 30) is None
    assert scorer.stage_for_segment("recycled", "sales_ready", 65, 30) == "mql"


@pytest.mark.parametrize(
    ("change", "where", "why"),
    [
        (
            lambda d: d["fit"].append(rule("title", "regex", "(unclosed")),
            "fit[14] 'title regex'",
            "bad regex '(unclosed'",
        ),
        (
            lambda d: d["fit"].append(rule("shoe_size", "equals", "42")),
            "fit[14] 'shoe_size equals'",
            "unknown field 'shoe_size'",
        ),
        (
            lambda d: d["fit"].append(rule("budget", "contains", "10")),
            "fit[14] 'budget contains'",
            "operator contains does not apply to budget (a number field)",
        ),
        (
            lambda d: d["fit"].append(rule("industry", "range", {"min": 1})),
            "fit[14] 'industry range'",
            "operator range does not apply to industry (a text field)",
        ),
        (
            lambda d: d["fit"].append(rule("employees", "equals", "many")),
            "fit[14] 'employees equals'",
            "value 'many' is not a number",
        ),
        (
            lambda d: d["grades"].update(B=60),
            "grades",
            "thresholds must fall from A to C",
        ),
        (
            lambda d: d["engagement"]["rules"].append(
                {"label": "careers", "kind": "page_view", "points": -5,
                 "property": {"name": "path", "operator": "regex", "value": "(?<=x)y"}}
            ),
            "engagement[13] 'careers' property",
            "not supported by the bulk scorer",
        ),
        (
            lambda d: d["segments"]["rules"].append({"segment": "hot", "score": {"min": 1}}),
            "segments[3]",
            "unknown segment 'hot'",
        ),
    ],
)  # fmt: skip
def test_a_bad_rule_is_refused_with_the_rule_and_the_reason_named(change, where, why) -> None:
    document = default_document()
    change(document)

    with pytest.raises(ModelInvalid) as refused:
        validate(document)

    assert any(w == where and why in reason for w, reason in refused.value.problems), (
        refused.value.problems
    )


def test_every_problem_of_a_document_is_named_at_once() -> None:
    document = default_document()
    document["fit"][0]["operator"] = "sounds_like"
    document["fit"][1]["points"] = "twenty"

    with pytest.raises(ModelInvalid) as refused:
        validate(document)

    assert [where for where, _ in refused.value.problems] == [
        "fit[0] 'stated a need'",
        "fit[1] 'decision maker' points",
    ]


# --- both engines, one model ------------------------------------------------------------------

RICH_MODEL: dict[str, Any] = {
    "fit": [
        rule("industry", "one_of", ["Software", "Banking"], points=12),
        rule("account.industry", "equals", "Software", points=3),
        rule("custom.page", "contains", "/pricing", points=9),
        rule("country", "starts_with", "d", points=4),
        rule("budget", "range", {"min": 1000, "max": 50000}, points=11),
        rule("custom.seats", "range", {"min": 10}, points=6),
        rule("title", "regex", r"(?i)\b(vp|head)\b", points=10),
        {**rule("need", "is_empty", points=-8),
         "unless": [{"field": "title", "operator": "is_not_empty"}]},
        rule("employees", "range", {"min": 200}, points=5),
        rule("account.is_marquee", "equals", True, points=1),
    ],
    "grades": {"A": 30, "B": 15, "C": 5},
    "engagement": {"half_life_days": None, "minimum": -10, "default_points": 1, "rules": []},
    "segments": {
        "marquee_sales_ready": True,
        "reengagement_points": 20,
        "rules": [
            {"segment": "disqualified", "grades": ["D"], "score": {"max": 0}},
            {"segment": "sales_ready", "grades": ["A", "B"], "score": {"min": 35}},
            {"segment": "sales_ready", "score": {"min": 50},
             "when": [{"field": "country", "operator": "one_of", "value": ["DE", "FR"]}]},
        ],
        "default": "nurture",
    },
}  # fmt: skip

FIELD_VALUES: dict[str, list[Any]] = {
    "industry": [None, "Software", "Retail"],
    "account.industry": [None, "Software"],
    "custom.page": [None, "/EN/Pricing", "/blog", 5],
    "country": ["", "DE", "US"],
    "budget": [None, Decimal("999.99"), Decimal("1000"), Decimal("50000")],
    "custom.seats": [None, 10, "9", "lots", 12.5],
    "title": ["", "VP Sales", "Vapor"],
    "need": ["", " ", "a CRM"],
    "employees": [None, 200],
    "account.is_marquee": [None, False, True],
    "timeline": ["", "never", "now"],
    "authority": ["", "none", "decision_maker"],
    "engagement": [-20, 0, 25],
}
OWN = ("need", "title", "budget", "employees", "timeline", "authority")


def _grid() -> list[Profile]:
    """A fixed sample of 6,000 of the grid's two million combinations (all of them take
    minutes in Python)."""
    names = list(FIELD_VALUES)
    profiles = []
    pick = random.Random(10)
    for _ in range(6000):
        combination = [pick.choice(values) for values in FIELD_VALUES.values()]
        values = dict(zip(names, combination, strict=True))
        profiles.append(
            Profile(
                need=values["need"],
                title=values["title"],
                budget=values["budget"],
                employees=values["employees"],
                timeline=values["timeline"],
                authority=values["authority"],
                engagement=values["engagement"],
                is_marquee=bool(values["account.is_marquee"]),
                values={k: v for k, v in values.items() if k not in (*OWN, "engagement")},
            )
        )
    return profiles


def _frame(profiles: list[Profile], fields: list[str]) -> pl.DataFrame:
    """The profiles as the bulk scorer reads them; custom fields as a JSON column."""
    import json

    columns: dict[str, list[Any]] = {
        name: [p.value(name) for p in profiles] for name in fields if not name.startswith("custom.")
    }
    for name in ("budget", "employees"):
        if name in columns:
            columns[name] = [float(v) if v is not None else None for v in columns[name]]
    for name, values in list(columns.items()):
        if all(v is None or isinstance(v, str) for v in values):
            columns[name] = [v or None for v in values]
    columns["custom_fields"] = [
        json.dumps(
            {k[7:]: v for k, v in p.values.items() if k.startswith("custom.") and v is not None}
        )
        for p in profiles
    ]
    columns["is_marquee"] = [p.is_marquee for p in profiles]
    columns["engagement"] = [p.engagement for p in profiles]
    return pl.DataFrame(columns, strict=False)


@pytest.mark.parametrize("document", [RICH_MODEL, default_document()], ids=["rich", "version 1"])
def test_both_engines_give_the_same_score_grade_segment_and_reasons(document) -> None:
    model = validate(copy.deepcopy(document))
    profiles = _grid()
    expected = [compile_model(model).score(p) for p in profiles]

    scored = score_frame(_frame(profiles, sorted(model.fields())), model)
    assert isinstance(scored, pl.DataFrame)

    got = list(
        zip(
            scored["score"].to_list(),
            scored["grade"].to_list(),
            scored["segment"].to_list(),
            scored["score_reasons"].to_list(),
            strict=True,
        )
    )
    assert got == [(s.total, s.grade, s.segment, s.score_reasons) for s in expected]
    # The grid reaches every grade and segment, so the check means something.
    assert {s.grade for s in expected} == {"A", "B", "C", "D"}
    assert {s.segment for s in expected} == {"sales_ready", "nurture", "disqualified"}
