"""The inventory as a rich table on the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from fingerprints import CoverageStatus
from reports.exporters.view import top_evidence
from reports.inventory import Inventory

__all__ = ["render_table"]

_STATUS_STYLE = {
    CoverageStatus.COVERED: "bold red",
    CoverageStatus.NOT_COVERED: "green",
    CoverageStatus.UNDETERMINED: "yellow",
}


def _cell(value: str | None, width: int = 40) -> str:
    # Device strings may carry rich markup ("[bold]") or be huge; escape and cap them.
    text = value or "—"
    return escape(text if len(text) <= width else text[: width - 1] + "…")


def render_table(inventory: Inventory, console: Console) -> None:
    """Print one row per device and a summary line."""
    table = Table(title="ndaa-scan inventory", show_lines=False)
    for column in ("Address", "MAC", "Maker", "Brand", "Model", "Covered", "Conf.", "Evidence"):
        table.add_column(column, overflow="fold")
    for record in inventory.devices:
        status = record.covered
        table.add_row(
            _cell(", ".join(record.addresses)),
            _cell(record.mac),
            _cell(record.maker),
            _cell(record.brand),
            _cell(record.model),
            f"[{_STATUS_STYLE[status]}]{status.value}[/]"
            + "".join(f"\n[magenta]⚑ {escape(flag)}[/]" for flag in record.flags),
            f"{record.confidence:.2f} {record.level.value}",
            # One item per maker first: a conflict shows both sides, as in every export.
            _cell(", ".join(e.rule_id for e in top_evidence(record)), 60),
        )
    console.print(table)
    s = inventory.summary
    console.print(
        f"{s.devices} devices: [bold red]{s.covered} covered[/], "
        f"[green]{s.not_covered} not covered[/], [yellow]{s.undetermined} undetermined[/]"
    )
