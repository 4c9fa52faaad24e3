"""Copy the pinned npm browser assets into platform/static/vendor/ and write their manifest.

Run by ``make vendor`` after ``npm ci`` in frontend/.  The copies and ``manifest.json`` are committed, so
running the app needs neither Node nor the network; tests check the manifest against the files.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = ROOT / "frontend" / "node_modules"
VENDOR = ROOT / "platform" / "static" / "vendor"

# package -> (source path in the package, target path under vendor/<short name>/)
ASSETS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "@tabler/core": (
        "tabler",
        [("dist/css/tabler.min.css", "tabler.min.css"), ("dist/js/tabler.min.js", "tabler.min.js")],
    ),
    "@tabler/icons-webfont": (
        "tabler-icons",
        [
            ("dist/tabler-icons.min.css", "tabler-icons.min.css"),
            # woff2 only: every browser we support reads it, so the woff/ttf fallbacks are not shipped.
            ("dist/fonts/tabler-icons.woff2", "fonts/tabler-icons.woff2"),
        ],
    ),
    "htmx.org": ("htmx", [("dist/htmx.min.js", "htmx.min.js")]),
    "alpinejs": ("alpinejs", [("dist/cdn.min.js", "alpine.min.js")]),
    "sortablejs": ("sortablejs", [("Sortable.min.js", "Sortable.min.js")]),
    "tom-select": (
        "tom-select",
        [
            ("dist/js/tom-select.complete.min.js", "tom-select.complete.min.js"),
            ("dist/css/tom-select.bootstrap5.min.css", "tom-select.bootstrap5.min.css"),
        ],
    ),
    "echarts": ("echarts", [("dist/echarts.min.js", "echarts.min.js")]),
}

LICENSE_NAMES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "license")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def vendor() -> dict[str, object]:
    """Copy every listed asset and return the manifest written beside them."""
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    packages = []
    for name, (short, files) in sorted(ASSETS.items()):
        package_dir = MODULES / name
        meta = json.loads((package_dir / "package.json").read_text("utf-8"))
        target_dir = VENDOR / short
        entries = []
        for source, target in files:
            destination = target_dir / target
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(package_dir / source, destination)
            entries.append({"path": f"{short}/{target}", "sha256": _sha256(destination)})
        for license_name in LICENSE_NAMES:
            if (package_dir / license_name).is_file():
                shutil.copyfile(package_dir / license_name, target_dir / "LICENSE")
                entries.append({"path": f"{short}/LICENSE", "sha256": _sha256(target_dir / "LICENSE")})
                break
        packages.append(
            {
                "name": name,
                "version": meta["version"],
                "license": meta.get("license") or "MIT",
                "files": entries,
            }
        )
    manifest: dict[str, object] = {"generated_by": "tools/vendor_assets.py", "packages": packages}
    (VENDOR / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    return manifest


if __name__ == "__main__":
    if not MODULES.is_dir():
        sys.exit("frontend/node_modules is missing: run `npm ci --prefix frontend` first (make vendor does)")
    result = vendor()
    print(f"vendored {len(result['packages'])} packages into {VENDOR.relative_to(ROOT)}")  # type: ignore[arg-type]
