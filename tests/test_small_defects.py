"""Issue 14, item 11 (smaller defects): guessed HTML dates, colliding document ids, login rate
limit, no password on the command line, session routes behind the login, Dutch queue-full text.

Real components: trafilatura/htmldate over real HTML files, ``load_corpus`` and a real
``python -m rag.index`` build, real Gradio servers on 127.0.0.1 (in-process, or ``python app.py``
as a subprocess) spoken to with httpx.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from app import QUEUE_FULL_TEXT, build_app, dutch_date, launch_app
from rag.corpus import load_corpus, load_document
from rag.pipeline import Pipeline
from rag.settings import Settings
from tests.helpers import ROOT, cli_env, free_port, run_module, stop

USER, PASSWORD = "journalist", "ge:heim-7"


# --- 1. dates: only a date the page states -----------------------------------------------------

BODY = ("<p>Nederland en Vlaanderen spreken af om samen te werken aan de verdieping van de "
        "Westerschelde en de nieuwe sluis in Terneuzen. Beide regeringen bevestigen dat.</p>")
HTML_PAGES = {
    # the case: the text says 3 March 2024, the footer only a year; htmldate's
    # extensive search used to turn the footer into 2024-01-01
    "stated-in-text": (f"<html><head><title>Persbericht Schelde</title></head><body><article>"
                       f"<h1>Persbericht Schelde</h1><p>Brussel, 3 maart 2024</p>{BODY}</article>"
                       f"<footer>© 2024 Vlaamse overheid</footer></body></html>", "2024-03-03"),
    # only a year (copyright) and a month: nothing stated, so no date (was 2024-01-01)
    "year-only": (f"<html><head><title>Nieuws Schelde</title></head><body><article><h1>Nieuws</h1>"
                  f"<p>Nieuws uit januari 2024.</p>{BODY}</article><footer>Copyright 2024</footer>"
                  f"</body></html>", None),
    # a date in the markup is stated: kept
    "meta-tag": (f"<html><head><title>Schelde</title><meta property=\"article:published_time\" "
                 f"content=\"2024-03-03\"></head><body><article>{BODY}</article><footer>© 2024</footer>"
                 f"</body></html>", "2024-03-03"),
    "time-element": (f"<html><head><title>Schelde</title></head><body><article><time datetime=\"2024-03-03\">"
                     f"3 maart 2024</time>{BODY}</article><footer>© 2023</footer></body></html>", "2024-03-03"),
}


@pytest.mark.parametrize("case", list(HTML_PAGES))
def test_html_date_is_only_a_stated_date_never_a_guess(tmp_path: Path, case: str) -> None:
    html, want = HTML_PAGES[case]
    (tmp_path / "pers.html").write_text(html, encoding="utf-8")
    doc = load_document(tmp_path / "pers.html", tmp_path)
    assert doc.date == want, (case, doc.date)
    if want is not None:
        assert dutch_date(doc.date) == "3 maart 2024"  # as the chat shows it
    assert "Westerschelde" in " ".join(p.text for p in doc.paragraphs)


# --- 2. document ids: distinct and stable -------------------------------------------------------

COLLIDING = {
    "dubbel.txt": "Titel: Dubbel als tekst\n\nDe sluis in Terneuzen is de grootste zeesluis van het land.",
    "dubbel.md": "# Dubbel als markdown\n\nDe Westerschelde wordt verdiept voor grotere schepen.",
    "документ.txt": "Titel: Cyrillische naam\n\nDe Taalunie werd opgericht in 1980 door Nederland en België.",
    "文件.txt": "Titel: Chinese naam\n\nHet cultureel verdrag dateert van 1995 en regelt de samenwerking.",
    "gewoon.txt": "Titel: Gewoon\n\nDe top vond plaats in 's-Hertogenbosch op 31 januari 2023.",
}


def _colliding_corpus(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in COLLIDING.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_colliding_file_names_get_distinct_stable_ids(tmp_path: Path) -> None:
    corpus = _colliding_corpus(tmp_path / "corpus")
    load = load_corpus(corpus)
    assert load.skipped == ()  # was: dubbel.txt and one of the non-Latin files skipped
    ids = {d.path: d.id for d in load.documents}
    assert len(ids) == 5 and len(set(ids.values())) == 5, ids
    assert ids["dubbel.txt"] == "dubbel-txt" and ids["dubbel.md"] == "dubbel-md"
    assert ids["gewoon.txt"] == "gewoon"  # a file without a twin keeps its plain id
    assert ids["документ.txt"].startswith("document-txt-") and ids["文件.txt"].startswith("document-txt-")
    # paragraph ids follow the document id
    for d in load.documents:
        assert all(p.doc_id == d.id and p.id.startswith(d.id + "#") for p in d.paragraphs)
    # stable: the same ids in a second load and in a copy of the corpus elsewhere
    assert {d.path: d.id for d in load_corpus(corpus).documents} == ids
    copy = _colliding_corpus(tmp_path / "elders" / "corpus")
    assert {d.path: d.id for d in load_corpus(copy).documents} == ids
    # reported, naming the other file
    renamed = {r.path: r for r in load.renamed}
    assert set(renamed) == {"dubbel.txt", "dubbel.md", "документ.txt", "文件.txt"}
    assert renamed["dubbel.md"].id == "dubbel-md" and "dubbel.txt" in renamed["dubbel.md"].reason


@pytest.mark.slow
def test_index_build_keeps_both_colliding_files_and_reports_it(tmp_path: Path) -> None:
    corpus = _colliding_corpus(tmp_path / "corpus")
    index = tmp_path / "index"
    res = run_module("rag.index", "--quiet", "--corpus", corpus, "--index", index)
    out, err = res.stdout.decode(), res.stderr.decode()
    assert res.returncode == 0, err
    assert "overgeslagen" not in out, out
    assert "dubbel.md: eigen document-id dubbel-md: dubbel hoort ook bij dubbel.txt" in out, out
    manifest = json.loads((index / "current" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["documents"] == 5 and manifest["skipped"] == []
    assert {r["path"] for r in manifest["renamed"]} == {"dubbel.txt", "dubbel.md", "документ.txt", "文件.txt"}
    passages = [json.loads(line) for line in
                (index / "current" / "passages.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {p["doc_id"] for p in passages} >= {"dubbel-txt", "dubbel-md"}
    text = " ".join(p["text"] for p in passages)
    assert "zeesluis" in text and "verdiept" in text and "1980" in text and "1995" in text


@pytest.mark.slow
def test_an_added_twin_does_not_rename_a_document_already_indexed(tmp_path: Path) -> None:
    """Found by a robustness trial: with corpus/test/kraan.txt indexed as "test-kraan", adding
    corpus/test-kraan.txt renamed both, breaking links and --doc filters. The indexed file keeps
    its id; the new one gets its own, and the build reports that."""
    corpus = tmp_path / "corpus"
    (corpus / "test").mkdir(parents=True)
    (corpus / "test" / "kraan.txt").write_text("Titel: Kraan\n\nDe kraan in de haven van Terneuzen is "
                                              "vernieuwd in 2021.\n", encoding="utf-8")
    index = tmp_path / "index"
    assert run_module("rag.index", "--quiet", "--corpus", corpus, "--index", index).returncode == 0
    (corpus / "test-kraan.txt").write_text("Titel: Andere kraan\n\nDe tweede kraan staat in Vlissingen "
                                           "sinds 2019.\n", encoding="utf-8")
    res = run_module("rag.index", "--corpus", corpus, "--index", index)
    assert res.returncode == 0, res.stderr.decode()
    manifest = json.loads((index / "current" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["document_ids"] == {"test/kraan.txt": "test-kraan", "test-kraan.txt": "test-kraan-txt"}
    assert [r["path"] for r in manifest["renamed"]] == ["test-kraan.txt"]
    assert "test-kraan.txt: eigen document-id test-kraan-txt" in res.stdout.decode()
    # a fresh build without that history still gives both their own ids, as before
    fresh = {d.path: d.id for d in load_corpus(corpus).documents}
    assert len(set(fresh.values())) == 2 and all(i.startswith("test-kraan-txt-") for i in fresh.values())


# --- web: servers with login --------------------------------------------------------------------

def _login(url: str, password: str, client: httpx.Client | None = None) -> httpx.Response:
    poster = client.post if client is not None else httpx.post
    return poster(url + "login", data={"username": USER, "password": password}, timeout=30)


@pytest.fixture
def auth_server(pipeline: Pipeline) -> Iterator[str]:
    """The chat with login on, in-process on a free port; lockout 2 s so the test can wait it out."""
    demo = build_app(pipeline=pipeline)
    url = launch_app(demo, port=free_port(), prevent_thread_lock=True, quiet=True, auth=(USER, PASSWORD),
                     settings=pipeline.settings, login_limits={"lockout": 2.0})
    yield url
    demo.close()


@pytest.mark.slow
def test_failed_logins_are_rate_limited(auth_server: str) -> None:
    url = auth_server
    for _ in range(5):
        assert _login(url, "fout").status_code == 400
    # the 6th attempt within the minute is refused, even with the right password
    t0 = time.monotonic()
    r = _login(url, PASSWORD)
    assert r.status_code == 429, (r.status_code, r.text)
    assert "Te veel mislukte inlogpogingen" in r.json()["detail"] and "opnieuw" in r.json()["detail"]
    assert int(r.headers["retry-after"]) >= 1
    assert _login(url, "fout").status_code == 429
    # after the lockout the right password works again, and counting starts afresh
    time.sleep(max(0.0, 2.2 - (time.monotonic() - t0)))
    with httpx.Client() as client:
        assert _login(url, PASSWORD, client).status_code == 200
        assert client.get(url + "config", timeout=30).status_code == 200
    for _ in range(4):
        assert _login(url, "fout").status_code == 400
    assert _login(url, PASSWORD).status_code == 200  # 4 failures are not a lockout


SESSION_ROUTES = [
    ("gradio_api/cancel", {"session_hash": "abc", "fn_index": 0, "event_id": "e1"}),
    ("gradio_api/reset", {"event_id": "e1"}),
    ("gradio_api/stream/e1", {"data": [], "fn_index": 0, "session_hash": "abc"}),
    ("gradio_api/stream/e1/close", {}),
    ("gradio_api/process_recording", {}),
]


@pytest.mark.slow
def test_session_routes_refuse_without_login(auth_server: str) -> None:
    url = auth_server
    for path, body in SESSION_ROUTES:
        r = httpx.post(url + path, json=body, timeout=30)
        assert r.status_code == 401, (path, r.status_code, r.text[:200])  # cancel/reset were 200, stream 404
    with httpx.Client() as client:
        assert _login(url, PASSWORD, client).status_code == 200
        for path in ("gradio_api/cancel", "gradio_api/reset"):
            body = dict(SESSION_ROUTES)[path]
            r = client.post(url + path, json=body, timeout=30)
            assert r.status_code == 200 and r.json() == {"success": True}, (path, r.text)


# --- 4. no password on the command line ---------------------------------------------------------

def test_auth_with_a_password_on_the_command_line_is_refused() -> None:
    res = run_module("app", "--auth", f"{USER}:{PASSWORD}", timeout=120)
    err = res.stderr.decode()
    assert res.returncode == 2, err
    assert err.startswith("fout: --auth gebruiker:wachtwoord wordt niet meer aangenomen"), err
    assert "proceslijst" in err and "RAG_AUTH=gebruiker:wachtwoord" in err and "--auth-file" in err
    assert "Traceback" not in err and PASSWORD not in err


@pytest.mark.parametrize(("content", "message"), [
    ("", "verwacht één regel gebruiker:wachtwoord"),
    ("zonderwachtwoord\n", "de vorm gebruiker:wachtwoord"),
    (None, "onleesbaar"),
])
def test_bad_auth_file_is_a_dutch_error(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "login.txt"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    res = run_module("app", "--auth-file", path, timeout=120)
    err = res.stderr.decode()
    assert res.returncode == 2 and err.startswith("fout: --auth-file") and message in err, err


def _wait_for_server(url: str, proc: subprocess.Popen[str], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else ""
            raise AssertionError(f"server stopte met status {proc.returncode}: {err}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise AssertionError("server niet bereikbaar")


@pytest.mark.slow
@pytest.mark.parametrize("source", ["auth-file", "env"])
def test_login_from_a_file_or_the_environment_keeps_it_out_of_the_process_list(
        tmp_path: Path, settings: Settings, source: str) -> None:
    port = free_port()
    env = cli_env()
    args = [sys.executable, "app.py", "--port", str(port), "--no-build", "--corpus", str(settings.corpus_dir),
            "--index", str(settings.index_dir)]
    if source == "auth-file":
        login = tmp_path / "login.txt"
        login.write_text(f"{USER}:{PASSWORD}\n", encoding="utf-8")
        login.chmod(0o600)
        args += ["--auth-file", str(login)]
    else:
        env["RAG_AUTH"] = f"{USER}:{PASSWORD}"
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_for_server(url, proc)
        assert all(PASSWORD not in part for part in psutil.Process(proc.pid).cmdline())
        assert httpx.get(url + "config", timeout=30).status_code == 401
        assert _login(url, "fout").status_code == 400
        with httpx.Client() as client:
            assert _login(url, PASSWORD, client).status_code == 200
            assert client.get(url + "config", timeout=30).status_code == 200
    finally:
        stop(proc)


# --- 6. queue full: Dutch -----------------------------------------------------------------------

@pytest.mark.slow
def test_queue_full_message_is_dutch(settings: Settings) -> None:
    """One answer at a time and room for one waiting question: of 8 questions sent at once (the
    first also loads the index), the ones that find the queue full get the Dutch text (HTTP 503)."""
    demo = build_app(pipeline=Pipeline(settings), concurrency=1, queue_size=1)
    url = launch_app(demo, port=free_port(), prevent_thread_lock=True, quiet=True, settings=settings)
    try:
        config = httpx.get(url + "config", timeout=30).json()
        fn_index = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "chat")
        results: list[httpx.Response] = []
        lock = threading.Lock()

        def join() -> None:
            body = {"data": ["Hoeveel inwoners telt een gemiddelde gemeente in Vlaanderen?", []],
                    "fn_index": fn_index, "session_hash": uuid.uuid4().hex, "event_data": None,
                    "trigger_id": None}
            r = httpx.post(url + "gradio_api/queue/join", json=body, timeout=60)
            with lock:
                results.append(r)

        threads = [threading.Thread(target=join) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        full = [r for r in results if r.status_code == 503]
        assert full, [(r.status_code, r.text[:100]) for r in results]
        for r in full:
            assert r.json()["detail"] == QUEUE_FULL_TEXT, r.text  # was "Queue is full. Max size is 1 …"
            assert "Queue" not in r.text
        assert all(r.status_code in (200, 503) for r in results)
        print(f"queue full: {len(full)} of {len(results)} refused")
    finally:
        demo.close()


@pytest.mark.slow
def test_a_port_in_use_is_a_dutch_error_before_any_promise(settings: Settings) -> None:
    """Found by a robustness trial: on a busy port app.py printed "Chat draait op …" and then failed
    with Gradio's English "Cannot find empty port". It now says so in Dutch, first, and exits 1."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        res = subprocess.run([sys.executable, "app.py", "--port", str(port), "--no-build", "--corpus",
                              str(settings.corpus_dir), "--index", str(settings.index_dir)], cwd=ROOT, env=cli_env(),
                             capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 1
    assert f"fout: kan niet luisteren op 127.0.0.1:{port}: de poort is al in gebruik" in res.stderr
    assert "Chat draait op" not in res.stderr and "Cannot find" not in res.stderr
