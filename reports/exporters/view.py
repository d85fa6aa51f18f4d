"""What the HTML, PDF and JUnit reports show, computed once: labels, rows and the chart geometry.

Templates only lay out values prepared here. Jinja2 runs with autoescape on for every template,
so a device string such as ``<script>`` is text, never markup; lengths were capped by the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC
from functools import cache, lru_cache
from typing import Final

import jinja2
import markupsafe

from fingerprints import CoverageStatus, Evidence
from fingerprints.coverage import DEFAULT_POLICIES, policies
from fingerprints.sources import split_citations
from reports.inventory import Inventory, InventoryRecord

__all__ = ["STATUS_COLOURS", "Bar", "Chart", "chart_for", "environment", "render_template"]

#: Colours chosen to stay distinct in greyscale print and for red-green colour blindness.
STATUS_COLOURS: Final = {
    CoverageStatus.COVERED.value: "#b2182b",
    CoverageStatus.UNDETERMINED.value: "#e08214",
    CoverageStatus.NOT_COVERED.value: "#4d4d4d",
}
_STATUS_ORDER: Final = tuple(STATUS_COLOURS)
_LABEL_W: Final = 130
_BAR_W: Final = 420
_ROW_H: Final = 22
_MAX_MAKERS: Final = 12  # the rest are summed into "other" so the chart stays readable


@dataclass(frozen=True)
class Segment:
    """One coloured piece of one bar."""

    x: float
    width: float
    colour: str
    status: str
    count: int


@dataclass(frozen=True)
class Bar:
    """One maker's bar: its label, total and status segments."""

    label: str
    y: int
    total: int
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class Chart:
    """A horizontal stacked bar chart by maker and coverage status, drawn as inline SVG."""

    width: int
    height: int
    label_width: int
    bars: tuple[Bar, ...]
    legend: tuple[tuple[str, str], ...]


def chart_for(inventory: Inventory) -> Chart:
    """Lay out the maker-by-status chart; covered makers first, then by device count."""
    data = dict(inventory.summary.by_maker_status)
    if not data:  # a 1.0 inventory has no per-status counts: derive them
        for record in inventory.devices:
            per = data.setdefault(record.maker or "unknown", {})
            per[record.covered.value] = per.get(record.covered.value, 0) + 1
    ranked = sorted(
        data.items(),
        key=lambda kv: (-kv[1].get("covered", 0), -sum(kv[1].values()), kv[0]),
    )
    if len(ranked) > _MAX_MAKERS:
        other: dict[str, int] = {}
        for _, counts in ranked[_MAX_MAKERS - 1 :]:
            for status, n in counts.items():
                other[status] = other.get(status, 0) + n
        ranked = [*ranked[: _MAX_MAKERS - 1], ("other", other)]
    biggest = max((sum(c.values()) for _, c in ranked), default=1) or 1
    bars = []
    for row, (maker, counts) in enumerate(ranked):
        x = float(_LABEL_W)
        segments = []
        for status in _STATUS_ORDER:
            n = counts.get(status, 0)
            if n:
                width = round(_BAR_W * n / biggest, 2)
                segments.append(Segment(x, width, STATUS_COLOURS[status], status, n))
                x += width
        bars.append(Bar(maker, row * _ROW_H + 4, sum(counts.values()), tuple(segments)))
    return Chart(
        width=_LABEL_W + _BAR_W + 60,
        height=max(len(bars), 1) * _ROW_H + 8,
        label_width=_LABEL_W,
        bars=tuple(bars),
        legend=tuple((s.replace("_", " "), STATUS_COLOURS[s]) for s in _STATUS_ORDER),
    )


#: Evidence items printed per device. The verdict engine can cite 30+ matches for one camera
#: (every SADP field, every banner); the strongest few make the case, the JSON keeps them all.
EVIDENCE_SHOWN: Final = 3


def top_evidence(record: InventoryRecord, limit: int = EVIDENCE_SHOWN) -> tuple[Evidence, ...]:
    """The strongest evidence items, one per rule, most certain first (stable for ties).

    The strongest item of every maker comes first, even past ``limit``: in a conflict each
    side's case stays visible, however many items the stronger side has.
    """
    seen: set[str] = set()
    best = []
    for item in sorted(record.evidence, key=lambda e: -e.certainty):
        if item.rule_id not in seen:
            seen.add(item.rule_id)
            best.append(item)
    makers: set[str] = set()
    leaders = []
    for item in best:
        maker = item.asserts.get("maker")
        if maker and maker not in makers:
            makers.add(maker)
            leaders.append(item)
    rest = [item for item in best if item not in leaders]
    return tuple((leaders + rest)[: max(limit, len(leaders))])


def legal_basis(record: InventoryRecord) -> str:
    """The legal basis line for a device, or the coverage note when there is none."""
    return "; ".join(record.coverage.basis) or (record.coverage.note or "")


def purchase_line(purchase: object) -> str:
    """One line for a device's purchase record: contract, order, supplier, award, funding."""
    parts = []
    for label, name in (
        ("contract", "contract_number"),
        ("order", "order_numbers"),
        ("supplier", "supplier_name"),
        ("UEI", "supplier_uei"),
        ("CAGE", "supplier_cage"),
        ("award", "award_number"),
        ("funding", "funding_source"),
        ("FCC ID", "fcc_id"),
    ):
        value = getattr(purchase, name, None)
        if isinstance(value, tuple):
            value = ", ".join(value)
        if value:
            parts.append(f"{label} {value}")
    return " · ".join(parts)


def judged_policies(inventory: Inventory) -> tuple[str, ...]:
    """The regimes the devices were judged against (the default set for pre-1.2 files)."""
    seen: dict[str, None] = {}
    for record in inventory.devices:
        seen.update(dict.fromkeys(record.coverage.policies))
    return tuple(seen) or DEFAULT_POLICIES


def policy_names(inventory: Inventory) -> str:
    """The names of the regimes judged, for the scope paragraph."""
    known = policies()
    names = [known[p].name if p in known else p for p in judged_policies(inventory)]
    return "; ".join(names)


_URL: Final = re.compile(r"https://[^\s<>\"']+")


# The same few hundred rule sources recur on every device of a large inventory.
@lru_cache(maxsize=4096)
def source_links(source: str, limit: int = 140) -> markupsafe.Markup:
    """An evidence source as the reader opens it: each citation, its URL as a link.

    The text comes from the bibliography (rule data), never from a device; it is escaped all
    the same. A link is an anchor, not a resource: nothing is fetched when the page opens.
    """
    pieces: list[markupsafe.Markup] = []
    for part in (p.strip() for p in split_citations(source)):
        if not part:
            continue
        found = _URL.search(part)
        if found is None:
            pieces.append(markupsafe.escape(_clip(part, limit)))
            continue
        url = found.group().rstrip(".,)")
        label = (part[: found.start()] + part[found.start() + len(url) :]).strip(" :") or url
        pieces.append(
            markupsafe.Markup('<a class="ref" href="{}" rel="noreferrer">{}</a>').format(
                url, _clip(label, limit)
            )
        )
    return markupsafe.Markup("; ").join(pieces)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment: package templates, autoescape always on, undefined is an error."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("reports", "templates"),
        # Always escape, whatever the template's file name: device strings are hostile.
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["legal_basis"] = legal_basis
    env.filters["source_links"] = source_links
    env.filters["top_evidence"] = top_evidence
    env.filters["purchase_line"] = purchase_line
    env.filters["policy_names"] = policy_names
    env.filters["ts"] = lambda value: (
        value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"
    )
    env.filters["day"] = lambda value: value.strftime("%Y-%m-%d") if value else "—"
    env.filters["label"] = lambda value: str(value).replace("_", " ")
    return env


@dataclass(frozen=True)
class DeviceSections:
    """The device table split for reading: what needs action in full, the rest compact."""

    action: tuple[InventoryRecord, ...]
    other: tuple[InventoryRecord, ...]
    #: Rows left out because of ``row_limit`` (they remain in the JSON/CSV with the same digest).
    omitted_action: int
    omitted_other: int


def sections_for(inventory: Inventory, row_limit: int | None = None) -> DeviceSections:
    """Covered, undetermined and flagged devices first (with evidence), not-covered ones after.

    ``row_limit`` caps the rows shown, action rows first: the PDF uses it because WeasyPrint
    lays out about 20 detailed rows a second, and a 5,000-device appendix helps nobody.
    """
    action = [
        r for r in inventory.devices if r.covered is not CoverageStatus.NOT_COVERED or r.flags
    ]
    other = [
        r for r in inventory.devices if r.covered is CoverageStatus.NOT_COVERED and not r.flags
    ]
    if row_limit is None:
        return DeviceSections(tuple(action), tuple(other), 0, 0)
    shown_action = action[:row_limit]
    shown_other = other[: max(row_limit - len(shown_action), 0)]
    return DeviceSections(
        tuple(shown_action),
        tuple(shown_other),
        len(action) - len(shown_action),
        len(other) - len(shown_other),
    )


def basis_notes(inventory: Inventory) -> dict[str, int]:
    """Each distinct legal-basis text, numbered in order of first use.

    The basis for a covered camera is a paragraph (§889, FAR 52.204-25, 2 CFR 200.216, the FCC
    Covered List entry); printed once as a numbered note instead of on every row, a 45-device
    report shrinks from 18 pages to a handful.
    """
    notes: dict[str, int] = {}
    for record in inventory.devices:
        text = legal_basis(record)
        if record.coverage.basis and text not in notes:
            notes[text] = len(notes) + 1
    return notes


def render_template(
    name: str, inventory: Inventory, *, row_limit: int | None = None, **extra: object
) -> str:
    """Render one template with the inventory, its chart and its device sections."""
    template = environment().get_template(name)
    return template.render(
        inventory=inventory,
        chart=chart_for(inventory),
        sections=sections_for(inventory, row_limit),
        basis_notes=basis_notes(inventory),
        **extra,
    )
