"""optuna-dashboard as a designer sees it: metric names, trial notes, artifacts -- and a real browser.

- the note and the artifacts of one trial, written by :class:`dse.driver.dashboard_notes.DashboardWriter` into a
  real SQLite study: every section of the note, a folder uploaded as a .tar.gz, an oversized file and a
  missing one skipped and named in the note, bytes read back through Optuna's artifact API;
- a broken artifact store fails neither the trial nor the note (a warning);
- metric names set on a study made by an older dse when a driver opens it;
- the browser test: a tiny-family ``dse run``, ``dse dashboard`` on 127.0.0.1 and headless Chromium (Debian's
  ``chromium`` + ``chromium-driver``, driven by selenium) finding the metric names, a trial's note and its
  artifacts, and downloading an artifact byte for byte. Skipped where no browser is installed, except on CI
  (``CI`` set), where that fails. ``DSE_DASHBOARD_SCREENSHOT=PATH`` keeps the trial page's screenshot
  (how ``docs/dashboard-trial.png`` is made).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState
from reliability_helpers import cli_env, dse, end_session, tiny_study_dict, write_study

from dse.driver.dashboard_notes import DashboardWriter, artifact_store, trial_note
from dse.trial.result import Artifact, TrialResult

optuna.logging.set_verbosity(optuna.logging.WARNING)

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
INSTALL = "apt-get update && apt-get install -y chromium chromium-driver"
CHROME_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                "--window-size=1280,2400")


def _result(tmp: Path) -> TrialResult:
    """A trial result with everything a note can show (the generic fields only)."""
    work = tmp / "trial"
    (work / "project" / "firmware").mkdir(parents=True)
    (work / "project" / "firmware" / "top.cpp").write_text("// generated\n" * 50)
    (work / "project" / "build.tcl").write_text("csynth_design\n")
    (work / "hardware.json").write_text(json.dumps({"lut": 1234}))
    (work / "model.bin").write_bytes(os.urandom(4096))  # over the 2 kB limit the test sets
    return TrialResult(
        params={"q.bits": 8, "hw.rf": 4},
        objectives={"acc": 0.91, "latency_us": 1.25, "lut": 1234.0},
        accuracy={"float": {"acc": 0.93}, "csim": {"acc": 0.91}},
        hardware={"backend": "estimate", "tool_version": "est-9", "part": "xcu55c", "clock_ns": 5.0,
                  "latency_cycles": 250, "latency_cycles_best": 200, "latency_us": 1.25, "ii_cycles": 1, "dsp": 120,
                  "lut": 1234, "ff": 2000, "bram_18k": 4, "uram": 0,
                  "utilisation": {"dsp": 0.5, "lut": 0.25, "ff": 0.01, "bram_18k": 1.2, "uram": 0.0},
                  "details": {"uncertainty": {"latency": 0.318, "dsp": 0.084}, "uncertainty_basis": "LORO median",
                              "reuse_factor_substitutions": [{"layer": "dense", "product": 64, "requested": 3,
                                                              "used": 4}],
                              "fallback_layers": [{"name": "lambda_1", "class": "Lambda", "reason": "no cost model"}]}},
        timings={"train": 1.5, "cost": 0.25, "total": 2.0},
        artifacts=[Artifact("hardware_report", str(work / "hardware.json")),
                   Artifact("hls_project", str(work / "project")),
                   Artifact("model", str(work / "model.bin")),
                   Artifact("plot", str(work / "gone.png"))],
        versions={"dse": "0.1.0"},
        cache={"model": True, "hls": False},
    )


def test_note_and_artifacts_of_a_trial(tmp_path, monkeypatch):
    monkeypatch.setenv("DSE_DASHBOARD_MAX_ARTIFACT_MB", str(2 / 1024))  # 2 kB: model.bin (4 kB) is skipped
    storage = f"sqlite:///{tmp_path / 's.db'}"
    study = optuna.create_study(study_name="s", storage=storage, directions=["maximize", "minimize", "minimize"])
    writer = DashboardWriter(study, tmp_path / "runs" / "s", ["acc", "latency_us", "lut"],
                             ["maximize", "minimize", "minimize"])
    trial = study.ask()
    result = _result(tmp_path)
    writer.record(trial, result, worker={"host": "node-a", "ray_node": "ab" * 28, "pid": 1})
    study.tell(trial, [0.91, 1.25, 1234.0])

    from optuna_dashboard import get_note

    note = get_note(optuna.trial.Trial(study, trial._trial_id))
    for needle in ("## Trial 0: complete", "| `q.bits` | 8 |", "| **acc** | 0.91 | maximize |",
                   "part `xcu55c` at 5 ns", "latency **250 cycles** = 1.25 µs", "(best case 200)",
                   "| DSP | 120 | `██████████░░░░░░░░░░` 50.0 % |", "120.0 % ‼ over the part",
                   "Estimator uncertainty", "| latency | ± 31.8 % |", "Reuse factors substituted",
                   "| dense | 64 | 3 | 4 |", "Fallback layers", "lambda_1",
                   "| metric | float | csim (bit-accurate) | bit-accurate − float |", "| acc | 0.93 | 0.91 | -0.02 |",
                   "| train | 1.500 |", "**Cache:** model: hit, hls: miss", "host `node-a`",
                   "- `hardware.json` (hardware_report", "- `hls_project.tar.gz` (hls_project",
                   "- `model.bin` (model): 4.0 kB, over the 2.0 kB limit (DSE_DASHBOARD_MAX_ARTIFACT_MB)",
                   "- `gone.png` (plot): missing on the driver's machine"):
        assert needle in note, f"{needle!r} not in the note:\n{note}"

    frozen = study.trials[0]
    metas = optuna.artifacts.get_all_artifact_meta(frozen, storage=study._storage)
    by_name = {m.filename: m for m in metas}
    assert sorted(by_name) == ["hardware.json", "hls_project.tar.gz"]
    store = artifact_store(tmp_path / "runs" / "s", create=False)
    optuna.artifacts.download_artifact(artifact_store=store, artifact_id=by_name["hardware.json"].artifact_id,
                                       file_path=str(tmp_path / "hw.json"))
    assert (tmp_path / "hw.json").read_bytes() == (tmp_path / "trial" / "hardware.json").read_bytes()
    optuna.artifacts.download_artifact(artifact_store=store, artifact_id=by_name["hls_project.tar.gz"].artifact_id,
                                       file_path=str(tmp_path / "p.tar.gz"))
    with tarfile.open(tmp_path / "p.tar.gz") as tar:
        assert tar.extractfile("project/firmware/top.cpp").read() == b"// generated\n" * 50
        assert sorted(tar.getnames()) == ["project", "project/build.tcl", "project/firmware",
                                          "project/firmware/top.cpp"]


def test_failed_and_pruned_notes(tmp_path):
    """A failed trial's note leads with its reason; a pruned one says why it was pruned."""
    failed = trial_note(3, TrialResult(params={"a": 1}, status="failed", fail_reason="worker died: node lost"))
    assert failed.startswith("## Trial 3: failed") and "**Failure reason:**" in failed
    assert "worker died: node lost" in failed and "| `a` | 1 |" in failed
    pruned = trial_note(4, TrialResult(params={}, status="pruned", fail_reason="too big: LUT 140 %"))
    assert "**Pruned:**" in pruned and "too big: LUT 140 %" in pruned


def test_a_broken_artifact_store_fails_neither_the_trial_nor_the_note(tmp_path, caplog):
    storage = f"sqlite:///{tmp_path / 's.db'}"
    study = optuna.create_study(study_name="s", storage=storage, directions=["maximize", "minimize", "minimize"])
    root = tmp_path / "runs" / "s"
    root.mkdir(parents=True)
    (root / "artifacts").write_text("a file where the store's folder should be")
    writer = DashboardWriter(study, root, ["acc", "latency_us", "lut"], ["maximize", "minimize", "minimize"])
    trial = study.ask()
    with caplog.at_level(logging.WARNING):
        writer.record(trial, _result(tmp_path))
    study.tell(trial, [0.91, 1.25, 1234.0])
    assert study.trials[0].state == TrialState.COMPLETE
    assert "artifacts not uploaded" in caplog.text or "not uploaded" in caplog.text, caplog.text
    from optuna_dashboard import get_note

    assert "## Trial 0: complete" in get_note(optuna.trial.Trial(study, trial._trial_id))


def test_metric_names_set_on_a_study_of_an_older_dse(tmp_path):
    """A study created without metric names (by a dse that did not set them yet) gets them, and a study note, when a driver
    opens it."""
    from dse.driver.loop import Driver
    from dse.study import load_study

    path = write_study(tmp_path, tiny_study_dict("old"))
    old = optuna.create_study(study_name="old", storage=f"sqlite:///{tmp_path / 'old.db'}",
                              directions=["maximize", "minimize", "minimize"])
    old.set_user_attr("objectives", ["behavior_r2", "latency_us", "lut"])
    assert old.metric_names is None
    Driver(load_study(str(path)), progress=False)
    reopened = optuna.load_study(study_name="old", storage=f"sqlite:///{tmp_path / 'old.db'}")
    assert reopened.metric_names == ["behavior_r2", "latency_us", "lut"]
    from optuna_dashboard import get_note

    note = get_note(reopened)  # and a study note
    for needle in ("## old", "Family **tiny** · cost backend **analytic** on `xc7z020` at 10 ns",
                   "| **latency_us** | minimize |", "- `lut_util <= 1`", "| `model.lags` | {1, 2, 3} |"):
        assert needle in note, f"{needle!r} not in the study note:\n{note}"


# ------------------------------------------------------------------------------------------- the browser


def _browser_or_skip():
    """selenium's Chrome driver on Debian's chromium; skipped when missing, failed on CI."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install -e '.[dev]')")
    if missing:
        msg = f"no browser: {', '.join(missing)} missing (as root: {INSTALL})"
        if os.environ.get("CI"):
            pytest.fail(msg + " -- on CI the browser test must run")
        pytest.skip(msg)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        opts.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="dse-chromium-")
    opts.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    return driver, profile


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"dse dashboard ended (exit {proc.returncode})")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as r:
            if r.status == 200:
                return
        time.sleep(0.3)
    raise AssertionError(f"dse dashboard did not answer on {url} within {timeout:g} s")


def _wait_text(driver, needles: list[str], timeout: float = 30) -> str:
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = driver.find_element(By.TAG_NAME, "body").text
        if all(n in text for n in needles):
            return text
        time.sleep(0.3)
    missing = [n for n in needles if n not in text]
    raise AssertionError(f"the page never showed {missing}; it showed:\n{text[:3000]}")


@pytest.mark.slow
def test_dashboard_in_a_browser(tmp_path):
    t0 = time.monotonic()
    driver, profile = _browser_or_skip()
    server = None
    try:
        # a small part (8 DSPs, 5280 LUTs), so that the utilisation bars show something
        write_study(tmp_path, tiny_study_dict("dash", n_trials=3, hardware={"backend": "analytic", "part": "ice40up5k",
                                                                           "clock_ns": 20.0}))
        r = dse("run", "study.yaml", "--no-progress", cwd=tmp_path, timeout=600)
        assert r.returncode == 0, r.stdout + r.stderr[-3000:]
        t_run = time.monotonic()
        study = optuna.load_study(study_name="dash", storage=f"sqlite:///{tmp_path / 'dash.db'}")
        first = study.trials[0]
        assert first.state == TrialState.COMPLETE
        metas = {m.filename: m for m in optuna.artifacts.get_all_artifact_meta(first, storage=study._storage)}
        assert {"weights.json", "hardware.json"} <= set(metas), metas

        port = _free_port()
        server = subprocess.Popen([sys.executable, "-m", "dse.cli", "dashboard", "study.yaml", "--port", str(port)],
                                  cwd=tmp_path, env=cli_env(), stdout=open(tmp_path / "dashboard.out", "w"),  # noqa: SIM115
                                  stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        _wait_http(base + "/dashboard/", server)

        # the study page: objectives by name (the metric names), not "Objective 0"
        driver.get(f"{base}/dashboard/studies/{study._study_id}")
        text = _wait_text(driver, ["Pareto Front", "Objective X:\nbehavior_r2", "Objective Y:\nlatency_us"])
        assert "Objective 0" not in text, text[:3000]
        driver.get(f"{base}/dashboard/studies/{study._study_id}/analytics")  # one plot per objective, by name
        text = _wait_text(driver, ["EDF for behavior_r2", "EDF for latency_us", "EDF for lut"])
        assert "Objective 0" not in text and "EDF for Objective" not in text, text[:3000]
        seen = {"metric names": [line for line in text.splitlines() if line.startswith("EDF for")]}

        # trial 0's page: the note and the artifacts
        driver.get(f"{base}/dashboard/studies/{study._study_id}/trials?numbers={first.number}")
        text = _wait_text(driver, [f"Trial {first.number}: complete", "Design point", "utilisation of the part",
                                   "Accuracy: float vs bit-accurate", "Timings (seconds per phase)",
                                   "Artifacts", "weights.json", "hardware.json"])
        seen["trial note"] = [line for line in text.splitlines() if line.startswith(("Trial 0:", "LUT", "latency"))]
        from selenium.webdriver.common.by import By

        link = f"/artifacts/{study._study_id}/{first._trial_id}/{metas['weights.json'].artifact_id}"
        anchors = [a for a in driver.find_elements(By.CSS_SELECTOR, "a[href*='/artifacts/']")
                   if a.get_attribute("href").endswith(link)]
        assert anchors, [a.get_attribute("href") for a in driver.find_elements(By.TAG_NAME, "a")]
        height = driver.execute_script("return Math.max(...[...document.querySelectorAll('*')]"
                                       ".map(e => e.scrollHeight))")
        driver.set_window_size(1280, min(6000, max(2400, int(height) + 400)))  # the note and the artifacts
        time.sleep(1)
        shot = tmp_path / "trial.png"
        driver.save_screenshot(str(shot))
        if os.environ.get("DSE_DASHBOARD_SCREENSHOT"):
            shutil.copy(shot, os.environ["DSE_DASHBOARD_SCREENSHOT"])

        # download the artifact with the page's download button, as a designer would, and compare bytes
        downloads = tmp_path / "downloads"
        downloads.mkdir()
        driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
        driver.execute_script("arguments[0].scrollIntoView(); arguments[0].click();", anchors[0])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not [p for p in downloads.iterdir() if not p.name.endswith(
                ".crdownload")]:
            time.sleep(0.2)
        got = [p for p in downloads.iterdir() if not p.name.endswith(".crdownload")]
        assert len(got) == 1, (list(downloads.iterdir()), anchors[0].get_attribute("outerHTML"))
        want = (tmp_path / "runs" / "dash" / "trials" / f"{first.number:05d}" / "weights.json").read_bytes()
        assert got[0].read_bytes() == want
        seen["downloaded"] = f"{got[0].name}, {len(want)} bytes, equal to the trial's weights.json"
        print(f"browser saw: {seen}; dse run {t_run - t0:.1f} s, browser part {time.monotonic() - t_run:.1f} s")
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
        if server is not None:
            end_session(server.pid)


def test_dashboard_command_serves_the_artifact_store(tmp_path):
    """Without a browser: ``dse dashboard`` answers the artifact URL with the file's bytes."""
    write_study(tmp_path, tiny_study_dict("serve", n_trials=1))
    r = dse("run", "study.yaml", "--no-progress", cwd=tmp_path, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    study = optuna.load_study(study_name="serve", storage=f"sqlite:///{tmp_path / 'serve.db'}")
    t = study.trials[0]
    meta = {m.filename: m for m in optuna.artifacts.get_all_artifact_meta(t, storage=study._storage)}["weights.json"]
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "dse.cli", "dashboard", "study.yaml", "--port", str(port)],
                              cwd=tmp_path, env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_http(base + "/dashboard/", server)
        with urllib.request.urlopen(f"{base}/artifacts/{study._study_id}/{t._trial_id}/{meta.artifact_id}") as resp:
            body = resp.read()
        assert body == (tmp_path / "runs" / "serve" / "trials" / "00000" / "weights.json").read_bytes()
        assert yaml.safe_load(body)["frac_bits"] == 4
    finally:
        end_session(server.pid)
