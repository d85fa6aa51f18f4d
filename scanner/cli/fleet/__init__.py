"""Many sites on Celery: the app, its sweep task, and the job runner site workers use.

Celery (with a Redis broker) carries the work; the history store (SQLite or PostgreSQL) holds
every result. Nothing here is imported by the single-machine path: ``sweep`` stays broker-free.
"""
