"""JUnit XML export: one test case per device, so CI dashboards show covered devices as failures.

Covered devices are failures; undetermined devices are skipped with the reason (verify by hand);
not-covered devices pass. The file is static; the CLI's ``--fail-on`` sets the exit code.
Rendered through the autoescaping Jinja2 environment (XML escaping of ``& < > " '``); the model
already removed the control characters XML 1.0 forbids.
"""

from __future__ import annotations

from typing import IO

from fingerprints import CoverageStatus
from reports.exporters.view import render_template
from reports.inventory import Inventory

__all__ = ["write_junit"]


def write_junit(inventory: Inventory, out: IO[bytes]) -> None:
    """Write the inventory as a JUnit XML test suite."""
    text = render_template(
        "junit.xml.j2",
        inventory,
        covered=CoverageStatus.COVERED,
        undetermined=CoverageStatus.UNDETERMINED,
        seconds=(inventory.scan.finished_at - inventory.scan.started_at).total_seconds(),
    )
    out.write(text.encode("utf-8"))
