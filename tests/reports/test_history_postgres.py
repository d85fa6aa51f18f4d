"""The history store on PostgreSQL, the database many sites share (any SQLAlchemy URL works).

The throwaway cluster (tests/servers.py) is started once per run, owned by the ``postgres``
user and listening on a Unix socket only, so the test opens no TCP port at all.
"""

from datetime import timedelta

from reports import Disposition, RemediationStatus, open_store
from scanner.cli.outputs import record_history

from .conftest import CITY_SAMPLE, T0, make_inventory
from .test_history import HIK, later


def test_history_and_remediation_on_postgresql(postgres_url, monkeypatch):
    monkeypatch.setenv("NDAA_SCAN_DB", postgres_url)
    first = make_inventory(CITY_SAMPLE)
    scan_id, _ = record_history(first)
    store = open_store()
    assert store is not None
    store.set_remediation(
        HIK,
        disposition=Disposition.REPLACE,
        status=RemediationStatus.DONE,
        now=T0 + timedelta(days=1),
        place="City Hall lobby",
    )
    second_id, second = record_history(later(first, 30))
    assert second_id == scan_id + 1
    hik = {d.mac: d for d in second.devices}[HIK]
    assert hik.flags == ("reappeared_after_remediation",)
    assert hik.first_seen == first.scan.finished_at
    assert hik.location.site == "City Hall lobby"
    assert [row.id for row in store.scans()][:2] == [second_id, scan_id]
    assert store.inventory("latest").digest == second.digest
    store.close()
