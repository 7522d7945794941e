"""The lifecycle of a lead as one table of allowed moves (see DESIGN.md, "Lifecycle").

Pure data and a pure check: no database. `leads.services.transition_lead` is the only
place that moves a lead, and it asks `check_transition` first.
"""

from __future__ import annotations

from dataclasses import dataclass

from .choices import Stage

# from stage -> the stages a lead may move to from there
ALLOWED: dict[str, frozenset[str]] = {
    Stage.NEW: frozenset({Stage.NURTURING, Stage.MQL, Stage.DISQUALIFIED}),
    Stage.NURTURING: frozenset({Stage.MQL, Stage.DISQUALIFIED}),
    Stage.MQL: frozenset({Stage.ACCEPTED, Stage.NURTURING, Stage.RECYCLED, Stage.DISQUALIFIED}),
    Stage.ACCEPTED: frozenset({Stage.OPPORTUNITY, Stage.RECYCLED, Stage.DISQUALIFIED}),
    Stage.OPPORTUNITY: frozenset({Stage.CUSTOMER, Stage.RECYCLED}),
    Stage.CUSTOMER: frozenset({Stage.OPPORTUNITY}),
    Stage.RECYCLED: frozenset({Stage.NURTURING, Stage.MQL, Stage.DISQUALIFIED}),
    Stage.DISQUALIFIED: frozenset({Stage.NURTURING}),
}

# Moves that must say why: a rejection, a loss, a disqualification, a re-opening.
REASON_REQUIRED: frozenset[tuple[str, str]] = frozenset(
    {(src, Stage.RECYCLED) for src in ALLOWED}
    | {(src, Stage.DISQUALIFIED) for src in ALLOWED}
    | {(Stage.DISQUALIFIED, Stage.NURTURING)}
)

# The funnel, in order: how far a lead got.
FUNNEL: tuple[str, ...] = (
    Stage.NEW,
    Stage.MQL,
    Stage.ACCEPTED,
    Stage.OPPORTUNITY,
    Stage.CUSTOMER,
)


def reached_from(stage: str) -> tuple[str, ...]:
    """The stages whose entry means a lead reached `stage` of the funnel: it and every
    later one (a lead can enter as MQL straight away, and an MQL has passed "new")."""
    return FUNNEL[FUNNEL.index(stage) :]


# Stages in which a lead is sales' work and the SLA clock may run.
SALES_STAGES: frozenset[str] = frozenset({Stage.MQL, Stage.ACCEPTED, Stage.OPPORTUNITY})


def arrival_reason(source: str) -> str:
    """Why a new lead's first StageChange (from nothing to `new`) exists: where it came from."""
    return f"captured via {source}"


@dataclass(frozen=True)
class TransitionError(Exception):
    """A move the lifecycle does not allow, or one missing its reason."""

    field: str
    message: str

    def __str__(self) -> str:
        return self.message


def check_transition(from_stage: str, to_stage: str, reason: str = "") -> None:
    # Plain strings, so messages read 'accepted' whether given a Stage member or a value.
    from_stage, to_stage = str(from_stage), str(to_stage)
    if to_stage not in Stage.values:
        raise TransitionError("to_stage", f"unknown stage {to_stage!r}")
    if to_stage not in ALLOWED.get(from_stage, frozenset()):
        allowed = ", ".join(sorted(ALLOWED.get(from_stage, frozenset()))) or "none"
        raise TransitionError(
            "to_stage",
            f"a lead in stage {from_stage!r} cannot move to {to_stage!r} (allowed: {allowed})",
        )
    if (from_stage, to_stage) in REASON_REQUIRED and not reason.strip():
        raise TransitionError(
            "reason", f"moving from {from_stage!r} to {to_stage!r} needs a reason"
        )
