"""Stage 1, discovery: find devices and record what they say about themselves.

The public surface is the scope, the limits, the result types and :func:`sweep`. Identification
(``fingerprints``) and reporting (``reports``) build on these types; this package imports
neither, except :mod:`scanner.cli`, the composition root.
"""

from __future__ import annotations

import logging

from scanner.errors import (
    LabError,
    NetworkSafetyError,
    ProbeParseError,
    ScanError,
    ScopeError,
    ScopeViolation,
    TargetSpecError,
)
from scanner.limits import DEFAULT_LIMITS, Limits
from scanner.results import FIELD_VOCABULARY, Observation, ProbeResult, ProbeStatus
from scanner.scope import Scope
from scanner.sweeper import ProgressSink, select_probes, sweep

__all__ = [
    "DEFAULT_LIMITS",
    "FIELD_VOCABULARY",
    "LabError",
    "Limits",
    "NetworkSafetyError",
    "Observation",
    "ProbeParseError",
    "ProbeResult",
    "ProbeStatus",
    "ProgressSink",
    "ScanError",
    "Scope",
    "ScopeError",
    "ScopeViolation",
    "TargetSpecError",
    "select_probes",
    "sweep",
]

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
