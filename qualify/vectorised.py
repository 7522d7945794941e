"""A scoring model applied to many leads at once, and the stage move it calls for, as
Polars expressions (and, for the reason of a move, SQL).

Built from the same `ScoringModel` the one-by-one `qualify.rules.Scorer` compiles, so a
bulk import or a rescoring of every lead scores a lead exactly as the one-by-one path
would; `qualify/tests/test_vectorised.py` checks the two agree over a grid of profiles.

Columns read: one per field the model names, called by the field's name ("need",
"account.industry", "custom.plan"; text null = empty, numbers as floats or integers; a
missing column is empty, and a missing `custom.<key>` is read from a `custom_fields`
JSON text column when there is one), plus is_marquee (bool) and engagement (int).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl

from leads.choices import Grade, Segment, Stage

from .document import BOOL, CUSTOM_PREFIX, NUMBER, Condition, ScoringModel

REASON_TYPE = pl.Struct({"points": pl.Int64, "label": pl.String})

from .rules import (  # noqa: E402
    DAY_SECONDS,
    ENGAGEMENT_LABEL,
    FADED_LABEL,
    GREW_LABEL,
    MARQUEE_REASON,
    OPEN_STAGES,
    OTHER_LABEL,
    REENGAGEMENT_POINTS,
    default_scorer,
)


def _column(name: str, columns: set[str]) -> pl.Expr:
    if name in columns:
        return pl.col(name)
    if name.startswith(CUSTOM_PREFIX) and "custom_fields" in columns:
        return custom_value(pl.col("custom_fields"), name[len(CUSTOM_PREFIX) :])
    return pl.lit(None)


def custom_value(custom_fields: pl.Expr, key: str) -> pl.Expr:
    """One custom field's value (null when absent) from a column of JSON objects, as the
    scorer reads `custom.<key>`."""
    escaped = key.replace('"', '\\"')
    return custom_fields.str.json_path_match(f'$["{escaped}"]')


def _text(value: pl.Expr) -> pl.Expr:
    """As qualify.rules.as_text: text, null when blank."""
    text = value.cast(pl.String)
    return pl.when(text.str.strip_chars() == "").then(None).otherwise(text)


def condition_expr(condition: Condition, columns: set[str]) -> pl.Expr:
    """`qualify.rules.compile_condition`, vectorised: true or false, never null."""
    value = _column(condition.field, columns)
    op, kind, expected = condition.operator, condition.kind, condition.value
    result: pl.Expr
    if op in ("is_empty", "is_not_empty"):
        empty = value.is_null() if kind in (NUMBER, BOOL) else _text(value).is_null()
        result = empty if op == "is_empty" else ~empty
    elif op == "range":
        number = value.cast(pl.Float64, strict=False)
        result = pl.lit(True)
        if expected.get("min") is not None:
            result = result & (number >= expected["min"])
        if expected.get("max") is not None:
            result = result & (number < expected["max"])
    elif kind == NUMBER:
        wanted = [float(x) for x in (expected if op == "one_of" else [expected])]
        result = value.cast(pl.Float64, strict=False).is_in(wanted)
    elif kind == BOOL:
        result = value.cast(pl.Boolean) == pl.lit(bool(expected))
    else:
        from .rules import as_text

        text = _text(value)
        if op in ("equals", "one_of"):
            texts = [as_text(x) for x in (expected if op == "one_of" else [expected])]
            result = text.is_in([t for t in texts if t is not None])
        elif op == "contains":
            result = text.str.to_lowercase().str.contains(str(expected).lower(), literal=True)
        elif op == "starts_with":
            result = text.str.to_lowercase().str.starts_with(str(expected).lower())
        else:
            result = text.str.contains(str(expected))
    return result.fill_null(False)


def _model(model: ScoringModel | None) -> ScoringModel:
    return model if model is not None else default_scorer().model


def score_frame(
    frame: pl.DataFrame | pl.LazyFrame, model: ScoringModel | None = None
) -> pl.DataFrame | pl.LazyFrame:
    """Add fit_score, engagement_points, score, grade, segment and score_reasons (a list of
    {points, label}) as `Scorer.score` decides them.

    The reasons are gathered in long form (one row per lead and reason, then one list per
    lead): concatenating a list of structs per rule was most of the time at 1M leads."""
    m = _model(model)
    lazy = frame.lazy() if isinstance(frame, pl.DataFrame) else frame
    columns = set(lazy.collect_schema().names())
    flags: dict[str, pl.Expr] = {}
    for index, rule in enumerate(m.fit):
        matches = condition_expr(rule.condition, columns)
        for other in rule.unless:
            matches = matches & ~condition_expr(other, columns)
        flags[f"__score_fit{index}"] = matches
    fit_parts = [
        pl.when(pl.col(f"__score_fit{index}")).then(pl.lit(rule.points)).otherwise(pl.lit(0))
        for index, rule in enumerate(m.fit)
    ]
    fit = pl.sum_horizontal(fit_parts).cast(pl.Int64) if fit_parts else pl.lit(0, pl.Int64)
    raw = (
        pl.col("engagement").fill_null(0).cast(pl.Int64)
        if "engagement" in columns
        else pl.lit(0, pl.Int64)
    )
    engagement = raw
    floored: pl.Expr = pl.lit(False)
    if m.engagement_minimum is not None:
        engagement = raw.clip(lower_bound=m.engagement_minimum)
        floored = raw < m.engagement_minimum
    marquee = (
        pl.col("is_marquee").fill_null(False) & pl.lit(m.marquee_sales_ready)
        if "is_marquee" in columns
        else pl.lit(False)
    )
    given = "engagement_reasons" in columns
    base = lazy.with_columns(
        __score_row=pl.int_range(pl.len(), dtype=pl.Int64),
        __score_marquee=marquee,
        __score_given=~floored if given else pl.lit(False),
        **flags,
    ).with_columns(fit_score=fit, engagement_points=engagement)
    scored = base.with_columns(
        score=pl.col("fit_score") + pl.col("engagement_points"),
        grade=pl.when(pl.col("fit_score") >= m.grades[Grade.A])
        .then(pl.lit(Grade.A.value))
        .when(pl.col("fit_score") >= m.grades[Grade.B])
        .then(pl.lit(Grade.B.value))
        .when(pl.col("fit_score") >= m.grades[Grade.C])
        .then(pl.lit(Grade.C.value))
        .otherwise(pl.lit(Grade.D.value)),
    )
    segment: Any = pl.when(pl.col("__score_marquee")).then(pl.lit(Segment.SALES_READY.value))
    for segment_rule in m.segments:
        condition = pl.lit(True)
        if segment_rule.grades:
            condition = condition & pl.col("grade").is_in(list(segment_rule.grades))
        if segment_rule.score_min is not None:
            condition = condition & (pl.col("score") >= segment_rule.score_min)
        if segment_rule.score_max is not None:
            condition = condition & (pl.col("score") < segment_rule.score_max)
        for when in segment_rule.when:
            condition = condition & condition_expr(when, columns)
        segment = segment.when(condition).then(pl.lit(segment_rule.segment))
    scored = scored.with_columns(segment=segment.otherwise(pl.lit(m.default_segment)))

    # The reasons, one row each: (row, order, points, label).
    parts: list[pl.LazyFrame] = []
    # A rule's reasons are the rows it matched: filtered once per rule, with no table of
    # every row by every rule.
    for index, rule in enumerate(m.fit):
        parts.append(
            scored.filter(pl.col(f"__score_fit{index}")).select(
                "__score_row",
                pl.lit(index, pl.Int64).alias("__score_order"),
                pl.lit(rule.points, pl.Int64).alias("points"),
                pl.lit(rule.label, pl.String).alias("label"),
            )
        )
    parts.append(
        scored.filter(~pl.col("__score_given") & (pl.col("engagement_points") != 0)).select(
            "__score_row",
            pl.lit(ENGAGEMENT_ORDER, pl.Int64).alias("__score_order"),
            pl.col("engagement_points").alias("points"),
            pl.lit(ENGAGEMENT_LABEL).alias("label"),
        )
    )
    if given:
        parts.append(
            scored.filter(pl.col("__score_given"))
            .select("__score_row", pl.col("engagement_reasons").alias("__score_reason"))
            .explode("__score_reason")
            .filter(pl.col("__score_reason").is_not_null())
            .with_columns(pl.col("__score_row").set_sorted())
            .select(
                "__score_row",
                (pl.lit(ENGAGEMENT_ORDER) + pl.int_range(pl.len()).over("__score_row"))
                .cast(pl.Int64)
                .alias("__score_order"),
                pl.col("__score_reason").struct.field("points").cast(pl.Int64).alias("points"),
                pl.col("__score_reason").struct.field("label").cast(pl.String).alias("label"),
            )
        )
    parts.append(
        scored.filter(pl.col("__score_marquee")).select(
            "__score_row",
            pl.lit(MARQUEE_ORDER, pl.Int64).alias("__score_order"),
            pl.lit(0, pl.Int64).alias("points"),
            pl.lit(MARQUEE_REASON).alias("label"),
        )
    )
    reasons = (
        pl.concat(parts, how="vertical")
        .sort("__score_row", "__score_order")
        # Told it is sorted, Polars groups by slicing runs instead of hashing.
        .with_columns(pl.col("__score_row").set_sorted())
        .group_by("__score_row", maintain_order=True)
        .agg(pl.struct("points", "label").alias("score_reasons"))
    )
    result = (
        scored.join(reasons, on="__score_row", how="left", maintain_order="left")
        .with_columns(pl.col("score_reasons").fill_null(pl.lit([], dtype=pl.List(REASON_TYPE))))
        .drop("__score_row", "__score_marquee", "__score_given", *flags)
    )
    return result.collect() if isinstance(frame, pl.DataFrame) else result


ENGAGEMENT_ORDER = 1_000_000
MARQUEE_ORDER = 2_000_000


def engagement_frame(
    signals: pl.DataFrame, model: ScoringModel | None = None, *, now: datetime
) -> pl.DataFrame:
    """Per lead_id: engagement (its total at `now`) and engagement_reasons, from signal rows
    (lead_id, key, kind, count, total, as_of) as `Scorer.engagement` makes them."""
    m = _model(model)
    by_key = {rule.key: rule for rule in m.engagement}
    order: dict[str, int] = {}
    for index, rule in enumerate(m.engagement):
        order.setdefault(rule.label, index)

    def lookup(column: str, attribute: str, dtype: Any) -> pl.Expr:
        table = {key: getattr(rule, attribute) for key, rule in by_key.items()}
        return pl.col(column).replace_strict(table, default=None, return_dtype=dtype)

    points = pl.coalesce(
        lookup("key", "points", pl.Int64),
        lookup("kind", "points", pl.Int64),
        pl.lit(m.default_event_points, pl.Int64),
    )
    label = pl.coalesce(
        lookup("key", "label", pl.String), lookup("kind", "label", pl.String), pl.lit(OTHER_LABEL)
    )
    count = pl.col("count").cast(pl.Float64)
    if m.half_life_days is not None:
        elapsed = (pl.lit(now).dt.cast_time_unit("us") - pl.col("as_of")).dt.total_seconds(
            fractional=True
        ) / DAY_SECONDS
        count = (
            pl.when((pl.col("as_of").is_null()) | (count == 0))
            .then(count)
            .otherwise(count * (2.0 ** (-elapsed / m.half_life_days)))
        )
    # Labels in the model's order (the order of the reasons); one outside it comes after.
    ranks = {label: rank for rank, label in enumerate(order)}
    ranks.setdefault(OTHER_LABEL, len(ranks) + 999)
    # Sorted by lead and label, and told so: Polars then groups by slicing runs instead of
    # hashing (a few times faster at millions of signals).
    rows = (
        signals.with_columns(points=points, label=label, decayed=count)
        .with_columns(
            raw=(pl.col("points") * pl.col("total")).cast(pl.Float64),
            weighted=pl.col("points") * pl.col("decayed"),
            __order=pl.col("label").replace_strict(ranks, return_dtype=pl.Int64),
        )
        .sort("lead_id", "__order")
        .with_columns(
            pl.col("lead_id").set_sorted(),
            (pl.col("lead_id") * LABEL_SLOTS + pl.col("__order")).set_sorted().alias("__slot"),
        )
    )
    per_label = (
        rows.group_by("__slot", maintain_order=True)
        .agg(
            pl.col("lead_id").first(),
            pl.col("__order").first(),
            pl.col("label").first(),
            pl.col("raw").sum().round().cast(pl.Int64).alias("points"),
        )
        .filter(pl.col("points") != 0)
        .with_columns(pl.col("lead_id").set_sorted())
    )
    totals = rows.group_by("lead_id", maintain_order=True).agg(
        pl.col("weighted").sum().round().cast(pl.Int64).alias("engagement")
    )
    # What faded since (or grew), after the named reasons: the total less their sum.
    faded = (
        totals.join(
            per_label.group_by("lead_id", maintain_order=True).agg(
                pl.col("points").sum().alias("__named")
            ),
            on="lead_id",
            how="left",
        )
        .select(
            "lead_id",
            (pl.col("engagement") - pl.col("__named").fill_null(0)).alias("points"),
        )
        .filter(pl.col("points") != 0)
        .select(
            "lead_id",
            "points",
            pl.when(pl.col("points") < 0)
            .then(pl.lit(FADED_LABEL))
            .otherwise(pl.lit(GREW_LABEL))
            .alias("label"),
            pl.lit(FADED_ORDER, pl.Int64).alias("__order"),
        )
    )
    # Gathered in long form, one list per lead at the end: concatenating lists per lead
    # was most of the time at a million leads.
    reasons = (
        pl.concat([per_label.select("lead_id", "points", "label", "__order"), faded])
        .sort("lead_id", "__order")
        .with_columns(pl.col("lead_id").set_sorted())
        .group_by("lead_id", maintain_order=True)
        .agg(pl.struct("points", "label").alias("engagement_reasons"))
    )
    return totals.join(reasons, on="lead_id", how="left").select(
        "lead_id",
        "engagement",
        pl.col("engagement_reasons").fill_null(pl.lit([], dtype=pl.List(REASON_TYPE))),
    )


LABEL_SLOTS = 1 << 24
FADED_ORDER = 10_000_000


def reasons_json_expr(reasons: pl.Expr) -> pl.Expr:
    """A score_reasons list column as the JSON text Lead.score_reasons stores."""
    return (
        pl.lit("[")
        + reasons.list.eval(pl.element().struct.json_encode()).list.join(",")
        + pl.lit("]")
    )


def to_stage_expr(
    stage: pl.Expr,
    segment: pl.Expr,
    engagement: pl.Expr,
    engagement_at_recycle: pl.Expr,
    reengagement_points: int = REENGAGEMENT_POINTS,
) -> pl.Expr:
    """The stage a freshly scored lead moves to, or null when it stays:
    `qualify.rules.stage_for_segment`, vectorised (checked against it on a grid of every
    stage × segment × recycle case in qualify/tests/test_vectorised.py)."""
    reengaged = (
        engagement.fill_null(0) - engagement_at_recycle.fill_null(0)
    ) >= reengagement_points
    return (
        pl.when(~stage.is_in(list(OPEN_STAGES)))
        .then(None)
        .when((segment == Segment.SALES_READY) & (stage == Stage.RECYCLED) & ~reengaged)
        .then(None)
        .when(segment == Segment.SALES_READY)
        .then(pl.lit(Stage.MQL))
        .when((segment == Segment.DISQUALIFIED) & (stage != Stage.RECYCLED))
        .then(pl.lit(Stage.DISQUALIFIED))
        .when(stage == Stage.NEW)
        .then(pl.lit(Stage.NURTURING))
        .otherwise(None)
    )


def move_reason_expr(score: pl.Expr, to_stage: pl.Expr) -> pl.Expr:
    """Why a lead moved to the stage of its segment: `qualify.services.segment_move_reason`,
    vectorised."""
    return (
        pl.when(to_stage == Stage.DISQUALIFIED)
        .then(pl.format("score {}: not a fit", score))
        .otherwise(pl.format("score {}", score))
    )


def move_reason_sql(score: str, to_stage: str) -> str:
    """The same reason as an SQL expression over two columns, for history the database
    writes from rows it holds (`leads.bulk.insert_arrivals_and_moves`)."""
    return (
        f"'score ' || {score} || CASE WHEN {to_stage} = '{Stage.DISQUALIFIED}'"
        " THEN ': not a fit' ELSE '' END"
    )
