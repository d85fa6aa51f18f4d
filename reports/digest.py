"""The inventory digest: a SHA-256 an auditor can recompute to check a filed inventory.

What is hashed, exactly (also stated in the schema and the README):

1. the inventory JSON document, parsed, with the top-level ``"digest"`` member removed;
2. serialised canonically: object keys sorted, no insignificant whitespace
   (``separators=(",", ":")``), non-ASCII characters as UTF-8 (not ``\\u`` escapes), numbers as
   Python's shortest round-trip ``repr``;
3. SHA-256 of those UTF-8 bytes, written ``sha256:<64 hex digits>``.

It is computed from the *JSON text*, not from the Python model, so anyone can check a filed
``inventory.json`` with ten lines of any language (or ``ndaa-scan report FILE --verify``), and a
file edited by hand — a device deleted, a verdict changed — no longer matches.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from reports.inventory import Inventory

__all__ = [
    "DIGEST_FIELD",
    "DigestCheck",
    "canonical_bytes",
    "digest_of_document",
    "inventory_digest",
    "seal",
    "verify_document",
]

DIGEST_FIELD: Final = "digest"


def canonical_bytes(document: dict[str, Any]) -> bytes:
    """The canonical serialisation of a parsed inventory document, without its digest."""
    body = {k: v for k, v in document.items() if k != DIGEST_FIELD}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def digest_of_document(document: dict[str, Any]) -> str:
    """``sha256:<hex>`` of a parsed inventory document (the digest member is ignored)."""
    return "sha256:" + hashlib.sha256(canonical_bytes(document)).hexdigest()


def inventory_digest(inventory: Inventory) -> str:
    """The digest of ``inventory`` as its JSON export will carry it."""
    # JSON mode yields exactly the values a verifier parses back from the file, without
    # writing and re-parsing the text (a third of the cost on a 2,000-device inventory).
    return digest_of_document(inventory.model_dump(mode="json", exclude={DIGEST_FIELD}))


def seal(inventory: Inventory) -> Inventory:
    """Return ``inventory`` with its digest set (recomputed from scratch)."""
    return inventory.model_copy(update={DIGEST_FIELD: inventory_digest(inventory)})


class DigestCheck:
    """The outcome of checking a filed inventory's digest."""

    __slots__ = ("actual", "stated")

    def __init__(self, stated: str | None, actual: str) -> None:
        self.stated = stated
        self.actual = actual

    @property
    def ok(self) -> bool:
        """True when the file states a digest and it matches its content."""
        return self.stated is not None and self.stated == self.actual


def verify_document(document: dict[str, Any]) -> DigestCheck:
    """Recompute the digest of a parsed inventory document and compare with the stated one."""
    stated = document.get(DIGEST_FIELD)
    return DigestCheck(stated if isinstance(stated, str) else None, digest_of_document(document))
