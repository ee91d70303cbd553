"""Families and cost backends from outside dse: a package installed with pip that declares entry points in
the groups ``dse.families`` and ``dse.cost_backends`` is found like a built-in one, with no file of dse
changed; broken or clashing plug-ins are refused in one line."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from reliability_helpers import cli_env, dse, tiny_study_dict, write_study

REPO = Path(__file__).resolve().parents[1]

#: A cost backend of the outside package: the analytic backend under another name.
BACKEND = '''

from dse.cost.analytic import AnalyticBackend


class CopiedAnalyticBackend(AnalyticBackend):
    name = "analytic-copy"
    source = "analytic model (outside package)"
'''


def _install(tmp_path: Path, family_entry: str, *, extra: str = "", backend: bool = True) -> Path:
    """Build and pip-install (into a folder of its own, put on PYTHONPATH) a copy of ``dse/families/tiny``
    renamed ``tiny2``, with ``family_entry`` as its ``dse.families`` entry point; return that folder."""
    src = tmp_path / "pkg"
    (src / "dse_tiny2").mkdir(parents=True)
    code = (REPO / "dse" / "families" / "tiny" / "__init__.py").read_text()
    assert 'name = "tiny"' in code
    (src / "dse_tiny2" / "__init__.py").write_text(code.replace('name = "tiny"', 'name = "tiny2"')
                                                   + (BACKEND if backend else "") + extra)
    eps = f'[project.entry-points."dse.families"]\n{family_entry}\n'
    if backend:
        eps += '[project.entry-points."dse.cost_backends"]\nanalytic-copy = "dse_tiny2:CopiedAnalyticBackend"\n'
    (src / "pyproject.toml").write_text(textwrap.dedent('''\
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "dse-tiny2"
        version = "0.1"
        ''') + eps)
    site = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                        "--no-index", "--target", str(site), str(src)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert list(site.glob("dse_tiny2-0.1.dist-info/entry_points.txt"))
    return site


def _env(site: Path) -> dict[str, str]:
    return cli_env(PYTHONPATH=str(site))


def test_an_installed_family_and_backend_run_a_study_without_editing_dse(tmp_path):
    before = subprocess.run(["git", "status", "--porcelain", "dse"], capture_output=True, text=True, cwd=REPO).stdout
    site = _install(tmp_path, 'tiny2 = "dse_tiny2:FAMILY"')
    env = _env(site)
    r = dse("params", "--family", "tiny2", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "model.lags" in r.stdout and "hardware_model.parallel_macs" in r.stdout
    study = tiny_study_dict("outside", n_trials=4, family="tiny2", hardware={"backend": "analytic-copy"},
                            execution={"workers": 2, "cpus_per_trial": 1, "max_retries": 1})
    write_study(tmp_path / "s", study)
    r = dse("run", "study.yaml", "--no-progress", cwd=tmp_path / "s", env=env, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    assert "4 complete" in r.stdout
    rows = json.loads(dse("pareto", "study.yaml", "--format", "json", cwd=tmp_path / "s", env=env).stdout)
    assert rows and all(row["lut"] > 0 for row in rows)
    # where the numbers come from, in the backend's own words
    assert {row["hardware_source"] for row in rows} == {"analytic model (outside package)"}
    assert "Pareto front" in dse("status", "study.yaml", cwd=tmp_path / "s", env=env).stdout
    # without the package on the path the family is unknown: nothing of dse knows it
    r = dse("params", "--family", "tiny2", cwd=tmp_path)
    assert r.returncode != 0
    after = subprocess.run(["git", "status", "--porcelain", "dse"], capture_output=True, text=True, cwd=REPO).stdout
    assert after == before


@pytest.mark.parametrize(("entry", "extra", "problem"), [
    ('tiny = "dse_tiny2:Taken"', '\n\nclass Taken(TinyFamily):\n    name = "tiny"\n',
     "family name 'tiny' is taken by the built-in module dse.families.tiny"),
    ('tiny2 = "dse_tiny2:nothing_here"', "", "cannot be loaded: AttributeError"),
    ('tiny2 = "dse_tiny2:quantize"', "", "names <function quantize"),
])
def test_a_broken_or_clashing_family_is_one_line(tmp_path, entry, extra, problem):
    site = _install(tmp_path, entry, extra=extra, backend=False)
    r = dse("params", "--family", "tiny", cwd=tmp_path, env=_env(site))
    assert r.returncode == 2, r.stdout + r.stderr[-2000:]
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert problem in r.stderr and "(group dse.families of dse-tiny2 0.1)" in r.stderr


def test_a_cost_backend_whose_name_is_taken_is_one_line(tmp_path):
    site = _install(tmp_path, 'tiny2 = "dse_tiny2:FAMILY"', extra='\n\nCopiedAnalyticBackend.name = "yosys"\n')
    r = dse("params", "--family", "tiny2", cwd=tmp_path, env=_env(site))
    assert r.returncode == 2, r.stdout + r.stderr[-2000:]
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "cost backend name 'yosys' is taken by dse.cost.hdl" in r.stderr


def test_a_family_command_may_not_take_a_name_dse_has(monkeypatch):
    from dse import cli
    from dse.commands.run import add_parser
    from dse.families import get_family
    from dse.families.records import FamilyCommand

    monkeypatch.setattr(type(get_family("tiny")), "commands", (FamilyCommand("run", add_parser),))
    with pytest.raises(RuntimeError, match="family 'tiny': command 'run' is taken by dse"):
        cli.family_commands()
