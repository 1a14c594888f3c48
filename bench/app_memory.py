"""Study: memory of the web chat (``python -m bench --only app``).

Starts ``python app.py`` on the run's index, waits until it answers HTTP on 127.0.0.1 and reads its
RSS and USS (children included) and the peak RSS of the main process.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.harness import StudyConfig, Work
from rag.bench import MB, Section, app_server, fmt

TITLE = "5. Web chat memory"

def bench_app_memory(corpus_dir: Path, index_dir: Path, timeout: float = 180.0) -> dict[str, Any]:
    """Start ``python app.py`` on the built index (:func:`rag.bench.app_server`: a free port of 127.0.0.1,
    ready when ``/api/health`` answers 200), read its RSS and USS (children included) and peak RSS,
    then stop it. Raises RuntimeError when the server exits or does not answer within ``timeout`` seconds.
    """
    import psutil

    start = time.perf_counter()
    with app_server(corpus_dir, index_dir, timeout=timeout) as (_url, pid):
        ready_s = time.perf_counter() - start
        time.sleep(1.0)  # let start-up threads settle
        main = psutil.Process(pid)
        children = main.children(recursive=True)
        rss = main.memory_info().rss + sum(c.memory_info().rss for c in children)
        uss = main.memory_full_info().uss + sum(c.memory_full_info().uss for c in children)
        hwm = 0
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    hwm = int(line.split()[1]) * 1024
        return {"ready_s": round(ready_s, 2), "rss_mb": round(rss / MB, 1), "uss_mb": round(uss / MB, 1),
                "peak_rss_mb": round(hwm / MB, 1), "children": len(children), "threads": main.num_threads()}


def run(config: StudyConfig, work: Work, log: Callable[[str], None]) -> dict[str, Any]:
    """The study on the index in ``work``."""
    return bench_app_memory(work.corpus, work.index)


def sections(app: dict[str, Any]) -> list[Section]:
    """The memory table."""
    return [Section("5. Web chat memory (python app.py after loading)", ("measure", "value"), [
        ("ready (HTTP 200) after", fmt(app["ready_s"], 2, " s")),
        ("RSS, children included", fmt(app["rss_mb"], 1, " MB")),
        ("USS (private memory)", fmt(app["uss_mb"], 1, " MB")),
        ("peak RSS of the main process (VmHWM)", fmt(app["peak_rss_mb"], 1, " MB")),
        ("child processes / threads", f"{app['children']} / {app['threads']}")])]
