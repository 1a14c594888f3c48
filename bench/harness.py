"""Shared helper of the studies: run a worker in a fresh process, run every study, report.

``python -m bench [--quick] [--json] [--output docs/benchmarks.md] [--only STAGE …]`` runs the
product checks of :mod:`rag.bench` and the studies of this folder in one temporary folder (the
repository's ``index/`` is not touched) and prints or writes one report: the checks' tables first,
then each study's. A study is a module with ``TITLE``, ``run(config, work, log) -> dict`` and
``sections(result) -> list[Section]``; a failing study gives an error table, not a crash.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from rag.bench import (
    BenchConfig,
    Section,
    add_common_arguments,
    config_from_args,
    error_section,
    exit_status,
    print_results,
    run_benchmark,
    run_process,
    run_stage,
    subprocess_env,
    timed_log,
)

#: the quick run leaves out the synthetic corpora of this many vectors or more
QUICK_MAX_VECTORS = 100_000


@dataclass(frozen=True)
class StudyConfig:
    """Sizes of the studies (the defaults are the full run; :meth:`quick` the short one)."""

    checks: BenchConfig = field(default_factory=BenchConfig)
    scale_sizes: tuple[int, ...] = (10_000, 50_000, 100_000)
    scale_kinds: tuple[str, ...] = ("flat", "flat@1", "hnsw", "ivf")
    scale_queries: int = 200
    scale_flat_extra: tuple[int, ...] = (200_000,)
    thread_queries: int = 20
    thread_batch: int = 16
    thread_loads: tuple[str, ...] = ("as is", "saturated")
    pipeline_env_questions: int = 8
    pipeline_env_processes: int = 3
    studies: tuple[str, ...] = ("scale", "app", "threads")

    def quick(self) -> StudyConfig:
        """Fewer repeats, no corpus of 100k vectors or more."""
        return replace(self, checks=self.checks.quick(),
                       scale_sizes=tuple(n for n in self.scale_sizes if n < QUICK_MAX_VECTORS),
                       scale_queries=100, thread_queries=10, pipeline_env_questions=5, scale_flat_extra=())


@dataclass(frozen=True)
class Work:
    """The temporary folder of a run: a corpus copy and a current index of it."""

    corpus: Path
    index: Path


class Study(Protocol):
    """What a study module provides (see the module docstring)."""

    TITLE: str

    def run(self, config: StudyConfig, work: Work, log: Callable[[str], None]) -> dict[str, Any]: ...

    def sections(self, result: dict[str, Any]) -> list[Section]: ...


def run_worker(module: str, args: Sequence[str], env: dict[str, str | None] | None = None,
               timeout: float = 900.0) -> dict[str, Any]:
    """Run ``python -m MODULE ARGS…`` in a fresh process (environment :func:`rag.bench.subprocess_env`
    plus ``env``; None removes a variable) and return the JSON object on its last stdout line, with
    ``cpu_s`` and ``process_wall_s`` of the process added; ``{"error": [last stderr line]}`` when it failed."""
    run = run_process([sys.executable, "-m", module, *args], subprocess_env(**(env or {})), timeout=timeout)
    if run.returncode != 0:
        return {"error": run.stderr.strip().splitlines()[-1:]}
    row: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    row["cpu_s"] = round(run.cpu, 2)
    row["process_wall_s"] = round(run.wall, 2)
    return row


def worker_main(workers: dict[str, Callable[..., dict[str, Any]]], argv: Sequence[str] | None = None) -> int:
    """Entry point of a study's worker process: ``python -m bench.<study> WORKER ARG…`` prints the JSON
    of ``workers[WORKER](*ARGS)`` on one line (the arguments as strings; the worker converts them)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in workers:
        print(f"fout: kies een worker uit {', '.join(workers)}", file=sys.stderr)
        return 2
    print(json.dumps(workers[args[0]](*args[1:])))
    return 0


def studies() -> dict[str, Study]:
    """The studies by stage name, in report order."""
    from bench import app_memory, scale, threads

    return {"scale": scale, "app": app_memory, "threads": threads}  # type: ignore[dict-item]


def study_sections(name: str, result: dict[str, Any] | None) -> list[Section]:
    """The tables of study ``name``: its own, or an error table when it failed; none when it did not run."""
    study = studies()[name]
    if not result:
        return []
    if "error" in result:
        return [error_section(study.TITLE, result)]
    return study.sections(result)


def run_all(config: StudyConfig, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The product checks (:func:`rag.bench.run_benchmark`) and then every study of ``config.studies``,
    in one temporary folder; one JSON-able dict with a key per check and per study."""
    say = timed_log(log)
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        results = run_benchmark(config.checks, log, work_dir=Path(tmp))
        work = Work(Path(tmp) / "corpus", Path(tmp) / "index")
        for name, study in studies().items():
            if name in config.studies:
                say(f"studie {name}: {study.TITLE}")
                run_stage(results, name, say, functools.partial(study.run, config, work, say))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m bench``; returns the exit status (0 done, 1 a stage failed or the
    default path imported torch, 2 bad usage)."""
    p = argparse.ArgumentParser(prog="python -m bench",
                                description="Productcontroles van rag.bench en alle studies in één rapport.")
    add_common_arguments(p)
    stages = [*BenchConfig.stages, *studies()]
    p.add_argument("--only", nargs="+", choices=stages, help="alleen deze onderdelen")
    args = p.parse_args(argv)
    checks = config_from_args(args)
    if isinstance(checks, str):
        print(f"fout: {checks}", file=sys.stderr)
        return 2
    config = StudyConfig()
    config = replace(config.quick() if args.quick else config, checks=checks)
    if args.only:
        config = replace(config, checks=replace(checks, stages=tuple(s for s in args.only if s in BenchConfig.stages)),
                         studies=tuple(s for s in args.only if s in studies()))
    results = run_all(config, log=lambda msg: print(msg, file=sys.stderr, flush=True))
    results["quick"] = bool(args.quick)
    extra = [sec for name in studies() for sec in study_sections(name, results.get(name))]
    print_results(results, as_json=args.json, output=args.output, extra=extra, command="python -m bench")
    return exit_status(results)
