"""``ndaa-scan identify`` on good, annotated, hostile and oversized input (no network)."""

import json
import subprocess
import sys


def run(*args, stdin=None, stdin_bytes=None):
    proc = subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        capture_output=True,
        input=stdin_bytes if stdin_bytes is not None else (stdin or "").encode(),
        timeout=120,
        check=False,
    )
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def line(host, key, value, **extra):
    protocol, field = key.split(".")
    return json.dumps({"host": host, "protocol": protocol, "field": field, "value": value, **extra})


def test_one_object_per_host_with_the_contract_keys():
    text = "\n".join(
        [
            line("198.18.0.20", "sadp.serial", "DS-2CD2385G1-I20200414AAWRE33842150"),
            line("198.18.0.21", "onvif.serial", "DS-2CD2385G1-I20200414AAWRE33842150"),
            line("198.18.0.22", "dhip.vendor", "Lorex"),
            line("198.18.0.23", "http.server_header", "Webs", source="a corpus note"),
        ]
    )
    code, out, err = run("identify", "-", stdin=text)
    assert code == 0, err
    rows = {row["host"]: row for row in map(json.loads, out.splitlines())}
    assert set(rows) == {"198.18.0.20", "198.18.0.21", "198.18.0.22", "198.18.0.23"}
    for row in rows.values():
        assert {"host", "maker", "brand", "covered", "confidence", "evidence"} <= row.keys()
    assert rows["198.18.0.20"]["device_key"] == rows["198.18.0.21"]["device_key"]
    assert (rows["198.18.0.22"]["maker"], rows["198.18.0.22"]["brand"]) == ("dahua", "Lorex")
    assert rows["198.18.0.23"]["covered"] is None
    assert "ignored keys" in err
    assert "source" in err


def test_hostile_lines_are_skipped_and_reported():
    huge = line("198.18.0.30", "http.title", "x" * (2 * 1024 * 1024))
    text = "\n".join(
        [
            "[1, 2, 3]",
            '{"host": "not-an-ip", "protocol": "http", "field": "title", "value": "x"}',
            huge,
            line("198.18.0.31", "http.server_header", "App-webs/"),
            '"just a string"',
        ]
    )
    code, out, err = run("identify", "-", stdin=text)
    assert code == 0, err
    rows = [json.loads(x) for x in out.splitlines()]
    assert [(r["host"], r["maker"]) for r in rows] == [("198.18.0.31", "hikvision")]
    assert "line 1: not a JSON object" in err
    assert "line 2" in err
    assert "line 3: longer than 1 MiB" in err
    assert "line 5" in err
    assert "Traceback" not in err


def test_invalid_utf8_and_lone_surrogates_do_not_crash():
    raw = b'\xff\xfe{"host": 1}\n' + line("198.18.0.40", "http.title", "\ud800 ok").encode()
    code, out, err = run("identify", "-", stdin_bytes=raw)
    assert code == 0, err
    assert json.loads(out.splitlines()[0])["host"] == "198.18.0.40"
    assert "Traceback" not in err


def test_missing_file_is_a_usage_error():
    code, _, err = run("identify", "/nonexistent/observations.jsonl")
    assert code == 2
    assert "cannot read" in err
