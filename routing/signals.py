"""Routing's one signal: a lead was given to a rep or a team's queue.

`lead_assigned` is sent by `record_assignments`, inside the caller's transaction, once per
call with every hand-over it wrote (`assignments`: a list of `routing.services.Handover`,
the rows as written), `by` (None: routing itself) and `now`. Follow-up enrols the leads
in their cadences and moves open tasks to a new owner; a receiver that fails rolls the
assignment back with it. A signal and not a call, because routing sits below follow-up
in the app map and must not import it (docs/architecture.md).
"""

from django.dispatch import Signal

lead_assigned = Signal()
