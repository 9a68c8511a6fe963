"""Issue #9's acceptance over ``src/infogauss``, as tests: small modules, short functions, no private names imported
across modules, no import cycle.

Each check is a plain function over source text (so it can be tried on a tiny synthetic module, below) and a test
that applies it to the whole package. The allow-lists are explicit and say why; shrink them, never grow them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "infogauss"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60

#: Modules being split right now (issue #9), each with a reason; empty since every split landed.
LONG_MODULES_IN_SPLIT: set[str] = set()


# ---------------------------------------------------------------------------------------------- the checkers


def module_name(path: Path, root: Path = PACKAGE) -> str:
    """Dotted module name of ``path`` inside the package at ``root`` (``infogauss.stats.report`` …)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([root.name, *parts])


def sources(root: Path = PACKAGE) -> dict[str, tuple[Path, str]]:
    """``{module name: (path, source text)}`` for every ``.py`` file of the package at ``root``."""
    return {module_name(p, root): (p, p.read_text()) for p in sorted(root.rglob("*.py"))}


def line_count(text: str) -> int:
    return len(text.splitlines())


def long_modules(files: dict[str, str], allowed=frozenset(), limit: int = MAX_MODULE_LINES) -> dict[str, int]:
    """``{relative path: lines}`` of the files in ``files`` (``{relative path: text}``) over ``limit`` lines and not
    in ``allowed``."""
    return {rel: n for rel, text in files.items() if (n := line_count(text)) > limit and rel not in allowed}


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_imports(text: str, package: str = "infogauss") -> list[str]:
    """Imports of a private module or name of ``package``: ``from x._y import z``, ``import x._y``,
    ``from x import _y``, at any depth (a lazy import inside a function counts too).

    Dunder names (``__version__``) are not private. Relative imports are inside the package; other libraries'
    private names (``torch.distributed._functional_collectives``) are their business, not this check's.
    """
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if not node.level and mod.split(".")[0] != package:
                continue
            if any(_is_private(part) for part in mod.split(".") if part):
                found.append(f"line {node.lineno}: from {'.' * node.level}{mod} import …")
            found += [
                f"line {node.lineno}: from {'.' * node.level}{mod} import {a.name}"
                for a in node.names
                if _is_private(a.name)
            ]
        elif isinstance(node, ast.Import):
            found += [
                f"line {node.lineno}: import {a.name}"
                for a in node.names
                if a.name.split(".")[0] == package and any(map(_is_private, a.name.split(".")))
            ]
    return found


def top_level_imports(text: str, module: str, package: str = "infogauss") -> set[str]:
    """Modules of ``package`` that ``module``'s source imports when it is first imported (module level only).

    Statements at the top of the module count, including inside top-level ``if`` / ``try`` blocks, except
    ``if TYPE_CHECKING:``; imports inside functions and classes (lazy imports) do not. ``from a import b`` adds
    ``a``, and ``a.b`` as well when that is a module (the caller filters unknown names).
    """
    tree = ast.parse(text)
    is_pkg = False  # relative imports resolve against the package of `module`
    base = module.split(".")

    def resolve(node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        anchor = base if is_pkg else base[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        return ".".join([*anchor, *([node.module] if node.module else [])])

    out: set[str] = set()

    def visit(body):
        for node in body:
            if isinstance(node, ast.Import):
                out.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                mod = resolve(node)
                out.add(mod)
                out.update(f"{mod}.{a.name}" for a in node.names)
            elif isinstance(node, ast.If):
                test = node.test
                name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
                if name != "TYPE_CHECKING":
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                for part in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                    visit(part)

    visit(tree.body)
    return {m for m in out if m == package or m.startswith(package + ".")}


def import_graph(modules: dict[str, str]) -> dict[str, set[str]]:
    """``{module: modules it imports at module level}`` over ``modules`` (``{name: source}``), inside that set.

    Importing ``a.b.c`` also imports the packages ``a`` and ``a.b`` (their ``__init__``), so those are edges too.
    """
    graph = {}
    for name, text in modules.items():
        edges = set()
        for target in top_level_imports(text, name, name.split(".")[0]):
            parts = target.split(".")
            edges.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        graph[name] = {t for t in edges if t in modules and t != name and not name.startswith(t + ".")}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as ``[a, b, …, a]``, or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in sorted(graph):
        if state.get(start):
            continue
        path, stack = [start], [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


def code_lines(node: ast.AST, lines: list[str]) -> int:
    """Lines of code in a function: its source lines minus the docstring, blank lines and comment-only lines."""
    skip: set[int] = set()
    body = getattr(node, "body", [])
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        if isinstance(body[0].value.value, str):
            skip.update(range(body[0].lineno, body[0].end_lineno + 1))
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    count = 0
    for i in range(first, node.end_lineno + 1):
        text = lines[i - 1].strip()
        if i not in skip and text and not text.startswith("#"):
            count += 1
    return count


def long_functions(text: str, limit: int = MAX_FUNCTION_LINES) -> list[tuple[str, int]]:
    """``(qualified name, code lines)`` of every function or method with more than ``limit`` code lines.

    A nested function counts in its parent's lines and on its own.
    """
    lines = text.splitlines()
    found = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = prefix + child.name
                n = code_lines(child, lines)
                if n > limit:
                    found.append((name, n))
                visit(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")
            else:
                visit(child, prefix)

    visit(ast.parse(text), "")
    return found


def function_allowed(module: str, qualname: str) -> bool:
    """The one exemption: an experiment's ``notes`` (prose assembled from results; issue #9)."""
    return module.startswith("infogauss.experiments.") and qualname == "notes"


# ---------------------------------------------------------------------------------------------- the package


@pytest.fixture(scope="module")
def package():
    return sources()


def test_no_module_over_400_lines(package):
    files = {path.relative_to(PACKAGE).as_posix(): text for path, text in package.values()}
    too_long = long_modules(files, LONG_MODULES_IN_SPLIT)
    assert not too_long, f"modules over {MAX_MODULE_LINES} lines (split them): {too_long}"


def test_allow_list_names_real_files():
    missing = [rel for rel in LONG_MODULES_IN_SPLIT if not (PACKAGE / rel).exists()]
    assert not missing, f"allow-list names files that no longer exist (remove them): {missing}"


def test_no_private_import_across_modules(package):
    found = {name: hits for name, (_, text) in package.items() if (hits := private_imports(text))}
    assert not found, f"private modules or names imported: {found}"


def test_no_import_cycle(package):
    graph = import_graph({name: text for name, (_, text) in package.items()})
    cycle = find_cycle(graph)
    assert cycle is None, "module-level import cycle: " + " -> ".join(cycle)


def test_no_function_over_60_lines(package):
    found = {
        f"{name}.{qual}": n
        for name, (_, text) in package.items()
        for qual, n in long_functions(text)
        if not function_allowed(name, qual)
    }
    assert not found, f"functions over {MAX_FUNCTION_LINES} code lines (docstring excluded): {found}"


# ---------------------------------------------------------------------------------------------- the checkers can fail


def test_long_module_found_unless_allowed():
    files = {"big.py": "x = 1\n" * 401, "edge.py": "x = 1\n" * 400, "split/later.py": "y = 2\n" * 900}
    assert long_modules(files) == {"big.py": 401, "split/later.py": 900}
    assert long_modules(files, {"split/later.py"}) == {"big.py": 401}


def test_private_imports_found():
    text = (
        "from infogauss.stats._validate import check\n"
        "from infogauss.stats import _helper, public\n"
        "import infogauss._internal\n"
        "from . import _sibling\n"
        "from infogauss import __version__\n"
        "from infogauss.stats import validate\n"
        "from torch.distributed._functional_collectives import x\n"  # another library's private module: not ours
        "import numpy._core\n"
        "def f():\n"
        "    from infogauss.report import _lazy\n"
    )
    hits = private_imports(text)
    assert len(hits) == 5, hits
    assert any("_validate" in h for h in hits) and any("_helper" in h for h in hits)
    assert any("_internal" in h for h in hits) and any("_sibling" in h for h in hits)
    assert any("_lazy" in h for h in hits)  # a lazy import of a private name is still one
    assert not any("__version__" in h or "import validate" in h for h in hits)
    assert private_imports("from infogauss.stats import validate\nimport numpy as np\n") == []


def test_cycle_found_in_a_synthetic_package():
    modules = {
        "pkg": "",
        "pkg.a": "from pkg.b import f\n",
        "pkg.b": "import pkg.c\n",
        "pkg.c": "from pkg import a\n",  # pkg.c -> pkg.a closes a -> b -> c -> a
    }
    graph = import_graph(modules)
    assert graph["pkg.c"] == {"pkg.a"}  # its own parent package is imported first anyway: no edge
    cycle = find_cycle(graph)
    assert cycle is not None and cycle[0] == cycle[-1] and set(cycle) == {"pkg.a", "pkg.b", "pkg.c"}


def test_lazy_and_type_checking_imports_make_no_cycle():
    modules = {
        "pkg": "",
        "pkg.a": "from pkg.b import f\n",
        "pkg.b": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import g\n"
        "def f():\n    from pkg.a import g\n    return g\n",
    }
    assert find_cycle(import_graph(modules)) is None
    modules["pkg.b"] += "try:\n    import pkg.a\nexcept ImportError:\n    pass\n"  # a guarded top-level import counts
    assert find_cycle(import_graph(modules)) == ["pkg.a", "pkg.b", "pkg.a"]


def test_relative_imports_resolve():
    assert top_level_imports("from .b import f\nfrom .. import c\n", "pkg.sub.a", "pkg") >= {"pkg.sub.b", "pkg.c"}


def test_long_function_found_and_docstring_excluded():
    body = "".join(f"    x{i} = {i}\n" for i in range(61))
    text = f'def long():\n    """Doc\n\n    more doc\n    """\n{body}    return x0\n'
    assert long_functions(text) == [("long", 63)]  # def line + 61 assignments + return
    short = 'def short():\n    """' + "doc\n" * 100 + '"""\n    # a comment\n\n    return 1\n'
    assert long_functions(short) == []
    method = "class K:\n    def m(self):\n" + "".join(f"        y{i} = {i}\n" for i in range(60))
    assert long_functions(method) == [("K.m", 61)]


def test_only_experiment_notes_are_exempt():
    assert function_allowed("infogauss.experiments.fig2", "notes")
    assert not function_allowed("infogauss.experiments.fig2", "figures")
    assert not function_allowed("infogauss.report", "notes")
    assert not function_allowed("infogauss.experiments.fig2", "K.notes")


# ---------------------------------------------------------------------------------------------- README layout
README = PACKAGE.parents[1] / "README.md"


def layout_section(text: str) -> str:
    """The README's ``## Layout`` section (up to the next ``## `` heading)."""
    start = text.index("\n## Layout")
    return text[start : text.index("\n## ", start + 1)]


def unlisted_modules(files, layout: str, experiments) -> list[str]:
    """Modules of the tree that the layout table does not name (by ``infogauss.NAME`` or `` `NAME` ``).

    Exempt: ``__init__``, the one-file-per-statistic leaves of ``stats/univariate`` and ``stats/multivariate`` (the
    table names the folders) and registered experiments (one file per table or figure, listed by ``reproduce --list``).
    """
    missing = []
    for rel in files:
        parts = rel[:-3].split("/")
        stem = parts[-1]
        if stem == "__init__" or parts[:2] in (["stats", "univariate"], ["stats", "multivariate"]):
            continue
        if parts[0] == "experiments" and f"infogauss.experiments.{stem}" in experiments:
            continue
        if f"infogauss.{'.'.join(parts)}" not in layout and f"`{stem}`" not in layout and f"+ `{stem}`" not in layout:
            missing.append(rel)
    return missing


def test_readme_layout_names_every_module(package):
    from infogauss.experiments import EXPERIMENTS

    files = [path.relative_to(PACKAGE).as_posix() for path, _ in package.values()]
    layout = layout_section(README.read_text())
    missing = unlisted_modules(files, layout, set(EXPERIMENTS.values()))
    assert not missing, f"README's layout table does not name these modules: {missing}"
    named = {w.strip("`").split(" ")[0] for w in layout.split() if w.startswith("`infogauss.")}
    for dotted in sorted(n.rstrip("`,;.)") for n in named):
        rel = dotted.removeprefix("infogauss.").replace(".", "/")
        assert (PACKAGE / f"{rel}.py").exists() or (PACKAGE / rel).is_dir(), f"README names {dotted}, not in the tree"


def test_unlisted_modules_checker_finds_a_missing_module():
    layout = "| measure | `infogauss.stats`, `infogauss.report` (`compute`) |"
    files = ["report/compute.py", "report/html.py", "stats/univariate/anderson_darling.py", "experiments/fig2.py"]
    assert unlisted_modules(files, layout, {"infogauss.experiments.fig2"}) == ["report/html.py"]
