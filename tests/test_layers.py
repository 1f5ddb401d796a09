"""The layers hold: the foundation (retailsite/ below its edges) imports none of the apps built on it.

The apps (every top-level package with an apps.py: recommendations, forecasting, inventory, experiments,
browser, webhooks, imports) register themselves with the foundation (training steps, personal-data holders,
metrics collectors, import kinds, demo steps) instead; only the edges (storefront/, api/, urls.py) and the
settings and tools may import them. Read from the source with `ast`, so a lazy import inside a function counts
as much as one at the top of a module, and so does a module named to `import_string`/`import_module`.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOUNDATION = ROOT / "retailsite"
# The apps above the foundation: found, not listed, so a new app is held to the rule from its first commit.
APPS = tuple(sorted(path.parent.name for path in ROOT.glob("*/apps.py")))
DYNAMIC_IMPORTERS = ("import_string", "import_module", "__import__")
# Paths (relative to retailsite/) that may use the apps: the edges, the settings and the tools.
EDGES = ("storefront/", "api/", "urls.py", "settings/", "tools/")


def _called_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, including a literal dotted path handed to
    `import_string`/`import_module`; relative imports stay inside the package."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif (
            isinstance(node, ast.Call)
            and _called_name(node) in DYNAMIC_IMPORTERS
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def app_imports(relative_paths: list[str]) -> list[str]:
    violations = []
    for relative in relative_paths:
        for line, module in imported_modules(FOUNDATION / relative):
            if module.split(".")[0] in APPS:
                violations.append(f"retailsite/{relative}:{line} imports {module}")
    return violations


def foundation_modules() -> list[str]:
    relative = sorted(str(path.relative_to(FOUNDATION)) for path in FOUNDATION.rglob("*.py"))
    return [path for path in relative if not path.startswith(EDGES)]


def test_the_checker_sees_an_app_import(tmp_path: Path) -> None:
    module = tmp_path / "lazy.py"
    module.write_text(
        "def f():\n    from recommendations.models import ModelVersion\n    import inventory\n"
        "    return import_string('experiments.demo.demo_experiment_step')\n"
    )
    assert [name for _, name in imported_modules(module)] == [
        "recommendations.models",
        "inventory",
        "experiments.demo.demo_experiment_step",
    ]


def test_every_app_above_the_foundation_is_held_to_the_rule() -> None:
    # Guards the glob: the apps the architecture names are all found (a wrong ROOT would find none).
    assert {"recommendations", "forecasting", "inventory", "experiments", "browser", "webhooks", "imports"} <= set(APPS)
    assert "retailsite" not in APPS and "domain" not in APPS


def test_the_foundation_imports_no_app() -> None:
    modules = foundation_modules()
    assert len(modules) > 100  # the walk found the foundation (guards against a wrong ROOT)
    assert app_imports(modules) == []


def test_the_event_model_offers_exactly_the_domain_event_types() -> None:
    from domain.events import EVENT_TYPES
    from retailsite.commerce.models import EventType

    assert tuple(EventType.values) == EVENT_TYPES


def test_the_engines_import_nothing_of_the_project_but_domain() -> None:
    violations = []
    for engine in ("recommendations/engine", "forecasting/engine", "inventory/engine", "experiments/engine"):
        for path in sorted((ROOT / engine).rglob("*.py")):
            for line, module in imported_modules(path):
                top = module.split(".")[0]
                if (
                    top == "retailsite"
                    or top == "django"
                    or (top in APPS and not module.startswith(engine.replace("/", ".")))
                ):
                    violations.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert violations == []


def package_cycles() -> list[tuple[str, str]]:
    """Pairs of retailsite packages that import each other (migrations aside)."""
    edges: dict[str, set[str]] = {}
    for path in FOUNDATION.rglob("*.py"):
        relative = path.relative_to(FOUNDATION)
        if "migrations" in relative.parts or len(relative.parts) < 2:
            continue
        package = relative.parts[0]
        for _, module in imported_modules(path):
            parts = module.split(".")
            if parts[0] == "retailsite" and len(parts) > 1 and parts[1] != package:
                edges.setdefault(package, set()).add(parts[1])
    return sorted((a, b) for a, targets in edges.items() for b in targets if a < b and a in edges.get(b, set()))


def test_the_foundation_packages_import_each_other_in_one_direction() -> None:
    # e.g. commerce announces consent withdrawals with a signal (commerce/signals.py); privacy subscribes
    assert package_cycles() == []
