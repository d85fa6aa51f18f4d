"""Stage 2, identification: who produced a device, what it is sold as, and is it covered.

Knowledge lives in data (``rules/*.toml``, ``reference/*.toml``); this package holds the
mechanisms that load, verify and apply it. It imports only :mod:`scanner`'s public types.
"""

from __future__ import annotations

import logging

from fingerprints.coverage import coverage_for, covered_entities
from fingerprints.database import FingerprintDB, RuleLoadError, load_database
from fingerprints.identity import (
    ConfidenceLevel,
    Coverage,
    CoverageStatus,
    DeviceIdentity,
    Evidence,
)
from fingerprints.verdict import identify
from fingerprints.verify import Problem, verify_files

__all__ = [
    "ConfidenceLevel",
    "Coverage",
    "CoverageStatus",
    "DeviceIdentity",
    "Evidence",
    "FingerprintDB",
    "Problem",
    "RuleLoadError",
    "coverage_for",
    "covered_entities",
    "identify",
    "load_database",
    "verify_files",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
