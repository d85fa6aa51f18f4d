"""The limitations name the hosts examined without a login and each recorder left unlisted."""

from reports import behind_recorder_limitations, scan_limitations
from reports.inventory import MAX_TEXT


def test_hosts_without_login_are_named_in_lines_that_fit_the_report():
    logins = {
        f"198.18.0.{n}": {"required": ["isapi /ISAPI/System/deviceInfo"]} for n in range(2, 60)
    }
    logins["198.18.0.9"] = {"required": ["isapi x"], "accepted": ["isapi y"]}
    logins["198.18.0.200"] = {"rejected": ["dahua_cgi z"]}
    notes = behind_recorder_limitations(logins, [], credentials_file="creds.toml")
    named = [n for n in notes if n.startswith("Examined without credentials")]
    assert len(named) > 1
    assert all(len(n) <= MAX_TEXT for n in notes)
    text = " ".join(named)
    assert "198.18.0.2," in text
    assert "198.18.0.59." in text
    assert "198.18.0.9," not in text  # a login was accepted there
    assert any(n.startswith("Refused the login") and "198.18.0.200" in n for n in notes)


def test_each_unlisted_recorder_gets_its_own_line():
    notes = behind_recorder_limitations(
        {},
        [("198.18.0.16 (Hikvision DS-7616NI-K2)", "refused the login from the credentials file")],
    )
    assert notes == (
        "Recorder 198.18.0.16 (Hikvision DS-7616NI-K2): its channel cameras (on its internal PoE "
        "ports, invisible to the network) could not be enumerated; it refused the login from the "
        "credentials file.",
    )


def test_the_credentials_statement_follows_whether_credentials_were_used():
    without = " ".join(scan_limitations(["arp"], {}))
    used = " ".join(scan_limitations(["arp"], {}, credentials_used=True))
    assert "No credentials were used" in without
    assert "cameras behind recorders are not listed" in without
    assert "No credentials were used" not in used
    assert "Credentials from the operator's file" in used
