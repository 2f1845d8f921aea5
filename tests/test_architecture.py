"""The layering the code relies on, checked on every import statement.

bot/ (the core) names a platform package only in its wiring: bot/platforms.py (which adapters run)
and bot/config.py (their settings sections). storage/ imports neither bot/ nor adapters/. A
platform package never imports another platform package.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WIRING = {"bot/platforms.py", "bot/config.py"}


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts)


def test_the_core_names_platform_packages_only_in_its_wiring() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(m for m in imports(path) if m.split(".")[0] == "adapters")
        for path in modules("bot") if str(path.relative_to(ROOT)) not in WIRING
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_storage_depends_on_nothing_above_it() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(m for m in imports(path) if m.split(".")[0] in ("bot", "adapters"))
        for path in modules("storage")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_platform_packages_do_not_import_each_other() -> None:
    for package in (ROOT / "adapters").iterdir():
        if not (package / "__init__.py").exists():
            continue
        for path in package.rglob("*.py"):
            others = {m.split(".")[1] for m in imports(path) if m.startswith("adapters.") and m.count(".") >= 1}
            assert others <= {package.name}, (str(path.relative_to(ROOT)), others)
