"""Measure the fingerprint verdict on the real-value corpus in tests/fingerprints/corpus/.

Every case becomes JSON Lines observations ({"host","protocol","field","value"}), goes through
the same reader and engine as ``ndaa-scan identify``, and is scored:

- recall per covered maker: share of covered positives whose ``maker`` is the true maker
  (and, reported alongside, the share the verdict already calls ``covered``);
- false-positive rate on negatives: share of non-covered devices called ``covered``;
- false positives per field: for every observation field the negatives carry, how many of them
  drew a clue for a covered maker from that field, and how many ended ``covered``;
- calibration: per confidence bin, the cases, the mean stated confidence and the observed share
  of right makers. Stated confidence should stay within 10 points of the observed share in every
  bin with at least 20 cases (``CALIBRATION_MIN_CASES``, ``CALIBRATION_TOLERANCE``).

Usage:  .venv/bin/python benchmarks/fingerprint_accuracy.py [--json] [--verbose]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "fingerprints" / "corpus"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fingerprints import covered_entities, load_database  # noqa: E402
from fingerprints.verdict import identify  # noqa: E402
from scanner.cli.identify_command import identity_json, parse_observation_lines  # noqa: E402


@dataclass
class Case:
    id: str
    truth: str
    covered: bool
    source: str
    observations: list[tuple[str, str]]
    brand: str | None = None
    file: str = ""
    heldout: bool = False


CALIBRATION_BINS = 10
CALIBRATION_MIN_CASES = 20
CALIBRATION_TOLERANCE = 0.10


@dataclass
class Outcome:
    case: Case
    maker: str | None
    covered: bool | None
    brand: str | None
    confidence: float
    #: observation fields whose evidence asserted a covered maker
    covered_clue_fields: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CalibrationBin:
    low: float
    high: float
    cases: int
    stated: float
    observed: float

    @property
    def checked(self) -> bool:
        return self.cases >= CALIBRATION_MIN_CASES

    @property
    def within_tolerance(self) -> bool:
        return abs(self.stated - self.observed) <= CALIBRATION_TOLERANCE + 1e-9


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def positives(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.case.covered]

    def negatives(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.case.covered]

    def recall(self) -> dict[str, tuple[int, int, int]]:
        """maker -> (right maker, called covered, cases)."""
        table: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for outcome in self.positives():
            row = table[outcome.case.truth]
            row[0] += outcome.maker == outcome.case.truth
            row[1] += outcome.covered is True
            row[2] += 1
        return {maker: (r[0], r[1], r[2]) for maker, r in sorted(table.items())}

    def false_positives(self) -> list[Outcome]:
        return [o for o in self.negatives() if o.covered is True]

    def overall_recall(self) -> float:
        positives = self.positives()
        return sum(o.maker == o.case.truth for o in positives) / max(len(positives), 1)

    def false_positive_rate(self) -> float:
        return len(self.false_positives()) / max(len(self.negatives()), 1)

    def field_false_positives(self) -> dict[str, tuple[int, int, int]]:
        """field -> (negatives carrying it, covered-maker clues from it, covered verdicts)."""
        table: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for outcome in self.negatives():
            for key in {key for key, _ in outcome.case.observations}:
                row = table[key]
                row[0] += 1
                row[1] += key in outcome.covered_clue_fields
                row[2] += outcome.covered is True
        return {key: (r[0], r[1], r[2]) for key, r in sorted(table.items())}

    def calibration(self) -> list[CalibrationBin]:
        """Stated confidence against the observed share of right makers, per 0.1 bin."""
        bins: list[list[Outcome]] = [[] for _ in range(CALIBRATION_BINS)]
        for outcome in self.outcomes:
            if outcome.maker is None:
                continue  # no maker stated, nothing to be right about
            index = min(int(outcome.confidence * CALIBRATION_BINS), CALIBRATION_BINS - 1)
            bins[index].append(outcome)
        return [
            CalibrationBin(
                low=index / CALIBRATION_BINS,
                high=(index + 1) / CALIBRATION_BINS,
                cases=len(items),
                stated=sum(o.confidence for o in items) / len(items),
                observed=sum(o.maker == o.case.truth for o in items) / len(items),
            )
            for index, items in enumerate(bins)
            if items
        ]


def load_corpus(directory: Path = CORPUS) -> list[Case]:
    return [
        Case(
            id=row["id"],
            truth=row["truth"],
            covered=row["covered"],
            source=row["source"],
            observations=[(key, value) for key, value in row["observations"]],
            brand=row.get("brand"),
            file=path.name,
            heldout=bool(row.get("heldout", False)),
        )
        for path in sorted(directory.glob("*.toml"))
        for row in tomllib.loads(path.read_text(encoding="utf-8"))["case"]
    ]


def _jsonl(case: Case, host: str) -> str:
    lines = []
    for key, value in case.observations:
        protocol, name = key.split(".", 1)
        lines.append(
            json.dumps({"host": host, "protocol": protocol, "field": name, "value": value})
        )
    return "\n".join(lines) + "\n"


def run(cases: list[Case]) -> Report:
    """Identify every case on its own (cases never share evidence) via the `identify` path."""
    db = load_database()
    covered_makers = set(covered_entities())
    report = Report()
    with tempfile.TemporaryDirectory() as tmp:
        for index, case in enumerate(cases):
            host = f"198.18.{index // 250}.{index % 250 + 1}"
            path = Path(tmp) / f"{index}.jsonl"
            path.write_text(_jsonl(case, host), encoding="utf-8")
            observations, errors = parse_observation_lines(str(path))
            if errors:
                raise ValueError(f"{case.id}: bad corpus row: {errors}")
            rows: list[dict[str, Any]] = [
                identity_json(device, host) for device in identify(observations, db)
            ]
            row = next(r for r in rows if r["host"] == host)
            clue_fields = frozenset(
                item["field"]
                for item in row["evidence"]
                if item["asserts"].get("maker") in covered_makers
            )
            report.outcomes.append(
                Outcome(
                    case, row["maker"], row["covered"], row["brand"], row["confidence"], clue_fields
                )
            )
    return report


def render(report: Report, *, verbose: bool) -> str:
    lines = [
        f"corpus: {len(report.outcomes)} cases "
        f"({len(report.positives())} covered positives, {len(report.negatives())} negatives)"
    ]
    lines.append("recall per covered maker (right maker / called covered / cases):")
    for maker, (right, covered, total) in report.recall().items():
        lines.append(
            f"  {maker:10} {right}/{total} = {right / total:6.1%}   covered verdict "
            f"{covered}/{total} = {covered / total:6.1%}"
        )
    lines.append(f"overall recall (right maker): {report.overall_recall():.1%}")
    fps = report.false_positives()
    lines.append(
        f"false-positive rate on negatives (called covered): "
        f"{len(fps)}/{len(report.negatives())} = {report.false_positive_rate():.1%}"
    )
    held = Report([o for o in report.outcomes if o.case.heldout])
    if held.outcomes:
        lines.append(
            f"held-out subset ({len(held.outcomes)} cases found after the rules were written): "
            f"recall {held.overall_recall():.1%} on {len(held.positives())} positives, "
            f"false positives {len(held.false_positives())}/{len(held.negatives())}"
        )
    lines.append(
        "false positives per field on negatives "
        "(negatives with the field / covered-maker clue from it / called covered):"
    )
    for key, (total, clues, covered) in report.field_false_positives().items():
        lines.append(f"  {key:28} {total:4} {clues:4} {covered:4}")
    lines.append(
        f"calibration (cases with a maker; bins with >= {CALIBRATION_MIN_CASES} cases must be "
        f"within {CALIBRATION_TOLERANCE:.0%}):"
    )
    lines.append("  bin          cases  stated  observed  check")
    for row in report.calibration():
        check = ("ok" if row.within_tolerance else "OFF") if row.checked else "-"
        lines.append(
            f"  {row.low:.1f}-{row.high:.1f}   {row.cases:6}  {row.stated:6.3f}  "
            f"{row.observed:8.3f}  {check}"
        )
    misses = [o for o in report.positives() if o.maker != o.case.truth] + fps
    lines.extend(
        f"  MISS {o.case.id}: truth={o.case.truth} maker={o.maker} covered={o.covered}"
        for o in misses
    )
    if verbose:
        lines.extend(
            f"  {o.case.id:45} truth={o.case.truth:18} maker={o.maker!s:18}"
            f" covered={o.covered!s:5} brand={o.brand} conf={o.confidence}"
            for o in report.outcomes
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    parser.add_argument("--verbose", action="store_true", help="print every case")
    args = parser.parse_args(argv)
    report = run(load_corpus())
    if args.json:
        print(
            json.dumps(
                {
                    "cases": len(report.outcomes),
                    "recall": {
                        m: {"right_maker": r, "called_covered": c, "cases": t}
                        for m, (r, c, t) in report.recall().items()
                    },
                    "overall_recall": report.overall_recall(),
                    "false_positive_rate": report.false_positive_rate(),
                    "negatives": len(report.negatives()),
                    "heldout_recall": Report(
                        [o for o in report.outcomes if o.case.heldout]
                    ).overall_recall(),
                    "field_false_positives": {
                        key: {"negatives": t, "covered_clues": c, "called_covered": v}
                        for key, (t, c, v) in report.field_false_positives().items()
                    },
                    "calibration": [
                        {
                            "bin": [row.low, row.high],
                            "cases": row.cases,
                            "stated": round(row.stated, 4),
                            "observed": round(row.observed, 4),
                        }
                        for row in report.calibration()
                    ],
                },
                indent=2,
            )
        )
    else:
        print(render(report, verbose=args.verbose))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
