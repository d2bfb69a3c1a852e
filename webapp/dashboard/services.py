"""What the dashboard shows: the range a user asked for (a preset or two typed
dates, kept as typed so a refusal can show them again) and the overview of
that range (webapp/reports/overview.py: five SQL aggregates)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from ..auth.current import Actor, as_actor
from ..errors import InvalidInput
from ..reports.overview import GROSS, NET, Overview, compute
from ..reports.params import ReportParams
from ..reports.presets import known, matching_preset, preset_range
from ..timezones import zone_of

DEFAULT_PRESET = "last_30_days"
# Dates a business could have orders on; outside them the previous period or
# a local midnight would fall off the calendar.
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2999, 12, 31)


@dataclass(frozen=True)
class RangeChoice:
    """The range as asked for: a known preset, or the typed dates as typed."""
    preset: str | None  # the preset in use (also when typed dates match one)
    date_from: str
    date_to: str
    unknown_preset: str | None = None

    def query(self) -> dict[str, str]:
        """The query string that asks for this range again."""
        if self.preset and not self.unknown_preset:
            return {"preset": self.preset}
        return {"date_from": self.date_from, "date_to": self.date_to}


def choose_range(args: Mapping[str, str], today: dt.date) -> RangeChoice:
    """The range of a request's query string: `preset` (wins when known), else
    `date_from`/`date_to`, else the last 30 days."""
    preset = (args.get("preset") or "")[:40]
    typed_from, typed_to = ((args.get(k) or "").strip()[:40] for k in ("date_from", "date_to"))
    if known(preset):
        preset = known(preset)
        start, end = preset_range(preset, today)
        return RangeChoice(preset, start.isoformat(), end.isoformat())
    if preset:
        return RangeChoice(None, typed_from, typed_to, unknown_preset=preset)
    if not typed_from and not typed_to:
        start, end = preset_range(DEFAULT_PRESET, today)
        return RangeChoice(DEFAULT_PRESET, start.isoformat(), end.isoformat())
    try:
        matching = matching_preset(dt.date.fromisoformat(typed_from),
                                   dt.date.fromisoformat(typed_to), today)
    except ValueError:
        matching = None
    return RangeChoice(matching, typed_from, typed_to)


def _date(text: str, field: str, missing: str) -> dt.date:
    if not text:
        raise InvalidInput(missing, {field: [missing]})
    try:
        day = dt.date.fromisoformat(text)
        if len(text) != 10:
            raise ValueError(text)
    except ValueError:
        message = f"“{text}” is not a date; use the form YYYY-MM-DD, e.g. 2025-11-30."
        raise InvalidInput(message, {field: [message]}) from None
    if not EARLIEST <= day <= LATEST:
        message = f"Pick a date between {EARLIEST} and {LATEST}."
        raise InvalidInput(message, {field: [message]})
    return day


def summary_params(actor: Actor, choice: RangeChoice) -> ReportParams:
    """The summary the range stands for, over the workspace's orders in the
    person's days. Raises InvalidInput for a range that
    is malformed, backwards or longer than a summary may be (ReportParams.summary)."""
    if choice.unknown_preset:
        message = "That quick range does not exist; pick one of the buttons or type dates."
        raise InvalidInput(message, {"preset": [message]})
    start = _date(choice.date_from, "date_from", "Pick a start date.")
    end = _date(choice.date_to, "date_to", "Pick an end date.")
    return ReportParams.summary(start, end, None, timezone=zone_of(as_actor(actor).user))


def overview(actor: Actor, choice: RangeChoice, basis: str = GROSS) -> Overview:
    """The overview of the range for the actor's workspace (five aggregate
    queries), revenue gross or net. Raises InvalidInput as summary_params does."""
    actor = as_actor(actor)
    return compute(actor.workspace_id, summary_params(actor, choice), actor.workspace.currency,
                   basis=NET if basis == NET else GROSS, with_tax=False)
