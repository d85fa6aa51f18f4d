"""What a sweep keeps of its results: counts, liveness rows and observations, not the rows."""

from datetime import UTC, datetime
from ipaddress import IPv4Address

from scanner.cli.sweep_record import SweepRecord
from scanner.results import Observation, ProbeResult, ProbeStatus

AT = datetime(2026, 12, 1, tzinfo=UTC)


def row(probe, target, status, observations=()):
    return ProbeResult(
        probe=probe,
        target=target,
        status=ProbeStatus(status),
        started_at=AT,
        elapsed_s=0.1,
        observations=observations,
    )


def test_counts_liveness_and_observations_are_kept():
    banner = Observation(
        host=IPv4Address("198.18.0.10"), protocol="http", field="http.server", value="App-webs/"
    )
    record = SweepRecord()
    for result in (
        row("liveness", "198.18.0.10", "success"),
        row("http_banner", "198.18.0.10:80", "success", (banner,)),
        row("http_banner", "198.18.0.10:81", "refused"),
        row("http_banner", "198.18.0.11:80", "refused"),
    ):
        record.add(result)
    assert record.status_counts == {
        "liveness": {"success": 1},
        "http_banner": {"success": 1, "refused": 2},
    }
    assert [r.target for r in record.liveness] == ["198.18.0.10"]
    assert record.observations == [banner]
    assert record.keys == set()  # only a resume needs them


def test_a_resume_remembers_what_ran_and_who_answered():
    record = SweepRecord()
    record.add(row("rtsp", "198.18.0.12:554", "success"), remember_keys=True)
    record.add(row("rtsp", "198.18.0.13:554", "refused"), remember_keys=True)
    record.add(row("ws_discovery", "*", "no_reply"), remember_keys=True)
    assert record.keys == {("rtsp", "198.18.0.12"), ("rtsp", "198.18.0.13"), ("ws_discovery", "*")}
    assert record.live_targets == {"198.18.0.12"}
