"""The compiled-project cache: hits load the library without g++, any change to the C++ misses."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pytest

from dse.families.lfads.testing import TINY, WIDE_PTQ, lfads_deploy, poisson_spikes
from dse.hls import cache as hls_cache
from dse.hls import compile_model, lookup, run_csim

T, N = TINY["n_bins"], TINY["n_neurons"]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.getbasetemp() / "dse-hls-cache"  # shared with test_hls_convert (same designs)


@pytest.fixture(scope="module")
def model():
    return lfads_deploy(0)


def _libraries(root):
    return {p: p.stat().st_mtime_ns for p in root.glob("*/firmware/*.so")}


def test_second_compile_is_a_hit(model, cache_dir) -> None:
    t0 = time.perf_counter()
    first = compile_model(model, WIDE_PTQ, cache_dir)  # a miss unless another module compiled it already
    t_first = time.perf_counter() - t0
    libs = _libraries(cache_dir)
    t0 = time.perf_counter()
    second = compile_model(model, WIDE_PTQ, cache_dir)
    t_second = time.perf_counter() - t0
    print(
        f"\nfirst call {t_first:.1f}s (hit={first.cache_hit}, g++ {first.compile_s:.1f}s), "
        f"second call {t_second:.2f}s, ratio {t_first / t_second:.0f}x"
    )
    assert second.cache_hit and second.compile_s == 0.0
    assert second.key == first.key and second.project_dir == first.project_dir
    assert _libraries(cache_dir) == libs  # no library built or rewritten
    assert not list((cache_dir / "tmp").iterdir())
    x = poisson_spikes(3, T, N, seed=4)
    a, b = run_csim(first.hls_model, x), run_csim(second.hls_model, x)
    np.testing.assert_array_equal(a["logrates"], b["logrates"])
    assert lookup(model, WIDE_PTQ, cache_dir) == first.project_dir


def test_any_change_misses(model, cache_dir) -> None:
    compile_model(model, WIDE_PTQ, cache_dir)
    assert lookup(model, WIDE_PTQ, cache_dir) is not None
    for changed in (
        dataclasses.replace(WIDE_PTQ, reuse_factor=2),
        dataclasses.replace(WIDE_PTQ, table_size=2**19),
        dataclasses.replace(WIDE_PTQ, clock_period=4.0),
        dataclasses.replace(WIDE_PTQ, layer_precision={"logrates.result": "ap_fixed<40,17>"}),
    ):
        assert lookup(model, changed, cache_dir) is None, changed
    other = lfads_deploy(0)
    w = other.get_layer("logrates").get_weights()
    w[1][3] += 2.0**-20  # one bias, by far less than a float32 LSB of most weights but on the 24-bit grid
    other.get_layer("logrates").set_weights(w)
    assert lookup(other, WIDE_PTQ, cache_dir) is None


def test_key_ignores_stamp_and_location(model, tmp_path) -> None:
    from dse.hls import convert

    keys = []
    for i in range(2):
        hls = convert(model, WIDE_PTQ, tmp_path / str(i))
        hls.write()
        keys.append(hls_cache.project_key(tmp_path / str(i), hls.config.get_config_value("Stamp")))
    assert keys[0] == keys[1]


def test_entry_complete_only_with_marker_where_built(tmp_path) -> None:
    """Readers trust an entry only once its marker exists, and only at the path it was compiled at
    (the library reads its weight files by absolute path)."""
    from dse.hls import HLSDesign

    entry = tmp_path / "k"
    (entry / "firmware").mkdir(parents=True)
    (entry / "firmware" / "myproject-abc.so").write_text("")
    assert not hls_cache.is_complete(entry)  # being built: no marker yet
    hls_cache._write_marker(entry, "k", HLSDesign(), 1.0)
    assert hls_cache.is_complete(entry)
    moved = tmp_path / "moved"
    entry.rename(moved)
    assert not hls_cache.is_complete(moved)


@pytest.mark.slow
def test_concurrent_processes_compile_once(tmp_path) -> None:
    """Two processes asking for the same design at once: one compiles, the other waits and hits."""
    import subprocess
    import sys

    code = (
        "import sys; from dse.hls import compile_model; from dse.families.lfads.testing import lfads_deploy, WIDE_PTQ; "
        "c = compile_model(lfads_deploy(0), WIDE_PTQ, sys.argv[1]); print('HIT' if c.cache_hit else 'MISS')"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = sorted(p.communicate(timeout=900)[0].strip().splitlines()[-1] for p in procs)
    assert results == ["HIT", "MISS"]
    assert len([d for d in tmp_path.iterdir() if hls_cache.is_complete(d)]) == 1


def test_default_cache_dir(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("DSE_CACHE_DIR", str(tmp_path / "c"))
    assert hls_cache.default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("DSE_CACHE_DIR")
    assert hls_cache.default_cache_dir().parts[-3:] == (".cache", "dse", "hls")


def test_compile_timeout(monkeypatch, tmp_path, model) -> None:
    """A compiler that hangs is killed (with its process group) after $DSE_COMPILE_TIMEOUT_S; nothing is cached."""
    import os

    from dse.errors import ConfigError
    from dse.hls import HLSCompileError, HLSDesign

    monkeypatch.setenv("DSE_COMPILE_TIMEOUT_S", "nope")
    with pytest.raises(ConfigError, match="DSE_COMPILE_TIMEOUT_S"):
        hls_cache.compile_timeout_s()
    monkeypatch.setenv("DSE_COMPILE_TIMEOUT_S", "0")
    assert hls_cache.compile_timeout_s() is None
    hls_cache.toolchain()  # computed with the real g++ (cached per process)
    pids = tmp_path / "pids"
    fake = tmp_path / "bin" / "g++"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/bash\necho $$ >> {pids}\nexec sleep 600\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    monkeypatch.setenv("DSE_COMPILE_TIMEOUT_S", "2")
    t0 = time.monotonic()
    with pytest.raises(HLSCompileError, match="g\\+\\+ timed out after 2 s"):
        compile_model(model, HLSDesign(), tmp_path / "cache")
    assert time.monotonic() - t0 < 60

    def running(pid: int) -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
        except OSError:
            return False

    for pid in map(int, pids.read_text().split()):
        for _ in range(50):
            if not running(pid):
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"compiler {pid} still running")
    assert not list((tmp_path / "cache").glob(f"*/{hls_cache.MARKER}"))
