"""Study: memory of the web chat (``python -m bench --only app``).

Starts ``python app.py`` on the run's index, waits until it answers HTTP on 127.0.0.1 and reads its
RSS and USS (children included) and the peak RSS of the main process.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any

from bench.harness import StudyConfig, Work
from rag.bench import MB, ROOT, Section, fmt, stop_process, subprocess_env

TITLE = "5. Web chat memory"

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
        proc = subprocess.Popen(cmd, cwd=ROOT, env=subprocess_env(), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        try:
            url = f"http://127.0.0.1:{port}/"
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"app.py stopte met exit {proc.returncode}: {log.read()[-500:]}")
                if time.perf_counter() - start > timeout:
                    raise RuntimeError(f"app.py antwoordde niet binnen {timeout:.0f} s")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(url, timeout=2.0).status_code == HTTPStatus.OK:
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
            stop_process(proc)



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
