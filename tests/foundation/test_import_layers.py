"""The package's layers import one way only, each module name is unique, and ``import rtrlbench``
stays off the Atari data layer."""
import ast
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from conftest import REPO

import rtrlbench

#: The layers, lowest first; written down only here. A module may import its own group and any
#: lower layer. Groups side by side in one layer (envs and agents) must not import each other.
#: Entries are module prefixes; ``rtrlbench`` itself (version and env registration) is below all.
LAYERS: list[list[list[str]]] = [
    [["rtrlbench.atomic", "rtrlbench.validation", "rtrlbench.learner_interface", "rtrlbench.terminal"]],  # foundation
    [["rtrlbench.data_tools"]],                              # Atari data sets
    [["rtrlbench.envs"], ["rtrlbench.agents"]],              # streams | learners
    [["rtrlbench.evaluation"]],                              # scoring a stream of predictions
    [["rtrlbench.run", "rtrlbench.run_commands", "rtrlbench.population_run"]],           # the run engine
    [["rtrlbench.sweep"]],                                   # sweep machinery and its registry
    [["rtrlbench.benchmarks"]],                              # speed, reproductions, experiments
    [["rtrlbench.leaderboard"]],                             # the public leaderboard
    [["rtrlbench.cli"]],                                     # the `rtrlbench` command
]

#: Source folder -> package name (pyproject's package-dir).
SOURCE_DIRS = {"rtrlbench": "rtrlbench", "envs": "rtrlbench.envs", "agents": "rtrlbench.agents",
               "data_tools": "rtrlbench.data_tools", "benchmarks": "rtrlbench.benchmarks",
               "leaderboard": "rtrlbench.leaderboard"}


def modules() -> dict[str, Path]:
    """Every module of the package, by dotted name, from the source folders."""
    found = {}
    for folder, package in SOURCE_DIRS.items():
        for path in sorted((REPO / folder).rglob("*.py")):
            parts = path.relative_to(REPO / folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


def place(module: str) -> tuple[int, int] | None:
    """(layer, group) of ``module`` by its longest matching prefix; None for ``rtrlbench`` itself."""
    best, length = None, -1
    for layer, groups in enumerate(LAYERS):
        for group, prefixes in enumerate(groups):
            for prefix in prefixes:
                if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > length:
                    best, length = (layer, group), len(prefix)
    if best is None and module != "rtrlbench":
        raise AssertionError(f"module {module} belongs to no layer: add it to LAYERS")
    return best


def imported(path: Path, module: str) -> set[str]:
    """The rtrlbench modules ``path`` imports anywhere (top level or inside functions)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import module`
    known = modules()
    return {name for name in names if name in known}


def test_every_module_has_a_layer():
    for module in modules():
        place(module)


def test_no_layer_imports_a_higher_one_nor_a_neighbour():
    bad = []
    for module, path in modules().items():
        here = place(module)
        for target in imported(path, module):
            there = place(target)
            if here is None or there is None:
                continue
            if there[0] > here[0] or (there[0] == here[0] and there[1] != here[1]):
                bad.append(f"{module} imports {target}")
    assert not bad, "imports against the layer order:\n" + "\n".join(sorted(bad))


def test_the_layer_check_sees_function_level_and_relative_imports(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text("def f():\n    from rtrlbench.leaderboard import stats\n    import rtrlbench.sweep.run_spec\n")
    assert imported(source, "rtrlbench.envs.probe") == {"rtrlbench.leaderboard", "rtrlbench.leaderboard.stats",
                                                        "rtrlbench.sweep.run_spec"}
    source.write_text("from .stream import PredictionEnv\n")
    assert imported(source, "rtrlbench.envs.probe") == {"rtrlbench.envs.stream"}


def test_module_names_are_unique_across_the_package():
    names = Counter(path.stem for path in modules().values() if path.stem != "__init__")
    assert not [name for name, count in names.items() if count > 1]


def test_the_source_folders_are_the_installed_package():
    assert Path(rtrlbench.__file__).resolve().parent == REPO / "rtrlbench", \
        "the tests must run against this checkout: pip install -e ."


@pytest.mark.parametrize("statement", ["import rtrlbench", "import rtrlbench.run",
                                       "import gymnasium as gym, rtrlbench; assert any(i.startswith('AtariPrediction/Pong-') for i in gym.registry)"])
def test_importing_the_suite_does_not_import_the_atari_data_layer(statement):
    code = f"import sys; {statement}; print(sorted(m for m in sys.modules if m.startswith('rtrlbench.data_tools')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
