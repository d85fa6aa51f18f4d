"""``ndaa-scan.toml``: the sites of an organisation, where their results go, and when they sweep.

One file drives every mode: a single-machine sweep (``ndaa-scan sweep --config FILE --site NAME``),
a site worker (``ndaa-scan worker``), the scheduler (``ndaa-scan schedule``) and submissions
(``ndaa-scan scans submit``). Example::

    store = "postgresql+psycopg://ndaa@db.example.org/ndaa"   # default: the embedded SQLite
    broker = "redis://queue.example.org:6379/0"                # only workers and schedule need it

    [sites.city-hall]
    scopes = [{ cidr = "198.18.0.0/24", use = "video surveillance of public areas" }]
    exclude = ["198.18.0.1"]
    rate = 200
    budget = 900
    schedule = "0 2 * * 1"        # cron: Mondays 02:00 UTC

A mistake is reported as one line that names the file and the line (``ConfigError``); the CLI
turns it into exit 2. Nothing here sends a packet: scopes are checked by :class:`Scope` again
when a sweep starts, with the same safety rules as on the command line.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from scanner.errors import ScopeError, TargetSpecError
from scanner.scope import Scope

__all__ = [
    "MAX_CONFIG_BYTES",
    "ConfigError",
    "FleetConfig",
    "ScopeEntry",
    "SiteConfig",
    "cron_fields",
    "load_config",
]

#: A configuration is a few kilobytes; anything past this is not one.
MAX_CONFIG_BYTES: Final = 1 << 20
_SITE_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_CRON_RANGES: Final = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_CRON_NAMES: Final = ("minute", "hour", "day of month", "month", "day of week")
_CRON_ITEM: Final = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?$")


class ConfigError(Exception):
    """The configuration cannot be used; the message is one line: ``FILE:LINE: what``."""


def cron_fields(expression: str) -> tuple[str, str, str, str, str]:
    """Split and check a five-field cron expression (minute hour day-of-month month weekday)."""
    fields = expression.split()
    if len(fields) != len(_CRON_RANGES):
        raise ValueError(f"cron needs 5 fields (minute hour day month weekday), got {len(fields)}")
    for text, (low, high), name in zip(fields, _CRON_RANGES, _CRON_NAMES, strict=True):
        for item in text.split(","):
            if not _CRON_ITEM.match(item):
                raise ValueError(f"cron {name} {text!r} is not a number, range, list or */step")
            numbers = [int(n) for n in re.findall(r"\d+", item.split("/")[0])]
            if any(not low <= n <= high for n in numbers):
                raise ValueError(f"cron {name} {text!r} is outside {low}-{high}")
    return fields[0], fields[1], fields[2], fields[3], fields[4]


class ScopeEntry(BaseModel):
    """One network a site sweeps, and the intended use of the equipment on it.

    The use is what §889(f)(3)(B) turns on for video surveillance and telecommunications gear
    of Hikvision, Dahua and Hytera ("for the purpose of public safety, security of government
    facilities, physical security surveillance of critical infrastructure, and other national
    security purposes"); the inventory carries it so an auditor can read the claim.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    cidr: str = Field(min_length=1, max_length=100)
    use: str | None = Field(default=None, max_length=300)


class SiteConfig(BaseModel):
    """One site: what to sweep, how hard, when, and from which network namespace."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    scopes: tuple[ScopeEntry, ...] = Field(min_length=1)
    exclude: tuple[str, ...] = ()
    allow_private: bool = False
    allow_public: bool = False
    #: TOML file with the ONVIF ``username`` and ``password`` (read by the worker, never logged).
    credentials: Path | None = None
    rate: Annotated[float, Field(gt=0, le=100_000)] = 1000.0
    concurrency: Annotated[int, Field(ge=1, le=4096)] = 64
    budget: Annotated[float, Field(ge=1, le=86_400)] = 900.0
    max_hosts: Annotated[int, Field(ge=1)] = 65_536
    probes: tuple[str, ...] | None = None
    #: Five-field cron expression (UTC) for ``ndaa-scan schedule``; none: on demand only.
    schedule: str | None = None
    operator: str | None = Field(default=None, max_length=300)
    #: Run the site's sweeps inside this network namespace (a lab's ``ndl-<lab>-scan``).
    netns: str | None = Field(default=None, max_length=64)

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            cron_fields(value)
        return value

    @model_validator(mode="after")
    def _scope_is_sweepable(self) -> SiteConfig:
        self.scope()
        return self

    def scope(self) -> Scope:
        """The site's scope, checked by the same rules as a command-line sweep."""
        try:
            return Scope.from_specs(
                [s.cidr for s in self.scopes],
                self.exclude,
                allow_private=self.allow_private,
                allow_public=self.allow_public,
            )
        except (ScopeError, TargetSpecError) as exc:
            raise ValueError(f"scopes: {exc}") from exc

    @property
    def queue(self) -> str:
        """The broker queue this site's worker consumes."""
        return f"ndaa-scan.site.{self.name}"


class FleetConfig(BaseModel):
    """The whole file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: SQLAlchemy URL or path of the central store; None: the embedded default.
    store: str | None = None
    #: Celery broker URL (Redis); needed by workers, the scheduler and submissions only.
    broker: str | None = None
    #: Seconds before a message a dead worker took is handed out again (Redis transport): longer
    #: than the longest site budget, or a live sweep would be delivered twice.
    visibility_timeout: Annotated[float, Field(ge=1, le=7 * 86_400)] | None = None
    sites: dict[str, SiteConfig] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _name_sites(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("sites"), dict):
            sites = {}
            for name, body in data["sites"].items():
                if not _SITE_NAME.match(str(name)):
                    raise ValueError(
                        f"site name {name!r}: letters, digits, '.', '_' and '-' only (max 63)"
                    )
                sites[name] = {**body, "name": name} if isinstance(body, dict) else body
            data = {**data, "sites": sites}
        return data

    def site(self, name: str) -> SiteConfig:
        """The named site, or a ConfigError listing the sites there are."""
        try:
            return self.sites[name]
        except KeyError:
            known = ", ".join(sorted(self.sites)) or "none"
            raise ConfigError(f"no site {name!r} in the configuration (sites: {known})") from None

    @property
    def redelivery_after(self) -> float:
        """The visibility timeout to give the broker (explicit, else twice the longest budget)."""
        if self.visibility_timeout is not None:
            return self.visibility_timeout
        longest = max((s.budget for s in self.sites.values()), default=900.0)
        return 2 * longest + 60


def _line_of(text: str, loc: tuple[int | str, ...]) -> int:
    """Best line for an error at ``loc``: the key's own line within its table, else the table's."""
    lines = text.splitlines()
    line = 1
    start = 0
    if len(loc) >= 2 and loc[0] == "sites":
        header = re.compile(rf"^\s*\[\s*sites\s*\.\s*[\"']?{re.escape(str(loc[1]))}[\"']?\s*\]")
        for number, content in enumerate(lines):
            if header.match(content):
                line, start = number + 1, number + 1
                break
        keys = loc[2:3]
    else:
        keys = loc[:1]
    if keys:
        key = re.compile(rf"^\s*{re.escape(str(keys[0]))}\s*=")
        for number in range(start, len(lines)):
            if number > start and lines[number].lstrip().startswith("[") and start:
                break
            if key.match(lines[number]):
                return number + 1
    return line


def load_config(path: Path) -> FleetConfig:
    """Read and check ``path``; any problem is one ConfigError line naming the file and line."""
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: not a configuration (larger than 1 MiB)")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        what = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ConfigError(f"{path}:{where.group(1) if where else 1}: {what}") from None
    try:
        return FleetConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        field = ".".join(str(p) for p in loc if p not in {"value"})
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(
            f"{path}:{_line_of(text, loc)}: {field + ': ' if field else ''}{message}"
        ) from None
