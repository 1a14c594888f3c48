"""Load on the web chat: a real ``python app.py`` subprocess on 127.0.0.1, driven by
gradio_client from threads. Checks content, not timings; memory is a loose leak check.

Results are printed (run with ``-s`` to see them): wall time of 20 simultaneous questions and
the server's RSS before and after two rounds of 20 users x 5 questions.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.helpers import free_port, stop, visible_text

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
ABSTAIN_START = "Dat staat niet in de documenten"
#: one conversation of five questions: (question, text the answer must contain, cited locator or None)
CONVERSATION: list[tuple[str, str, str | None]] = [
    ("Wat is het recept voor stoofvlees?", ABSTAIN_START, None),
    ("Hoeveel inwoners telt een gemiddelde gemeente in Vlaanderen?", "22.000", "2.b Lokale besturen"),
    ("Wat zeggen Nederland en Vlaanderen over de Einstein Telescoop?", "Einstein Telescoop", "1.b Onderwijs"),
    ("Wanneer wordt de kandidatuur voorbereid?", "2023-2024", "1.b Onderwijs"),  # follow-up
    ("Wat spraken de regeringen af over de Nieuwe Sluis Terneuzen?", "Terneuzen", None),  # the treaty or its notes
]
MB = 1024 * 1024

pytestmark = pytest.mark.slow


def last_answer(history: list[dict[str, Any]]) -> str:
    assert history and history[-1]["role"] == "assistant"
    content = history[-1]["content"]
    text = content if isinstance(content, str) else "".join(part.get("text", "") for part in content)
    return visible_text(text)


@pytest.fixture(scope="module")
def served(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, psutil.Process]]:
    """``python app.py`` over the session index (no build), concurrency 4, on a free port."""
    port = free_port()
    log = tmp_path_factory.mktemp("load") / "server.log"
    env = {**os.environ, "RAG_AUTH": "", "PYTHONUNBUFFERED": "1"}
    with open(log, "w", encoding="utf-8") as fh:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "--port", str(port), "--corpus", str(settings.corpus_dir),
             "--index", str(settings.index_dir), "--no-build", "--concurrency", "4"],
            cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, log.read_text(encoding="utf-8")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "server start te traag"
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}/", psutil.Process(proc.pid)
    finally:
        stop(proc)


def run_threads(n: int, work: Callable[[int], Any]) -> tuple[list[Any], list[BaseException], float]:
    """Run ``work(i)`` in ``n`` threads released together; return (results, errors, seconds)."""
    barrier = threading.Barrier(n + 1)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def target(i: int) -> None:
        try:
            barrier.wait(timeout=120)
            results[i] = work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    barrier.wait(timeout=120)
    t0 = time.perf_counter()
    for t in threads:
        t.join(timeout=600)
    return results, errors, time.perf_counter() - t0


def test_server_process_listens_on_localhost_only(served: tuple[str, psutil.Process]) -> None:
    _, proc = served
    listening = [c for c in proc.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
    assert listening and {c.laddr.ip for c in listening} == {"127.0.0.1"}


def test_20_simultaneous_questions(served: tuple[str, psutil.Process]) -> None:
    from gradio_client import Client

    url, _ = served
    clients = [Client(url, verbose=False) for _ in range(20)]

    def ask(i: int) -> str:
        _, history = clients[i].predict("Hoeveel inwoners telt een gemiddelde gemeente in Vlaanderen?", [],
                                        api_name="/chat")
        assert [m["role"] for m in history] == ["user", "assistant"]
        return last_answer(history)

    answers, errors, seconds = run_threads(20, ask)
    print(f"\n20 gelijktijdige vragen: {seconds:.2f} s")
    assert not errors, errors[:3]
    assert len(answers) == 20
    for text in answers:
        assert "22.000" in text and "2.b Lokale besturen" in text


def test_20_users_5_questions_memory_flat(served: tuple[str, psutil.Process]) -> None:
    """Issue 8 item 5: 20 users x 5 questions, twice; all correct, no errors, RSS flat in round 2."""
    from gradio_client import Client

    url, proc = served

    def conversation(i: int) -> int:
        client = Client(url, verbose=False)
        history: list[dict[str, Any]] = []
        for question, expected, locator in CONVERSATION:
            _, history = client.predict(question, history, api_name="/chat")
            text = last_answer(history)
            assert expected in text, (question, text[:300])
            if locator:
                assert locator in text, (question, text[:300])
            if expected == ABSTAIN_START:
                assert "Bronnen" not in text
        assert len(history) == 2 * len(CONVERSATION)
        return len(history)

    conversation(0)  # warm-up: first-use allocations are not a leak
    rss0 = proc.memory_info().rss
    rounds = []
    for _ in range(2):
        results, errors, seconds = run_threads(20, conversation)
        assert not errors, errors[:3]
        assert results == [10] * 20
        rounds.append((seconds, proc.memory_info().rss))
    (t1, rss1), (t2, rss2) = rounds
    print(f"\nRSS server: start {rss0 / MB:.0f} MB, na ronde 1 {rss1 / MB:.0f} MB ({t1:.1f} s), "
          f"na ronde 2 {rss2 / MB:.0f} MB ({t2:.1f} s); groei ronde 2: {(rss2 - rss1) / MB:+.1f} MB")
    assert rss2 - rss1 < max(60 * MB, 0.15 * rss1), "geheugen groeit door in de tweede ronde"
