"""Command-line behaviour: exit codes, one-line errors, refusals before any packet."""

import json
import subprocess
import sys

import pytest

from scanner.cli import main, sweep_command


def run(*args, stdin=None):
    proc = subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


def test_help_lists_every_subcommand():
    code, out, _ = run("--help")
    assert code == 0
    for name in ("sweep", "identify", "report", "diff", "lab", "fingerprints"):
        assert name in out


@pytest.mark.parametrize(
    "sub",
    [
        "sweep",
        "identify",
        "report",
        "diff",
        "lab up",
        "lab down",
        "lab status",
        "fingerprints verify",
        "fingerprints list",
    ],
)
def test_each_subcommand_has_help(sub):
    code, out, _ = run(*sub.split(), "--help")
    assert code == 0
    assert "Usage" in out


@pytest.mark.parametrize(
    "args",
    [
        ["sweep", "--bogus"],
        ["sweep"],
        ["sweep", "198.18.0.0/24", "--rate", "-1"],
        ["report", "x.json", "--format", "pdfx"],
        ["nonsense"],
        ["sweep", "not-an-address"],
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(args, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("ndaa-scan: error:")


@pytest.mark.parametrize("target", ["8.8.8.0/24", "10.1.2.0/24", "192.168.1.64", "1.1.1.1"])
def test_sweep_refuses_outside_the_safe_ranges_before_any_send(target, monkeypatch, capsys):
    def no_network(*_args, **_kwargs):
        raise AssertionError("a probe context was created for a refused scope")

    monkeypatch.setattr(sweep_command, "sweep", no_network)
    monkeypatch.setattr("scanner.sweeper.ProbeContext", no_network)
    assert main(["sweep", target, "--out", "/nonexistent-never-written"]) == 2
    assert "refusing to scan" in capsys.readouterr().err


def test_lab_range_from_a_namespace_that_routes_out_is_refused(monkeypatch, capsys):
    monkeypatch.setattr(
        "scanner.routes.route_to", lambda addr: {"gateway": "192.0.2.1", "dev": "eth0"}
    )
    monkeypatch.setattr("scanner.sweeper.ProbeContext", lambda *a, **k: pytest.fail("sent"))
    assert main(["sweep", "198.18.0.0/24", "--out", "/nonexistent-never-written"]) == 3
    assert "gateway 192.0.2.1" in capsys.readouterr().err


def test_identify_reads_stdin_and_writes_one_object_per_host():
    lines = "\n".join(
        json.dumps(row)
        for row in [
            {
                "host": "198.18.0.10",
                "protocol": "http",
                "field": "server_header",
                "value": "App-webs/",
            },
            {
                "host": "198.18.0.10",
                "protocol": "mac",
                "field": "mac",
                "value": "44-19-B6-4E-1A-20",
            },
            {
                "host": "198.18.0.11",
                "protocol": "http",
                "field": "www_authenticate",
                "value": 'Digest realm="AXIS_ACCC8E3A0A8F", nonce="n"',
            },
            "this line is not json",
        ]
    )
    code, out, err = run("identify", "-", stdin=lines)
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["host"], r["maker"], r["covered"]) for r in rows] == [
        ("198.18.0.10", "hikvision", True),
        ("198.18.0.11", "axis", False),
    ]
    assert {"host", "maker", "brand", "covered", "confidence", "evidence"} <= rows[0].keys()
    assert "line 4" in err


def test_identify_with_no_valid_input_is_a_usage_error():
    code, _, err = run("identify", "-", stdin="{}\n")
    assert code == 2
    assert "no valid observations" in err


def test_report_and_exit_policy(tmp_path):
    from reports import ExportFormat, export
    from tests.reports.conftest import CITY_SAMPLE, make_inventory

    path = tmp_path / "inventory.json"
    with path.open("wb") as handle:
        export(make_inventory(CITY_SAMPLE), ExportFormat.JSON, handle)
    assert main(["report", str(path), "--format", "csv", "-o", str(tmp_path / "x.csv")]) == 0
    assert (tmp_path / "x.csv").read_text().startswith("address,")
    assert main(["report", str(path), "--fail-on", "covered", "-o", str(tmp_path / "t.txt")]) == 1
    assert main(["diff", str(path), str(path)]) == 0


def test_fingerprints_verify_exit_codes(tmp_path):
    assert run("fingerprints", "verify")[0] == 0
    code, out, _ = run("fingerprints", "verify", "tests/fingerprints/bad_rules/broken.toml")
    assert code == 1
    assert ": FAIL: " in out


NMAP_XML = "tests/data/captures/nmap_service/lab-cityhall-3hosts.xml"


def test_import_turns_an_nmap_report_into_an_inventory(tmp_path):
    code = main(["import", NMAP_XML, "--out", str(tmp_path), "--quiet", "--fail-on", "never"])
    assert code == 0
    results = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert {r["target"] for r in results} == {"198.18.0.10", "198.18.0.20", "198.18.0.75"}
    keys = {(o["protocol"], o["field"]) for r in results for o in r["observations"]}
    assert {("mac", "mac"), ("http", "server_header"), ("nmap", "product")} <= keys
    inventory = json.loads((tmp_path / "inventory.json").read_text())
    makers = {d["addresses"][0]: d["maker"] for d in inventory["devices"]}
    assert makers.get("198.18.0.10") == "hikvision"


def test_import_refuses_what_is_not_an_nmap_report(tmp_path, capsys):
    bad = tmp_path / "bomb.xml"
    bad.write_text('<!DOCTYPE a [<!ENTITY b "c">]><nmaprun>&b;</nmaprun>')
    assert main(["import", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "unsafe XML" in capsys.readouterr().err


def test_onvif_credentials_never_reach_the_terminal(tmp_path, monkeypatch, capsys):
    creds = tmp_path / "onvif.toml"
    creds.write_text('username = "admin"\npassword = "S3cr3t-pa55" oops\n')
    monkeypatch.setattr(
        sweep_command, "sweep", lambda *a, **k: pytest.fail("no sweep on bad input")
    )
    code = main(
        ["sweep", "198.18.0.0/30", "--onvif-credentials", str(creds), "--out", str(tmp_path)]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "S3cr3t" not in err
    assert "onvif.toml" in err


def test_settings_hold_secrets_as_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("NDAA_SCAN_ONVIF_USERNAME", "admin")
    monkeypatch.setenv("NDAA_SCAN_ONVIF_PASSWORD", "hunter2")
    settings = sweep_command._load_settings(None, "campus")
    assert settings.onvif_password.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(settings)
    assert "campus" not in repr(settings)


def test_help_lists_commands_in_workflow_order():
    from scanner.cli.common import COMMAND_ORDER

    _, out, _ = run("--help")
    lines = out.splitlines()
    # A command's row in the rich panel starts with its name after the border.
    positions = [
        next(i for i, line in enumerate(lines) if line.lstrip("│ ").startswith(f"{name} "))
        for name in COMMAND_ORDER
    ]
    assert positions == sorted(positions)
