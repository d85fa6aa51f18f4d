"""Self-test of the rule data (our ``recog_verify``): every rule, example and counterexample.

Prints ``path:line: FAIL: rule-id: message`` lines that editors can parse. Run it as
``ndaa-scan fingerprints verify [FILES]`` or ``python -m fingerprints.verify``; the exit status
is the number of failures (capped at 100).

The ten checks of research/aesthetics.md §7.5:

1. TOML or schema error (unknown keys included);
2. a pattern that does not compile, is not anchored without ``unanchored_why``, or has an
   unnamed capture group;
3. a named group, ``asserts`` key or ``expect`` key outside the output-field vocabulary; a maker
   or device class outside ``reference/vocabulary.toml``; a maker other than the file's; an
   interpolation with no target; a ``covered_entity`` that is not in the catalogue;
4. a rule with no example or more than 20;
5. an example that does not match or yields a value other than its ``expect``, and a named group
   no example checks;
6. a counterexample that matches;
7. shadowing: an earlier rule on the same field of the same file matches a later rule's example,
   or a rule asserting another maker (anywhere in the files verified together) does, without
   ``overrides``;
8. duplicate rule ids (across all files), descriptions or examples;
9. a ``field`` (or ``also`` key) outside the observation vocabulary (``scanner.results``);
10. regex cost: each pattern is timed on adversarial 4 KiB inputs, including its own examples
    repeated to 4 KiB.

Two more, for defensible verdicts (issue 13):

11. ``clue = "identifying"`` on a rule whose pattern demands no maker-naming literal and whose
    field is not a vendor protocol of the rule's maker (:mod:`fingerprints.maker_token`): such a
    rule is a shape and must say so;
12. a ``field`` that no registered probe emits (each probe's ``ProbeInfo.fields``)
    fails unless the rule is ``import_only``; ``tests/fingerprints/test_import_only.py`` feeds
    every import-only rule's examples through ``identify``. A mark on a field some probe now
    emits is a warning: drop it.

And one for sources an auditor can open (issue 13 item 9):

13. a ``source`` (of a rule, an example, the file's ``sources``, or a catalogue entry in
    ``reference/*.toml`` when the shipped rules are verified) that does not resolve through
    :mod:`fingerprints.sources`: an unknown bibliography key, a malformed URL or repository
    path, or a notes-file / search-index citation.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import regex

from fingerprints.coverage import covered_entities
from fingerprints.database import (
    CompiledRule,
    RuleLoadError,
    compile_rule,
    default_rules_dir,
    load_vocabulary,
    read_rule_file,
)
from fingerprints.maker_token import demands_maker_token, maker_protocol
from fingerprints.schema import Rule, RuleFile
from fingerprints.sources import citation_problems, walk_sources
from scanner.results import FIELD_VOCABULARY

__all__ = ["Problem", "main", "verify_files"]

MAX_EXAMPLES: Final = 20
#: A clue flagged ``lead`` is weak by definition; more certainty than this contradicts the flag.
LEAD_MAX_CERTAINTY: Final = 0.4
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


def _adversarial(rule: Rule) -> Iterable[str]:
    yield from _ADVERSARIAL
    for example in rule.examples[:3]:
        if example.text:
            yield (example.text * (4096 // len(example.text) + 1))[:4096]
            yield (example.text[: len(example.text) // 2] * 4096)[:4096]


def _check_rule(rule: Rule, path: Path, maker_file: str) -> Iterable[str]:
    vocabulary = load_vocabulary()
    for key in (rule.field, *rule.also):
        if key not in _known_fields():
            yield f"field {key!r} is not in the observation vocabulary"
    if rule.field in rule.also:
        yield "also repeats the rule's own field"
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
    elif maker and maker != maker_file:
        yield f"asserts maker {maker!r} in the rule file of {maker_file!r}"
    if (
        rule.clue == "identifying"
        and not demands_maker_token(rule.pattern)
        and maker_protocol(rule.field) != maker_file
    ):
        yield (
            'clue = "identifying" but the pattern demands no maker-naming literal and '
            f'{rule.field} is not a protocol only {maker_file} speaks; make it clue = "shape"'
        )
    if rule.lead and rule.certainty > LEAD_MAX_CERTAINTY:
        yield f"a lead rule may not be more certain than {LEAD_MAX_CERTAINTY}"
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
    for index, example in enumerate((*rule.examples, *rule.counterexamples)):
        for key in example.expect:
            if key not in vocabulary.output_fields:
                yield f"example {index} expects {key!r}, which is not an output field"
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
    for value in _adversarial(rule):
        try:
            pattern.search(value, timeout=MAX_PATTERN_SECONDS)
        except TimeoutError:
            yield f"pattern takes over {MAX_PATTERN_SECONDS * 1000:.0f} ms on a 4 KiB input (ReDoS)"
            break


def _source_problems(rule: Rule) -> Iterable[str]:
    """Check 13 for one rule: every citation it carries must resolve."""
    if why := citation_problems(rule.source):
        yield f"source does not resolve: {why}"
    for kind, examples in (("example", rule.examples), ("counterexample", rule.counterexamples)):
        for index, example in enumerate(examples):
            if example.source is not None and (why := citation_problems(example.source)):
                yield f"{kind} {index} source does not resolve: {why}"


def _line_of_text(text: str, needle: str) -> int:
    at = text.find(needle)
    return text.count("\n", 0, at) + 1 if at >= 0 else 1


def catalogue_source_problems(folder: Path | None = None) -> list[Problem]:
    """Check 13 over the catalogues (``reference/**/*.toml``): each cited source resolves."""
    root = folder or default_rules_dir().parent / "reference"
    problems: list[Problem] = []
    for path in sorted(root.rglob("*.toml")):
        if path.name == "sources.toml":
            continue
        text = path.read_text(encoding="utf-8")
        for value in walk_sources(tomllib.loads(text)):
            if why := citation_problems(value):
                line = _line_of_text(text, value)
                problems.append(Problem(path, line, "FAIL", "-", f"source does not resolve: {why}"))
    return problems


def probe_emitted_fields() -> frozenset[str] | None:
    """Every observation key a registered probe emits (https mirrors http), or None.

    None when the probe registry cannot be imported (a probe module mid-rework): check 12 is
    then skipped with a warning rather than failing every rule.
    """
    try:
        # Imported here: only this check needs the probe registry and its dependencies.
        from scanner.probes import emitted_fields

        emitted = set(emitted_fields())
    except Exception:  # noqa: BLE001 - any broken probe module must not break verify
        return None
    emitted |= {"https." + f.split(".", 1)[1] for f in emitted if f.startswith("http.")}
    return frozenset(emitted)


def _emission(rule: Rule, emitted: frozenset[str]) -> tuple[str, str] | None:
    """Check 12 for one rule: (level, message) or None."""
    # ``also`` keys only widen a rule that already has a probed field; the field decides.
    missing = rule.field not in emitted
    if missing and not rule.import_only:
        return (
            "FAIL",
            f"no probe emits {rule.field}; mark the rule import_only = true and "
            "feed it through identify in a test, or add the probe",
        )
    if rule.import_only and not missing:
        return ("WARN", f"a probe now emits {rule.field}; drop import_only")
    return None


def _shadowing(
    loaded: Sequence[tuple[Path, str, RuleFile, str]],
) -> Iterable[tuple[Path, int, str, str]]:
    """Check 7: an example of one rule that another, earlier or other-maker, rule also matches."""
    compiled: list[tuple[Path, str, RuleFile, CompiledRule, int]] = []
    for path, text, rule_file, _ in loaded:
        for index, rule in enumerate(rule_file.rule):
            try:
                compiled.append(
                    (path, text, rule_file, compile_rule(rule, path, rule_file.maker), index)
                )
            except regex.error:
                continue  # reported by _check_rule
    for path, text, rule_file, later, position in compiled:
        keys = {later.rule.field, *later.rule.also}
        mine = later.rule.asserts.get("maker")
        for other_path, _, other_file, other, other_position in compiled:
            if other is later or other.rule.id in later.rule.overrides:
                continue
            if not keys & {other.rule.field, *other.rule.also}:
                continue
            theirs = other.rule.asserts.get("maker")
            same_file = other_path == path and other_file is rule_file
            earlier = same_file and other_position < position
            clash = theirs is not None and mine is not None and theirs != mine
            if not (earlier or clash):
                continue
            for index, example in enumerate(later.rule.examples):
                if other.match(example.text) is not None:
                    why = f"asserts maker {theirs!r}" if clash else "comes first in the same file"
                    yield (
                        path,
                        _line_of(text, later.rule.id),
                        later.rule.id,
                        f"example {index} is also matched by {other.rule.id} ({why}); "
                        "fix the patterns or list it in overrides",
                    )
                    break


def verify_files(paths: Sequence[Path]) -> list[Problem]:
    """Verify rule files and return every problem found."""
    problems: list[Problem] = []
    seen_ids: dict[str, Path] = {}
    vocabulary = load_vocabulary()
    entities = covered_entities()
    loaded: list[tuple[Path, str, RuleFile, str]] = []
    emitted = probe_emitted_fields()
    if emitted is None and paths:
        problems.append(
            Problem(paths[0], 1, "WARN", "-", "probe registry unavailable; field check skipped")
        )
    for path in paths:
        try:
            rule_file = read_rule_file(path)
        except RuleLoadError as exc:
            problems.append(Problem(path, exc.line, "FAIL", "-", exc.message))
            continue
        text = path.read_text(encoding="utf-8")
        loaded.append((path, text, rule_file, rule_file.maker))
        if rule_file.maker not in vocabulary.makers:
            problems.append(
                Problem(path, 1, "FAIL", "-", f"maker {rule_file.maker!r} is not in the vocabulary")
            )
        if rule_file.covered_entity is not None and rule_file.covered_entity not in entities:
            problems.append(
                Problem(
                    path,
                    1,
                    "FAIL",
                    "-",
                    f"covered_entity {rule_file.covered_entity!r} is not in "
                    "reference/covered_entities.toml",
                )
            )
        for value in rule_file.sources:
            if why := citation_problems(value):
                line = _line_of_text(text, value)
                problems.append(Problem(path, line, "FAIL", "-", f"source does not resolve: {why}"))
        if not rule_file.rule and not rule_file.gaps:
            problems.append(
                Problem(path, 1, "FAIL", "-", "file has no rule; say why in gaps = [...]")
            )
        descriptions: set[str] = set()
        ids_here = {rule.id for rule in rule_file.rule}
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
                Problem(path, line, "FAIL", rule.id, f"overrides unknown rule {target!r}")
                for target in rule.overrides
                if target not in ids_here and target not in seen_ids
            )
            problems.extend(
                Problem(path, line, "FAIL", rule.id, msg)
                for msg in _check_rule(rule, path, rule_file.maker)
            )
            problems.extend(
                Problem(path, line, "FAIL", rule.id, msg) for msg in _source_problems(rule)
            )
            if emitted is not None and (found := _emission(rule, emitted)):
                problems.append(Problem(path, line, found[0], rule.id, found[1]))
    problems.extend(
        Problem(path, line, "FAIL", rule_id, message)
        for path, line, rule_id, message in _shadowing(loaded)
    )
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """Verify the given rule files (default: every shipped file) and print the findings."""
    args = list(sys.argv[1:] if argv is None else argv)
    paths = [Path(a) for a in args] or sorted(default_rules_dir().glob("*.toml"))
    problems = verify_files(paths)
    if not args:
        problems.extend(catalogue_source_problems())
    for problem in problems:
        sys.stderr.write(f"{problem}\n")
    return min(sum(p.level == "FAIL" for p in problems), 100)


if __name__ == "__main__":
    raise SystemExit(main())
