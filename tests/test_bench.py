"""rag.bench: the default answer path never imports torch (behaviour), and a smoke run of every
benchmark stage on tiny sizes whose printed table and Markdown report have their rows.

No timing is asserted: the figures depend on the machine and its load.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from rag.bench import (
    NOTES_MARKER,
    BenchConfig,
    check_imports,
    render_console,
    render_markdown,
    run_benchmark,
    write_markdown,
)

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
QUESTIONS = ROOT / "eval" / "questions.jsonl"
#: two short documents: an empty-cache build of them embeds a few dozen texts
TINY_DOCS = ("2022-comite-van-ministers-taalunie-den-haag.txt", "2020-beleidsplan-nederlandse-taalunie-goedgekeurd.txt")


def test_default_path_never_imports_torch(settings):
    """`python -X importtime -m rag.ask "…" --json` on a built index answers without torch,
    sentence_transformers or transformers."""
    info = check_imports(settings.corpus_dir, settings.index_dir)
    assert info["torch_imported"] is False
    assert info["heavy_imports"] == []
    assert info["modules"] > 50  # the importtime output was really parsed
    assert info["slowest_imports"]


@pytest.mark.slow
def test_bench_smoke_tiny(tmp_path):
    src = tmp_path / "corpus"
    src.mkdir()
    for name in TINY_DOCS:
        shutil.copy(CORPUS / name, src / name)
    config = BenchConfig(corpus_dir=src, questions=QUESTIONS, cold_repeats=1, import_repeats=1,
                         reference_import="import json", cli_repeats=1, max_questions=3, scale_sizes=(300,),
                         scale_queries=5, scale_flat_extra=(400,), thread_queries=2, thread_batch=2,
                         thread_loads=("as is",), pipeline_env_questions=2, pipeline_env_processes=1,
                         api_clients=2, api_questions=2)
    log: list[str] = []
    results = run_benchmark(config, log=log.append)

    for stage in ("indexing", "cold", "warm", "app", "api", "scale", "threads"):
        assert stage in results and "error" not in results[stage], (stage, results.get(stage))
    idx = results["indexing"]
    assert idx["full"]["cached"] == 0 and idx["full"]["embedded"] > 0  # really an empty cache
    assert idx["noop"]["reused"] and idx["noop"]["embedded"] == 0
    assert idx["added"]["embedded"] > 0 and idx["added"]["cached"] > 0  # only the new document is embedded
    assert idx["removed"]["embedded"] == 0
    assert results["cold"]["imports"]["torch_imported"] is False
    assert results["warm"]["questions"] == 3
    assert [(r["n"], r["kind"]) for r in results["scale"]["rows"]] == [
        (300, "flat"), (300, "flat@1"), (300, "hnsw"), (300, "ivf"), (400, "flat"), (400, "flat@1")]
    assert all("error" not in r for r in results["scale"]["rows"])
    assert results["scale"]["rows"][0]["recall10_random"] == 1.0  # flat is the exact reference
    assert len(results["threads"]["rows"]) == 4 and results["threads"]["recommendation"] is not None
    assert len(results["threads"]["pipeline"]) == 4
    assert all("error" not in r and r["total_p50"] > 0 for r in results["threads"]["pipeline"])
    assert results["app"]["rss_mb"] > 0
    api = results["api"]
    assert api["requests"] == 4 and set(api["by_route"]) == {"rest", "openai", "openai-stream"}
    assert api["ms"]["p95"] > 0 and api["peak_slots_in_use"] <= api["concurrency"]
    assert log  # progress was reported

    buf = io.StringIO()
    render_console(results, buf, width=260)
    table = buf.getvalue()
    for row in ("Machine", "CPU", "Targets", "1. Cold start", "python -m rag.ask", "import json",
                "2. Warm latency", "total (timings_ms.total)", "retrieve", "answer (extractive)",
                "3. Indexing", "full build, empty embedding cache", "rebuild, nothing changed",
                "rebuild, one document added", "4. Scale", "flat (1 thread)", "hnsw", "ivf", "ANN_THRESHOLD",
                "5. Web chat memory", "RSS, children included", "6. Embedding threads", "PASSIVE",
                "6b. Whole pipeline", "OMP_NUM_THREADS=1", "7. HTTP API under load", "POST /api/ask",
                "API load: errors"):
        assert row in table, row

    md = render_markdown(results)
    assert md.startswith("# Benchmarks")
    assert "| full build, empty embedding cache |" in md
    out = tmp_path / "benchmarks.md"
    out.write_text("old report\n" + NOTES_MARKER + "\nhand-written note\n", encoding="utf-8")
    write_markdown(results, out)
    text = out.read_text(encoding="utf-8")
    assert "old report" not in text and text.endswith(NOTES_MARKER + "\nhand-written note\n")
