"""Root conftest: make ``crm_platform`` importable for tests run without ``pip install -e .``."""

from run import ensure_crm_platform

ensure_crm_platform()
