"""Package list for setuptools; everything else lives in setup.cfg.

setup.cfg's ``find_namespace:`` cannot rename what it finds, so the remap of the
``platform/`` folder to the ``crm_platform`` package (see package_dir there) is applied here.
New subpackages and data folders are picked up automatically.
"""

from setuptools import find_namespace_packages, setup

TOP_LEVEL = ["metamodel", "rule_engine", "form_renderer", "industry_templates", "plugins"]
EXCLUDE = ["*.__pycache__", "*.__pycache__.*"]


def _find(*names: str) -> list[str]:
    """Return the given top-level packages and all their (namespace) subpackages."""
    include = [pattern for name in names for pattern in (name, f"{name}.*")]
    return find_namespace_packages(include=include, exclude=EXCLUDE)


setup(packages=_find(*TOP_LEVEL) + ["crm_" + name for name in _find("platform")])
