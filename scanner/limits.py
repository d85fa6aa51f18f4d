"""Every bound a sweep obeys, in one place, with the reason for each default."""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DEFAULT_LIMITS", "Limits"]


class Limits(BaseModel):
    """Timeouts, byte caps, concurrency and rate for one sweep."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Cameras on busy NVR switches answer SYNs in tens of ms; 2 s covers congested links.
    connect_timeout_s: float = Field(default=2.0, gt=0, le=60)
    #: Idle wait for the next bytes of a reply. Embedded web servers render pages slowly.
    read_timeout_s: float = Field(default=3.0, gt=0, le=120)
    #: Whole-exchange cap, so a slowloris device that trickles one byte a second still ends.
    exchange_timeout_s: float = Field(default=8.0, gt=0, le=300)
    #: Login pages are < 20 KiB; 64 KiB leaves room for inline scripts and stops a hostile
    #: device from streaming a gigabyte into memory.
    max_reply_bytes: int = Field(default=64 * 1024, ge=256, le=16 * 1024 * 1024)
    #: Open connections at once. 64 keeps a 2-core scanner busy without flooding a PoE switch.
    concurrency: int = Field(default=64, ge=1, le=4096)
    #: New packets (connections, datagrams, ARP requests) per second across the sweep.
    rate_pps: float = Field(default=1000.0, gt=0, le=100_000)
    #: Hard wall-clock budget for the whole sweep: it always ends.
    sweep_budget_s: float = Field(default=900.0, gt=0, le=7 * 24 * 3600)
    #: A /16 is the largest sweep planned from one network position.
    max_hosts: int = Field(default=65_536, ge=1, le=1 << 24)
    #: A discovery window ends this long after the last reply (or send) when no more arrive;
    #: it covers WS-Discovery's APP_MAX_DELAY (500 ms) answer delay with room for the path.
    discovery_quiet_s: float = Field(default=0.8, gt=0, le=30)
    #: The longest ARP waits after the last request, however slowly replies trickle in.
    arp_wait_s: float = Field(default=1.0, gt=0, le=30)
    #: ARP ends this long after the last reply (or request) when no more arrive, stretched to
    #: four times the slowest reply seen. LAN replies take milliseconds; 250 ms leaves two
    #: orders of magnitude for a loaded switch or a busy embedded stack.
    arp_quiet_s: float = Field(default=0.25, gt=0, le=30)


DEFAULT_LIMITS: Final = Limits()
