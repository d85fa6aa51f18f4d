"""The probe contract: what a probe declares about itself, how it is run, shared plumbing.

Two kinds exist. A *network* probe looks at many targets at once (ARP, multicast discovery) and
reports the hosts that answered. A *host* probe talks to one live host (HTTP, RTSP, ONVIF).
Both return :class:`ProbeResult` values; :func:`run_host_probe` turns every failure into one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from ipaddress import IPv4Address
from typing import ClassVar, Final, Literal, Protocol, TypeGuard, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from scanner.context import CollectResult, Datagram, ExchangeError, ProbeContext
from scanner.errors import ProbeParseError, ScopeViolation
from scanner.results import Observation, ProbeResult, ProbeStatus, utc_now

log = logging.getLogger(__name__)

__all__ = [
    "DISCOVERY_WAIT_S",
    "Endpoint",
    "EndpointProbe",
    "HostProbe",
    "NetworkProbe",
    "ObservationSet",
    "ProbeInfo",
    "collect_and_parse",
    "failed_result",
    "more_telling",
    "prepare_probes",
    "run_host_probe",
]


class ProbeInfo(BaseModel):
    """What a probe is, for the registry, ``--probe`` choices and the rule verifier."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    summary: str
    kind: Literal["network", "host"]
    transport: Literal["udp", "tcp", "l2", "external"]
    ports: tuple[int, ...] = ()
    #: nmap-style threshold: the probe runs when rarity <= the sweep's intensity.
    rarity: int = Field(default=1, ge=1, le=9)
    #: The observation keys (``protocol.field``) this probe can emit.
    fields: tuple[str, ...]
    needs_root: bool = False
    #: Network probes only: run after liveness, with the live hosts as their unicast targets
    #: (WS-Discovery, SADP, DHIP multicast to the segment plus unicast to every live host).
    after_liveness: bool = False
    #: Not run unless named with ``--probe`` or enabled by a flag (e.g. ``--nmap``).
    optional: bool = False


def prepare_probes(probes: Iterable[object]) -> None:
    """Run each probe's optional ``prepare()``: one-off CPU work (schema loads, codecs).

    The sweeper runs it in a thread while liveness waits on the network. A probe whose
    preparation fails is left to fail again when it runs, where the failure becomes a result.
    """
    for probe in probes:
        prepare = getattr(probe, "prepare", None)
        if not callable(prepare):
            continue
        try:
            prepare()
        except Exception:  # recorded when the probe itself runs
            log.debug("preparing %r failed", probe, exc_info=True)


@runtime_checkable
class NetworkProbe(Protocol):
    """A probe that sweeps many targets in one go and reports who answered."""

    info: ClassVar[ProbeInfo]

    async def discover(
        self, targets: Sequence[IPv4Address], ctx: ProbeContext
    ) -> list[ProbeResult]:
        """Probe ``targets`` and return one result per answering host (or one failure)."""
        ...


@runtime_checkable
class HostProbe(Protocol):
    """A probe that talks to one host."""

    info: ClassVar[ProbeInfo]

    async def probe(self, host: IPv4Address, ctx: ProbeContext) -> ProbeResult:
        """Probe ``host``; may raise :class:`ExchangeError` (see :func:`run_host_probe`)."""
        ...


class Endpoint(BaseModel):
    """One service address a host probe talks to: host, port, path, plain or TLS.

    ``via`` names the observation that announced it (``wsdiscovery.xaddrs``, ``sadp.http_port``)
    or is ``None`` for the probe's own default list.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: IPv4Address
    port: int = Field(ge=1, le=65535)
    path: str = Field(default="/", max_length=512, pattern=r"^/[\x21-\x7e]*$")
    tls: bool = False
    via: str | None = None

    @property
    def target(self) -> str:
        """``host:port``, the ``target`` of every result about this endpoint."""
        return f"{self.host}:{self.port}"

    @property
    def key(self) -> tuple[IPv4Address, int, str, bool]:
        """What makes two endpoints the same exchange (``via`` does not)."""
        return self.host, self.port, self.path, self.tls


@runtime_checkable
class EndpointProbe(HostProbe, Protocol):
    """A host probe the sweeper runs once per endpoint: its defaults plus announced ones.

    Data flows one way: discovery probes emit the ports and URLs devices announce as ordinary
    observations, the sweeper hands each host's observations to :meth:`endpoints`, and the
    probe alone decides what those values mean for it.
    """

    def endpoints(self, host: IPv4Address, leads: Sequence[Observation]) -> list[Endpoint]:
        """The endpoints to try on ``host``: the defaults, plus those ``leads`` announce."""
        ...

    async def probe_endpoint(self, endpoint: Endpoint, ctx: ProbeContext) -> ProbeResult:
        """Probe one endpoint; may raise :class:`ExchangeError` like :meth:`probe`."""
        ...


_ENDPOINT_CLASSES: dict[type, bool] = {}


def is_endpoint_probe(probe: object) -> TypeGuard[EndpointProbe]:
    """``isinstance(probe, EndpointProbe)``, decided once per probe class.

    A runtime-checkable Protocol check walks the protocol's members on every call: 75,000 of
    them cost 2.4 s of a 2,046-host sweep's single event-loop core. The answer is the class's.
    """
    cls = type(probe)
    known = _ENDPOINT_CLASSES.get(cls)
    if known is None:
        known = _ENDPOINT_CLASSES[cls] = isinstance(probe, EndpointProbe)
    return known


def more_telling(previous: ExchangeError | None, failure: ExchangeError) -> ExchangeError:
    """Of two failures on a host's ports, the one to report.

    A port that timed out or broke says more about the host than the next port refusing, so a
    refusal gives way to any later failure and anything else is kept.
    """
    if previous is None or previous.status is ProbeStatus.REFUSED:
        return failure
    return previous


def failed_result(
    name: str, target: str, status: ProbeStatus, message: str, started: float
) -> ProbeResult:
    """Build the result for a probe that ended without observations."""
    return ProbeResult(
        probe=name,
        target=target,
        status=status,
        started_at=utc_now(),
        elapsed_s=max(0.0, time.monotonic() - started),
        error=message[:500],
    )


def _default_target(probe: HostProbe, host: IPv4Address) -> str:
    # One port: every exchange went there, so the failure is about host:port.
    ports = probe.info.ports
    return f"{host}:{ports[0]}" if len(ports) == 1 else str(host)


async def run_host_probe(
    probe: HostProbe,
    host: IPv4Address,
    ctx: ProbeContext,
    endpoint: Endpoint | None = None,
) -> ProbeResult:
    """Run ``probe`` against ``host`` (or one ``endpoint`` of it) whatever happens on the wire."""
    started = time.monotonic()
    name = probe.info.name
    target = endpoint.target if endpoint is not None else _default_target(probe, host)
    try:
        if endpoint is not None and is_endpoint_probe(probe):
            return await probe.probe_endpoint(endpoint, ctx)
        return await probe.probe(host, ctx)
    except ExchangeError as exc:
        return failed_result(name, target, exc.status, str(exc), started)
    except ScopeViolation as exc:
        return failed_result(name, target, ProbeStatus.OUT_OF_SCOPE, str(exc), started)
    except ProbeParseError as exc:
        return failed_result(name, target, ProbeStatus.PROTOCOL_ERROR, str(exc), started)
    # A bug in one probe, or a device that trips one, must cost that result only, never the
    # sweep: record it as an error (with the traceback in the log) and carry on.
    except Exception as exc:
        log.warning("probe %s on %s failed", name, target, exc_info=True)
        return failed_result(
            name, target, ProbeStatus.ERROR, f"{type(exc).__name__}: {exc}", started
        )


class ObservationSet:
    """Collects one probe's observations for one host, dropping empty and duplicate values."""

    def __init__(
        self,
        probe: str,
        host: IPv4Address,
        *,
        port: int | None = None,
        mac: str | None = None,
        at: datetime | None = None,
    ) -> None:
        self.probe = probe
        self.host = host
        self.port = port
        self.mac = mac
        self.at = at or utc_now()
        self._seen: set[tuple[str, str, str]] = set()
        self.items: list[Observation] = []

    def add(self, protocol: str, field: str, value: object | None) -> None:
        """Record ``protocol.field = value`` unless the value is empty or already recorded."""
        if value is None:
            return
        text = " ".join(str(value).split()) if not isinstance(value, str) else value.strip()
        if not text or (protocol, field, text) in self._seen:
            return
        self._seen.add((protocol, field, text))
        self.items.append(
            Observation(
                host=self.host,
                protocol=protocol,
                field=field,
                value=text,
                mac=self.mac,
                port=self.port,
                probe=self.probe,
                observed_at=self.at,
            )
        )

    def extend(self, protocol: str, field: str, values: Iterable[object | None]) -> None:
        """Record each of ``values``."""
        for value in values:
            self.add(protocol, field, value)

    def result(
        self,
        target: str,
        started: float,
        *,
        status: ProbeStatus = ProbeStatus.SUCCESS,
        reply_bytes: int = 0,
        error: str | None = None,
    ) -> ProbeResult:
        """Return the :class:`ProbeResult` holding everything recorded."""
        return ProbeResult(
            probe=self.probe,
            target=target,
            status=status,
            started_at=self.at,
            elapsed_s=max(0.0, time.monotonic() - started),
            observations=tuple(self.items),
            error=None if error is None else error[:500],
            reply_bytes=reply_bytes,
        )


# ------------------------------------------------------------------ UDP discovery plumbing
# WS-Discovery, SADP and DHIP each send one request to their multicast group (only onto a
# segment the scope covers in full) and the same request unicast to every live host, so routed
# subnets that multicast never reaches are still asked (peers.md §B.1). Replies are paired to
# the request by the probe, and each answering host becomes one ProbeResult.


#: Cameras answer discovery within tens of milliseconds (lab-feasibility §5: last of 1,000
#: replies at 1.76 s); 2 s after the last send covers a busy segment.
DISCOVERY_WAIT_S: Final = 2.0
#: One reply per host is all we use; a device that floods is cut off here.
MAX_REPLIES_PER_HOST: Final = 4


async def collect_and_parse(
    name: str,
    ctx: ProbeContext,
    *,
    port: int,
    payload: bytes | Callable[[IPv4Address], bytes],
    targets: Sequence[IPv4Address],
    group: IPv4Address | None,
    broadcast: bool = False,
    observe: Callable[[Datagram], ObservationSet | None],
    min_quiet_s: float = 0.0,
) -> list[ProbeResult]:
    """Send, collect and turn each in-scope answering host into a result.

    ``observe`` parses one datagram and returns its observations, ``None`` for a reply that is
    not an answer to our request (another probe's, a Hello), or raises ``ProbeParseError``.
    """
    started = time.monotonic()
    try:
        collected: CollectResult = await ctx.udp_collect(
            port,
            payload,
            unicast=targets,
            group=group,
            broadcast=broadcast,
            wait_s=DISCOVERY_WAIT_S,
            max_replies=max(64, (len(targets) + 1024) * MAX_REPLIES_PER_HOST),
            min_quiet_s=min_quiet_s,
        )
    except ScopeViolation as exc:
        return [failed_result(name, "*", ProbeStatus.OUT_OF_SCOPE, str(exc), started)]
    except ExchangeError as exc:
        return [failed_result(name, "*", exc.status, str(exc), started)]
    except OSError as exc:
        return [failed_result(name, "*", ProbeStatus.ERROR, f"UDP socket: {exc}", started)]
    by_host: dict[IPv4Address, ProbeResult] = {}
    for datagram in collected.datagrams:
        if datagram.source in by_host and by_host[datagram.source].status is ProbeStatus.SUCCESS:
            continue
        target = f"{datagram.source}:{port}"
        try:
            observed = observe(datagram)
        except ProbeParseError as exc:
            by_host.setdefault(
                datagram.source,
                failed_result(name, target, ProbeStatus.PROTOCOL_ERROR, str(exc), started),
            )
            continue
        if observed is None:
            continue
        status = ProbeStatus.OVERSIZED if datagram.truncated else ProbeStatus.SUCCESS
        by_host[datagram.source] = observed.result(
            target, started, status=status, reply_bytes=len(datagram.data)
        )
    if collected.dropped_out_of_scope:
        log.info(
            "%s: dropped %d replies from outside the scope", name, collected.dropped_out_of_scope
        )
    if not by_host:
        how = "multicast and unicast" if collected.multicast_sent else "unicast"
        return [
            failed_result(
                name,
                "*",
                ProbeStatus.NO_REPLY,
                f"no reply to {collected.sent} {how} probes",
                started,
            )
        ]
    return [by_host[addr] for addr in sorted(by_host)]
