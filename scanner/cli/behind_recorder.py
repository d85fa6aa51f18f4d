"""What the sweep knows about logins and recorders, for the limitations statement (issue 9).

The composition root is the one place that sees both the observations (which hosts asked for a
login, which refused it) and the identities (which devices are recorders, which cameras were
listed behind them), so the two are joined here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from fingerprints import DeviceIdentity
from scanner.channel_facts import RECORDER_MODEL
from scanner.results import Observation

__all__ = [
    "RECORDER_MODEL",
    "is_recorder",
    "login_notes",
    "remote_channel_counts",
    "unlisted_recorders",
]

_RECORDER_CLASSES: Final = frozenset({"nvr", "dvr", "xvr", "hvr", "recorder"})
#: Dahua's DHIP notifyDevInfo counts a recorder's IP channels (Phenomite/AMP-Research DHIP capture;
#: cameras answer 0), which names a recorder whatever its model string says.
_REMOTE_CHANNELS: Final = re.compile(r'"RemoteVideoInputChannels"\s*:\s*(\d{1,4})')


#: What a device says its own model is, read whether or not a rule knows the maker.
_SELF_MODELS: Final = frozenset(
    {"onvif.model", "isapi.model", "dahua_cgi.device_type", "dhip.model", "upnp.model_name"}
)


def remote_channel_counts(observations: Iterable[Observation]) -> dict[str, int]:
    """host -> IP channels its DHIP reply reports, for the hosts that report any.

    A host whose own reply names a recorder model (a white-label NVR no rule knows, so its
    identity carries no model) is a recorder too, with 0 channels reported.
    """
    counts: dict[str, int] = {}
    for obs in observations:
        if obs.key == "dhip.raw" and (found := _REMOTE_CHANNELS.search(obs.value)):
            count = int(found.group(1))
            if count > 0:
                counts[str(obs.host)] = count
        elif obs.behind is None and obs.key in _SELF_MODELS and RECORDER_MODEL.match(obs.value):
            counts.setdefault(str(obs.host), 0)
    return counts


def login_notes(observations: Iterable[Observation]) -> dict[str, dict[str, list[str]]]:
    """host -> ``required`` / ``rejected`` / ``accepted`` -> what asked (probe and path)."""
    notes: dict[str, dict[str, list[str]]] = {}
    for obs in observations:
        if obs.protocol != "auth":
            continue
        per = notes.setdefault(str(obs.host), {})
        values = per.setdefault(obs.field, [])
        if obs.value not in values:
            values.append(obs.value)
    return notes


def is_recorder(identity: DeviceIdentity, channel_counts: Mapping[str, int] | None = None) -> bool:
    """Whether the device is a recorder: DHIP IP channels, device class or model name."""
    if channel_counts and any(a in channel_counts for a in identity.addresses):
        return True
    if identity.device_class and identity.device_class.lower() in _RECORDER_CLASSES:
        return True
    return bool(identity.model and RECORDER_MODEL.match(identity.model))


def unlisted_recorders(
    identities: Sequence[DeviceIdentity],
    logins: Mapping[str, Mapping[str, list[str]]],
    *,
    have_credentials: bool,
    channel_counts: Mapping[str, int] | None = None,
) -> list[tuple[str, str]]:
    """(recorder label, why) for each recorder no camera was listed behind."""
    listed = {identity.behind for identity in identities if identity.behind}
    out = []
    for identity in identities:
        if identity.behind is not None or not is_recorder(identity, channel_counts):
            continue
        if identity.device_key in listed:
            continue
        label = identity.device_key
        what = " ".join(part for part in (identity.brand or identity.maker, identity.model) if part)
        reported = max((channel_counts or {}).get(a, 0) for a in identity.addresses or ("",))
        if reported:
            what = f"{what}, {reported} IP channels by DHIP" if what else f"{reported} IP channels"
        if what:
            label = f"{label} ({what})"
        notes: dict[str, list[str]] = {}
        for address in identity.addresses:
            for kind, values in logins.get(address, {}).items():
                notes.setdefault(kind, []).extend(values)
        if notes.get("rejected"):
            why = "refused the login from the credentials file"
        elif notes.get("required") and have_credentials:
            why = "asked for a login and no entry of the credentials file names it"
        elif notes.get("required"):
            why = "asked for a login and no credentials file was given (--credentials)"
        elif not have_credentials:
            # An ONVIF-only recorder is asked for its media channels only with a login.
            why = "listed no channels without a login, and no credentials file was given"
        else:
            why = "answered no channel list (ISAPI InputProxy, Dahua RemoteDevice, ONVIF media)"
        out.append((label, why))
    return out
