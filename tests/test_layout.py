"""The import contract: layers bottom to top, no cycles, small modules and functions.

Every import of the package's own modules counts, including those inside functions (they hide a dependency,
they do not remove it). Layers, bottom to top — a module may import its own layer and those below:

``errors``/``progress``/``_version`` → ``store`` → ``fs`` → ``formats`` → ``arrays``/``tables`` → ``compat`` →
``sources`` → ``analysis``/``synth`` → ``groundtruth`` → ``apps`` → the package's facade (``__init__`` and the
modules kept for old import paths).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "intake_npx2020"

LAYERS = [
    ("errors", "progress", "_version", "extras", "schedule"),
    ("store",),
    ("fs",),
    ("formats",),
    ("arrays", "tables"),
    ("compat",),
    ("sources",),
    ("analysis", "synth"),
    ("groundtruth",),
    ("apps",),
    ("", "__main__", "export", "cluster", "view"),  # the facade: intake_npx2020/__init__ and kept import paths
]
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _modules() -> dict[str, Path]:
    out = {}
    for f in PKG.rglob("*.py"):
        parts = list(f.relative_to(PKG).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


MODULES = _modules()


def _layer(mod: str) -> int:
    top = mod.split(".")[0] if mod else ""
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    raise AssertionError(f"module {mod!r} is in no layer: add it to LAYERS in tests/test_layout.py")


def _is_package(mod: str) -> bool:
    return MODULES[mod].name == "__init__.py"


def _resolve(mod: str, node: ast.ImportFrom | ast.Import) -> list[str]:
    """Package modules an import statement in ``mod`` loads (the longest existing module of each name)."""
    names: list[str] = []
    if isinstance(node, ast.Import):
        names = [a.name[len("intake_npx2020."):] if a.name.startswith("intake_npx2020.") else ""
                 for a in node.names if a.name.split(".")[0] == "intake_npx2020"]
    else:
        if node.level:
            base = mod.split(".") if mod else []
            if not _is_package(mod):
                base = base[:-1]
            base = base[:len(base) - (node.level - 1)]
            target = ".".join(base + (node.module.split(".") if node.module else []))
        elif node.module and node.module.split(".")[0] == "intake_npx2020":
            target = node.module[len("intake_npx2020"):].lstrip(".")
        else:
            return []
        names = [f"{target}.{a.name}".lstrip(".") if f"{target}.{a.name}".lstrip(".") in MODULES else target
                 for a in node.names]
    out = []
    for name in names:
        parts = name.split(".") if name else []
        while parts and ".".join(parts) not in MODULES:
            parts.pop()
        out.append(".".join(parts))
    return out


def _graph() -> dict[str, set[str]]:
    graph = {}
    for mod, f in MODULES.items():
        deps = set()
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                deps.update(d for d in _resolve(mod, node) if d != mod)
        graph[mod] = deps
    return graph


GRAPH = _graph()


def test_every_module_has_a_layer() -> None:
    for mod in MODULES:
        _layer(mod)


def test_no_upward_import() -> None:
    upward = [f"{m} ({_layer(m)}) imports {d} ({_layer(d)})" for m, deps in GRAPH.items() for d in deps
              if d and _layer(d) > _layer(m)]
    assert upward == []


def test_no_cycles() -> None:
    index, low, stack, on, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in GRAPH:
        if v not in index:
            visit(v)
    assert cycles == []


def _python_files() -> list[Path]:
    return sorted(MODULES.values()) + sorted((ROOT / "tools").rglob("*.py"))


@pytest.mark.parametrize("path", _python_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_and_function_sizes(path: Path) -> None:
    text = path.read_text()
    lines = len(text.splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.name}: {lines} lines"
    long = [f"{n.name} ({n.end_lineno - n.lineno + 1} lines, line {n.lineno})"
            for n in ast.walk(ast.parse(text)) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
            and n.end_lineno - n.lineno + 1 > MAX_FUNCTION_LINES]
    assert long == []


def test_the_contract_catches_what_it_should(tmp_path: Path) -> None:
    """The checks above see imports inside functions and relative imports of a package's own modules."""
    mod = "formats.bin1"
    inner = ast.parse("def f():\n    from ..sources.drivers import RecordingSource\n").body[0].body[0]
    assert _resolve(mod, inner) == ["sources.drivers"]
    assert _layer("sources.drivers") > _layer(mod)
    pkg_from = ast.parse("from .. import analysis\n").body[0]
    assert _resolve("apps.demo", pkg_from) == ["analysis"]
