"""``ndaa-scan sweep --config FILE --site NAME``: one site of the configuration, swept from here.

No broker, no worker: the sweep runs in the calling process as any other sweep and records into
the configuration's store. The site's settings replace the sweep's options that they name.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from scanner.cli.common import EXIT_USAGE, CliError
from scanner.fleet.config import ConfigError, load_config

__all__ = ["SiteSweep", "site_sweep"]


class SiteSweep(BaseModel):
    """What a configured site sets for a sweep."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    site: str
    targets: tuple[str, ...]
    exclude: tuple[str, ...]
    allow_private: bool
    allow_public: bool
    rate: float
    concurrency: int
    budget: float
    max_hosts: int
    probes: tuple[str, ...] | None
    credentials: Path | None
    netns: str | None
    operator: str | None
    store: str | None


def site_sweep(config_path: Path, site: str | None) -> SiteSweep:
    """The sweep settings of ``site`` in ``config_path``; a bad file or name is exit 2."""
    if site is None:
        raise CliError("--config needs --site NAME (which of its sites to sweep)", EXIT_USAGE)
    try:
        config = load_config(config_path)
        chosen = config.site(site)
    except ConfigError as exc:
        raise CliError(
            str(exc) if str(exc).startswith(str(config_path)) else f"{config_path}: {exc}",
            EXIT_USAGE,
        ) from exc
    return SiteSweep(
        site=chosen.name,
        targets=tuple(s.cidr for s in chosen.scopes),
        exclude=chosen.exclude,
        allow_private=chosen.allow_private,
        allow_public=chosen.allow_public,
        rate=chosen.rate,
        concurrency=chosen.concurrency,
        budget=chosen.budget,
        max_hosts=chosen.max_hosts,
        probes=chosen.probes,
        credentials=chosen.credentials,
        netns=chosen.netns,
        operator=chosen.operator,
        store=config.store,
    )
