"""The rule-file format (one TOML file per maker in ``fingerprints/rules/``).

A rule names the observation field it reads, a regular expression whose *named* groups become
output fields, what it asserts, how certain it is, where the knowledge comes from, and examples
that must match (and counterexamples that must not). The examples are the tests.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Example", "Rule", "RuleFile", "json_schema"]

_ID = r"^[a-z0-9_-]+(\.[a-z0-9_-]+)+$"


class Example(BaseModel):
    """A real value the rule must match (or, as a counterexample, must not)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    expect: dict[str, str] = Field(default_factory=dict)
    note: str | None = None
    source: str | None = None


class Rule(BaseModel):
    """One pattern over one observation field."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=_ID)
    field: str = Field(pattern=r"^[a-z]+\.[a-z_0-9]+(?:\.[a-z_0-9]+)?$")
    pattern: str
    flags: tuple[Literal["ignorecase", "dotall", "multiline"], ...] = ()
    description: str = Field(min_length=10)
    certainty: float = Field(gt=0, le=1)
    asserts: dict[str, str] = Field(default_factory=dict)
    #: Citations of ``reference/sources.toml`` keys, URLs or ``owner/repo:path`` (``;``-separated).
    source: str = Field(min_length=3)
    examples: tuple[Example, ...] = ()
    counterexamples: tuple[Example, ...] = ()
    unanchored_why: str | None = None
    overrides: tuple[str, ...] = ()
    #: Other observation keys carrying the same value through another probe (ONVIF scopes are
    #: read both from WS-Discovery and from GetScopes), so one rule serves them all.
    also: tuple[str, ...] = ()
    #: A generic clue (bare ``Webs``, a shared ``Public:`` list): it may break a tie but never
    #: decides a verdict on its own, however many of them agree (nmap-service-probes line 10286
    #: lists a bare ``Webs`` as Hikvision). A rule citing only unattributed sources acts as one.
    lead: bool = False
    #: ``identifying``: the value names the maker or carries a maker-specific token (a vendor
    #: protocol, a registered enterprise number, a model prefix only that maker uses).
    #: ``shape``: a grammar (firmware, serial, model layout) or a generic banner that other
    #: makers could produce. A shape never decides a verdict alone: a maker needs one
    #: identifying clue, or shape clues from two independent sources that agree.
    clue: Literal["identifying", "shape"]
    #: No built-in probe emits this rule's field yet: it serves observations brought in by
    #: ``identify``/``import`` (nmap XML, a banner spreadsheet). The verifier accepts an unemitted
    #: field only with this mark, and flags the mark once a probe emits the field.
    import_only: bool = False


class RuleFile(BaseModel):
    """A maker's rule file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1]
    maker: str
    #: Key in ``reference/covered_entities.toml`` when the maker is a covered entity.
    covered_entity: str | None = None
    sources: tuple[str, ...] = ()
    #: Why a file holds few or no rules (Hytera: only MAC prefixes are known).
    gaps: tuple[str, ...] = ()
    rule: tuple[Rule, ...] = ()


def json_schema() -> dict[str, object]:
    """The JSON Schema of a rule file (``reference/rule-file.schema.json``), for editors."""
    schema = RuleFile.model_json_schema()
    schema["$id"] = "https://ndaa-scan.invalid/schema/rule-file.schema.json"
    schema["title"] = "ndaa-scan fingerprint rule file"
    return schema
