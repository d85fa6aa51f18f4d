"""Lab profiles: simulated hosts as data (TOML), validated before anything is built.

A profile lists hosts with their address, MAC, ground truth (what the device really is, for
tests and demos) and what each answers on each protocol. Adding a device is adding a table.
"""

from __future__ import annotations

import tomllib
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from scanner.errors import LabError
from scanner.results import normalize_mac
from scanner.scope import LAB_NETWORK

__all__ = ["GroundTruth", "HttpRoute", "HttpService", "LabHost", "LabProfile", "load_profile"]

# A profile is a hand-written file; 1 MiB is thousands of hosts.
MAX_PROFILE_BYTES: Final = 1024 * 1024
# The Linux bridge holds at most 1,023 ports (lab-feasibility §2.2); larger labs use scale mode.
MAX_BRIDGED_HOSTS: Final = 1000


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GroundTruth(_Strict):
    """What the simulated device really is: the answer the scanner should reach."""

    maker: str | None
    brand: str | None = None
    model: str | None = None
    covered: bool
    note: str | None = None


class HttpRoute(_Strict):
    """The exact bytes one path answers with. ``{http_date}`` and ``{content_length}`` expand."""

    path: str = Field(description="request path, or '*' for every other path")
    status_line: str
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""


class HttpService(_Strict):
    """An HTTP server on one port."""

    port: int = Field(default=80, ge=1, le=65535)
    routes: tuple[HttpRoute, ...] = Field(min_length=1)

    def route_for(self, path: str) -> HttpRoute:
        """Return the route for ``path``, falling back to ``*`` then the first route."""
        for route in self.routes:
            if route.path == path:
                return route
        for route in self.routes:
            if route.path == "*":
                return route
        return self.routes[0]


class LabHost(_Strict):
    """One simulated device."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,30}$")
    address: IPv4Address
    mac: str
    truth: GroundTruth
    http: tuple[HttpService, ...] = ()

    @field_validator("mac")
    @classmethod
    def _mac(cls, value: str) -> str:
        mac = normalize_mac(value)
        if int(mac[:2], 16) & 1:
            raise ValueError("a host MAC must be unicast (first octet even)")
        return mac


class LabProfile(_Strict):
    """A whole simulated site."""

    schema_version: int = Field(ge=1, le=1)
    name: str = Field(pattern=r"^[a-z0-9]{1,12}$")
    description: str = ""
    network: IPv4Network
    scanner_address: IPv4Address
    hosts: tuple[LabHost, ...] = Field(min_length=1, max_length=MAX_BRIDGED_HOSTS)

    @model_validator(mode="after")
    def _consistent(self) -> LabProfile:
        if not self.network.subnet_of(LAB_NETWORK):
            raise ValueError(f"lab network {self.network} must be inside {LAB_NETWORK}")
        addresses = [self.scanner_address, *(h.address for h in self.hosts)]
        for addr in addresses:
            if addr not in self.network or addr in {
                self.network.network_address,
                self.network.broadcast_address,
            }:
                raise ValueError(f"{addr} is not a host address of {self.network}")
        if len(set(addresses)) != len(addresses):
            raise ValueError("two hosts (or a host and the scanner) share an address")
        names = [h.name for h in self.hosts]
        if len(set(names)) != len(names):
            raise ValueError("two hosts share a name")
        macs = [h.mac for h in self.hosts]
        if len(set(macs)) != len(macs):
            raise ValueError("two hosts share a MAC")
        return self


def load_profile(path: Path) -> LabProfile:
    """Read and validate a profile file; every problem becomes one clear :class:`LabError`."""
    try:
        if path.stat().st_size > MAX_PROFILE_BYTES:
            raise LabError(f"{path}: profile larger than 1 MiB")
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LabError(f"{path}: cannot read profile: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise LabError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return LabProfile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise LabError(f"{path}: {where}: {first['msg']}") from exc
