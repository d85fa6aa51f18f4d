"""One picture across sites: counts by site, covered devices per site, and a remediation burn-down.

Built from the history store alone: each site's latest scan gives its counts and its covered
devices; every stored scan of a site (the newest ``MAX_SCANS_PER_SITE``) gives one burn-down
point, the covered devices still open then (covered, and their recorded remediation not done).
Exports: JSON (this model), HTML (inline SVG chart, no external resource) and PDF (the same HTML
through WeasyPrint, every fetch refused).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import IO, Final

from pydantic import BaseModel, ConfigDict

from fingerprints import CoverageStatus
from reports.exporters.view import environment
from reports.history import HistoryStore
from reports.inventory import Inventory, RemediationStatus

__all__ = [
    "MAX_SCANS_PER_SITE",
    "BurnDownPoint",
    "CoveredDevice",
    "Overview",
    "OverviewFormat",
    "SiteOverview",
    "build_overview",
    "write_overview",
]

#: Scans per site read for the burn-down: each is a whole stored inventory to parse.
MAX_SCANS_PER_SITE: Final = 100
_CHART_W: Final = 720
_CHART_H: Final = 220


class CoveredDevice(BaseModel):
    """One covered device of a site's latest scan."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    address: str
    maker: str | None
    model: str | None
    priority: str
    disposition: str
    status: str
    flags: tuple[str, ...] = ()


class SiteOverview(BaseModel):
    """A site's latest scan in numbers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    site: str
    latest_scan: int
    finished_at: datetime
    devices: int
    covered: int
    undetermined: int
    #: Covered devices whose remediation is not done.
    covered_open: int
    covered_devices: tuple[CoveredDevice, ...]


class BurnDownPoint(BaseModel):
    """Covered devices still open at one site after one scan."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    site: str
    scan: int
    at: datetime
    covered: int
    covered_open: int


class Overview(BaseModel):
    """The cross-site report."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    generated_at: datetime
    sites: tuple[SiteOverview, ...]
    burn_down: tuple[BurnDownPoint, ...]
    devices: int
    covered: int
    covered_open: int


class OverviewFormat(StrEnum):
    """Formats of the cross-site report."""

    JSON = "json"
    HTML = "html"
    PDF = "pdf"


def _open_covered(inventory: Inventory) -> tuple[int, int]:
    covered = [d for d in inventory.devices if d.covered is CoverageStatus.COVERED]
    still = [d for d in covered if d.remediation.status is not RemediationStatus.DONE]
    return len(covered), len(still)


def _site(name: str, scan_id: int, inventory: Inventory) -> SiteOverview:
    covered, still = _open_covered(inventory)
    return SiteOverview(
        site=name,
        latest_scan=scan_id,
        finished_at=inventory.scan.finished_at,
        devices=inventory.summary.devices,
        covered=covered,
        undetermined=inventory.summary.undetermined,
        covered_open=still,
        covered_devices=tuple(
            CoveredDevice(
                address=d.addresses[0] if d.addresses else d.device_key,
                maker=d.maker,
                model=d.model,
                priority=d.priority.value,
                disposition=d.remediation.disposition.value,
                status=d.remediation.status.value,
                flags=d.flags,
            )
            for d in inventory.devices
            if d.covered is CoverageStatus.COVERED
        ),
    )


def build_overview(store: HistoryStore, now: datetime | None = None) -> Overview:
    """Read every site's scans from the store into the cross-site report."""
    sites, points = [], []
    for name in store.sites():
        rows = store.scans(MAX_SCANS_PER_SITE, site=name)
        for position, row in enumerate(rows):
            inventory = store.inventory(str(row.id))
            if position == 0:
                sites.append(_site(name, row.id, inventory))
            covered, still = _open_covered(inventory)
            points.append(
                BurnDownPoint(
                    site=name, scan=row.id, at=row.finished_at, covered=covered, covered_open=still
                )
            )
    points.sort(key=lambda p: (p.site, p.at, p.scan))
    return Overview(
        generated_at=now or datetime.now(UTC),
        sites=tuple(sites),
        burn_down=tuple(points),
        devices=sum(s.devices for s in sites),
        covered=sum(s.covered for s in sites),
        covered_open=sum(s.covered_open for s in sites),
    )


def _chart(overview: Overview) -> list[dict[str, object]]:
    """One SVG polyline per site, scaled to the chart box (time across, open covered up)."""
    points = overview.burn_down
    if not points:
        return []
    first = min(p.at for p in points).timestamp()
    span = max(max(p.at for p in points).timestamp() - first, 1.0)
    top = max(max(p.covered_open for p in points), 1)
    lines = []
    for name in dict.fromkeys(p.site for p in points):
        mine = [p for p in points if p.site == name]
        coords = " ".join(
            f"{40 + (p.at.timestamp() - first) / span * (_CHART_W - 60):.1f},"
            f"{_CHART_H - 30 - p.covered_open / top * (_CHART_H - 50):.1f}"
            for p in mine
        )
        lines.append({"site": name, "points": coords, "last": mine[-1].covered_open})
    return lines


def render_overview_html(overview: Overview) -> str:
    """The HTML page (autoescaped: site names and models are user and device strings)."""
    return (
        environment()
        .get_template("overview.html.j2")
        .render(
            overview=overview,
            chart=_chart(overview),
            width=_CHART_W,
            height=_CHART_H,
            top=max((p.covered_open for p in overview.burn_down), default=0),
        )
    )


def write_overview(overview: Overview, fmt: OverviewFormat, out: IO[bytes]) -> None:
    """Write the report in ``fmt``."""
    if fmt is OverviewFormat.JSON:
        out.write(overview.model_dump_json(indent=2).encode() + b"\n")
    elif fmt is OverviewFormat.HTML:
        out.write(render_overview_html(overview).encode())
    else:
        import weasyprint
        import weasyprint.urls

        fetcher = weasyprint.urls.URLFetcher(allowed_protocols=frozenset(), allow_redirects=False)
        html = weasyprint.HTML(string=render_overview_html(overview), url_fetcher=fetcher)
        out.write(html.write_pdf() or b"")
