"""The credentials file: validation names file and line (never a value), scoping, redaction."""

from ipaddress import IPv4Address
from pathlib import Path

import pytest

from scanner.credentials import (
    MAX_TRIES,
    CredentialError,
    CredentialStore,
    load_credentials,
    parse_credentials,
)

LAB_FILE = Path(__file__).parents[2] / "examples" / "lab" / "city-hall-credentials.toml"

GOOD = """\
schema_version = 1

[[http]]
match = "198.18.0.0/24"
username = "site-wide"
password = "pw-site-wide-1"

[[http]]
match = ["198.18.0.16"]
username = "nvr-admin"
password = "pw-nvr-admin-2"
scheme = "any"

[[http]]
match = "site:Annex"
username = "annex"
password = "pw-annex-3"

[[onvif]]
match = "198.18.0.10"
username = "onvif"
password = "pw-onvif-4"

[[snmp]]
match = "198.18.0.0/16"
communities = ["pw-community-5"]

[[snmp.v3]]
username = "auditor"
auth_protocol = "sha"
auth_key = "pw-auth-6"
priv_protocol = "aes"
priv_key = "pw-priv-7"
"""
SECRETS = [f"pw-{name}" for name in ("site-wide-1", "nvr-admin-2", "annex-3", "onvif-4")]


def store(site: str | None = None) -> CredentialStore:
    return CredentialStore(entries=parse_credentials(GOOD), site=site)


def test_most_specific_entry_first_and_at_most_max_tries():
    logins = store().http_logins(IPv4Address("198.18.0.16"))
    assert [login.username for login in logins] == ["nvr-admin", "site-wide"]
    assert len(logins) <= MAX_TRIES
    assert logins[0].scheme == "any"


def test_out_of_scope_hosts_get_nothing_and_nothing_is_guessed():
    assert store().http_logins(IPv4Address("198.19.0.16")) == ()
    assert store().snmp_for(IPv4Address("198.20.0.1")).communities == ()


def test_site_scope_applies_only_at_that_site():
    host = IPv4Address("198.19.5.5")
    assert store().http_logins(host) == ()
    assert [login.username for login in store("annex").http_logins(host)] == ["annex"]


def test_onvif_falls_back_to_web_logins():
    assert [login.username for login in store().onvif_logins(IPv4Address("198.18.0.10"))] == [
        "onvif"
    ]
    assert [login.username for login in store().onvif_logins(IPv4Address("198.18.0.11"))] == [
        "site-wide"
    ]


def test_snmp_communities_and_v3_users_are_ready_for_the_snmp_probe():
    snmp = store().snmp_for(IPv4Address("198.18.0.99"))
    assert [c.get_secret_value() for c in snmp.communities] == ["pw-community-5"]
    assert snmp.v3_users[0].username == "auditor"
    assert snmp.v3_users[0].auth_protocol == "sha"


def test_repr_and_dump_never_show_a_secret():
    loaded = store()
    texts = [
        repr(loaded),
        str(loaded),
        loaded.model_dump_json(),
        repr(loaded.http_logins(IPv4Address("198.18.0.16"))),
    ]
    for text in texts:
        for secret in [*SECRETS, "pw-community-5", "pw-auth-6", "pw-priv-7"]:
            assert secret not in text
    assert set(loaded.secrets()) >= {*SECRETS, "pw-community-5", "pw-auth-6", "pw-priv-7"}


@pytest.mark.parametrize(
    ("text", "line", "where"),
    [
        (
            '[[http]]\nmatch = "nowhere"\nusername = "u"\npassword = "pw-leak-a"\n',
            2,
            "http[1].match",
        ),
        (
            '[[http]]\nmatch = "198.18.0.1"\nusername = "u"\npassword = "pw-leak-b"\n'
            '\n[[http]]\nmatch = "198.18.0.2"\nusername = "u"\npassword = "pw-leak-c"\n'
            'scheme = "ntlm"\n',
            10,
            "http[2].scheme",
        ),
        ('[[snmp]]\nmatch = "198.18.0.1"\ncommunity = "pw-leak-d"\n', 3, "snmp[1].community"),
        ('[[onvif]]\nmatch = "198.18.0.1"\nusername = "u"\n', 1, "onvif[1].password"),
        ('[[http]]\nmatch = "198.18.0.1"\npassword = "pw-leak-e\nusername = "u"\n', 3, None),
        ('username = "u"\npassword = "pw-leak-f"\n', 1, "username"),
    ],
)
def test_errors_name_file_line_and_key_but_never_the_value(text, line, where):
    with pytest.raises(CredentialError) as caught:
        parse_credentials(text, name="creds.toml")
    message = str(caught.value)
    assert message.startswith(f"creds.toml:{line}:"), message
    if where:
        assert where in message
    assert "pw-leak" not in message
    assert "\n" not in message
    # No chained exception (a pydantic error quotes input values) travels with it either.
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


def test_unreadable_and_oversized_files(tmp_path):
    with pytest.raises(CredentialError, match="cannot read"):
        load_credentials(tmp_path / "missing.toml")
    big = tmp_path / "big.toml"
    big.write_text("#" * (300 * 1024))
    with pytest.raises(CredentialError, match=r"big\.toml:1: larger than"):
        load_credentials(big)
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00password")
    with pytest.raises(CredentialError, match="not UTF-8"):
        load_credentials(binary)


def test_lab_file_loads_and_names_the_recorders():
    loaded = load_credentials(LAB_FILE, site="City Hall")
    assert loaded.http_logins(IPv4Address("198.18.0.190"))
    assert loaded.http_logins(IPv4Address("198.18.0.191"))
    assert loaded.http_logins(IPv4Address("198.18.0.10")) == ()
