"""The web chat (app.py): rendering, follow-ups, the served Gradio API, auth, file routes and
hostile corpus text. Real pipeline over the real corpus; servers run in-process on a free
port on 127.0.0.1 (or as a real ``python app.py`` subprocess for the start-up build)."""

from __future__ import annotations

import html
import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import psutil
import pytest

from app import (
    EXAMPLES,
    PENDING_TEXT,
    ChatService,
    answer_html,
    build_app,
    build_parser,
    launch_app,
    link_html,
    main,
    parse_auth,
    passage_from_link,
    previous_questions,
    question_from_message,
    question_html,
    safe_url,
    text_html,
)
from rag.answer import ABSTAIN_PREFIX, answer_to_json
from rag.pipeline import Pipeline
from tests.helpers import (
    HOSTILE_DOC,
    IMG,
    MD_LINK,
    Q_EINSTEIN,
    Q_INWONERS,
    Q_KANDIDATUUR,
    Q_STOOFVLEES,
    SCRIPT,
    free_port,
    stop,
)

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
Q_KOKKELS = "Hoeveel ton kokkels levert de kokkelvisserij in de Westerschelde jaarlijks op?"
#: tags the chat's own HTML may contain; anything else in a served message is an injection
ALLOWED_TAGS = {"div", "p", "span", "br", "blockquote", "mark", "a", "details", "summary", "ul", "li", "button"}


# --- helpers ------------------------------------------------------------------------------------

class TagCollector(HTMLParser):
    """Collects (tag, attrs) of every start tag; text is ignored."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(fragment: str) -> TagCollector:
    collector = TagCollector()
    collector.feed(fragment)
    collector.close()
    return collector


def assert_inert(fragment: str) -> None:
    """The message HTML holds only the chat's own tags, no event handler, only http(s) links."""
    for tag, attrs in parse(fragment).tags:
        assert tag in ALLOWED_TAGS, f"onverwachte tag <{tag}> in {fragment[:300]}"
        for name, value in attrs.items():
            assert not name.lower().startswith("on"), f"event-attribuut {name} op <{tag}>"
            assert name in {"class", "href", "target", "rel"}, f"onverwacht attribuut {name} op <{tag}>"
            if name == "href":  # a source (http/https) or a passage in the Documents tab
                assert value and (value.startswith(("http://", "https://"))
                                  or re.fullmatch(r"#passage-[A-Za-z0-9%._~-]+", value)), value
    low = fragment.lower()
    assert "<script" not in low and "<img" not in low and "<svg" not in low and "<iframe" not in low


def visible_text(fragment: str) -> str:
    """Text a browser would show for a message (tags dropped, entities decoded)."""
    return "".join(parse(fragment).text)


def message_text(message: dict[str, Any]) -> str:
    """Text of one served chatbot message (Gradio 6 normalises content to a list of parts)."""
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


def answer_sentences(fragment: str) -> str:
    """Visible text of the answer itself (without notices and cited paragraphs)."""
    start = fragment.index('<p class="rag-text">')
    return visible_text(fragment[start:fragment.index("</p>", start)])


def last_answer(history: list[dict[str, Any]]) -> str:
    assert history and history[-1]["role"] == "assistant", history
    return message_text(history[-1])


def wait_for_port(port: int, proc: subprocess.Popen[str] | None = None, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"server stopte met status {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"server op poort {port} niet bereikbaar binnen {timeout} s")


def raw_get(port: int, path: str) -> tuple[int, str]:
    """GET with the path sent verbatim (no client-side normalisation of ``..`` or ``%2e``)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


def hostile_corpus(dst: Path) -> Path:
    """A copy of the real corpus plus one document with script, img-onerror and javascript: text."""
    shutil.copytree(CORPUS, dst)
    (dst / "2024-testdocument-kokkelvisserij.txt").write_text(HOSTILE_DOC, encoding="utf-8")
    return dst


def seeded_index_dir(dst: Path) -> Path:
    """An empty index folder with the repository's embedding cache (saves embedding time)."""
    dst.mkdir(parents=True, exist_ok=True)
    if (ROOT / "index" / "cache").is_dir():
        shutil.copytree(ROOT / "index" / "cache", dst / "cache", dirs_exist_ok=True)
    return dst


# --- rendering ------------------------------------------------------------------------------------

HOSTILE_STRINGS = [SCRIPT, IMG, MD_LINK, "**vet** _schuin_ `code` $$x^2$$ ~~weg~~ | a | b |",
                   "<a href=\"javascript:alert(1)\">x</a>", "&lt;script&gt; &amp; \"quotes\" 'single'",
                   "```mermaid\ngraph TD; A-->B\n```", "regel 1\n\nregel 2\r\nregel 3",
                   "<!-- comment --><style>*{}</style>",
                   "<svg/onload=alert(1)>", "<iframe src=javascript:alert(1)>", "![img](x \"onerror=alert(1)\")"]


@pytest.mark.parametrize("text", HOSTILE_STRINGS)
def test_text_html_is_inert_and_exact(text: str) -> None:
    out = text_html(text)
    assert "<" not in out.replace("<br>", ""), out
    for ch in "[]()*_`$~|\"'>&":
        assert ch not in out.replace("<br>", "").replace("&#", "").replace(";", ""), (ch, out)
    shown = visible_text(f"<div>{out}</div>")
    expected = text.replace("\r\n", "\n").replace("\n", "")
    assert shown == expected
    assert html.unescape(out.replace("<br>", "\n")) == text.replace("\r\n", "\n")


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)",
                                 "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)",
                                 "//evil.example/x", "/etc/passwd", "file:///etc/passwd",
                                 "http://x\" onmouseover=\"alert(1)", "https://", "java\nscript:alert(1)", ""])
def test_unsafe_urls_are_not_linked(url: str) -> None:
    assert safe_url(url) is None
    out = link_html(url)
    assert "<a" not in out and "href" not in out
    assert_inert(out)


def test_http_urls_are_linked_safely() -> None:
    url = "https://www.limburg.nl/actueel/nieuws/?a=1&b=2"
    out = link_html(url)
    tags = parse(out).tags
    assert tags[0][0] == "a" and tags[0][1]["href"] == url
    assert tags[0][1]["rel"] == "noopener noreferrer nofollow" and tags[0][1]["target"] == "_blank"
    assert safe_url("http://example.org/x") == "http://example.org/x"


@pytest.mark.parametrize("question", [Q_INWONERS, *HOSTILE_STRINGS, "x" * 10])
def test_question_message_round_trip(question: str) -> None:
    rendered = question_html(question)
    assert_inert(rendered)
    assert question_from_message({"role": "user", "content": rendered}) == question.strip().replace("\r\n", "\n")
    # the shape Gradio 6 hands back to the server
    normalised = {"role": "user", "content": [{"type": "text", "text": rendered}]}
    assert question_from_message(normalised) == question.strip().replace("\r\n", "\n")


def test_answer_html_shows_markers_and_cited_paragraph(pipeline: Pipeline) -> None:
    ans = pipeline.answer(Q_INWONERS)
    assert not ans.abstained
    out = answer_html(ans)
    assert_inert(out)
    shown = visible_text(out)
    assert "22.000" in shown and "[1]" in shown
    assert "2.b Lokale besturen" in shown
    assert "Slotverklaring Nederlands-Vlaamse Top" in shown and "31 januari 2023" in shown
    assert "Nederland is voor Vlaanderen een gidsland" in shown  # the full paragraph, not only the quote
    marked = [m.split("</mark>")[0] for m in out.split("<mark>")[1:]]
    assert len(marked) == 1 and "22.000 inwoners" in html.unescape(marked[0])
    assert html.unescape(marked[0]) == ans.citations[0].quote


def test_every_quoted_sentence_is_marked_in_its_paragraph(pipeline: Pipeline) -> None:
    """Found by a new-user trial: three sentences of one paragraph were quoted, one was marked. Each
    sentence of the answer lies inside a mark of the paragraph it cites; the JSON lists the spans."""
    ans = pipeline.answer("Waarom vond de vorige top grotendeels digitaal plaats?")
    assert not ans.abstained and len(ans.citations[0].spans) >= 2  # not consecutive sentences: two spans
    out = answer_html(ans)
    marked = [html.unescape(m.split("</mark>")[0]) for m in out.split("<mark>")[1:]]
    for sentence, _n in re.findall(r"(.+?) \[(\d+)\]\s*", ans.text):
        assert any(sentence.strip() in m for m in marked), sentence
    data = answer_to_json(ans)
    assert data["citations"][0]["quotes"] == list(ans.citations[0].spans)
    assert all(q in data["citations"][0]["text"] for q in data["citations"][0]["quotes"])


def test_answer_html_source_link(pipeline: Pipeline) -> None:
    ans = pipeline.answer("Wat doet de euregionale taskforce voor de Einstein Telescope?")
    out = answer_html(ans)
    assert_inert(out)
    hrefs = [a.get("href") for tag, a in parse(out).tags if tag == "a"]
    limburg = "https://www.limburg.nl/actueel/nieuws/nieuwsberichten/2022/december/euregionale-taskforce-versterkt/"
    assert limburg in hrefs


def test_abstention_shows_message_without_sources(pipeline: Pipeline) -> None:
    ans = pipeline.answer(Q_STOOFVLEES)
    assert ans.abstained
    out = answer_html(ans)
    assert_inert(out)
    shown = visible_text(out)
    assert ABSTAIN_PREFIX in shown and ans.reason in shown  # the reason is shown, in Dutch
    assert "Bronnen" not in shown and "<mark>" not in out and "rag-sources" not in out
    assert "[1]" not in shown


def test_related_passages_of_a_refusal_open_in_the_documents_tab(pipeline: Pipeline) -> None:
    """A refusal on a covered topic lists its passages, each a link to the paragraph in the
    Documents tab (as a citation's locator is), and still cites nothing."""
    ans = pipeline.answer("Hoeveel kost de bouw van de Einstein Telescoop?")
    assert ans.abstained and ans.related
    out = answer_html(ans)
    assert_inert(out)
    links = re.findall(r'class="rag-locator rag-doc-link" href="([^"]+)"', out)
    assert [passage_from_link(h) for h in links] == [r.passage.id for r in ans.related]
    assert "rag-sources" not in out and "<mark>" not in out


# --- chat turns (no server) -------------------------------------------------------------------------

def test_respond_yields_placeholder_then_answer_without_duplicates(pipeline: Pipeline) -> None:
    service = ChatService(pipeline)
    steps = list(service.respond(Q_INWONERS, []))
    assert len(steps) == 2
    first_box, first = steps[0]
    assert first_box == "" and [m["role"] for m in first] == ["user", "assistant"]
    assert PENDING_TEXT in visible_text(first[-1]["content"])
    _, final = steps[-1]
    assert [m["role"] for m in final] == ["user", "assistant"]
    assert "22.000" in visible_text(final[-1]["content"])
    steps2 = list(service.respond(Q_STOOFVLEES, final))
    _, final2 = steps2[-1]
    assert [m["role"] for m in final2] == ["user", "assistant", "user", "assistant"]
    assert final2[:2] == final
    assert previous_questions(final2) == [Q_INWONERS, Q_STOOFVLEES]


def test_long_question_notice_is_shown(pipeline: Pipeline) -> None:
    question = Q_INWONERS + " " + "en verder " * 150
    _, final = list(ChatService(pipeline).respond(question, []))[-1]
    out = final[-1]["content"]
    assert_inert(out)
    notices = out[out.index('<div class="rag-notices">'):out.index('<p class="rag-text">')]
    assert "erg lang" in visible_text(notices)
    assert visible_text(final[0]["content"]) == question.strip()


def test_client_history_is_rendered_again(pipeline: Pipeline) -> None:
    """A plain-text (or hostile) user message sent by an API client comes back inert."""
    history = [{"role": "user", "content": IMG + " " + Q_EINSTEIN}, {"role": "assistant", "content": "…"}]
    _, final = list(ChatService(pipeline).respond(Q_KANDIDATUUR, history))[-1]
    assert_inert(final[0]["content"])
    assert visible_text(final[0]["content"]) == IMG + " " + Q_EINSTEIN
    assert "2023-2024" in answer_sentences(final[-1]["content"])


def test_empty_and_symbol_only_input(pipeline: Pipeline) -> None:
    service = ChatService(pipeline)
    # found by a new-user trial: an empty box did nothing at all, while "?!…" got a reply
    box, final = list(service.respond("   ", []))[-1]
    assert box == "" and [m["role"] for m in final] == ["assistant"]
    assert "Stel een vraag: de invoer is leeg." in visible_text(final[0]["content"])
    box, final = list(service.respond("?!…", []))[-1]
    assert box == "?!…"  # kept, to be corrected
    assert [m["role"] for m in final] == ["user", "assistant"]
    shown = visible_text(final[-1]["content"])
    assert "Stel een vraag" in shown and "rag-error" in final[-1]["content"]


def chat(service: ChatService, questions: list[str]) -> list[dict[str, Any]]:
    history: list[dict[str, Any]] = []
    for q in questions:
        history = list(service.respond(q, history))[-1][1]
    return history


def test_follow_up_that_points_back_is_told_as_one(pipeline: Pipeline) -> None:
    """Found by a new-user trial: "Wie zat daarvoor namens Nederland aan tafel?" after a question on
    the Einstein Telescope was answered right, yet told "de eerdere vraag hielp niet" because the
    question alone found the same paragraph. A question that points back is read, and told, as a follow-up."""
    ans = pipeline.answer("Wie zat daarvoor namens Nederland aan tafel?", ["Wat staat er over de Einstein Telescoop?"])
    assert "Robbert Dijkgraaf" in ans.text
    assert any(n.startswith("Vervolgvraag") for n in ans.notices) and not any("hielp niet" in n for n in ans.notices)


def test_follow_up_einstein_candidacy(pipeline: Pipeline) -> None:
    """The second question only makes sense with the first: it must cite 1.b and say 2023-2024."""
    service = ChatService(pipeline)
    alone = answer_sentences(last_answer(chat(service, [Q_KANDIDATUUR])))
    assert "2023-2024" not in alone  # without the conversation it finds another passage
    out = last_answer(chat(service, [Q_EINSTEIN, Q_KANDIDATUUR]))
    assert_inert(out)
    shown = visible_text(out)
    assert "2023-2024" in answer_sentences(out) and "Einstein Telescoop" in shown
    assert "1.b Onderwijs, cultuur en wetenschap vol toekomst" in shown
    assert "Vervolgvraag" in shown  # the rewrite is disclosed as a notice


def test_follow_up_bike_roadmap_countries(pipeline: Pipeline) -> None:
    """"Welke landen doen mee?" after a question about the Benelux bike roadmap names the Benelux and NRW."""
    service = ChatService(pipeline)
    out = last_answer(chat(service, ["Wat staat er in de fietsroadmap van de Benelux?", "Welke landen doen mee?"]))
    said = answer_sentences(out)
    assert "Benelux-landen en Noordrijn-Westfalen" in said  # the countries, from a roadmap passage


def test_unrelated_short_question_after_conversation_abstains(pipeline: Pipeline) -> None:
    """A new topic after a conversation is answered on its own, not with the previous turn."""
    service = ChatService(pipeline)
    out = last_answer(chat(service, [Q_INWONERS, Q_STOOFVLEES]))
    assert ABSTAIN_PREFIX in visible_text(out) and "22.000" not in visible_text(out)


# --- command line -------------------------------------------------------------------------------------

def test_parser_defaults_to_localhost() -> None:
    args = build_parser().parse_args([])
    assert args.host == "127.0.0.1" and args.port == 7860 and args.auth is None
    args = build_parser().parse_args(["--top-k", "5", "--index", "/tmp/x", "--llm-model", "m"])
    assert args.top_k == 5 and args.index == Path("/tmp/x") and args.llm_model == "m"


def test_parse_auth() -> None:
    assert parse_auth(None) is None and parse_auth("") is None
    assert parse_auth("journalist:ge:heim") == ("journalist", "ge:heim")
    for bad in ["journalist", ":wachtwoord", "journalist:"]:
        with pytest.raises(ValueError, match="gebruiker:wachtwoord"):
            parse_auth(bad)


def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--auth", "zonderwachtwoord"]) == 2
    assert "gebruiker:wachtwoord" in capsys.readouterr().err
    assert main(["--top-k", "0"]) == 2
    assert main(["--port", "70000"]) == 2


# --- served app ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(pipeline: Pipeline) -> Iterator[tuple[str, int]]:
    """The chat over the session index, launched in-process on a free port."""
    port = free_port()
    demo = build_app(pipeline=pipeline)
    url = launch_app(demo, port=port, prevent_thread_lock=True, quiet=True, settings=pipeline.settings)
    yield url, port
    demo.close()


@pytest.mark.slow
def test_served_chat_answer_follow_up_and_streaming(server: tuple[str, int]) -> None:
    from gradio_client import Client

    url, _ = server
    client = Client(url, verbose=False)
    assert "/chat" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    box, history = client.predict(Q_INWONERS, [], api_name="/chat")
    assert box == "" and [m["role"] for m in history] == ["user", "assistant"]
    out = last_answer(history)
    assert_inert(out)
    assert "22.000" in visible_text(out) and "2.b Lokale besturen" in visible_text(out)

    # follow-up through the served API: the history goes back in, one new pair comes out
    _, history = client.predict(Q_EINSTEIN, [], api_name="/chat")
    job = client.submit(Q_KANDIDATUUR, history, api_name="/chat")
    _, history2 = job.result(timeout=120)
    assert [m["role"] for m in history2] == ["user", "assistant"] * 2
    assert [message_text(m) for m in history2[:2]] == [message_text(m) for m in history]
    shown = visible_text(last_answer(history2))
    assert "2023-2024" in shown and "1.b Onderwijs" in shown
    # the first streamed output is the placeholder, the last the answer
    outputs = job.outputs()
    assert len(outputs) >= 2
    assert PENDING_TEXT in visible_text(last_answer(outputs[0][1]))


@pytest.mark.slow
def test_served_examples_are_real_questions(server: tuple[str, int], pipeline: Pipeline) -> None:
    import httpx

    url, _ = server
    config = httpx.get(url + "config", timeout=30).json()
    texts = [ex.get("text") for comp in config["components"]
             for ex in (comp.get("props", {}).get("examples") or []) if isinstance(ex, dict)]
    assert texts == EXAMPLES
    answered = [not pipeline.answer(q).abstained for q in EXAMPLES]
    assert answered == [True, True, True, False]  # the last one shows an abstention


@pytest.mark.slow
def test_server_listens_on_localhost_only(server: tuple[str, int]) -> None:
    _, port = server
    listening = [c for c in psutil.Process(os.getpid()).net_connections(kind="inet")
                 if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port]
    assert listening and {c.laddr.ip for c in listening} == {"127.0.0.1"}


FILE_PATHS = [
    "/gradio_api/file=/etc/passwd", "/file=/etc/passwd", "/gradio_api/file//etc/passwd", "/file//etc/passwd",
    "/gradio_api/file=%2Fetc%2Fpasswd", "/gradio_api/file%3D/etc/passwd", "/GRADIO_API/FILE=/etc/passwd",
    "/gradio_api/file=../../../../../../etc/passwd", "/static/../../../../../../etc/passwd",
    "/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/assets/..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/gradio_api/file=corpus/2023-slotverklaring-nederlands-vlaamse-top-den-bosch.txt",
    f"/gradio_api/file={CORPUS}/2023-slotverklaring-nederlands-vlaamse-top-den-bosch.txt",
    f"/file={CORPUS}/2023-slotverklaring-nederlands-vlaamse-top-den-bosch.txt",
    f"/gradio_api/file/{CORPUS}/2023-slotverklaring-nederlands-vlaamse-top-den-bosch.txt",
    f"/gradio_api/file={ROOT}/app.py", "/gradio_api/file=app.py",
    f"/gradio_api/file={ROOT}/index/current/manifest.json",
    "/gradio_api/file=https://example.com/", "/gradio_api/file=http://127.0.0.1:1/",
    "/gradio_api/proxy=https://example.com/",
]


@pytest.mark.slow
@pytest.mark.parametrize("path", FILE_PATHS)
def test_file_routes_serve_nothing(server: tuple[str, int], path: str) -> None:
    _, port = server
    status, body = raw_get(port, path)
    assert status in (403, 404), (path, status, body[:200])
    assert "root:" not in body
    assert "gidsland" not in body and "Slotverklaring" not in body and "import gradio" not in body


@pytest.mark.slow
def test_uploads_refused(server: tuple[str, int]) -> None:
    import httpx

    url, _ = server
    r = httpx.post(url + "gradio_api/upload", files={"files": ("a.html", b"<script>alert(1)</script>")}, timeout=30)
    assert r.status_code == 403


@pytest.mark.slow
def test_basic_auth(pipeline: Pipeline) -> None:
    import httpx
    from gradio_client import Client

    port = free_port()
    demo = build_app(pipeline=pipeline)
    url = launch_app(demo, port=port, prevent_thread_lock=True, quiet=True, auth=("journalist", "ge:heim"),
                     settings=pipeline.settings)
    try:
        for path in ("config", "gradio_api/info"):
            assert httpx.get(url + path, timeout=30).status_code == 401
        r = httpx.post(url + "gradio_api/call/chat", json={"data": [Q_INWONERS, []]}, timeout=30)
        assert r.status_code == 401
        with pytest.raises(Exception, match=r"(?i)credentials|login"):
            Client(url, verbose=False)
        with pytest.raises(Exception, match=r"(?i)login"):
            Client(url, verbose=False, auth=("journalist", "fout"))
        client = Client(url, verbose=False, auth=("journalist", "ge:heim"))
        _, history = client.predict(Q_INWONERS, [], api_name="/chat")
        assert "22.000" in visible_text(last_answer(history))
    finally:
        demo.close()


# --- hostile corpus text through a real `python app.py` (index built at start-up) -----------------

@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, subprocess.Popen[str], Path]]:
    """``python app.py`` over a corpus copy with a hostile document and a missing index (cache seeded):
    the app must build the index first, with progress on the console, then serve."""
    base = tmp_path_factory.mktemp("hostile")
    corpus = hostile_corpus(base / "corpus")
    index = seeded_index_dir(base / "index")
    log = base / "server.log"
    port = free_port()
    env = {**os.environ, "RAG_AUTH": "", "PYTHONUNBUFFERED": "1"}
    with open(log, "w", encoding="utf-8") as fh:
        proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port), "--corpus", str(corpus),
                                 "--index", str(index)], cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, text=True,
                                env=env)
    try:
        wait_for_port(port, proc, timeout=300)
        yield f"http://127.0.0.1:{port}/", proc, log
    finally:
        stop(proc)


@pytest.mark.slow
def test_missing_index_is_built_at_start_with_progress(hostile_server: tuple[str, subprocess.Popen[str], Path]) -> None:
    _, proc, log = hostile_server
    assert proc.poll() is None
    text = log.read_text(encoding="utf-8")
    assert "Index wordt (opnieuw) gebouwd" in text
    assert text.index("Index wordt (opnieuw) gebouwd") < text.index("127.0.0.1")


@pytest.mark.slow
def test_hostile_corpus_text_is_served_as_text(hostile_server: tuple[str, subprocess.Popen[str], Path]) -> None:
    from gradio_client import Client

    url, _, _ = hostile_server
    client = Client(url, verbose=False)
    question = f"{IMG} {MD_LINK} {Q_KOKKELS} {SCRIPT}"
    _, history = client.predict(question, [], api_name="/chat")
    user, answer = message_text(history[0]), last_answer(history)
    for fragment in (user, answer):
        assert_inert(fragment)
    shown = visible_text(answer)
    assert "4.321 ton kokkels" in shown
    assert SCRIPT in shown and IMG in shown and MD_LINK in shown  # shown literally, as text
    assert "javascript:alert(1)" in shown  # the bad source address is shown, not linked
    hrefs = [a.get("href") for tag, a in parse(answer).tags if tag == "a"]
    # the only links: the passage in the Documents tab (its id percent-encoded) and http(s) sources
    assert all(h and (h.startswith(("http://", "https://")) or re.fullmatch(r"#passage-[A-Za-z0-9%._~-]+", h))
               for h in hrefs), hrefs
    assert visible_text(user) == question
