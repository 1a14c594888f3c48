"""The journalist's workbench (issue 17) in Debian's Chromium: timeline tab, feedback, copy with
sources, conversation download, upload. Real servers on 127.0.0.1, real index, real browser.

Screenshots go to docs/ only with RAG_SCREENSHOT=1 (else to the test's tmp dir), so a plain run
leaves the checkout clean.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rag.feedback import read_feedback
from rag.pipeline import Pipeline
from rag.settings import Settings
from tests.conftest import seed_cache
from tests.helpers import free_port
from tests.test_browser import CHROMIUM_ARGS, TIMEOUT_MS, ask, chromium, open_chat  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
Q_3RX = "Wanneer is de bijeenkomst van de vakministers over 3RX gepland?"
Q_SEAWEED = "Hoeveel budget krijgt de proef met zeewierteelt bij Vlissingen?"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def shot_path(name: str, tmp_path: Path) -> Path:
    return DOCS / name if os.environ.get("RAG_SCREENSHOT") == "1" else tmp_path / name


@pytest.fixture
def context(chromium: Path) -> Iterator[Any]:  # noqa: F811 (the fixture imported above)
    """A browser context that may read the clipboard and accepts downloads."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            ctx = browser.new_context(viewport={"width": 1280, "height": 1100}, locale="nl-NL",
                                      accept_downloads=True)
            ctx.set_default_timeout(TIMEOUT_MS)
            yield ctx
        finally:
            browser.close()


def serve(pipeline: Pipeline, allow_upload: bool = False) -> tuple[Any, str]:
    from app import build_app, launch_app

    demo = build_app(pipeline=pipeline, allow_upload=allow_upload)
    url = launch_app(demo, port=free_port(), prevent_thread_lock=True, quiet=True, settings=pipeline.settings,
                     allow_upload=allow_upload)
    return demo, url


@pytest.fixture(scope="module")
def workbench(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The chat over the real corpus and session index, with its feedback log in a tmp dir."""
    log = tmp_path_factory.mktemp("feedback") / "feedback.jsonl"
    pipeline = Pipeline(settings.with_(feedback_log=log))
    pipeline.load()
    demo, url = serve(pipeline)
    yield url, log
    demo.close()


def test_timeline_lists_the_3rx_ministers_meeting(workbench: tuple[str, Path], context: Any, tmp_path: Path) -> None:
    url, _ = workbench
    page = context.new_page()
    watch = open_chat(page, url)
    page.get_by_role("tab", name="Tijdlijn").click()
    page.locator(".rag-tl-entry").first.wait_for()
    entry = page.locator(".rag-tl-entry", has_text="3RX").filter(has_text="6 juni 2023")
    assert entry.count() == 1
    assert entry.locator(".rag-tl-date").inner_text() == "6 juni 2023"
    assert "aangekondigd/gepland" in entry.locator(".rag-tl-status").inner_text()
    assert entry.locator("mark").inner_text() == "6 juni 2023"
    link = entry.locator("a.rag-passage-link")
    assert link.get_attribute("href") == "#passage-2023-slotverklaring-nederlands-vlaamse-top-den-bosch%232.f%2Fp3"
    assert "2.f Infrastructurele verbondenheid, alinea 3" in link.inner_text()
    assert "Slotverklaring Nederlands-Vlaamse Top" in link.inner_text()
    # the citation opens the paragraph in the Documents tab, highlighted (anchor shared with it)
    link.click()
    target = page.locator("#rag-doc-view .rag-target")
    target.wait_for()
    assert target.get_attribute("id") == "passage-2023-slotverklaring-nederlands-vlaamse-top-den-bosch%232.f%2Fp3"
    assert "vakministers op 6 juni 2023" in target.inner_text()
    page.get_by_role("tab", name="Tijdlijn").click()
    # the entries are in time order
    values = page.locator(".rag-tl-entry").evaluate_all("els => els.map(e => e.getAttribute('data-when'))")
    assert len(values) > 100 and values[0] < values[-1]
    # topic filter: Einstein Telescoop keeps the spring 2023 meeting and the 2023-2024 candidacy
    topic = page.locator("#rag-tl-topic textarea")
    topic.fill("Einstein Telescoop")
    topic.press("Enter")
    page.wait_for_function("document.querySelectorAll('.rag-tl-entry').length < 10")
    dates = page.locator(".rag-tl-date").all_inner_texts()
    assert "voorjaar 2023" in dates and "2023–2024" in dates and "6 juni 2023" not in dates
    page.screenshot(path=str(shot_path("screenshot-timeline.png", tmp_path)), full_page=False)
    assert not watch.errors and not watch.foreign and not watch.dialogs


def test_copy_with_sources_feedback_and_download(workbench: tuple[str, Path], context: Any, tmp_path: Path) -> None:
    url, log = workbench
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url.rstrip("/"))
    page = context.new_page()
    watch = open_chat(page, url)
    answer = ask(page, Q_3RX)
    assert "6 juni 2023" in answer.inner_text()
    page.locator("button.rag-copy").last.click()
    page.wait_for_function("document.querySelector('button.rag-copy').textContent.startsWith('Gekopieerd')")
    copied = page.evaluate("navigator.clipboard.readText()")
    lines = copied.split("\n")
    assert lines[0] == f"**Vraag:** {Q_3RX}"
    assert lines[2].startswith("Met betrekking tot 3RX roepen Vlaanderen en Nederland op") and lines[2].endswith(
        "vakministers op 6 juni 2023. [1]")
    assert lines[4] == f"> „{lines[2][:-4]}” [1]"
    assert lines[6] == "**Bronnen**"
    assert lines[8].startswith("1. *Slotverklaring Nederlands-Vlaamse Top, ’s-Hertogenbosch, 31 januari 2023*, "
                               "2.f Infrastructurele verbondenheid, alinea 3.")
    # 👎 with a comment lands in the log, with question, answer, citations, settings and index version
    page.locator("#rag-feedback-comment textarea").fill("De datum klopt, maar de bron ontbreekt.")
    page.locator("#rag-chat button[aria-label='Vind ik niet leuk']").last.click()
    page.wait_for_function("document.querySelector('#rag-feedback-status').innerText.includes('opgeslagen')")
    (line,), warnings = read_feedback(log)
    assert not warnings
    e = line.entry
    assert (e["rating"], e["question"], e["comment"]) == ("down", Q_3RX, "De datum klopt, maar de bron ontbreekt.")
    assert e["citations"][0]["passage_id"] == "2023-slotverklaring-nederlands-vlaamse-top-den-bosch#2.f/p3"
    assert e["answer"].endswith("6 juni 2023. [1]") and e["index"]["build"] and e["settings"]["mode"] == "hybrid"
    page.screenshot(path=str(shot_path("screenshot-chat-actions.png", tmp_path)), full_page=False)
    # the whole conversation as Markdown and JSON
    with page.expect_download() as md_download:
        page.locator("#rag-export-md").click()
    md = Path(md_download.value.path()).read_text(encoding="utf-8")
    assert md_download.value.suggested_filename == "gesprek-topdocumenten.md"
    assert md.startswith("# Gesprek met de topdocumenten") and f"## 1. {Q_3RX}" in md and "**Bronnen**" in md
    with page.expect_download() as json_download:
        page.locator("#rag-export-json").click()
    data = json.loads(Path(json_download.value.path()).read_text(encoding="utf-8"))
    assert [t["question"] for t in data["turns"]] == [Q_3RX]
    assert data["turns"][0]["citations"][0]["passage_id"].endswith("#2.f/p3")
    assert not watch.errors and not watch.foreign and not watch.dialogs


def make_docx(path: Path) -> Path:
    from docx import Document

    doc = Document()
    doc.add_heading("Proef met zeewierteelt in de Westerschelde", level=1)
    doc.add_paragraph("Op 14 maart 2026 startten Nederland en Vlaanderen een gezamenlijke proef met zeewierteelt "
                      "bij Vlissingen. De proef krijgt een budget van 3,7 miljoen euro voor drie jaar.")
    doc.add_heading("Vervolg", level=1)
    doc.add_paragraph("In het najaar van 2027 zullen de partners de resultaten van de proef met zeewierteelt "
                      "bespreken tijdens de volgende Nederlands-Vlaamse Top.")
    doc.save(str(path))
    return path


@pytest.fixture
def upload_server(tmp_path: Path, session_index_dir: Path) -> Iterator[tuple[str, Path, Pipeline]]:
    """A served chat with upload on, over a temporary copy of the corpus and the session index."""
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    index = tmp_path / "index"
    shutil.copytree(session_index_dir, index, symlinks=True)
    seed_cache(index)
    settings = Settings(corpus_dir=corpus, index_dir=index, auto_build=False,
                        feedback_log=tmp_path / "feedback.jsonl")
    pipeline = Pipeline(settings)
    pipeline.load()
    demo, url = serve(pipeline, allow_upload=True)
    yield url, corpus, pipeline
    demo.close()


def test_uploaded_docx_becomes_answerable(upload_server: tuple[str, Path, Pipeline], context: Any,
                                          tmp_path: Path) -> None:
    url, corpus, pipeline = upload_server
    before_files = sorted(p.name for p in corpus.rglob("*") if p.is_file())
    page = context.new_page()
    watch = open_chat(page, url)
    assert "3,7 miljoen" not in ask(page, Q_SEAWEED).inner_text()
    # a bad file: a "PDF" that is not one gets a Dutch message and changes nothing
    fake = tmp_path / "nota.pdf"
    fake.write_bytes(b"dit is geen pdf")
    page.locator("#rag-upload-button input[type=file], input[type=file]").first.set_input_files(str(fake))
    page.wait_for_function("document.querySelector('#rag-upload-status .rag-error') !== null")
    assert "geen PDF-bestand" in page.locator("#rag-upload-status").inner_text()
    assert sorted(p.name for p in corpus.rglob("*") if p.is_file()) == before_files
    old_build = pipeline.load().directory
    # a real DOCX: checked, parsed (sections shown), indexed, answerable without a restart
    docx = make_docx(tmp_path / "Proef zeewierteelt 2026.docx")
    page.locator("#rag-upload-button input[type=file], input[type=file]").first.set_input_files(str(docx))
    page.wait_for_function("(() => { const s = document.querySelector('#rag-upload-status'); "
                           "return s.innerText.includes('proef-zeewierteelt-2026.docx') && "
                           "s.querySelector('.rag-upload-indexed, .rag-error') !== null; })()", timeout=300_000)
    status = page.locator("#rag-upload-status").inner_text()
    assert "rag-error" not in page.locator("#rag-upload-status").inner_html(), status
    assert "Gelezen: „Proef met zeewierteelt in de Westerschelde” — 2 secties, 2 alinea's." in status
    assert "• Inleiding: 1 alinea" in status and "• Vervolg: 1 alinea" in status
    assert "Klaar" in status
    assert (corpus / "uploads" / "proef-zeewierteelt-2026.docx").is_file()
    assert pipeline.load().directory != old_build
    page.locator("#rag-upload-status").scroll_into_view_if_needed()
    page.screenshot(path=str(shot_path("screenshot-upload.png", tmp_path)), full_page=True)
    answer = ask(page, Q_SEAWEED)
    assert "3,7 miljoen euro" in answer.inner_text()
    assert "Proef met zeewierteelt in de Westerschelde" in answer.locator(".rag-title").first.inner_text()
    # the timeline of the new index lists the announced autumn 2027 meeting
    page.get_by_role("tab", name="Tijdlijn").click()
    page.reload(wait_until="load")
    page.get_by_role("tab", name="Tijdlijn").click()
    entry = page.locator(".rag-tl-entry", has_text="zeewierteelt").filter(has_text="najaar 2027")
    entry.wait_for()
    assert "aangekondigd/gepland" in entry.inner_text()
    assert not watch.errors and not watch.foreign and not watch.dialogs
