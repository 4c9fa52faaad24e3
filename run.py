"""Start the CRM web app for development: ``python run.py [--host H] [--port N]``."""

from __future__ import annotations

import argparse
import importlib.machinery
import importlib.util
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def ensure_crm_platform() -> None:
    """Make ``crm_platform`` importable from ``platform/`` when the project is not pip-installed."""
    if "crm_platform" in sys.modules or importlib.util.find_spec("crm_platform") is not None:
        return
    # platform/ has no __init__.py, so ``import platform`` still gives the standard library;
    # its modules are reached only through this alias (or the installed package).
    spec = importlib.machinery.ModuleSpec("crm_platform", None, is_package=True)
    spec.submodule_search_locations = [str(ROOT / "platform")]
    sys.modules["crm_platform"] = importlib.util.module_from_spec(spec)


def main(argv: list[str] | None = None) -> None:
    """Parse options, build the app, prepare demo data if available, and serve it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    args = parser.parse_args(argv)

    ensure_crm_platform()
    from crm_platform.app import create_app

    app = create_app()
    # --- demo bootstrap hook: crm_platform.demo.prepare_demo(app) -> lines to print ---
    if importlib.util.find_spec("crm_platform.demo") is not None:
        from crm_platform.demo import prepare_demo  # type: ignore[import-not-found,unused-ignore]

        for line in prepare_demo(app):
            print(line, flush=True)
    from crm_platform.scheduling import start_in_app

    start_in_app(app)
    print(f"CRM running on http://{args.host}:{args.port}/", flush=True)
    app.run(host=args.host, port=args.port, debug=False, use_reloader=False)


if __name__ == "__main__":
    main()
