"""``dse verify study.yaml --trial N [--top K] --backend B``: re-cost finished designs with a real backend.

What ``hardware.verify`` does during a run, after the fact: the trial's design is rebuilt from its stored
record by its family, costed by ``--backend`` (a backend of the same kind as the study's, e.g. ``yosys`` after
``hdl-estimate``) as a Ray task on a node with the tool, and the report stored beside the estimate.
``--top K`` verifies the K best designs of the front (by the first objective), and the designs that enter
those K as real numbers arrive. Each verification is recorded before and after it runs: one already done is
not run again, one another runner holds is left to it, and Ctrl-C hands the running ones back to the queue.
"""

from __future__ import annotations

import argparse
import shutil
import sys

from dse.errors import ConfigError, ToolNotFoundError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify", help="re-cost finished designs with a real backend (kept beside the estimate)")
    p.add_argument("study", help="the study file (YAML)")
    p.add_argument("--trial", type=int, action="append", default=[], help="a trial to verify (repeatable)")
    p.add_argument("--top", type=int, default=None, help="verify the K best designs of the front")
    p.add_argument("--backend", default=None, help="the real cost backend (default: hardware.verify.backend)")
    p.set_defaults(func=run)


def check_backend(cfg, backend: str | None) -> str:
    """The verifying backend: named, known, of the kind the family lowers to, and not the study's own."""
    from dse.cost.registry import backend_class, backend_names
    from dse.families import get_family

    if backend is None:
        if cfg.verify is None:
            raise ConfigError("command line", "give --backend (the study has no hardware.verify)", "--backend")
        return cfg.verify.backend
    lowering = get_family(cfg.family).lowering
    fitting = [n for n in backend_names(costs=lowering) if n != cfg.hardware.backend]
    try:
        costs = backend_class(backend).costs
    except KeyError as e:
        raise ConfigError("command line", str(e.args[0]), "--backend") from None
    if costs != lowering:
        raise ConfigError("command line", f"{backend!r} costs {costs} designs, but family {cfg.family!r} lowers "
                          f"to {lowering} (use one of: {', '.join(fitting) or 'none'})", "--backend")
    if backend == cfg.hardware.backend:
        raise ConfigError("command line", f"{backend!r} is the study's own backend (use one of: "
                          f"{', '.join(fitting) or 'none'})", "--backend")
    return backend


def run(args: argparse.Namespace) -> int:
    from dse.commands._study import load, open_study
    from dse.driver.executor import RayExecutor
    from dse.driver.paths import study_paths
    from dse.driver.recovery import driver_id
    from dse.verify.jobs import VerificationJobs
    from dse.verify.task import request_of

    if not args.trial and args.top is None:
        raise ConfigError("command line", "give --trial N or --top K", "--trial")
    if args.top is not None and args.top < 1:
        raise ConfigError("command line", f"--top must be at least 1, got {args.top}", "--top")
    cfg = load(args.study)
    backend = check_backend(cfg, args.backend)
    st, study = open_study(cfg)
    for number in args.trial:  # every named trial is checked before anything is written or started
        request_of(cfg, st, study, number)
    tool = VerificationJobs.resource(backend)
    if tool and cfg.execution.ray_address is None and shutil.which(tool) is None:  # a local Ray could not run it
        raise ToolNotFoundError(f"{tool} not on PATH (the {backend!r} backend's tool); install it, or run on a Ray "
                                "cluster whose nodes offer it as a resource (execution.ray_address)")
    jobs = VerificationJobs(cfg, st, study, backend, driver_id(), top_k=args.top,
                            max_retries=cfg.execution.max_retries, work_root=study_paths(cfg).trials)
    jobs.recover()
    known = {v.trial_number: v for v in st.verifications.rows(cfg.name) if v.backend == backend}
    for number in args.trial:
        if number in known and known[number].status == "failed":
            st.verifications.retry(cfg.name, number, backend)
        else:
            jobs.queue([number], explicit=True)
    jobs.queue_front()
    wanted = set(jobs.queued())
    if not wanted:
        print("nothing to verify: " + ("every design asked for is verified already" if known
                                       else "the front is empty"))
        _print(cfg, st, backend, set(args.trial) | set(known))
        return 0
    executor = RayExecutor(address=cfg.execution.ray_address, cpus_per_trial=cfg.execution.cpus_per_trial,
                           offer=(tool,) if tool else ())
    try:
        jobs.start(executor.ray, cfg.execution.cpus_per_trial)
        workers = min(cfg.execution.workers, executor.capacity())
        while jobs.pending:
            jobs.submit(workers - len(jobs.inflight))
            if jobs.poll(timeout=1.0) and args.top is not None:
                jobs.queue_front()
            jobs.beat()
    except KeyboardInterrupt:
        jobs.stop()
        print("interrupted: the running verifications are queued again (run `dse verify` or `dse run` to finish "
              "them)", file=sys.stderr)
        return 130
    finally:
        executor.shutdown()
    _print(cfg, st, backend, set(jobs.done) | set(args.trial) | wanted)
    for line in jobs.failed:
        print(f"failed: {line}", file=sys.stderr)
    return 1 if jobs.failed else 0


def _print(cfg, st, backend: str, numbers: set[int]) -> None:
    """One line per verification: the real numbers of the study's hardware objectives beside the estimate's."""
    from dse.cost.registry import hardware_source
    from dse.verify.view import report_metrics

    rows = {v.trial_number: v for v in st.verifications.rows(cfg.name) if v.backend == backend}
    for n in sorted(numbers):
        v = rows.get(n)
        if v is None:
            continue
        if v.status != "done":
            print(f"trial {n}: {v.status}" + (f" ({v.error})" if v.error else ""))
            continue
        result = st.project.load_result(cfg.name, n)
        real = report_metrics(v.hardware)
        est = report_metrics(result.hardware) if result is not None and result.hardware else {}
        shown = [m for m in cfg.objective_names if m in real] or ["latency_us", "lut", "ff", "dsp"]
        print(f"trial {n}: {hardware_source(v.hardware)}: " + ", ".join(
            f"{m} {real[m]:.4g} (estimate {est[m]:.4g})" if m in est else f"{m} {real[m]:.4g}" for m in shown))
