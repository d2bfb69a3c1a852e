"""What happens in a lower layer that an upper one acts on, announced rather
than imported (blinker, which Flask ships). Subscribers connect in
create_app, so the core and the report lifecycle import nothing above them.

job_ended(sender=None, conn=..., job_id=..., now=...)
    sent inside the transaction that ends a job (COMPLETED, FAILED,
    CANCELLED): a subscriber writes with `conn`, so what it writes (the
    in-app notice) commits with the job's end, or not at all."""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

job_ended = _signals.signal("job-ended")
