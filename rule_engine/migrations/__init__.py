"""Alembic version folder of the rule engine's tables (a branch beside metamodel's)."""

from pathlib import Path

VERSIONS = str(Path(__file__).parent / "versions")
