"""Product checks: ``python -m rag.bench [--quick] [--json] [--output FILE]`` (also ``rag-bench``).

Measures the targets the product promises, on this machine (medians of repeated runs):

1. **Cold start** — wall and CPU time of a fresh ``python -m rag.ask "…" --json`` process with a
   built index, next to a fresh ``python -c "import sentence_transformers"``, and their ratio
   (target < 0.25). ``python -X importtime`` of the same command proves the default path never
   imports torch and names the slowest imports.
2. **Warm latency** — p50/p95 per question over ``eval/questions.jsonl`` in one process, split
   into retrieval (query embedding + search + fusion) and answer (``Answer.timings_ms``); target p50 < 50 ms.
3. **Indexing** — a full build with an empty embedding cache (passages/s), a rebuild with nothing
   changed (in process and as ``python -m rag.index``; target < 2 s), a rebuild after adding one
   document and after removing it again (embedded vs cached texts from :class:`~rag.index.BuildReport`).
7. **HTTP API under load** — 20 simultaneous clients x 5 questions against a real ``python app.py``
   (``/api/ask``, ``/v1/chat/completions`` plain and streamed): errors (target 0) and latency percentiles.
   (Numbered 7 as in the report, after the studies 4–6 of ``bench/``.)

The studies (scale and index kinds, web chat memory, embedding threads) are scripts in ``bench/``
beside the package; ``python -m bench`` (``make bench``) runs these checks and the studies and writes
``docs/benchmarks.md``. This module also holds the pieces the studies share: :func:`run_process`
(wall, CPU and peak RSS of a subprocess), :func:`subprocess_env`, :func:`machine_info`, and the
report (:class:`Section`, :func:`render_console`, :func:`render_markdown`, :func:`write_markdown`).

Everything runs on copies in a temporary folder: the repository's ``index/`` is not touched.
Progress goes to stderr; the table (or ``--json``) to stdout; ``--output FILE`` writes the
Markdown report and keeps any hand-written notes below :data:`NOTES_MARKER` in that file.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
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
from http import HTTPStatus
from pathlib import Path
from typing import IO, Any

from rag.settings import process_environment

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
#: a line of ``python -X importtime``: "import time: self | cumulative | module"
_IMPORTTIME_FIELDS = 3
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


def subprocess_env(**extra: str | None) -> dict[str, str]:
    """Environment for subprocesses: offline, this checkout importable; ``None`` removes a variable."""
    env = process_environment()
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


def stop_process(proc: subprocess.Popen[Any], timeout: float = 15.0) -> None:
    """Terminate ``proc`` (a server the caller started); kill it if it has not exited after ``timeout`` s."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_process(cmd: Sequence[str], env: dict[str, str] | None = None, timeout: float = 300.0) -> Run:
    """Run ``cmd`` (cwd = the repository) and measure it with ``wait4``: wall, CPU and peak RSS.

    Raises TimeoutError (after killing the process) when it runs longer than ``timeout`` seconds.
    """
    with tempfile.TemporaryFile("w+", encoding="utf-8") as out, \
            tempfile.TemporaryFile("w+", encoding="utf-8") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), cwd=ROOT, env=env if env is not None else subprocess_env(),
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



def usable_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def machine_info() -> dict[str, Any]:
    """CPU model, cores, RAM, Python, OS, load average and the date of this run."""
    environment = process_environment()
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    if cpu == "unknown":
        cpu = platform.processor() or platform.machine()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": usable_cores(),
        "ram_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024 ** 3, 1),
        "python": platform.python_version(),
        "os": platform.platform(),
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "omp_env": {k: v for k, v in environment.items()
                    if k.startswith(("OMP_", "GOMP_", "OPENBLAS_")) or k == "RAG_EMBED_THREADS"},
        "pythondontwritebytecode": bool(environment.get("PYTHONDONTWRITEBYTECODE")),
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
        if len(parts) != _IMPORTTIME_FIELDS or not parts[0].strip().isdigit():
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
    variants: list[tuple[str, dict[str, str]]] = [("as configured", subprocess_env())]
    pyc_dir = Path(tempfile.mkdtemp(prefix="rag-bench-pyc-"))
    if pyc_variant:  # the same with a bytecode cache, in case PYTHONDONTWRITEBYTECODE is set
        variants.append(("with .pyc cache",
                         subprocess_env(PYTHONDONTWRITEBYTECODE=None, PYTHONPYCACHEPREFIX=str(pyc_dir))))
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



# --- 4. HTTP API under load (section 7 of the report) --------------------------------------------

#: (question, text the answer must contain) of the API load run; one per topic, one abstention
API_QUESTIONS: tuple[tuple[str, str], ...] = (
    ("Hoeveel inwoners telt een gemiddelde gemeente in Vlaanderen?", "22.000"),
    ("Wat zeggen Nederland en Vlaanderen over de Einstein Telescoop?", "Einstein Telescoop"),
    ("Wat is het recept voor stoofvlees?", "Dat staat niet in de documenten"),
    ("Wanneer werd de intentieverklaring over estuaire vaart ondertekend?", "december 2022"),
    ("Wat is de Taalunie?", "Taalunie"),
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
        proc = subprocess.Popen(cmd, cwd=ROOT, env=subprocess_env(), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        try:
            url = f"http://127.0.0.1:{port}"
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"app.py stopte met exit {proc.returncode}: {log.read()[-500:]}")
                if time.perf_counter() - start > timeout:
                    raise RuntimeError(f"app.py antwoordde niet binnen {timeout:.0f} s")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/api/health", timeout=2.0).status_code == HTTPStatus.OK:
                        break
                time.sleep(0.2)
            yield url, proc.pid
        finally:
            stop_process(proc)


def bench_api_load(  # noqa: C901 - the clients, their routes and the slot watcher are closures over one server
        corpus_dir: Path, index_dir: Path, *, clients: int = 20, per_client: int = 5,
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
                    except Exception as exc:  # every failure is counted as an error
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


# --- the whole run -------------------------------------------------------------------------------

@dataclass(frozen=True)
class BenchConfig:
    """What to check and how often (the defaults are the full run; :meth:`quick` the short one)."""

    corpus_dir: Path = Path("corpus")
    questions: Path = Path("eval/questions.jsonl")
    cold_repeats: int = 5
    import_repeats: int = 3
    reference_import: str = REFERENCE_IMPORT
    cli_repeats: int = 3
    max_questions: int | None = None
    #: the warm stage stops after this long (only reached when every question takes over a second)
    warm_max_seconds: float = 120.0
    #: the HTTP API under load: simultaneous clients, questions each
    api_clients: int = 20
    api_questions: int = 5
    stages: tuple[str, ...] = ("indexing", "cold", "warm", "api")

    def quick(self) -> BenchConfig:
        """Fewer repeats."""
        return replace(self, cold_repeats=3, import_repeats=2, cli_repeats=2)


def run_stage(results: dict[str, Any], name: str, log: Callable[[str], None], fn: Callable[[], Any]) -> None:
    """``results[name] = fn()``; an exception becomes ``{"error": …}`` (one failing stage must not hide
    the others' figures). The stage's seconds go to ``results["stage_seconds"][name]``."""
    t = time.perf_counter()
    try:
        results[name] = fn()
    except Exception as exc:  # any failure of a stage is reported, never raised
        results[name] = {"error": f"{type(exc).__name__}: {exc}"}
        log(f"{name}: FOUT {type(exc).__name__}: {exc}")
    results.setdefault("stage_seconds", {})[name] = round(time.perf_counter() - t, 1)


def build_work_index(corpus_src: Path, work_dir: Path) -> tuple[Path, Path]:
    """Copy ``corpus_src`` to ``work_dir/corpus`` and build ``work_dir/index`` for it, its embedding
    cache seeded from ``index/cache`` (a no-op when that index is already current). Returns the two paths."""
    from rag.embedding import load_embedder
    from rag.index import IndexBuilder
    from rag.settings import Settings

    corpus, index = work_dir / "corpus", work_dir / "index"
    if not (index / "current").exists():
        shutil.rmtree(corpus, ignore_errors=True)
        shutil.copytree(corpus_src, corpus)
        if (Path("index") / "cache").is_dir():
            shutil.copytree(Path("index") / "cache", index / "cache", dirs_exist_ok=True)
        s = Settings(corpus_dir=corpus, index_dir=index)
        IndexBuilder(s, load_embedder(s)).build(progress=False)
    return corpus, index


def timed_log(log: Callable[[str], None] | None) -> Callable[[str], None]:
    """A logger that prefixes each message with the seconds since it was made (silent without ``log``)."""
    t0 = time.perf_counter()

    def say(msg: str) -> None:
        if log:
            log(f"[{time.perf_counter() - t0:6.1f} s] {msg}")
    return say


def run_benchmark(config: BenchConfig, log: Callable[[str], None] | None = None,
                  work_dir: Path | None = None) -> dict[str, Any]:
    """Run the checks of ``config`` and return every figure as a JSON-able dict.

    Works in ``work_dir`` (a temporary folder when None); afterwards ``work_dir/corpus`` and
    ``work_dir/index`` hold a copy of the corpus and a current index of it."""
    from rag.evaluate import load_questions
    from rag.pipeline import Pipeline
    from rag.settings import Settings

    t0 = time.perf_counter()
    say = timed_log(log)
    results: dict[str, Any] = {"machine": machine_info(), "config": {
        "cold_repeats": config.cold_repeats, "import_repeats": config.import_repeats}}
    questions = [q.question for q in load_questions(config.questions)][: config.max_questions]
    with contextlib.ExitStack() as stack:
        work = work_dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rag-bench-")))
        if "indexing" in config.stages:
            say("indexeren: volledige bouw met lege embeddingcache (duurt het langst)")
            run_stage(results, "indexing", say, lambda: bench_indexing(config.corpus_dir, work,
                                                                       cli_repeats=config.cli_repeats))
        corpus, index = build_work_index(config.corpus_dir, work)  # indexing skipped or failed
        if "cold" in config.stages:
            say("koude start: verse processen rag.ask en import sentence_transformers")
            run_stage(results, "cold", say, lambda: bench_cold_start(
                corpus, index, repeats=config.cold_repeats, import_repeats=config.import_repeats,
                reference=config.reference_import))
        if "warm" in config.stages:
            say(f"warme latency: {len(questions)} vragen in één proces")
            run_stage(results, "warm", say, lambda: bench_warm(
                Pipeline(Settings(corpus_dir=corpus, index_dir=index, auto_build=False)), questions,
                max_seconds=config.warm_max_seconds))
        if "api" in config.stages:
            say(f"HTTP-API: {config.api_clients} clients x {config.api_questions} vragen tegelijk")
            run_stage(results, "api", say, lambda: bench_api_load(corpus, index, clients=config.api_clients,
                                                                  per_client=config.api_questions))
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


def fmt(x: Any, digits: int = 1, unit: str = "") -> str:
    """A table cell: "–" for None, yes/no, integers with thousands separators, floats to ``digits``."""
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}{unit}"
    if isinstance(x, float):
        return f"{x:,.{digits}f}{unit}"
    return f"{x}{unit}"


def error_section(title: str, part: dict[str, Any]) -> Section:
    """The table shown instead of a stage's figures when it failed (``part["error"]``)."""
    return Section(title, ("error",), [(str(part["error"]),)])


def sections(results: dict[str, Any]) -> list[Section]:
    """The product checks as tables (shared by the terminal and the Markdown output)."""
    out: list[Section] = []
    m = results["machine"]
    out.append(Section("Machine", ("item", "value"), [
        ("CPU", f"{m['cpu']} ({m['cores']} cores, {m['usable_cores']} usable)"),
        ("RAM", f"{m['ram_gb']} GB"), ("Python", m["python"]), ("OS", m["os"]), ("date", m["date"]),
        ("load average (1/5/15 min) at start", " / ".join(f"{x:.2f}" for x in m["load_average"])),
        ("load average at end", " / ".join(f"{x:.2f}" for x in results.get("load_average_after", []))),
        ("OMP_*/GOMP_*/OPENBLAS_*/RAG_EMBED_THREADS", ", ".join(f"{k}={v}" for k, v in m["omp_env"].items()) or "none"),
        ("PYTHONDONTWRITEBYTECODE", "set" if m["pythondontwritebytecode"] else "not set"),
        ("benchmark wall time", fmt(results.get("seconds"), 0, " s")),
    ]))
    out.append(Section("Targets", ("check", "target", "measured", "verdict"), [
        (v["check"], v["target"], fmt(v["value"], 3), "–" if v["ok"] is None else ("ok" if v["ok"] else "FAIL"))
        for v in results.get("verdicts", [])]))

    cold = results.get("cold")
    if cold and "error" in cold:
        out.append(error_section("1. Cold start", cold))
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
            f"Ratio (wall, median): **{fmt(cold['ratio'], 3)}** (target < {COLD_RATIO_TARGET}); "
            f"CPU-time ratio: {fmt(cold['cpu_ratio'], 3)}.",
            f"Inside the cold answer process (last run): total {fmt(ip.get('total'))} ms, of which index + model "
            f"load {fmt((ip.get('total') or 0) - (ip.get('retrieve') or 0) - (ip.get('answer') or 0))} ms, "
            f"retrieve {fmt(ip.get('retrieve'))} ms, answer {fmt(ip.get('answer'))} ms; the rest of the wall time is "
            "interpreter start, imports and exit.",
            f"`python -X importtime`: {imp['modules']} modules, {fmt(imp['import_ms'])} ms of imports; torch imported: "
            f"**{'yes' if imp['torch_imported'] else 'no'}**; heavy ML imports: "
            f"{', '.join(imp['heavy_imports']) or 'none'}. "
            "Slowest top-level imports: " + ", ".join(f"{n} {ms:.0f} ms" for n, ms in imp["slowest_imports"]) + ".",
        ]
        out.append(Section("1. Cold start (fresh process, median)",
                           ("command", "wall s", "CPU s", "peak RSS MB", "runs", "ratio to import"), rows, notes))

    warm = results.get("warm")
    if warm and "error" in warm:
        out.append(error_section("2. Warm latency", warm))
    elif warm:
        names = {"total": "total (timings_ms.total)", "retrieve": "retrieve (embed + search + fusion)",
                 "answer": "answer (extractive)", "embed": "query embedding (part of retrieve)"}
        rows = [(names[k], fmt(v["p50"], 2), fmt(v["p95"], 2), fmt(v["mean"], 2), fmt(v["max"], 2))
                for k, v in warm["ms"].items()]
        out.append(Section(f"2. Warm latency per question ({warm['questions']} eval questions, one process, "
                           f"{warm['passages']} passages)", ("stage", "p50 ms", "p95 ms", "mean ms", "max ms"), rows,
                           [f"{warm['abstained']} of {warm['questions']} questions abstained. Measured in the "
                            "benchmark's own process with the environment of the run, after 3 warm-up questions; "
                            "the query embedding is timed by wrapping `embed_queries` (no extra calls)."]))

    idx = results.get("indexing")
    if idx and "error" in idx:
        out.append(error_section("3. Indexing", idx))
    elif idx:
        def irow(label: str, r: dict[str, Any]) -> tuple[str, ...]:
            return (label, fmt(r["seconds"], 2), fmt(r["documents"]), fmt(r["passages"]), fmt(r["sentences"]),
                    fmt(r["embedded"]), fmt(r["cached"]))
        full = idx["full"]
        rows = [irow("full build, empty embedding cache", full),
                irow("rebuild, nothing changed", idx["noop"]),
                ("same, as python -m rag.index", fmt(idx["noop_cli"]["median_s"], 2), "", "", "", "", ""),
                irow("rebuild, one document added", idx["added"]),
                irow("rebuild, that document removed", idx["removed"])]
        out.append(Section("3. Indexing", ("build", "seconds", "docs", "passages", "sentences", "embedded",
                                           "cached"), rows, [
            f"Full build: **{fmt(full['passages_per_s'], 2)} passages/s** ({fmt(full['texts_per_s'], 2)} embedded "
            f"texts/s; every passage and every sentence is embedded). Loading the embedder: "
            f"{fmt(idx['embedder_load_s'], 3)} s (not in the build time). \"embedded\"/\"cached\" count passage and "
            "sentence texts (BuildReport.embedded / cache_hits); \"same, as python -m rag.index\" is the median wall "
            f"time of {len(idx['noop_cli']['wall_s'])} fresh `python -m rag.index --quiet` processes."]))

    api = results.get("api")
    if api and "error" in api:
        out.append(error_section("7. HTTP API under load", api))
    elif api:
        rows = [("all", fmt(api["ms"].get("n")), fmt(api["ms"].get("p50")), fmt(api["ms"].get("p95")),
                 fmt(api["ms"].get("max")), fmt(api["ms"].get("mean")))]
        labels = {"rest": "POST /api/ask", "openai": "POST /v1/chat/completions",
                  "openai-stream": "same, stream: true (to [DONE])"}
        for kind, st in api["by_route"].items():
            rows.append((labels.get(kind, kind), fmt(st.get("n")), fmt(st.get("p50")), fmt(st.get("p95")),
                         fmt(st.get("max")), fmt(st.get("mean"))))
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


def render_console(results: dict[str, Any], out: IO[str] | None = None, width: int | None = None,
                   extra: Sequence[Section] = ()) -> None:
    """Print :func:`sections` of ``results`` and then ``extra`` as rich tables to ``out`` (default stdout)."""
    from rich.console import Console
    from rich.markdown import Markdown
    from rich.table import Table

    stream = out or sys.stdout
    if width is None and not stream.isatty():
        width = 160  # a file or pipe: wide enough for the scale table
    console = Console(file=stream, width=width, highlight=False, emoji=False)
    console.print(f"[bold]rag.bench[/bold] — {results['machine']['date']}")
    for sec in [*sections(results), *extra]:
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


def render_markdown(results: dict[str, Any], extra: Sequence[Section] = (),
                    command: str = "python -m rag.bench") -> str:
    """The report as Markdown (what ``--output`` writes above the hand-written notes): :func:`sections`
    of ``results``, then ``extra`` (the studies of ``bench/``); ``command`` names what generated it."""
    m = results["machine"]
    lines = ["# Benchmarks", "",
             f"Generated by `{command}{' --quick' if results.get('quick') else ''} --output "
             f"docs/benchmarks.md` on {m['date']} ({m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM; "
             f"load average {m['load_average'][0]:.2f} at the start). Run it again with `make bench` "
             "(`python -m bench`: these checks and the studies) or `python -m rag.bench` (the product checks "
             "alone); `--quick` for a shorter run, `--json` for machine-readable output.", ""]
    for sec in [*sections(results), *extra]:
        lines += [f"## {sec.title}", "", "| " + " | ".join(sec.columns) + " |",
                  "|" + "|".join("---" if i == 0 or not _numeric_column(sec, i) else "---:"
                                 for i in range(len(sec.columns))) + "|"]
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in sec.rows]
        lines.append("")
        for note in sec.notes:
            lines += [note, ""]
    return "\n".join(lines).rstrip() + "\n"


def write_markdown(results: dict[str, Any], path: Path, extra: Sequence[Section] = (),
                   command: str = "python -m rag.bench") -> None:
    """Write :func:`render_markdown` to ``path``, keeping everything from :data:`NOTES_MARKER` on."""
    text = render_markdown(results, extra, command)
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


def print_results(results: dict[str, Any], *, as_json: bool, output: Path | None, extra: Sequence[Section] = (),
                  command: str = "python -m rag.bench") -> None:
    """Print ``results`` (JSON or tables) and, with ``output``, write the Markdown report there."""
    if as_json:
        print(json.dumps(results, ensure_ascii=False, indent=1))
    else:
        render_console(results, extra=extra)
    if output:
        write_markdown(results, output, extra, command)
        print(f"rapport geschreven: {output}", file=sys.stderr)


def exit_status(results: dict[str, Any]) -> int:
    """1 when a stage failed (an ``error`` anywhere at the top level) or the default path imported torch, else 0."""
    failed = any(isinstance(v, dict) and "error" in v for v in results.values())
    torch = results.get("cold", {}).get("imports", {}).get("torch_imported")
    return 1 if failed or torch else 0


# --- command line --------------------------------------------------------------------------------

def add_common_arguments(p: argparse.ArgumentParser) -> None:
    """Flags shared by ``python -m rag.bench`` and ``python -m bench``."""
    p.add_argument("--quick", action="store_true", help="minder herhalingen (en bij de studies kleinere corpora)")
    p.add_argument("--json", action="store_true", help="alle cijfers als één JSON-object")
    p.add_argument("--output", type=Path, metavar="FILE", help="schrijf het Markdown-rapport naar FILE")
    p.add_argument("--corpus", type=Path, help="corpusmap (standaard corpus of RAG_CORPUS_DIR)")
    p.add_argument("--questions", type=Path, default=Path("eval/questions.jsonl"), help="vragenbestand (JSONL)")


def config_from_args(args: argparse.Namespace) -> BenchConfig | str:
    """The :class:`BenchConfig` of parsed :func:`add_common_arguments` flags, or a Dutch error message."""
    from rag.settings import Settings

    try:
        settings = Settings.from_env(corpus_dir=args.corpus)
    except ValueError as exc:
        return str(exc)
    if not settings.corpus_dir.is_dir():
        return f"corpusmap {settings.corpus_dir} bestaat niet"
    if not args.questions.is_file():
        return f"vragenbestand {args.questions} bestaat niet"
    config = BenchConfig(corpus_dir=settings.corpus_dir.resolve(), questions=args.questions.resolve())
    return config.quick() if args.quick else config


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m rag.bench`` / ``rag-bench``; returns the exit status
    (0 done, 1 the default path imported torch or a stage failed, 2 bad usage)."""
    p = argparse.ArgumentParser(prog="python -m rag.bench",
                                description="Meet koude start, warme latency en opnieuw indexeren.")
    add_common_arguments(p)
    p.add_argument("--only", nargs="+", choices=list(BenchConfig.stages), help="alleen deze onderdelen")
    args = p.parse_args(argv)
    config = config_from_args(args)
    if isinstance(config, str):
        print(f"fout: {config}", file=sys.stderr)
        return 2
    if args.only:
        config = replace(config, stages=tuple(args.only))
    results = run_benchmark(config, log=lambda msg: print(msg, file=sys.stderr, flush=True))
    results["quick"] = bool(args.quick)
    print_results(results, as_json=args.json, output=args.output)
    return exit_status(results)


if __name__ == "__main__":
    raise SystemExit(main())
