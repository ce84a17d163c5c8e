"""What the benchmarks share: their own PostgreSQL databases, made on demand."""

from __future__ import annotations


def ensure_database(url: str, *, fresh: bool = False) -> None:
    """Create the database named at the end of `url` when missing; drop it first when `fresh`."""
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
