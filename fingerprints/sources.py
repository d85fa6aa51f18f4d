"""The bibliography (``reference/sources.toml``) and the citations that point into it.

A ``source`` string in a rule or catalogue entry cites one or more references separated by
``;``. The first word of each citation names the reference: a bibliography key
(``recog-http-servers``), a public URL (``https://github.com/rroller/dahua/issues/344``) or a
repository file (``owner/repo:path[@commit]``); the words after it say where inside it
(``§4.2``, ``line 10283``, the value quoted). Notes files outside this repository and opaque
search-index numbers are not references a reader can open, and do not resolve.

A rule whose every citation is of kind ``unattributed`` rests on a file whose repository could
not be identified: the engine treats it as a lead (it may break a tie, never decide alone).

``python -m fingerprints.sources --write`` regenerates ``fingerprints/SOURCES.md``.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Final, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Citation",
    "Reference",
    "SourceError",
    "bibliography",
    "citation_problems",
    "is_unattributed",
    "parse_citations",
    "render_markdown",
    "resolve",
    "split_citations",
    "walk_sources",
]

Kind = Literal["url", "repo-path", "standard", "manual", "capture", "unattributed"]

#: ``owner/repo:path`` with an optional ``@commit`` (7 to 40 hex digits).
_REPO_PATH: Final = re.compile(
    r"^(?P<repo>[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+):(?P<path>[^@\s]+)"
    r"(?:@(?P<commit>[0-9a-f]{7,40}))?$"
)
#: ``owner/repo#123``: an issue or pull request (GitHub redirects one to the other).
_ISSUE: Final = re.compile(
    r"^(?P<repo>[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+)#(?P<number>\d+)$"
)
_KEY: Final = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
#: ``line 10283`` / ``lines 10443-10447`` at the head of a citation's detail.
_FIRST_LINE: Final = re.compile(r"^lines? (\d+)")
#: Citations nobody can open: the notes file the rules were first written from, index numbers.
_NOTES: Final = re.compile(r"research/[\w.-]+\.md|fingerprints\.md|search-index", re.IGNORECASE)


class SourceError(ValueError):
    """A citation that does not resolve to a reference a reader can open."""


class Reference(BaseModel):
    """One bibliography entry."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(pattern=_KEY.pattern)
    kind: Kind
    title: str = Field(min_length=3)
    #: URL, ``owner/repo:path@commit``, the standard's number, the manual and section, or a
    #: path in this repository (a capture) — whatever a reader uses to open it.
    locator: str = Field(min_length=1)
    #: For a capture: where the bytes came from.
    provenance: str | None = None
    note: str | None = None

    @property
    def link(self) -> str | None:
        """A URL that opens the reference, when there is one."""
        return _link(self.kind, self.locator)


def _link(kind: str, locator: str) -> str | None:
    if locator.startswith(("https://", "http://")):
        return locator
    if kind == "repo-path" and (match := _REPO_PATH.match(locator.replace(" ", "%20"))):
        ref = match["commit"] or "HEAD"
        return f"https://github.com/{match['repo']}/blob/{ref}/{match['path']}"
    if kind == "capture":
        return None
    return None


@dataclass(frozen=True, slots=True)
class Citation:
    """One citation inside a ``source`` string: what it names, and where inside."""

    reference: Reference
    detail: str
    #: The reference was named directly (URL or repository path), not by key.
    direct: bool = False

    def render(self) -> str:
        """Readable and openable: title, where inside, and the link or locator."""
        ref = self.reference
        where = f" {self.detail}" if self.detail else ""
        if ref.kind == "unattributed":
            return f"{ref.title}{where} (unattributed: repository not identified)"
        opener = ref.link or ref.locator
        if ref.link and (line := _FIRST_LINE.match(self.detail)) and "#" not in ref.link:
            # GitHub and sources.debian.org both open a file at ``#L<n>``.
            opener = f"{ref.link}#L{line.group(1)}"
        if self.direct:
            return f"{opener}{where}"
        return f"{ref.title}{where}: {opener}"


@cache
def bibliography() -> dict[str, Reference]:
    """Every reference of ``reference/sources.toml``, by key."""
    text = resources.files("fingerprints").joinpath("reference/sources.toml").read_text("utf-8")
    refs: dict[str, Reference] = {}
    for raw in tomllib.loads(text).get("source", []):
        ref = Reference.model_validate(raw)
        if ref.key in refs:
            raise SourceError(f"reference/sources.toml: duplicate key {ref.key!r}")
        refs[ref.key] = ref
    return refs


def _direct(token: str) -> Reference | None:
    if token.startswith(("https://", "http://")):
        parts = urlsplit(token)
        if parts.scheme != "https" or "." not in parts.netloc or " " in token:
            raise SourceError(f"malformed URL {token!r} (an https:// address with a host)")
        return Reference(key="url", kind="url", title=token, locator=token)
    if match := _ISSUE.match(token):
        url = f"https://github.com/{match['repo']}/issues/{match['number']}"
        return Reference(key="url", kind="url", title=token, locator=url)
    if "/" in token and ":" in token:
        if _REPO_PATH.match(token) is None:
            raise SourceError(f"malformed repository path {token!r} (owner/repo:path[@commit])")
        return Reference(key="repo", kind="repo-path", title=token, locator=token)
    return None


def split_citations(source: str) -> list[str]:
    """Split on ``;`` outside parentheses (a note in parentheses may hold a semicolon)."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(source):
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif char == ";" and depth == 0:
            parts.append(source[start:index])
            start = index + 1
    parts.append(source[start:])
    return parts


def parse_citations(source: str) -> tuple[Citation, ...]:
    """Split and resolve a ``source`` string; raises :class:`SourceError` on any bad citation."""
    refs = bibliography()
    citations: list[Citation] = []
    for part in (p.strip() for p in split_citations(source)):
        if not part:
            continue
        if found := _NOTES.search(part):
            raise SourceError(
                f"{found.group()!r} is a notes file or index number, not an openable source; "
                "cite the public reference (a key of reference/sources.toml, a URL, "
                "owner/repo:path)"
            )
        token, _, detail = part.partition(" ")
        direct = _direct(token)
        if direct is not None:
            citations.append(Citation(direct, detail.strip(), direct=True))
        elif token in refs:
            citations.append(Citation(refs[token], detail.strip()))
        else:
            raise SourceError(f"unknown source key {token!r} (not in reference/sources.toml)")
    if not citations:
        raise SourceError("no source cited")
    return tuple(citations)


def citation_problems(source: str) -> str | None:
    """Why ``source`` does not resolve, or None when it does."""
    try:
        parse_citations(source)
    except SourceError as exc:
        return str(exc)
    return None


@cache
def resolve(source: str) -> str:
    """The openable form of a ``source`` string, for reports; unresolvable text is kept as is."""
    try:
        return "; ".join(c.render() for c in parse_citations(source))
    except SourceError:
        return source


@cache
def is_unattributed(source: str) -> bool:
    """True when every citation of ``source`` is unattributed (the clue is then a lead)."""
    try:
        return all(c.reference.kind == "unattributed" for c in parse_citations(source))
    except SourceError:
        return False


# ------------------------------------------------------------------------- SOURCES.md


def _cited_strings() -> Iterable[tuple[str, str]]:
    """(file, source string) for every citation in the shipped rule and catalogue files."""
    root = Path(str(resources.files("fingerprints")))
    files = sorted((root / "rules").glob("*.toml")) + sorted(
        p for p in (root / "reference").rglob("*.toml") if p.name != "sources.toml"
    )
    for path in files:
        data = tomllib.loads(path.read_text("utf-8"))
        for value in walk_sources(data):
            yield path.relative_to(root).as_posix(), value


def walk_sources(node: object) -> Iterable[str]:
    """Every ``source`` string and ``sources`` list item in a parsed TOML document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("source", "subsidiary_sources") and isinstance(value, str):
                yield value
            elif key == "sources" and isinstance(value, list):
                yield from (v for v in value if isinstance(v, str))
            else:
                yield from walk_sources(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk_sources(item)


def render_markdown(cited: Sequence[tuple[str, str]] | None = None) -> str:
    """``fingerprints/SOURCES.md``: each reference once, with where it is cited."""
    pairs = list(_cited_strings()) if cited is None else list(cited)
    uses: dict[str, set[str]] = {}
    direct: dict[str, set[str]] = {}
    for file, value in pairs:
        try:
            citations = parse_citations(value)
        except SourceError:
            continue
        for citation in citations:
            bucket = direct if citation.direct else uses
            name = citation.reference.locator if citation.direct else citation.reference.key
            bucket.setdefault(name, set()).add(file)
    lines = [
        "# Sources",
        "",
        "Generated from `reference/sources.toml` by `python -m fingerprints.sources --write`;",
        "do not edit by hand. Rules and catalogue entries cite these by key (the first word of",
        "each `;`-separated citation in a `source`), or name a URL or `owner/repo:path` directly.",
        "An *unattributed* entry is a file seen only in a public code index whose repository",
        "could not be identified: a rule that cites nothing better is a lead, never decisive.",
        "",
    ]
    by_kind: dict[str, list[Reference]] = {}
    for ref in bibliography().values():
        by_kind.setdefault(ref.kind, []).append(ref)
    for kind in ("standard", "url", "repo-path", "manual", "capture", "unattributed"):
        refs = by_kind.get(kind, [])
        if not refs:
            continue
        lines += [f"## {kind}", ""]
        for ref in sorted(refs, key=lambda r: r.key):
            opener = ref.link or ref.locator
            where = ", ".join(sorted(uses.get(ref.key, ()))) or "not cited"
            lines.append(f"- **`{ref.key}`** — {ref.title}. {opener}")
            if ref.provenance:
                lines.append(f"  - provenance: {ref.provenance}")
            lines.append(f"  - cited in: {where}")
        lines.append("")
    if direct:
        lines += ["## cited directly", ""]
        for locator in sorted(direct):
            link = _link("repo-path", locator) or locator
            lines.append(f"- {link} — {', '.join(sorted(direct[locator]))}")
        lines.append("")
    return "\n".join(lines)


def sources_md_path() -> Path:
    """Where the generated ``SOURCES.md`` lives."""
    return Path(str(resources.files("fingerprints"))) / "SOURCES.md"


def main(argv: Sequence[str] | None = None) -> int:
    """``--write`` regenerates SOURCES.md; ``--check`` fails when it is out of date."""
    args = list(sys.argv[1:] if argv is None else argv)
    text = render_markdown()
    path = sources_md_path()
    if "--write" in args:
        path.write_text(text, encoding="utf-8")
        return 0
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    if current != text:
        sys.stderr.write(f"{path} is out of date: python -m fingerprints.sources --write\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
