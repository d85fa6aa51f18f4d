"""The phase-out plan (FAR 4.2104): a laydown of every presence, its disposition and target
date, and a burn-down of covered devices over the scan history and the planned removals.

The plan is dated by the inventory (``generated_at``), not by the clock, so the same inventory
and history always render the same page. History comes from the caller (the ``report`` command
reads it from the history database); without it the burn-down shows the plan only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Final

from reports.exporters.view import render_template
from reports.filing import (
    BurnPoint,
    actual_burndown,
    phase_out_rows,
    planned_burndown,
)
from reports.inventory import Inventory

__all__ = ["BurnChart", "burn_chart", "render_phase_out", "write_phase_out"]

_W: Final = 640
_H: Final = 220
_PAD: Final = 40


@dataclass(frozen=True, slots=True)
class BurnChart:
    """The burn-down as SVG polylines: scans seen (solid) and the plan (dashed)."""

    width: int
    height: int
    actual: str
    plan: str
    labels: tuple[tuple[float, float, str], ...]
    top: int


def burn_chart(actual: Sequence[BurnPoint], plan: Sequence[BurnPoint]) -> BurnChart:
    """Lay out both series on one date axis."""
    points = [*actual, *plan]
    top = max((p.covered for p in points), default=0) or 1
    first = min(p.day for p in points).toordinal() if points else 0
    last = max(p.day for p in points).toordinal() if points else 1
    span = max(last - first, 1)

    def xy(p: BurnPoint) -> tuple[float, float]:
        x = _PAD + (_W - 2 * _PAD) * (p.day.toordinal() - first) / span
        y = _H - _PAD - (_H - 2 * _PAD) * p.covered / top
        return round(x, 1), round(y, 1)

    def line(series: Sequence[BurnPoint]) -> str:
        return " ".join(f"{x},{y}" for x, y in (xy(p) for p in series))

    labels = tuple((*xy(p), f"{p.day.isoformat()}: {p.covered}") for p in (*actual[-1:], *plan))
    return BurnChart(_W, _H, line(actual), line(plan), labels, top)


def render_phase_out(inventory: Inventory, history: Sequence[tuple[datetime, int]] = ()) -> str:
    """The plan as one self-contained HTML page."""
    today = inventory.generated_at.astimezone(UTC).date()
    rows = phase_out_rows(inventory, today)
    plan = planned_burndown(rows, today)
    actual = actual_burndown(history)
    return render_template(
        "phase_out.html.j2",
        inventory,
        rows=rows,
        plan=plan,
        actual=actual,
        burn=burn_chart(actual, plan),
        today=today,
    )


def write_phase_out(
    inventory: Inventory, out: IO[bytes], history: Sequence[tuple[datetime, int]] = ()
) -> None:
    """Write the phase-out plan as UTF-8 HTML."""
    out.write(render_phase_out(inventory, history).encode("utf-8"))
