"""Alembic migrations of the history store: one code path for SQLite and PostgreSQL.

:func:`upgrade` brings any store to the head revision when it is opened. A store written before
migrations existed (tables but no ``alembic_version``) is the baseline layout and is stamped as
such first, so its data is carried forward rather than recreated. On PostgreSQL an advisory lock
serialises the workers of many sites that open the shared store at the same moment.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Final

import sqlalchemy as sa

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["BASELINE", "HEAD", "alembic_config", "head_revision", "upgrade"]

#: The layout every store had before migrations: scans, sightings and remediation keyed by device.
BASELINE: Final = "0001"
#: The newest revision, written down so that opening a store already there costs one SELECT:
#: importing Alembic to learn it takes ~0.6 s, a fifth of a small sweep. A test holds it to
#: :func:`head_revision`, which asks Alembic.
HEAD: Final = "0004"
_LOCK_ID: Final = 889_2019  # any constant; names this program's lock among the server's
# Alembic reports each step at INFO; a worker logging at INFO would print them on every start.
logging.getLogger("alembic").setLevel(logging.WARNING)


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic configuration pointing at these scripts (no alembic.ini needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def head_revision() -> str:
    """The newest revision the scripts define."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("the history migrations define no head revision")
    return head


def upgrade(engine: sa.Engine) -> None:
    """Migrate the store to the head revision (a no-op when it is there already)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        if _current_revision(conn) == HEAD:
            return
        from alembic import command
        from alembic.runtime.migration import MigrationContext

        current = MigrationContext.configure(conn).get_current_revision()
        if current == head_revision():
            return
        config = alembic_config(conn)
        if current is None and sa.inspect(conn).has_table("scans"):
            command.stamp(config, BASELINE)
        command.upgrade(config, "head")


def _current_revision(conn: sa.Connection) -> str | None:
    """The store's revision as Alembic records it, read without Alembic (None: not stamped)."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    rows = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    return str(rows[0]) if len(rows) == 1 else None
