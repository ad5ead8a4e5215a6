"""The import rules of the code base (docs/architecture.md), checked on the source text.

Every .py file of clamp_core/, export/, musescore_bridge/ and jupyter_ext/ is parsed with
``ast``; nothing is imported (except by the one subprocess check of rule 4), so the rules run in
well under a second and keep holding while modules move.

What counts as an import of a project module:

* ``import a.b.c`` imports the module a.b.c (a package counts as its ``__init__``);
  ``from a.b import c`` imports a.b.c when that is a module, else the module a.b (name c).
  Relative imports are resolved against the importing module's package.
* Imports inside functions count: a lazy import is still a dependency. Imports under
  ``if TYPE_CHECKING:`` do not (they never run).
* Package ``__init__`` files map public names to submodules by strings (clamp_core/lazy.py).
  ``import pkg`` runs only the ``__init__``, so the ``__init__`` gets no edge to those strings.
  ``from pkg import Name`` asks the package for Name at import time, which imports the string's
  module there and then, so that statement also gets an edge to it ("lazy" edge). Rules 1, 3
  and 4 (what really gets loaded) follow lazy edges; rules 2, 5 and 6 (what a file spells) do
  not.
* Strings handed to importlib elsewhere (the CLI's COMMANDS table) are not edges;
  ``test_import_targets_exist`` checks that they, the lazy tables and every ``from`` import
  name something that exists.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("clamp_core", "export", "musescore_bridge", "jupyter_ext")
FRONT_ENDS = ("musescore_bridge", "jupyter_ext")
TORCH_LIBS = ("torch", "transformers")


@dataclass(frozen=True)
class Imp:
    """One imported module (one alias of an import statement)."""

    importer: str
    target: str  # dotted project module, or the top-level name of an outside library
    name: str | None  # the name of a `from` import, None for `import x`
    line: int
    in_function: bool
    project: bool
    lazy: bool = False  # the module a package's lazy table maps `name` to
    submodule: bool = False  # `from pkg import name` where pkg.name is a module (the target)

    def __str__(self) -> str:
        what = f"{self.target}.{self.name}" if self.name and not self.submodule else self.target
        where = "function" if self.in_function else "module"
        return f"{self.importer} -> {what} (line {self.line}, {where} level)"


@dataclass
class Module:
    name: str
    path: Path
    is_package: bool
    tree: ast.Module
    lazy_table: dict[str, str] = field(default_factory=dict)  # public name -> module
    imports: list[Imp] = field(default_factory=list)

    @property
    def package(self) -> str:
        return self.name if self.is_package else self.name.rpartition(".")[0]


def in_area(module: str, area: str) -> bool:
    """Whether ``module`` is ``area`` or inside it."""
    return module == area or module.startswith(area + ".")


def _module_name(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _lazy_table(mod: Module) -> dict[str, str]:
    """The names -> module strings of a ``lazy_exports(__name__, {...})`` call (a dict literal or
    a module-level dict bound to a name), resolved to absolute module names."""
    dicts = {t.id: n.value for n in mod.tree.body if isinstance(n, ast.Assign)
             for t in n.targets if isinstance(t, ast.Name) and isinstance(n.value, ast.Dict)}
    table: dict[str, str] = {}
    for node in ast.walk(mod.tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "lazy_exports" and len(node.args) == 2):
            continue
        arg = node.args[1]
        mapping = dicts.get(arg.id) if isinstance(arg, ast.Name) else arg
        if not isinstance(mapping, ast.Dict):
            continue
        for key, value in zip(mapping.keys, mapping.values, strict=True):
            if isinstance(key, ast.Constant) and isinstance(value, ast.Constant):
                table[key.value] = importlib.util.resolve_name(value.value, mod.package)
    return table


class _Collector(ast.NodeVisitor):
    """Imports of one module, minding function scope and skipping TYPE_CHECKING blocks."""

    def __init__(self, mod: Module, modules: dict[str, Module]):
        self.mod, self.modules, self.depth = mod, modules, 0

    def visit_FunctionDef(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_Lambda = visit_FunctionDef

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def _add(self, target: str, name: str | None, node: ast.stmt, *, lazy: bool = False,
             submodule: bool = False) -> None:
        project = target.split(".")[0] in PACKAGES or target.startswith(".")
        self.mod.imports.append(Imp(self.mod.name, target, name, node.lineno, self.depth > 0,
                                    project, lazy, submodule))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            top = alias.name.split(".")[0]
            self._add(alias.name if top in PACKAGES else top, None, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            spelt = "." * node.level + base
            try:
                base = importlib.util.resolve_name(spelt, self.mod.package)
            except ImportError:  # beyond the top-level package: reported as a missing module
                self._add(spelt, None, node)
                return
        if base.split(".")[0] not in PACKAGES:
            self._add(base.split(".")[0], None, node)
            return
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            if sub in self.modules:
                self._add(sub, alias.name, node, submodule=True)
                continue
            self._add(base, alias.name, node)
            lazy_target = self.modules[base].lazy_table.get(alias.name) if base in self.modules \
                else None
            if lazy_target:
                self._add(lazy_target, alias.name, node, lazy=True)


@functools.lru_cache(maxsize=1)
def project() -> dict[str, Module]:
    """Every module of the four packages, with its imports."""
    modules: dict[str, Module] = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            name, is_package = _module_name(path)
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            modules[name] = Module(name, path, is_package, tree)
    for mod in modules.values():
        if mod.is_package:
            mod.lazy_table = _lazy_table(mod)
    for mod in modules.values():
        _Collector(mod, modules).visit(mod.tree)
    return modules


def project_imports(*, lazy: bool = True) -> Iterator[Imp]:
    for mod in project().values():
        for imp in mod.imports:
            if imp.project and (lazy or not imp.lazy):
                yield imp


def edges(*, function_level: bool = True) -> dict[str, list[Imp]]:
    """importer -> its imports of existing project modules (lazy edges included)."""
    modules = project()
    graph: dict[str, list[Imp]] = {name: [] for name in modules}
    for imp in project_imports():
        if imp.target in modules and (function_level or not imp.in_function):
            graph[imp.importer].append(imp)
    return graph


def parents(module: str) -> list[str]:
    """The packages whose ``__init__`` runs before ``module`` does."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def reach(start: str, graph: dict[str, list[Imp]], *, with_parents: bool = False,
          stop: Iterable[str] = ()) -> dict[str, list[str]]:
    """Modules reachable from ``start`` -> one import path to them (breadth first). With
    ``with_parents``, importing a module also runs its parent packages' ``__init__``."""
    stop = tuple(stop)
    paths = {start: [start]}
    queue = [start]
    while queue:
        current = queue.pop(0)
        if any(in_area(current, s) for s in stop):
            continue
        nxt = [imp.target for imp in graph.get(current, [])]
        if with_parents:
            nxt = [p for t in [current, *nxt] for p in parents(t)] + nxt
        for target in nxt:
            if target not in paths and target in graph:
                paths[target] = [*paths[current], target]
                queue.append(target)
    return paths


def report(title: str, lines: Iterable[str]) -> None:
    lines = sorted(set(lines))
    if lines:
        pytest.fail(f"{title} ({len(lines)}):\n  " + "\n  ".join(lines), pytrace=False)


def test_parses_the_whole_project():
    modules = project()
    assert {"clamp_core", "clamp_core.api", "clamp_core.cli.root", "export",
            "musescore_bridge", "jupyter_ext"} <= set(modules)
    assert modules["clamp_core"].lazy_table.get("Clamp") == "clamp_core.api"


# -- rule 1 --------------------------------------------------------------------------------------
def strongly_connected(graph: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components (iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def test_rule1_no_import_cycles():
    graph = edges()
    simple = {m: sorted({imp.target for imp in imps}) for m, imps in graph.items()}
    lines = []
    for component in strongly_connected(simple):
        members = set(component)
        if len(component) == 1 and component[0] not in simple[component[0]]:
            continue
        inside = [str(imp) for m in component for imp in graph[m] if imp.target in members]
        lines.append(f"cycle {{{', '.join(component)}}}: " + "; ".join(sorted(set(inside))))
    report("import cycles (every import inside each cycle listed)", lines)


# -- rule 2 --------------------------------------------------------------------------------------
def test_rule2_nothing_imports_the_cli():
    lines = []
    for imp in project_imports(lazy=False):
        if not in_area(imp.target, "clamp_core.cli") or in_area(imp.importer, "clamp_core.cli"):
            continue
        if imp.target == "clamp_core.cli.output" and imp.importer.split(".")[0] in (
                *FRONT_ENDS, "export"):
            continue
        if imp.importer == "clamp_core.__main__" and imp.target == "clamp_core.cli.root":
            continue
        lines.append(str(imp))
    report("imports of the CLI from outside clamp_core.cli", lines)


# -- rule 3 --------------------------------------------------------------------------------------
INFERENCE = ("clamp_core.api", "clamp_core.runtime", "clamp_core.index", "clamp_core.caption",
             "clamp_core.labels", "clamp_core.calibration", "clamp_core.zero_shot")
TRAINING = ("clamp_core.training", "clamp_core.datasets", "clamp_core.model.loss")


def test_rule3_inference_never_reaches_training_code():
    """Transitively: an inference module must not reach training code through any chain of
    imports. Each import that enters training code is listed once, with a chain leading to it."""
    graph = edges()
    lines = {}
    for start in sorted(m for m in graph if any(in_area(m, a) for a in INFERENCE)):
        paths = reach(start, graph, with_parents=True, stop=TRAINING)
        for module, path in paths.items():
            if any(in_area(module, t) for t in TRAINING):
                continue
            for imp in graph[module]:
                if any(in_area(imp.target, t) for t in TRAINING):
                    lines.setdefault(str(imp), f"{imp}  [reached by {' -> '.join(path)}]")
    report("inference modules reaching training / dataset-building / loss code", lines.values())


# -- rule 4 --------------------------------------------------------------------------------------
def torch_imports(module: str, *, function_level: bool = True) -> list[Imp]:
    return [imp for imp in project()[module].imports if not imp.project
            and imp.target in TORCH_LIBS and (function_level or not imp.in_function)]


def test_rule4_onnx_path_has_no_torch():
    graph = edges()
    start = "clamp_core.runtime.onnx_encoder"
    assert start in graph
    lines = [f"{imp}  [reached by {' -> '.join(path)}]"
             for module, path in reach(start, graph, with_parents=True).items()
             for imp in torch_imports(module)]
    report(f"modules that import torch/transformers in the import closure of {start}", lines)


def test_rule4_api_imports_torch_only_inside_functions():
    module_level = edges(function_level=False)
    lines = [f"{imp}  [reached by {' -> '.join(path)}]"
             for module, path in reach("clamp_core.api", module_level, with_parents=True).items()
             for imp in torch_imports(module, function_level=False)]
    report("module-level torch/transformers imports run by `import clamp_core.api`", lines)


def test_rule4_torch_free_imports_really_load_no_torch():
    code = ("import sys, clamp_core.runtime.onnx_encoder, clamp_core.api, clamp_core.index, "
            "clamp_core.scores\n"
            "bad = sorted(m for m in ('torch', 'transformers') if m in sys.modules)\n"
            "assert not bad, bad")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]


# -- rule 5 --------------------------------------------------------------------------------------
PUBLIC_SURFACE = ("clamp_core", "clamp_core.scores", "clamp_core.index", "clamp_core.notation",
                  "clamp_core.labels", "clamp_core.errors", "clamp_core.api",
                  "clamp_core.calibration", "clamp_core.cli.output")
EXPORT_ALSO = ("clamp_core.model", "clamp_core.runtime", "clamp_core.evaluation",
               "clamp_core.datasets", "clamp_core.notation")


def test_rule5_front_ends_use_the_public_surface():
    lines = []
    for imp in project_imports(lazy=False):
        if not in_area(imp.target, "clamp_core") or imp.target in PUBLIC_SURFACE:
            continue
        area = imp.importer.split(".")[0]
        if area in FRONT_ENDS or area == "export" and not any(in_area(imp.target, a)
                                                               for a in EXPORT_ALSO):
            lines.append(str(imp))
    report("front-end / export imports beyond the allowed clamp_core surface "
           f"(public: {', '.join(PUBLIC_SURFACE)}; export also: {', '.join(EXPORT_ALSO)})",
           lines)


# -- rule 6 --------------------------------------------------------------------------------------
def test_rule6_no_private_names_imported():
    lines = [str(imp) for imp in project_imports(lazy=False)
             if imp.name and imp.name.startswith("_")
             and not (imp.name.startswith("__") and imp.name.endswith("__"))]
    report("private names imported from another module", lines)


# -- rule 7 --------------------------------------------------------------------------------------
MACHINE_PATH = re.compile(rb"/work/|/home/|/root/|/Users/|[A-Za-z]:(?:\\\\?|/)Users\b")
# Made-up user paths that tests and docs use on purpose, per file; nothing else is allowed.
DELIBERATE_PATHS = {
    "tests/musescore_bridge/qml/tst_bridge.qml": (b"file:///C:/Users/a%20b/x/",
                                                  b"C:/Users/a b/x"),
    "tests/musescore_bridge/test_bridge_cli.py": (b"C:\\Users\\ann",),
}
THIS_FILE = Path(__file__).resolve().relative_to(ROOT).as_posix()


def repo_text_files() -> list[str]:
    """Tracked files plus new ones git does not ignore (so a file is checked before its
    first commit)."""
    try:
        done = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                               "--exclude-standard"], cwd=ROOT, capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        pytest.skip("git is not available")
    if done.returncode != 0:
        pytest.skip("not a git checkout")
    return sorted({p for p in done.stdout.decode().split("\0") if p})


def test_rule7_no_machine_paths_in_the_repo():
    lines = []
    for rel in repo_text_files():
        path = ROOT / rel
        if rel == THIS_FILE or not path.is_file():
            continue
        with path.open("rb") as f:
            if b"\0" in f.read(8192):
                continue  # binary
            f.seek(0)
            data = f.read()
        for allowed in DELIBERATE_PATHS.get(rel, ()):
            data = data.replace(allowed, b"")
        for number, line in enumerate(data.splitlines(), 1):
            for m in MACHINE_PATH.finditer(line):
                lines.append(f"{rel}:{number}: {m.group().decode(errors='replace')} in "
                             f"{line.decode(errors='replace').strip()[:120]!r}")
    report("machine-specific paths in repository files", lines)


# -- every named import target exists ------------------------------------------------------------
def _bound_names(tree: ast.Module) -> set[str] | None:
    """Names a module binds at import time (None: anything, for star imports or __getattr__)."""
    names: set[str] = set()
    todo: list[ast.stmt] = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    return None
                names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            for block in ("body", "orelse", "finalbody"):
                todo.extend(getattr(node, block, []))
            for handler in getattr(node, "handlers", []):
                todo.extend(handler.body)
    return None if "__getattr__" in names and not names & {"lazy_exports"} else names


def _name_exists(module: str, name: str) -> bool:
    modules = project()
    mod = modules[module]
    bound = _bound_names(mod.tree)
    return bound is None or name in bound or name in mod.lazy_table \
        or f"{module}.{name}" in modules


def _commands_table() -> dict[str, str]:
    tree = project()["clamp_core.cli.root"].tree
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "COMMANDS" for t in node.targets):
            return ast.literal_eval(node.value)
    return {}


def test_import_targets_exist():
    """Every project import, lazy-table entry and CLI COMMANDS entry names an existing module
    and, where it names an attribute, one the module defines (a moved module breaks here, not
    at a user's first call)."""
    modules = project()
    lines = []
    for imp in project_imports():
        if imp.target not in modules:
            lines.append(f"{imp}: no such module")
        elif imp.name and not (imp.lazy or imp.submodule) \
                and not _name_exists(imp.target, imp.name):
            lines.append(f"{imp}: {imp.target} has no {imp.name}")
    for mod in modules.values():
        for name, target in mod.lazy_table.items():
            if target not in modules:
                lines.append(f"{mod.name} lazy name {name} -> {target}: no such module")
            elif not _name_exists(target, name):
                lines.append(f"{mod.name} lazy name {name} -> {target}: not defined there")
    commands = _commands_table()
    assert commands, "clamp_core/cli/root.py has no COMMANDS table"
    for verb, spec in commands.items():
        target, _, attr = spec.partition(":")
        if target not in modules:
            lines.append(f"clamp_core.cli.root COMMANDS[{verb!r}] -> {spec}: no such module")
        elif not _name_exists(target, attr):
            lines.append(f"clamp_core.cli.root COMMANDS[{verb!r}] -> {spec}: not defined there")
    report("imports and lazy names that point at nothing", lines)
