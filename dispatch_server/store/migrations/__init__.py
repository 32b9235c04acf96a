"""Alembic migrations: the only way the server's schema is made or changed.

`env.py` and `versions/` are read by Alembic (through `dispatch_server.store.schema`,
or the `alembic` command with the repository's alembic.ini), not imported by the server.
They ship inside the package so an installed wheel can migrate its own database.
"""
