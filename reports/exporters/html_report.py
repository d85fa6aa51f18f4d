"""HTML export: one self-contained page (inline CSS and SVG, no scripts, no CDN).

The page is what an auditor opens or prints; the PDF export renders this same HTML.
"""

from __future__ import annotations

from typing import IO

from reports.exporters.view import render_template
from reports.inventory import Inventory

__all__ = ["render_html", "write_html"]


def render_html(inventory: Inventory) -> str:
    """The report page as a string."""
    return render_template("report.html.j2", inventory)


def write_html(inventory: Inventory, out: IO[bytes]) -> None:
    """Write the report page as UTF-8 HTML."""
    out.write(render_html(inventory).encode("utf-8"))
