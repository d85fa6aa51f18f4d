"""City-hall verdicts against the profile's ground truth (issue 13 item 8, issue 14 "Must show").

The session's one sweep (tests/lab/conftest.py: both networks, the site's credentials file) is
judged host by host: every host of ``examples/lab/city-hall.toml``, every camera behind a
recorder (inventory key ``<recorder>/ch<N>``) and every third-party daemon host. Each must come
out as its truth says: the true maker, and covered or not covered. A host whose truth states
``expect = "undetermined"`` (with its reason) shows nothing that can decide, such as only its MAC
prefix: it must end undetermined, never with another maker's name, and never covered.

Issue 14's figures are asserted on top: no covered host missed or called not covered, at least
97 % of covered hosts called covered, no false covered.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import pytest

from scanner.lab.profile import GroundTruth, LabProfile

pytestmark = pytest.mark.lab

#: Issue 14: share of covered hosts a sweep must call covered.
COVERED_RECALL_FLOOR = 0.97
#: The "undetermined by design" list stays an exception: at most this share of the hardware
#: rows. Third-party daemon hosts are software on a virtual machine, undetermined by nature,
#: and do not count on either side of the share.
UNDETERMINED_SHARE_CEILING = 0.2


@dataclass(frozen=True)
class Row:
    """One device of the truth: where the inventory lists it, and what it really is."""

    key: str
    name: str
    truth: GroundTruth
    kind: str


def _rows(profile: LabProfile) -> list[Row]:
    rows: list[Row] = []
    for host in profile.hosts:
        if host.daemons:
            kind = "third-party daemon"
        elif host.truth.covered:
            kind = "covered"
        else:
            kind = "not covered"
        rows.append(Row(str(host.address), host.name, host.truth, kind))
        rows.extend(
            Row(
                f"{host.address}/ch{channel.channel}",
                f"{host.name}/ch{channel.channel}",
                channel.truth,
                "behind a recorder",
            )
            for channel in host.channels
        )
    return rows


def _expected(truth: GroundTruth) -> str:
    if truth.expect is not None:
        return truth.expect
    return "covered" if truth.covered else "not_covered"


@pytest.fixture(scope="module")
def judged(cityhall_sweep: dict[str, Any]) -> list[tuple[Row, dict[str, Any] | None]]:
    devices = cityhall_sweep["inventory"]["devices"]
    by_key = {d["device_key"]: d for d in devices}
    by_address = {a: d for d in devices for a in d["addresses"]}
    rows = _rows(cityhall_sweep["profile"])
    out = [(row, by_key.get(row.key) or by_address.get(row.key)) for row in rows]
    # The per-class summary the closing note quotes (visible with -s or in the captured stderr).
    classes: dict[str, list[bool]] = {}
    for row, device in out:
        ok = device is not None and _verdict_ok(row, device)
        classes.setdefault(row.kind, []).append(ok)
    for kind, oks in sorted(classes.items()):
        sys.stderr.write(f"city-hall truth, {kind}: {sum(oks)}/{len(oks)} as the truth says\n")
    return out


def _verdict_ok(row: Row, device: dict[str, Any]) -> bool:
    expected = _expected(row.truth)
    if device["covered"] != expected:
        return False
    if expected == "undetermined":
        return device["maker"] in {None, row.truth.maker}
    return bool(device["maker"] == row.truth.maker)


def test_every_truth_row_is_one_inventory_device(cityhall_sweep, judged):
    missed = [row.name for row, device in judged if device is None]
    assert not missed, f"hosts the sweep did not list: {missed}"
    keys = {row.key for row, _ in judged}
    extra = [d["device_key"] for d in cityhall_sweep["inventory"]["devices"]]
    assert sorted(k for k in extra if k not in keys) == []  # no phantom devices
    assert len(extra) == len(keys)  # and no host split in two or merged into another


def test_every_host_gets_its_true_maker_and_coverage(judged):
    wrong = {
        row.name: {
            "truth": (row.truth.maker, _expected(row.truth)),
            "verdict": (device["maker"], device["covered"], device["confidence"]),
        }
        for row, device in judged
        if device is not None and not _verdict_ok(row, device)
    }
    assert not wrong, wrong


def test_issue_14_figures_no_missed_covered_and_no_false_covered(judged):
    covered = [(row, device) for row, device in judged if row.truth.covered]
    assert len(covered) >= 40  # the lab really has its covered fleet
    missed = [row.name for row, device in covered if device is None]
    called_not = [row.name for row, d in covered if d is not None and d["covered"] == "not_covered"]
    assert missed == []
    assert called_not == []
    # The floor is over hosts on the network. A camera behind a recorder is judged too (every
    # test above), but whether it can be named depends on what its recorder's list carries; the
    # share over every covered device is printed beside it for the closing note.
    hosts = [(row, d) for row, d in covered if row.kind != "behind a recorder"]
    called = [row for row, d in hosts if d is not None and d["covered"] == "covered"]
    everything = [row for row, d in covered if d is not None and d["covered"] == "covered"]
    sys.stderr.write(
        f"city-hall covered called covered: hosts {len(called)}/{len(hosts)}, "
        f"hosts and channel cameras {len(everything)}/{len(covered)}\n"
    )
    recall = len(called) / len(hosts)
    assert recall >= COVERED_RECALL_FLOOR, f"{len(called)}/{len(hosts)} covered hosts called so"
    false_covered = [
        row.name
        for row, d in judged
        if not row.truth.covered and d is not None and d["covered"] == "covered"
    ]
    assert false_covered == []


def test_undetermined_by_design_stays_a_short_argued_list(judged):
    exceptions = [row for row, _ in judged if row.truth.expect is not None]
    hardware = [row for row, _ in judged if row.kind != "third-party daemon"]
    on_hardware = [row for row in exceptions if row.kind != "third-party daemon"]
    share = len(on_hardware) / len(hardware)
    print(f"undetermined by design: {len(on_hardware)}/{len(hardware)} hardware rows ({share:.0%})")
    assert share <= UNDETERMINED_SHARE_CEILING, [r.name for r in on_hardware]
    for row in exceptions:
        assert row.truth.reason is not None, row.name
        assert len(row.truth.reason) >= 30, row.name
    # A covered host may sit on the list only when nothing but its MAC prefix shows its maker,
    # or (behind a recorder) when the recorder's channel list carries no identity at all.
    argued = [
        row
        for row in exceptions
        if row.truth.covered
        and "MAC prefix" not in row.truth.reason
        and not (row.kind == "behind a recorder" and "no maker" in row.truth.reason)
    ]
    assert argued == [], [row.name for row in argued]
