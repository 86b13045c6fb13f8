"""The layout's rules: no import cycles between modules, a small root, short modules, lazy CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
import networkx as nx

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "survatlas"


def _module_graph() -> nx.DiGraph:
    graph = grimp.build_graph("survatlas", exclude_type_checking_imports=True)
    g = nx.DiGraph()
    for module in graph.modules:
        g.add_node(module)
        for imported in graph.find_modules_directly_imported_by(module):
            g.add_edge(module, imported)
    return g


def _cycles(g: nx.DiGraph) -> list[list[str]]:
    """Import cycles between modules; a package importing its own submodules is not one."""
    pruned = g.copy()
    for a, b in list(pruned.edges):
        if b.startswith(a + "."):  # an __init__ re-exporting from its own submodule
            pruned.remove_edge(a, b)
    return [sorted(c) for c in nx.strongly_connected_components(pruned) if len(c) > 1]


def test_no_import_cycles():
    assert _cycles(_module_graph()) == []


def test_cycle_check_can_fail():
    g = nx.DiGraph([("survatlas.a", "survatlas.b"), ("survatlas.b", "survatlas.a"),
                    ("survatlas.p", "survatlas.p.x")])
    assert _cycles(g) == [["survatlas.a", "survatlas.b"]]


def test_small_root_and_short_modules():
    root = [p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert len(root) <= 8, root
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if "node_modules" not in p.parts and (n := len(p.read_text().splitlines())) > 600}
    assert long == {}


def test_cli_imports_no_heavy_library():
    code = ("import sys, survatlas.cli; "
            "print(sorted(m for m in ('numba', 'scipy', 'dask', 'geopandas', 'shapely', 'pandas',"
            " 'pyproj', 'fastapi') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_command_runs_one_blas_thread_unless_the_user_chose():
    """The CLI sets ``OPENBLAS_NUM_THREADS=1`` before numpy is imported (numpy then starts no
    thread pool); a number the user set is kept."""
    import os

    code = ("import os, sys, survatlas.cli; assert 'numpy' not in sys.modules; import numpy; "
            "print(os.environ['OPENBLAS_NUM_THREADS'], len(os.listdir('/proc/self/task')))")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env)
    assert out.stdout.split() == ["1", "1"]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**env, "OPENBLAS_NUM_THREADS": "3"})
    assert out.stdout.split()[0] == "3"


def test_every_lazy_command_resolves():
    import importlib

    import click

    from survatlas.cli import COMMANDS, main

    for name, (module, attr, short) in COMMANDS.items():
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command) and command.name == name, name
        assert short and len(short) <= 80
    defined = {c.name for m in {m for m, _, _ in COMMANDS.values()}
               for c in vars(importlib.import_module(m)).values()
               if isinstance(c, click.Command) and c.name not in ("case-study",)}
    assert defined <= set(COMMANDS) | {"osm", "cameras", "layer"} | _subcommands(main)


def _subcommands(group) -> set[str]:
    import click

    names = set()
    for name in group.list_commands(click.Context(group)):
        cmd = group.get_command(click.Context(group), name)
        if isinstance(cmd, click.Group):
            names |= set(cmd.list_commands(click.Context(cmd)))
    return names


def test_import_survatlas_is_light():
    code = ("import sys, survatlas; "
            "print(sorted(m for m in ('numba', 'scipy', 'dask', 'geopandas', 'shapely') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_api_examples_run():
    import doctest
    import importlib

    for name in ("survatlas.estimate.twolist", "survatlas.estimate.mse"):
        module = importlib.import_module(name)
        result = doctest.testmod(module)
        assert result.attempted >= 2 and result.failed == 0, module.__name__


def test_public_api_resolves_with_documented_entry_points():
    import survatlas

    for name in survatlas._API:
        obj = getattr(survatlas, name)
        doc = obj.__doc__ or ""
        assert obj.__module__.startswith("survatlas."), name
        if callable(obj) and not isinstance(obj, type):
            assert "Parameters" in doc and "Example" in doc, f"{name} lacks numpydoc sections"


def test_stats_without_bbox_imports_no_projection_library(tmp_path):
    from survatlas.store import Store

    db = tmp_path / "s.db"
    Store(db).close()
    code = ("import sys; from survatlas.cli import main; "
            f"main(['--db', {str(db)!r}, 'stats', '--json'], standalone_mode=False); "
            "print(sorted(m for m in ('pyproj', 'numba', 'scipy', 'geopandas', 'shapely') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_import_osm_loads_no_table_or_projection_library(tmp_path):
    """``survatlas import osm`` needs numpy, shapely and osmium, not the layer importer's
    libraries (they cost ~0.7 s of a Helsinki import's 0.9 s when they were loaded)."""
    osm = Path(__file__).resolve().parents[1] / "data" / "helsinki-center.osm.pbf"
    code = ("import sys; from survatlas.cli import main; "
            f"main(['--db', {str(tmp_path / 's.db')!r}, 'import', 'osm', '--no-context', "
            f"'--json', {str(osm)!r}], standalone_mode=False); "
            "print(sorted(m for m in ('geopandas', 'pandas', 'pyproj', 'pyarrow', 'pyogrio', "
            "'numba', 'scipy', 'dask', 'fastapi') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert '"devices"' in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "[]"
