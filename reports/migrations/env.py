"""Alembic's entry point: migrate the connection :func:`reports.migrations.upgrade` hands over."""

from alembic import context

connection = context.config.attributes["connection"]
# Batch mode copies a table to change it on SQLite (no ALTER COLUMN there); PostgreSQL alters.
context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
