"""Loads, validates and compiles the rule files; matches observations against them."""

from __future__ import annotations

import hashlib
import logging
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Final

import regex
from pydantic import ValidationError

from fingerprints.identity import Evidence
from fingerprints.schema import Rule, RuleFile
from fingerprints.sources import is_unattributed, resolve

__all__ = [
    "MAX_MATCH_CHARS",
    "CompiledRule",
    "FingerprintDB",
    "RuleLoadError",
    "Vocabulary",
    "default_rules_dir",
    "excerpt",
    "load_database",
    "load_vocabulary",
]

# Observation values are capped at 4 KiB by the scanner; rules see at most the same.
MAX_MATCH_CHARS: Final = 4096
#: Distinct (field, value) pairs whose rule matches are remembered: a scan repeats the same
#: banners, headers and scope lists on thousands of hosts, and every rule search after the first
#: is the same answer. Bounded: the memo is dropped whole when it fills.
MATCH_MEMO_ENTRIES: Final = 1 << 16
# Patterns run on the `regex` engine, which can stop a search: a catastrophic pattern that
# slipped past the verifier costs 100 ms per value and a warning, never a hung sweep.
MATCH_TIMEOUT_S: Final = 0.1
_FLAG_BITS: Final = {
    "ignorecase": regex.IGNORECASE,
    "dotall": regex.DOTALL,
    "multiline": regex.MULTILINE,
}

log = logging.getLogger(__name__)
_INTERPOLATION: Final = re.compile(r"\{([a-z_]+)\}")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


def excerpt(value: str, limit: int = 300) -> str:
    """One printable line of at most ``limit`` characters for the evidence list.

    Control characters (CR, LF, NUL, ESC...) are shown as escapes: a banner excerpt must not
    break a CSV row, a terminal or a log line.
    """
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], value[: limit * 2])[:limit]


class RuleLoadError(Exception):
    """A rule file could not be read or does not fit the schema."""

    def __init__(self, path: Path, message: str, line: int = 1) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Vocabulary:
    """Allowed makers, device classes and output fields (``reference/vocabulary.toml``)."""

    makers: dict[str, str]
    device_classes: frozenset[str]
    output_fields: frozenset[str]


@cache
def load_vocabulary() -> Vocabulary:
    """Read the controlled vocabulary shipped with the package."""
    text = resources.files("fingerprints").joinpath("reference/vocabulary.toml").read_text("utf-8")
    data = tomllib.loads(text)
    return Vocabulary(
        makers=dict(data["makers"]),
        device_classes=frozenset(data["device_classes"]),
        output_fields=frozenset(data["output_fields"]),
    )


def default_rules_dir() -> Path:
    """Return the directory of the rule files shipped with the package."""
    return Path(str(resources.files("fingerprints").joinpath("rules")))


@dataclass(frozen=True)
class CompiledRule:
    """A rule with its pattern compiled and the file it came from."""

    rule: Rule
    regex: regex.Pattern[str]
    path: Path
    maker_file: str

    def match(self, value: str, *, timeout: float = MATCH_TIMEOUT_S) -> dict[str, str] | None:
        """Return the named captures (``{}`` if none) when ``value`` matches, else ``None``."""
        try:
            found = self.regex.search(value[:MAX_MATCH_CHARS], timeout=timeout)
        except TimeoutError:
            log.warning(
                "rule %s gave up on a %d-character value (slow pattern)", self.rule.id, len(value)
            )
            return None
        if found is None:
            return None
        return {k: v for k, v in found.groupdict().items() if v is not None}

    def asserted(self, captures: dict[str, str]) -> dict[str, str]:
        """Return the rule's assertions with ``{group}`` interpolated, plus the captures."""
        out = {
            key: _INTERPOLATION.sub(lambda m: captures.get(m.group(1), ""), value)
            for key, value in self.rule.asserts.items()
        }
        for key, value in captures.items():
            out.setdefault(key, value)
        return {k: v for k, v in out.items() if v}


def compile_rule(rule: Rule, path: Path, maker_file: str) -> CompiledRule:
    """Compile ``rule``'s pattern with its flags (raises ``regex.error``)."""
    flags = 0
    for name in rule.flags:
        flags |= _FLAG_BITS[name]
    return CompiledRule(rule, regex.compile(rule.pattern, flags), path, maker_file)


def read_rule_file(path: Path) -> RuleFile:
    """Parse and schema-validate one rule file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleLoadError(path, f"cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or 1
        raise RuleLoadError(path, f"TOML error: {exc}", line) from exc
    try:
        return RuleFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise RuleLoadError(path, f"schema error at {where}: {first['msg']}") from exc


@dataclass
class FingerprintDB:
    """Every compiled rule, indexed by the observation key it reads."""

    rules: tuple[CompiledRule, ...]
    version: str
    by_field: dict[str, list[CompiledRule]] = field(default_factory=dict)
    _memo: dict[
        tuple[str, str], tuple[tuple[CompiledRule, dict[str, str], dict[str, str]], ...]
    ] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for compiled in self.rules:
            for key in (compiled.rule.field, *compiled.rule.also):
                self.by_field.setdefault(key, []).append(compiled)

    def forget_matches(self) -> None:
        """Drop the remembered rule matches (a benchmark's cold start; tests)."""
        self._memo.clear()

    def evidence_for(
        self, key: str, value: str, port: int | None = None, origin: str = ""
    ) -> list[Evidence]:
        """Return the evidence every rule on ``key`` finds in ``value`` (seen at ``origin``)."""
        # https shares the http field vocabulary, so one rule serves both.
        lookup = "http." + key.split(".", 1)[1] if key.startswith("https.") else key
        hits = self._memo.get((lookup, value))
        if hits is None:
            hits = tuple(
                (compiled, captures, compiled.asserted(captures))
                for compiled in self.by_field.get(lookup, ())
                if (captures := compiled.match(value)) is not None
            )
            if len(self._memo) >= MATCH_MEMO_ENTRIES:
                self._memo.clear()
            self._memo[(lookup, value)] = hits
        if not hits:
            return []
        matched = excerpt(value)
        found: list[Evidence] = []
        for compiled, captures, asserts in hits:
            found.append(
                Evidence(
                    rule_id=compiled.rule.id,
                    field=key,
                    matched=matched,
                    captures=captures,
                    asserts=asserts,
                    certainty=compiled.rule.certainty,
                    # The openable reference, not the bibliography key: reports print it.
                    source=resolve(compiled.rule.source),
                    description=compiled.rule.description,
                    port=port,
                    # A clue whose only source is a file nobody can open never decides alone.
                    lead=compiled.rule.lead or is_unattributed(compiled.rule.source),
                    clue=compiled.rule.clue,
                    origin=origin or key,
                )
            )
        return found


def load_database(paths: Iterable[Path] | None = None) -> FingerprintDB:
    """Load rule files (default: the shipped ``rules/*.toml``); the version hashes their bytes."""
    files = sorted(paths) if paths is not None else sorted(default_rules_dir().glob("*.toml"))
    digest = hashlib.sha256()
    compiled: list[CompiledRule] = []
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
        rule_file = read_rule_file(path)
        for rule in rule_file.rule:
            try:
                compiled.append(compile_rule(rule, path, rule_file.maker))
            except regex.error as exc:
                raise RuleLoadError(path, f"{rule.id}: bad pattern: {exc}") from exc
    return FingerprintDB(rules=tuple(compiled), version="sha256:" + digest.hexdigest()[:16])
