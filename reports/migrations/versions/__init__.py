"""Alembic revision scripts of the history store, applied in order."""
