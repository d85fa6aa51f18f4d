"""Self-test of the rule data (our ``recog_verify``): every rule, example and counterexample.

Prints ``path:line: FAIL: rule-id: message`` lines that editors can parse. Run it as
``ndaa-scan fingerprints verify [FILES]`` or ``python -m fingerprints.verify``; the exit status
is the number of failures (capped at 100).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import regex

from fingerprints.database import (
    RuleLoadError,
    compile_rule,
    default_rules_dir,
    load_vocabulary,
    read_rule_file,
)
from fingerprints.schema import Rule
from scanner.results import FIELD_VOCABULARY

__all__ = ["Problem", "main", "verify_files"]

MAX_EXAMPLES: Final = 20
# A pattern that needs more than this on a 4 KiB adversarial value is a ReDoS risk.
MAX_PATTERN_SECONDS: Final = 0.05
_ADVERSARIAL: Final = (
    "a" * 4096,
    "A" * 4095 + "!",
    "0" * 4096,
    " " * 4096,
    "-" * 4096,
    ("DS-2CD" * 700)[:4096],
    ("Login to " * 500)[:4096],
    "\x00" * 4096,
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One verifier finding."""

    path: Path
    line: int
    level: str  # FAIL or WARN
    rule_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.level}: {self.rule_id}: {self.message}"


def _line_of(text: str, rule_id: str) -> int:
    match = re.search(r'^\s*id\s*=\s*["\']' + re.escape(rule_id) + r'["\']', text, re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else 1


def _known_fields() -> frozenset[str]:
    return frozenset(
        f"{proto}.{name}" for proto, names in FIELD_VOCABULARY.items() for name in names
    )


def _check_rule(rule: Rule, path: Path, maker_file: str) -> Iterable[str]:
    vocabulary = load_vocabulary()
    if rule.field not in _known_fields():
        yield f"field {rule.field!r} is not in the observation vocabulary"
    try:
        compiled = compile_rule(rule, path, maker_file)
    except regex.error as exc:
        yield f"pattern does not compile: {exc}"
        return
    pattern = compiled.regex
    if pattern.groups != len(pattern.groupindex):
        yield "pattern has an unnamed capture group; use (?:...) or (?P<name>...)"
    for group in pattern.groupindex:
        if group not in vocabulary.output_fields:
            yield f"named group {group!r} is not an output field"
    anchored = rule.pattern.startswith(("^", r"\A", "(?i)^")) and rule.pattern.endswith(
        ("$", r"\Z")
    )
    if not anchored and not rule.unanchored_why:
        yield "pattern is not anchored (^...$); set unanchored_why to explain why it must not be"
    for key, value in rule.asserts.items():
        if key not in vocabulary.output_fields:
            yield f"asserts {key!r}, which is not an output field"
        for name in re.findall(r"\{([a-z_]+)\}", value):
            if name not in pattern.groupindex:
                yield f"asserts {key} interpolates {{{name}}}, which the pattern does not capture"
    if (maker := rule.asserts.get("maker")) and maker not in vocabulary.makers:
        yield f"maker {maker!r} is not in reference/vocabulary.toml"
    if (cls := rule.asserts.get("device_class")) and cls not in vocabulary.device_classes:
        yield f"device_class {cls!r} is not in reference/vocabulary.toml"
    if not rule.examples:
        yield "rule has no example"
    if len(rule.examples) > MAX_EXAMPLES:
        yield f"rule has {len(rule.examples)} examples; at most {MAX_EXAMPLES}"
    texts = [ex.text for ex in rule.examples]
    if len(set(texts)) != len(texts):
        yield "duplicate examples"
    covered_groups: set[str] = set()
    for index, example in enumerate(rule.examples):
        captures = compiled.match(example.text)
        if captures is None:
            yield f"example {index} does not match: {example.text[:80]!r}"
            continue
        for key, want in example.expect.items():
            got = compiled.asserted(captures).get(key)
            if got != want:
                yield f"example {index}: expected {key}={want!r}, got {got!r}"
            covered_groups.add(key)
    for group in pattern.groupindex:
        if rule.examples and group not in covered_groups:
            yield f"capture {group!r} is not checked by any example's expect"
    for index, counter in enumerate(rule.counterexamples):
        if compiled.match(counter.text) is not None:
            yield f"counterexample {index} matches: {counter.text[:80]!r}"
    for value in _ADVERSARIAL:
        try:
            pattern.search(value, timeout=MAX_PATTERN_SECONDS)
        except TimeoutError:
            yield f"pattern takes over {MAX_PATTERN_SECONDS * 1000:.0f} ms on a 4 KiB input (ReDoS)"
            break


def verify_files(paths: Sequence[Path]) -> list[Problem]:
    """Verify rule files and return every problem found."""
    problems: list[Problem] = []
    seen_ids: dict[str, Path] = {}
    vocabulary = load_vocabulary()
    for path in paths:
        try:
            rule_file = read_rule_file(path)
        except RuleLoadError as exc:
            problems.append(Problem(path, exc.line, "FAIL", "-", exc.message))
            continue
        text = path.read_text(encoding="utf-8")
        if rule_file.maker not in vocabulary.makers:
            problems.append(
                Problem(path, 1, "FAIL", "-", f"maker {rule_file.maker!r} is not in the vocabulary")
            )
        descriptions: set[str] = set()
        for rule in rule_file.rule:
            line = _line_of(text, rule.id)
            if rule.id in seen_ids:
                problems.append(
                    Problem(
                        path,
                        line,
                        "FAIL",
                        rule.id,
                        f"duplicate rule id (also in {seen_ids[rule.id]})",
                    )
                )
            seen_ids[rule.id] = path
            if rule.description in descriptions:
                problems.append(Problem(path, line, "FAIL", rule.id, "duplicate description"))
            descriptions.add(rule.description)
            problems.extend(
                Problem(path, line, "FAIL", rule.id, msg)
                for msg in _check_rule(rule, path, rule_file.maker)
            )
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """Verify the given rule files (default: every shipped file) and print the findings."""
    args = list(sys.argv[1:] if argv is None else argv)
    paths = [Path(a) for a in args] or sorted(default_rules_dir().glob("*.toml"))
    problems = verify_files(paths)
    for problem in problems:
        sys.stderr.write(f"{problem}\n")
    return min(len(problems), 100)


if __name__ == "__main__":
    raise SystemExit(main())
