"""Stage 2, identification: who produced a device, what it is sold as, and is it covered.

Knowledge lives in data (``rules/*.toml``, ``reference/*.toml``); this package holds the
mechanisms that load, verify and apply it. It imports only :mod:`scanner`'s public types.
"""

from __future__ import annotations

import logging

from fingerprints.catalogue import OemBrand, brand_entry, oem_brands
from fingerprints.coverage import coverage_for, covered_entities, review_makers
from fingerprints.database import FingerprintDB, RuleLoadError, load_database
from fingerprints.identity import (
    ConfidenceLevel,
    Coverage,
    CoverageStatus,
    DeviceIdentity,
    Evidence,
)
from fingerprints.oui import OuiLead, oui_lead
from fingerprints.verdict import group_devices, identify, identify_device
from fingerprints.verify import Problem, verify_files

__all__ = [
    "ConfidenceLevel",
    "Coverage",
    "CoverageStatus",
    "DeviceIdentity",
    "Evidence",
    "FingerprintDB",
    "OemBrand",
    "OuiLead",
    "Problem",
    "RuleLoadError",
    "brand_entry",
    "coverage_for",
    "covered_entities",
    "group_devices",
    "identify",
    "identify_device",
    "load_database",
    "oem_brands",
    "oui_lead",
    "review_makers",
    "verify_files",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
