"""The credentials file (``--credentials FILE``): logins the operator holds, scoped per device.

A TOML file of entries, each scoped by CIDR, host address or site, for ONVIF, HTTP (digest or
basic: ISAPI, Dahua CGI) and SNMP (v2c communities, v3 users)::

    [[http]]
    match = ["198.18.0.16", "198.18.0.35"]   # CIDRs, addresses or "site:<name>"
    username = "auditor"
    password = "..."
    scheme = "digest"                        # digest (default), basic, or any

    [[onvif]]
    match = "198.18.0.0/24"
    username = "onvif-ro"
    password = "..."

    [[snmp]]
    match = "site:City Hall"
    communities = ["..."]
    v3 = [{ username = "auditor", auth_protocol = "sha", auth_key = "...",
            priv_protocol = "aes", priv_key = "..." }]

Probes ask unauthenticated first and use an entry only when the device asks for a login and the
entry's scope names the device: nothing is ever guessed, and a device is offered at most
:data:`MAX_TRIES` logins so an account lockout policy is never tripped by a sweep. Every secret
is a :class:`~pydantic.SecretStr` (its repr is ``**********``), and a file that does not parse or
validate is reported by file name, line and key, never by value.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, ip_network
from pathlib import Path
from typing import Annotated, Final, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, ValidationError

__all__ = [
    "MAX_CREDENTIALS_BYTES",
    "MAX_TRIES",
    "CredentialError",
    "CredentialStore",
    "HttpCredential",
    "Login",
    "OnvifCredential",
    "Scope",
    "SnmpCredential",
    "SnmpCredentials",
    "SnmpV3User",
    "load_credentials",
    "parse_credentials",
]

#: A credentials file for a county is a few hundred entries; 256 KiB is far beyond that.
MAX_CREDENTIALS_BYTES: Final = 256 * 1024
#: Logins offered to one device per protocol: real firmware locks an account after 3-5 failures
#: (Hikvision: 7 attempts lock the IP for 30 min; Dahua: 5), so a sweep stays well below.
MAX_TRIES: Final = 2
_SITE_PREFIX: Final = "site:"
_TOML_LINE: Final = re.compile(r"at line (\d+)")


class CredentialError(ValueError):
    """The credentials file is unusable; the message names file, line and key, never a value."""


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


class Scope(BaseModel):
    """Where an entry applies: networks, single addresses, site names."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    networks: tuple[IPv4Network, ...] = ()
    sites: tuple[str, ...] = ()

    @classmethod
    def parse(cls, specs: Sequence[str]) -> Scope:
        """Read ``["198.18.0.0/24", "198.18.0.16", "site:City Hall"]``."""
        networks: list[IPv4Network] = []
        sites: list[str] = []
        for spec in specs:
            text = spec.strip()
            if text.lower().startswith(_SITE_PREFIX):
                name = text[len(_SITE_PREFIX) :].strip()
                if not name:
                    raise ValueError("'site:' needs a site name")
                sites.append(name.casefold())
                continue
            try:
                net = ip_network(text, strict=False)
            except ValueError:
                raise ValueError("match must be a CIDR, an IPv4 address or 'site:<name>'") from None
            if not isinstance(net, IPv4Network):
                raise ValueError("only IPv4 networks are scanned")  # noqa: TRY004 - a value
            networks.append(net)
        if not networks and not sites:
            raise ValueError("match names no network, host or site")
        return cls(networks=tuple(networks), sites=tuple(sites))

    def specificity(self, host: IPv4Address, site: str | None) -> int | None:
        """How closely the scope names ``host``: prefix length (33 for a site), None if not."""
        lengths = [net.prefixlen for net in self.networks if host in net]
        if lengths:
            return max(lengths)
        if site is not None and site.casefold() in self.sites:
            return 0
        return None


MatchSpecs = Annotated[tuple[str, ...], BeforeValidator(_as_list), Field(min_length=1)]
Text = Annotated[str, Field(min_length=1, max_length=256)]


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    match: MatchSpecs
    #: Free text for the operator ("NVR admin of the annex"); never a secret.
    label: str | None = Field(default=None, max_length=120)

    def scope(self) -> Scope:
        """The parsed scope (validated at load time)."""
        return Scope.parse(self.match)


class Login(BaseModel):
    """A username and password, as handed to a probe."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    username: Text
    password: SecretStr
    scheme: Literal["digest", "basic", "any"] = "digest"

    def __repr__(self) -> str:
        return f"Login(username={self.username!r}, password=SecretStr('**********'))"


_E = TypeVar("_E", bound=_Entry)


class HttpCredential(_Entry):
    """A web login (ISAPI, Dahua CGI, any digest or basic realm)."""

    username: Text
    password: SecretStr
    #: digest only by default: basic sends the password in clear text, so it must be asked for.
    scheme: Literal["digest", "basic", "any"] = "digest"


class OnvifCredential(_Entry):
    """An ONVIF user (WS-UsernameToken, with HTTP digest as the fallback)."""

    username: Text
    password: SecretStr


class SnmpV3User(BaseModel):
    """One SNMPv3 USM user; protocols as net-snmp names them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Field names and protocol spellings as the SNMP probe's ``scanner.snmp_credentials`` has
    #: them, so an entry converts one to one when that probe reads per-host credentials.
    username: Text
    auth_protocol: Literal["md5", "sha", "sha224", "sha256", "sha384", "sha512"] | None = None
    auth_key: SecretStr | None = None
    priv_protocol: Literal["des", "3des", "aes", "aes192", "aes256"] | None = None
    priv_key: SecretStr | None = None
    context: str = ""


class SnmpCredential(_Entry):
    """SNMP v2c communities and v3 users for the hosts in scope."""

    communities: tuple[SecretStr, ...] = ()
    v3: tuple[SnmpV3User, ...] = ()


class SnmpCredentials(BaseModel):
    """What the SNMP probe may try on one host, most specific entry first."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    communities: tuple[SecretStr, ...] = ()
    v3_users: tuple[SnmpV3User, ...] = ()


class CredentialFile(BaseModel):
    """The file as written."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    http: tuple[HttpCredential, ...] = ()
    onvif: tuple[OnvifCredential, ...] = ()
    snmp: tuple[SnmpCredential, ...] = ()


def _ranked(entries: Iterable[_E], host: IPv4Address, site: str | None) -> list[_E]:
    scored = []
    for index, entry in enumerate(entries):
        rank = entry.scope().specificity(host, site)
        if rank is not None:
            scored.append((-rank, index, entry))
    return [entry for _, _, entry in sorted(scored, key=lambda item: item[:2])]


class CredentialStore(BaseModel):
    """The loaded file plus the site the sweep runs at; answers "which login for this host"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entries: CredentialFile = CredentialFile()
    site: str | None = None
    #: The file the entries came from, for the limitations statement (a path, not a secret).
    source: str | None = None

    @property
    def empty(self) -> bool:
        """Whether the store holds no entry at all."""
        return not (self.entries.http or self.entries.onvif or self.entries.snmp)

    def http_logins(self, host: IPv4Address) -> tuple[Login, ...]:
        """Web logins for ``host``, most specific scope first, at most :data:`MAX_TRIES`."""
        ranked = _ranked(self.entries.http, host, self.site)
        return tuple(
            Login(username=e.username, password=e.password, scheme=e.scheme)
            for e in ranked[:MAX_TRIES]
        )

    def onvif_logins(self, host: IPv4Address) -> tuple[Login, ...]:
        """ONVIF logins for ``host``; with no ONVIF entry in scope, the web logins."""
        ranked = _ranked(self.entries.onvif, host, self.site)
        if not ranked:
            return self.http_logins(host)
        return tuple(
            Login(username=e.username, password=e.password, scheme="digest")
            for e in ranked[:MAX_TRIES]
        )

    def snmp_for(self, host: IPv4Address) -> SnmpCredentials:
        """Communities and v3 users in scope for ``host``, most specific entry first."""
        ranked = _ranked(self.entries.snmp, host, self.site)
        communities = tuple(c for e in ranked for c in e.communities)
        users = tuple(u for e in ranked for u in e.v3)
        return SnmpCredentials(communities=communities[:MAX_TRIES], v3_users=users[:MAX_TRIES])

    def secrets(self) -> tuple[str, ...]:
        """Every secret value (for redaction tests and log filters, never for output)."""
        values = [e.password.get_secret_value() for e in self.entries.http]
        values.extend(e.password.get_secret_value() for e in self.entries.onvif)
        for snmp in self.entries.snmp:
            values.extend(c.get_secret_value() for c in snmp.communities)
            for user in snmp.v3:
                values.extend(k.get_secret_value() for k in (user.auth_key, user.priv_key) if k)
        return tuple(v for v in values if v)


# ------------------------------------------------------------------------------ loading


def _line_of(text: str, loc: Sequence[int | str]) -> int:
    """The line of ``[[table]]`` number ``loc[1]`` and its key ``loc[2]`` (1 when unknown)."""
    lines = text.splitlines()
    if not loc:
        return 1
    table = str(loc[0])
    if len(loc) < 2 or not isinstance(loc[1], int):
        pattern = re.compile(rf"^\s*(?:\[\[?\s*{re.escape(table)}\s*\]\]?|{re.escape(table)}\s*=)")
        return next((n for n, line in enumerate(lines, 1) if pattern.match(line)), 1)
    header = re.compile(rf"^\s*\[\[\s*{re.escape(table)}\s*\]\]")
    starts = [n for n, line in enumerate(lines, 1) if header.match(line)]
    if loc[1] >= len(starts):
        return starts[-1] if starts else 1
    start = starts[loc[1]]
    if len(loc) < 3:
        return start
    key = re.compile(rf"^\s*{re.escape(str(loc[2]))}\s*=")
    for offset, line in enumerate(lines[start:], start + 1):
        if line.lstrip().startswith("["):
            break
        if key.match(line):
            return offset
    return start


def _where(loc: Sequence[int | str]) -> str:
    parts = [str(loc[0])] if loc else []
    parts.extend(f"[{part + 1}]" if isinstance(part, int) else f".{part}" for part in loc[1:])
    return "".join(parts) or "file"


def _decode(text: str, name: str) -> dict[str, object]:
    problem: str | None = None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # The decoder's message may quote the offending text (a password): keep only the line.
        found = _TOML_LINE.search(str(exc))
        problem = f"{name}:{found.group(1) if found else '1'}: not valid TOML"
    # Raised outside the handler, so the error carries no context that could quote the file.
    raise CredentialError(problem)


def _validate(data: dict[str, object], text: str, name: str) -> CredentialFile:
    problem: str | None = None
    try:
        return CredentialFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        loc = tuple(first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        problem = f"{name}:{_line_of(text, loc)}: {_where(loc)}: {message}"
    raise CredentialError(problem)


def _check_scopes(parsed: CredentialFile, text: str, name: str) -> None:
    tables: tuple[tuple[str, Sequence[_Entry]], ...] = (
        ("http", parsed.http),
        ("onvif", parsed.onvif),
        ("snmp", parsed.snmp),
    )
    for kind, table in tables:
        for index, entry in enumerate(table):
            problem: str | None = None
            try:
                entry.scope()
            except ValueError as exc:
                where: tuple[str | int, ...] = (kind, index, "match")
                problem = f"{name}:{_line_of(text, where)}: {_where(where)}: {exc}"
            if problem is not None:
                raise CredentialError(problem)


def parse_credentials(text: str, *, name: str = "<credentials>") -> CredentialFile:
    """Validate ``text``; raise :class:`CredentialError` as ``name:line: where: what``.

    Every error is raised outside the handler that found it, so neither its message nor its
    ``__context__`` can carry a value from the file.
    """
    parsed = _validate(_decode(text, name), text, name)
    _check_scopes(parsed, text, name)
    return parsed


def load_credentials(path: Path, *, site: str | None = None) -> CredentialStore:
    """Read ``path`` into a :class:`CredentialStore` (``CredentialError`` if unusable)."""
    problem: str | None = None
    text = ""
    try:
        if path.stat().st_size > MAX_CREDENTIALS_BYTES:
            problem = f"{path}:1: larger than {MAX_CREDENTIALS_BYTES // 1024} KiB"
        else:
            text = path.read_text(encoding="utf-8")
    except OSError as exc:
        problem = f"{path}: cannot read: {exc.strerror}"
    except UnicodeDecodeError:
        # The decode error holds the file's bytes: only say where.
        problem = f"{path}:1: not UTF-8 text"
    if problem is not None:
        raise CredentialError(problem)
    return CredentialStore(
        entries=parse_credentials(text, name=str(path)), site=site, source=str(path)
    )
