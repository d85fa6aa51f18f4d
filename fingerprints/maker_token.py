"""Does a rule's pattern demand a maker-specific token? The verifier's test for ``clue``.

A rule may call itself ``identifying`` only when every value it matches carries a literal that
can name a maker: a word of two or more characters (``AXIS``, ``DS``, ``App-webs``) or a number
of three or more digits (an IANA enterprise number such as ``368``), outside the vocabulary every
device shares (``realm``, ``build``, ``onvif``, ``camera``...). A firmware, serial or model
grammar made of character classes (``V?[1-4]\\.\\d{3}``, ``[0-9A-Z]{7}[PZ]A[0-9A-Z]{6}``) has
no such literal and is a shape, whatever it was seen on.

Vendor protocols are the other way in: only Hikvision firmware answers SADP and only Dahua
firmware answers DHIP (research facts sheet §6, §7; Hikvision "SADP" and Dahua "DHIP"
discovery, e.g. rroller/dahua discovery.py), so any field of such a reply identifies its maker.

The check is necessary, not sufficient: a literal such as ``unique_identifier`` passes it, and
the rule author still declares such a layout a ``shape``.
"""

from __future__ import annotations

import re
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any, Final

__all__ = ["GENERIC_WORDS", "VENDOR_PROTOCOLS", "demands_maker_token", "maker_protocol"]

#: Protocol -> the only maker whose firmware speaks it.
VENDOR_PROTOCOLS: Final = {"sadp": "hikvision", "dhip": "dahua"}

#: Words that occur in banners of every maker: they name no one.
GENERIC_WORDS: Final = frozenset(
    """
    action and asp basic bin build camera cgi channel channels city co com company copyright
    describe device deviceinfo devices digest doc dvr extension firmware for get_parameter
    hardware html http https inc info ip ipc linux location login ltd model name network none
    nvr of onvif options org page parameter path pause play port portable products realm rtsp
    sdk serial server service set_parameter setup software ssh streaming system telnet teardown
    the to upnp uri ver version video web webs welcome www xml
    """.split()  # noqa: SIM905 - one word list reads better than 80 quoted strings
)
_WORD: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*[A-Za-z0-9]|[A-Za-z0-9]")
_REPEATS: Final = frozenset(
    op
    for op in (
        sre_constants.MAX_REPEAT,
        sre_constants.MIN_REPEAT,
        getattr(sre_constants, "POSSESSIVE_REPEAT", None),
    )
    if op is not None
)


def maker_protocol(field: str) -> str | None:
    """The maker that owns the protocol of ``field`` (``sadp.model`` -> hikvision), if any."""
    return VENDOR_PROTOCOLS.get(field.split(".", 1)[0])


def _is_token(word: str) -> bool:
    if word.lower() in GENERIC_WORDS:
        return False
    return len(word) >= 3 if word.isdigit() else len(word) >= 2


def _literal_has_token(text: str) -> bool:
    return any(_is_token(word) for word in _WORD.findall(text))


def _sequence_demands_token(items: Any) -> bool:
    """True when every match of this parsed sequence contains a token literal."""
    run: list[str] = []
    found = False

    def flush() -> bool:
        text = "".join(run)
        run.clear()
        return _literal_has_token(text)

    for op, arg in items:
        if op is sre_constants.LITERAL:
            run.append(chr(arg))
            continue
        found = flush() or found
        if op is sre_constants.SUBPATTERN:
            found = _sequence_demands_token(arg[3]) or found
        elif op is sre_constants.BRANCH:
            found = all(_sequence_demands_token(branch) for branch in arg[1]) or found
        elif op in _REPEATS and arg[0] >= 1:
            found = _sequence_demands_token(arg[2]) or found
    return flush() or found


def demands_maker_token(pattern: str) -> bool:
    """True when every value ``pattern`` matches must contain a maker-naming literal.

    Parsed with the standard library's regex parser; a pattern it cannot read (a ``regex``-only
    construct) is reported as demanding no token, so the author must call it a shape.
    """
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError):
        return False
    return _sequence_demands_token(parsed)
