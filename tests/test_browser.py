"""The real chat page in Debian's Chromium, driven by Playwright.

Skipped when /usr/bin/chromium is missing, except under CI=true, where that is a failure.
The servers run in-process on a free port on 127.0.0.1; the page may contact nothing else.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from rag.answer import ABSTAIN_PREFIX
from rag.pipeline import Pipeline
from rag.settings import Settings
from tests.helpers import HOSTILE_DOC, IMG, MD_LINK, Q_EINSTEIN, Q_INWONERS, Q_KANDIDATUUR, SCRIPT, free_port

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
CHROMIUM = Path("/usr/bin/chromium")
#: the committed screenshot under eval/results is refreshed only on request (RAG_SCREENSHOT=1), so a
#: plain test run leaves the checkout clean; otherwise the shot goes to the test's own tmp dir
SCREENSHOT = ROOT / "eval" / "results" / "chat-screenshot.png"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 60_000

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{CHROMIUM} ontbreekt (CI=true): installeer het Debian-pakket chromium")
        pytest.skip(f"{CHROMIUM} ontbreekt: apt-get install -y chromium")
    return CHROMIUM


@dataclass
class Watch:
    """What the page did: dialogs (alert/confirm), requests to other hosts, failed responses, JS errors."""

    origin: str
    dialogs: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def browser_page(chromium: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1100}, locale="nl-NL")
            page.set_default_timeout(TIMEOUT_MS)
            yield page
        finally:
            browser.close()


def open_chat(page: Any, url: str) -> Watch:
    watch = Watch(origin=url.rstrip("/"))

    def on_dialog(dialog: Any) -> None:
        watch.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("request", lambda r: None if r.url.startswith((watch.origin, "data:", "blob:"))
            else watch.foreign.append(r.url))
    page.on("response", lambda r: watch.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("pageerror", lambda exc: watch.errors.append(str(exc)))
    page.goto(url, wait_until="load")
    page.locator("#rag-question textarea").wait_for(state="visible")
    return watch


def ask(page: Any, question: str) -> Any:
    """Type a question, press Enter, wait for its answer; return the answer's locator."""
    before = page.locator(".rag-answer").count()
    box = page.locator("#rag-question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(f"document.querySelectorAll('.rag-answer:not(.rag-pending)').length > {before}",
                           timeout=TIMEOUT_MS)
    return page.locator(".rag-answer:not(.rag-pending)").last


def served(pipeline: Pipeline) -> tuple[Any, str]:
    from app import build_app, launch_app

    demo = build_app(pipeline=pipeline)
    url = launch_app(demo, port=free_port(), prevent_thread_lock=True, quiet=True, settings=pipeline.settings)
    return demo, url


@pytest.fixture(scope="module")
def chat_url(pipeline: Pipeline) -> Iterator[str]:
    demo, url = served(pipeline)
    yield url
    demo.close()


def test_question_answer_sources_and_screenshot(chat_url: str, browser_page: Any, tmp_path: Path) -> None:
    page = browser_page
    shot = SCREENSHOT if os.environ.get("RAG_SCREENSHOT") == "1" else tmp_path / "chat-screenshot.png"
    watch = open_chat(page, chat_url)
    answer = ask(page, Q_INWONERS)
    text = answer.inner_text()
    assert "22.000" in text
    locator = answer.locator(".rag-locator").first
    assert locator.is_visible() and "2.b Lokale besturen" in locator.inner_text()
    assert "22.000 inwoners" in answer.locator("mark").first.inner_text()
    assert answer.locator(".rag-marker").first.inner_text() == "[1]"
    # the user's question appears exactly once, followed by one answer (no duplicates)
    assert page.locator(".rag-question").count() == 1 and page.locator(".rag-answer").count() == 1
    assert page.locator("#rag-question textarea").input_value() == ""
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 10_000
    assert not watch.dialogs and not watch.errors
    assert not watch.foreign, f"de pagina zocht contact buiten de server: {watch.foreign[:5]}"
    assert not watch.failed, watch.failed[:5]


def test_example_then_follow_up_and_abstention(chat_url: str, browser_page: Any) -> None:
    page = browser_page
    watch = open_chat(page, chat_url)
    page.get_by_text(Q_EINSTEIN, exact=True).first.click()
    page.wait_for_function("document.querySelectorAll('.rag-answer:not(.rag-pending)').length > 0",
                           timeout=TIMEOUT_MS)
    assert "Einstein Telescoop" in page.locator(".rag-answer").last.inner_text()
    follow = ask(page, Q_KANDIDATUUR)
    text = follow.inner_text()
    assert "2023-2024" in text and "1.b Onderwijs, cultuur en wetenschap vol toekomst" in text
    assert "Vervolgvraag" in follow.locator(".rag-notices").inner_text()
    abstained = ask(page, "Welk voetbalteam won de Gouden Schoen in 1995?")
    assert ABSTAIN_PREFIX in abstained.inner_text()
    assert abstained.locator(".rag-source, mark").count() == 0
    assert page.locator(".rag-question").count() == 3 and page.locator(".rag-answer").count() == 3
    assert not watch.dialogs and not watch.errors and not watch.foreign


@pytest.fixture(scope="module")
def hostile_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A corpus copy with a hostile document, built into a real index with IndexBuilder, served."""
    from rag.embedding import load_embedder
    from rag.index import IndexBuilder

    base = tmp_path_factory.mktemp("hostile-browser")
    corpus = base / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / "2024-testdocument-kokkelvisserij.txt").write_text(HOSTILE_DOC, encoding="utf-8")
    index = base / "index"
    if (ROOT / "index" / "cache").is_dir():
        shutil.copytree(ROOT / "index" / "cache", index / "cache")
    settings = Settings(corpus_dir=corpus, index_dir=index, auto_build=False)
    IndexBuilder(settings, load_embedder(settings)).build(progress=False)
    pipeline = Pipeline(settings)
    pipeline.load()
    demo, url = served(pipeline)
    yield url
    demo.close()


def test_hostile_corpus_and_question_stay_text(hostile_url: str, browser_page: Any) -> None:
    page = browser_page
    watch = open_chat(page, hostile_url)
    question = f"{IMG} Hoeveel ton kokkels levert de kokkelvisserij in de Westerschelde jaarlijks op? {SCRIPT}"
    answer = ask(page, question)
    text = answer.inner_text()
    assert "4.321 ton kokkels" in text
    assert SCRIPT in text and IMG in text and MD_LINK in text and "javascript:alert(1)" in text
    assert page.locator(".rag-question").last.inner_text().strip() == question
    page.wait_for_timeout(1000)  # give an injected onerror/script the chance to fire
    counts = page.evaluate("""() => ({
        scripts: document.querySelectorAll('#rag-chat script').length,
        imgs: document.querySelectorAll('#rag-chat img').length,
        handlers: [...document.querySelectorAll('#rag-chat *')].filter(
            el => [...el.attributes].some(a => a.name.toLowerCase().startsWith('on'))).length,
        jsLinks: [...document.querySelectorAll('a[href]')].filter(
            a => !/^https?:/i.test(a.getAttribute('href')) && !a.getAttribute('href').startsWith('/')
                 && !a.getAttribute('href').startsWith('#') && !a.getAttribute('href').startsWith('.')).length,
        onerrorImgs: document.querySelectorAll('img[onerror], svg[onload], iframe').length,
    })""")
    assert counts == {"scripts": 0, "imgs": 0, "handlers": 0, "jsLinks": 0, "onerrorImgs": 0}, counts
    assert not watch.dialogs, watch.dialogs
    assert not watch.foreign, watch.foreign[:5]
