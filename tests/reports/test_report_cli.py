"""``report``, ``diff``, ``history`` and ``remediation`` from the command line: formats, exit
codes, digest verification, and one clear line (exit 2) for every kind of bad input."""

import io
import json

import pytest
from pypdf import PdfReader

from reports import ExportFormat, FilingFormat, export
from scanner.cli import main
from scanner.cli.outputs import publish_inventory
from scanner.cli.report_command import RenderFormat

from .conftest import CITY_SAMPLE, make_inventory


@pytest.fixture
def inventory_file(tmp_path, sample_inventory):
    path = tmp_path / "inventory.json"
    with path.open("wb") as handle:
        export(sample_inventory, ExportFormat.JSON, handle)
    return path


def test_render_formats_cover_every_export_format():
    every = {f.value for f in ExportFormat} | {f.value for f in FilingFormat} | {"table"}
    assert every == {f.value for f in RenderFormat}


@pytest.mark.parametrize("fmt", [f.value for f in RenderFormat])
def test_report_renders_every_format(inventory_file, tmp_path, fmt):
    out = tmp_path / f"again.{fmt}"
    assert main(["report", str(inventory_file), "--format", fmt, "-o", str(out)]) == 0
    data = out.read_bytes()
    if fmt in {"pdf", "far-report-pdf"}:
        assert len(PdfReader(io.BytesIO(data)).pages) >= 1
    elif fmt == "xlsx":
        import openpyxl

        sheet = openpyxl.load_workbook(io.BytesIO(data))["Devices"]
        assert "198.18.0.10" in {c.value for c in sheet["A"]}
    else:
        assert b"198.18.0.10" in data


def test_report_json_is_byte_identical(inventory_file, tmp_path):
    out = tmp_path / "again.json"
    assert main(["report", str(inventory_file), "-f", "json", "-o", str(out)]) == 0
    assert out.read_bytes() == inventory_file.read_bytes()


@pytest.mark.parametrize(("policy", "code"), [("never", 0), ("covered", 1), ("likely", 1)])
def test_fail_on_policy(inventory_file, tmp_path, policy, code):
    args = ["report", str(inventory_file), "-f", "junit", "-o", str(tmp_path / "j.xml")]
    assert main([*args, "--fail-on", policy]) == code


def test_fail_on_likely_catches_leads_only(tmp_path):
    path = tmp_path / "lead.json"
    with path.open("wb") as handle:  # only the Dahua MAC-prefix lead, nothing covered
        export(make_inventory([CITY_SAMPLE[4]]), ExportFormat.JSON, handle)
    out = ["-o", str(tmp_path / "t.txt")]
    assert main(["report", str(path), "--fail-on", "covered", *out]) == 0
    assert main(["report", str(path), "--fail-on", "likely", *out]) == 1


def test_verify_ok_and_tampered(inventory_file, capsys):
    assert main(["report", str(inventory_file), "--verify"]) == 0
    assert capsys.readouterr().out.startswith("OK ")
    document = json.loads(inventory_file.read_text())
    document["devices"].pop(0)
    inventory_file.write_text(json.dumps(document, indent=2))
    assert main(["report", str(inventory_file), "--verify"]) == 1
    assert "FAILED" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{", "JSON"),
        (b"[1, 2]", "not an ndaa-scan inventory"),
        (b'{"schema_version": "1.1"}', "not an ndaa-scan inventory"),
        (b"\xff\xfe garbage", "JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "inventory"),
    ],
)
def test_corrupt_inventory_is_one_line_exit_2(tmp_path, capsys, content, message):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    for args in (
        ["report", str(path)],
        ["report", str(path), "--verify"],
        ["diff", str(path), str(path)],
    ):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert err.startswith("ndaa-scan: error:")
        assert "Traceback" not in err
    assert main(["report", str(path), "--verify"]) == 2
    assert message in capsys.readouterr().err


def test_missing_file_and_missing_scan_are_exit_2(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["report", "17"]) == 2
    assert "no scan '17'" in capsys.readouterr().err


def test_bad_db_url_is_exit_2(capsys):
    for args in (
        ["history", "--db", "bogus://"],
        ["diff", "1", "2", "--db", "bogus://"],
        ["remediation", "list", "--db", "postgresql://u:pw@127.0.0.1:1/x"],
    ):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert err.startswith("ndaa-scan: error: cannot open history database")
        assert "pw@" not in err


def test_history_diff_and_remediation_by_scan_id(sample_inventory, tmp_path, capsys):
    publish_inventory(sample_inventory, tmp_path / "a")
    assert main(["history"]) == 0
    assert "198.18.0.0/24" in capsys.readouterr().out
    assert (
        main(
            [
                "remediation",
                "set",
                "198.18.0.10",
                "--disposition",
                "replace",
                "--status",
                "done",
                "--switch-port",
                "sw1/7",
            ]
        )
        == 0
    )
    assert main(["remediation", "set", "198.18.0.12", "--disposition", "accepted_exception"]) == 2
    assert "--waiver" in capsys.readouterr().err
    assert (
        main(
            [
                "remediation",
                "set",
                "198.18.0.12",
                "--disposition",
                "accepted_exception",
                "--waiver",
                "W-1",
                "--target-date",
                "2027-01-31",
            ]
        )
        == 0
    )
    assert main(["remediation", "set", "198.18.0.12", "--target-date", "soon"]) == 2
    base = make_inventory(CITY_SAMPLE[:4])
    when = base.scan.finished_at.replace(year=2030)  # after the remediation was recorded
    later = base.model_copy(
        update={
            "scan": base.scan.model_copy(update={"finished_at": when}),
            "devices": tuple(d.model_copy(update={"last_seen": when}) for d in base.devices),
        }
    )
    publish_inventory(later, tmp_path / "b")
    capsys.readouterr()
    assert main(["diff", "previous", "latest"]) == 1
    out = capsys.readouterr().out
    assert "- gone" in out
    assert "3c:ef:8c" in out or "198.18.0.12" in out
    assert main(["diff", str(tmp_path / "a" / "inventory.json"), "1"]) == 0
    reappeared = json.loads((tmp_path / "b" / "inventory.json").read_text())
    assert reappeared["devices"][0]["flags"] == ["reappeared_after_remediation"]
    assert main(["report", "latest", "--verify"]) == 0
    capsys.readouterr()
    assert main(["remediation", "list", "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2


def test_diff_json(inventory_file, capsys):
    assert main(["diff", str(inventory_file), str(inventory_file), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["added"] == []
