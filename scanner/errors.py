"""Exceptions raised by the discovery stage.

Probe failures are values (:class:`scanner.results.ProbeStatus`), never exceptions that
escape a sweep. What remains here is what the caller must act on::

    ScanError
    ├── ScopeError            the request itself is not allowed (bad target, unsafe scope)
    │   └── ScopeViolation    one address outside the authorised scope, caught before a send
    ├── TargetSpecError       a target string or file that cannot be parsed
    ├── NetworkSafetyError    the route to a target would leave the machine's lab
    ├── ProbeParseError       a reply that is not the protocol it claims (becomes protocol_error)
    └── LabError              the simulated lab could not be built, found or removed
"""

from __future__ import annotations

__all__ = [
    "LabError",
    "NetworkSafetyError",
    "ProbeParseError",
    "ScanError",
    "ScopeError",
    "ScopeViolation",
    "TargetSpecError",
]


class ScanError(Exception):
    """Base of every error the discovery stage raises on purpose."""


class ScopeError(ScanError):
    """The requested scope is not allowed (e.g. public addresses without an override)."""


class ScopeViolation(ScopeError):
    """An address outside the authorised scope was about to be contacted."""


class TargetSpecError(ScanError):
    """A target (CIDR, range, host name or file) could not be parsed."""


class NetworkSafetyError(ScanError):
    """Sending to a target would route traffic somewhere it must not go."""


class ProbeParseError(ScanError):
    """A device reply could not be parsed; probes turn it into ``protocol_error``."""


class LabError(ScanError):
    """The simulated device lab could not be built, inspected or removed."""
