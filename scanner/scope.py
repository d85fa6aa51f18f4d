"""What a sweep is allowed to touch, decided once, before any packet is built.

The scope is only what the user gave: networks, ranges and hosts, minus exclusions. On top of
that a safety policy refuses private and public addresses unless the user says so explicitly,
because the lab range (198.18.0.0/15, RFC 2544 benchmarking) and loopback are the only places
this tool may probe by default. :meth:`Scope.check` is the one function every send goes through.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from ipaddress import (
    IPv4Address,
    IPv4Network,
    collapse_addresses,
    ip_address,
    ip_network,
    summarize_address_range,
)
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict

from scanner.errors import ScopeError, ScopeViolation, TargetSpecError

__all__ = [
    "LAB_NETWORK",
    "LOOPBACK",
    "MAX_TARGET_FILE_BYTES",
    "Scope",
    "parse_targets",
]

LAB_NETWORK: Final = IPv4Network("198.18.0.0/15")
LOOPBACK: Final = IPv4Network("127.0.0.0/8")
SAFE_BY_DEFAULT: Final = (LAB_NETWORK, LOOPBACK)

# RFC 1918, CGNAT and link-local: somebody's real network, so an explicit --allow-private.
PRIVATE_NETWORKS: Final = (
    IPv4Network("10.0.0.0/8"),
    IPv4Network("172.16.0.0/12"),
    IPv4Network("192.168.0.0/16"),
    IPv4Network("100.64.0.0/10"),
    IPv4Network("169.254.0.0/16"),
)

# Never a unicast target: "this network", multicast, reserved and limited broadcast.
NEVER_TARGETS: Final = (
    IPv4Network("0.0.0.0/8"),
    IPv4Network("224.0.0.0/4"),
    IPv4Network("240.0.0.0/4"),
)

# A target file is a human-edited list; 4 MiB is ~250k lines, far beyond any real site.
MAX_TARGET_FILE_BYTES: Final = 4 * 1024 * 1024


def _parse_one(spec: str) -> list[IPv4Network]:
    text = spec.strip()
    if not text:
        return []
    try:
        if "/" in text:
            net = ip_network(text, strict=False)
            if not isinstance(net, IPv4Network):
                raise TargetSpecError(f"IPv6 targets are not supported yet: {text!r}")
            return [net]
        if "-" in text:
            first_text, last_text = (part.strip() for part in text.split("-", 1))
            first = ip_address(first_text)
            if "." not in last_text:  # short form 198.18.0.10-20
                last_text = first_text.rsplit(".", 1)[0] + "." + last_text
            last = ip_address(last_text)
            if not isinstance(first, IPv4Address) or not isinstance(last, IPv4Address):
                raise TargetSpecError(f"IPv6 targets are not supported yet: {text!r}")
            if last < first:
                raise TargetSpecError(f"range ends before it starts: {text!r}")
            return list(summarize_address_range(first, last))
        addr = ip_address(text)
    except ValueError as exc:
        raise TargetSpecError(
            f"not an IPv4 address, CIDR or range: {text[:80]!r} (host names are not resolved, "
            "so that no DNS query leaves the machine)"
        ) from exc
    if not isinstance(addr, IPv4Address):
        raise TargetSpecError(f"IPv6 targets are not supported yet: {text!r}")
    return [IPv4Network(addr)]


def parse_targets(specs: Iterable[str]) -> tuple[IPv4Network, ...]:
    """Parse CIDRs, ranges (``a-b`` or ``a.b.c.d-e``), hosts and ``@file`` references.

    A file holds one spec per line; ``#`` starts a comment.
    """
    networks: list[IPv4Network] = []
    for spec in specs:
        if spec.startswith("@"):
            path = Path(spec[1:])
            try:
                size = path.stat().st_size
                if size > MAX_TARGET_FILE_BYTES:
                    raise TargetSpecError(f"target file {path} is larger than 4 MiB")
                lines = path.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                raise TargetSpecError(f"cannot read target file {path}: {exc}") from exc
            for line in lines:
                networks.extend(_parse_one(line.split("#", 1)[0]))
        else:
            networks.extend(_parse_one(spec))
    return tuple(collapse_addresses(networks))


class Scope(BaseModel):
    """The networks a sweep may contact, minus exclusions, with the safety overrides given."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    networks: tuple[IPv4Network, ...]
    exclude: tuple[IPv4Network, ...] = ()
    allow_private: bool = False
    allow_public: bool = False

    @classmethod
    def from_specs(
        cls,
        targets: Iterable[str],
        exclude: Iterable[str] = (),
        *,
        allow_private: bool = False,
        allow_public: bool = False,
    ) -> Scope:
        """Build a scope from user strings and refuse it unless the safety policy allows it."""
        scope = cls(
            networks=parse_targets(targets),
            exclude=parse_targets(exclude),
            allow_private=allow_private,
            allow_public=allow_public,
        )
        scope.enforce_policy()
        return scope

    def enforce_policy(self) -> None:
        """Raise :class:`ScopeError` if any network needs an override that was not given."""
        if not self.networks:
            raise ScopeError("no targets given")
        for net in self.networks:
            for never in NEVER_TARGETS:
                if net.overlaps(never):
                    raise ScopeError(f"{net} overlaps {never}, which is never a scan target")
            if any(net.subnet_of(safe) for safe in SAFE_BY_DEFAULT):
                continue
            if any(net.subnet_of(private) for private in PRIVATE_NETWORKS):
                if not self.allow_private:
                    raise ScopeError(
                        f"{net} is a private network: scanning it needs --allow-private and "
                        "written authorisation from its owner"
                    )
                continue
            if not self.allow_public:
                raise ScopeError(
                    f"{net} is outside loopback and the lab range {LAB_NETWORK}: refusing to "
                    "scan it without --allow-public (and only with written authorisation)"
                )

    def contains(self, addr: IPv4Address) -> bool:
        """Return whether ``addr`` is inside the scope and not excluded."""
        return any(addr in net for net in self.networks) and not any(
            addr in net for net in self.exclude
        )

    def check(self, addr: IPv4Address | str) -> IPv4Address:
        """Return ``addr`` as an address, or raise :class:`ScopeViolation` before any send."""
        try:
            parsed = ip_address(addr) if isinstance(addr, str) else addr
        except ValueError as exc:
            raise ScopeViolation(f"not an address: {str(addr)[:60]!r}") from exc
        if not isinstance(parsed, IPv4Address) or not self.contains(parsed):
            raise ScopeViolation(f"{parsed} is outside the authorised scope")
        return parsed

    def covers_segment(self, segment: IPv4Network) -> bool:
        """Return whether every address of ``segment`` is in scope and none is excluded.

        Multicast and broadcast reach every host of a segment, so they are sent only onto a
        segment the user authorised in full.
        """
        return any(segment.subnet_of(net) for net in self.networks) and not any(
            segment.overlaps(ex) for ex in self.exclude
        )

    def size(self) -> int:
        """Return an upper bound on the number of addresses in scope."""
        return sum(net.num_addresses for net in self.networks)

    def hosts(self) -> Iterator[IPv4Address]:
        """Yield every address in scope, in order; network and broadcast addresses skipped."""
        for net in self.networks:
            addresses = net.hosts() if net.prefixlen < 31 else iter(net)
            for addr in addresses:
                if not any(addr in ex for ex in self.exclude):
                    yield addr

    def describe(self) -> str:
        """Return a one-line human description, e.g. ``198.18.0.0/24 (exclude 198.18.0.1/32)``."""
        text = ", ".join(str(net) for net in self.networks)
        if self.exclude:
            text += " (exclude " + ", ".join(str(net) for net in self.exclude) + ")"
        return text
