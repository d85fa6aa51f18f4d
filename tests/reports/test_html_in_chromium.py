"""The HTML report opened in headless Chromium: it renders, and the console stays clean.

Chromium runs from Debian's ``chromium`` package (scripts/bootstrap.sh installs it) with every
background-networking feature off and a throw-away profile, and loads only ``file://`` pages,
so the test sends nothing anywhere. Console messages are read from Chromium's own log
(``--enable-logging=stderr --v=0`` prints each one as ``INFO:CONSOLE``); a negative control
proves the detector sees errors, so a silent pass cannot come from a broken detector.
"""

import io
import os
import re
import shutil
import subprocess

import pytest

from reports import ExportFormat, export

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="Debian's chromium is not installed (scripts/bootstrap.sh installs it)",
    ),
]

SAFE_FLAGS = (
    "--headless",
    "--no-sandbox",  # runs as root in CI containers, where the setuid sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-domain-reliability",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
    "--enable-logging=stderr",
    "--v=0",
)
CONSOLE = re.compile(r":CONSOLE[:(]")


def _isolation() -> list[str]:
    # Belt and braces: as root, run Chromium in a fresh network namespace with no interfaces
    # up, so even a background request it was not supposed to make has nowhere to go.
    if os.geteuid() == 0 and shutil.which("unshare"):
        return ["unshare", "--net"]
    return []


def chromium(tmp_path, url, *extra):
    assert url.startswith("file://")
    profile = tmp_path / "chromium-profile"
    return subprocess.run(
        [*_isolation(), CHROMIUM, *SAFE_FLAGS, f"--user-data-dir={profile}", *extra, url],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def write_html(tmp_path, inventory):
    buffer = io.BytesIO()
    export(inventory, ExportFormat.HTML, buffer)
    path = tmp_path / "inventory.html"
    path.write_bytes(buffer.getvalue())
    return path


def console_lines(stderr: str) -> list[str]:
    """Console messages of the page under test; Chromium's own chrome:// pages also log here."""
    return [
        line
        for line in stderr.splitlines()
        if CONSOLE.search(line) and "source: chrome://" not in line
    ]


def test_detector_sees_console_errors(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><title>x</title><script>console.error('self-check');nope();</script>"
    )
    proc = chromium(tmp_path, page.as_uri(), "--dump-dom")
    lines = console_lines(proc.stderr)
    assert any("self-check" in line for line in lines), proc.stderr[-2000:]
    assert any("nope is not defined" in line for line in lines)


@pytest.mark.parametrize("fixture", ["sample_inventory", "hostile_inventory"])
def test_report_renders_without_console_errors(tmp_path, request, fixture):
    inventory = request.getfixturevalue(fixture)
    page = write_html(tmp_path, inventory)
    proc = chromium(tmp_path, page.as_uri(), "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert console_lines(proc.stderr) == []
    dom = proc.stdout
    assert "<title>NDAA §889 remediation inventory" in dom
    assert dom.count("<tr>") >= inventory.summary.devices
    # Hostile strings stayed text: no element the page did not put there.
    assert "<script" not in dom
    assert "<svg" in dom


def test_report_screenshot_is_not_blank(tmp_path, sample_inventory):
    page = write_html(tmp_path, sample_inventory)
    shot = tmp_path / "shot.png"
    proc = chromium(
        tmp_path,
        page.as_uri(),
        f"--screenshot={shot}",
        "--window-size=1280,1400",
        "--hide-scrollbars",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert console_lines(proc.stderr) == []
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG")
    assert len(data) > 20_000  # a blank page compresses to a few kB
