"""The HTTP API (issue 18) on a real server on 127.0.0.1: the chat's ``launch_app`` with the API
mounted, driven by the official ``openai`` client and by ``httpx`` (no TestClient, no mocks).

Speed is not asserted here: the load run with p95 is ``python -m rag.bench --only api``.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest

from app import build_app, launch_app
from rag.api import AnswerOut, markdown_text, reply_markdown
from rag.pipeline import Pipeline
from rag.settings import Settings
from tests.conftest import SEED_ID
from tests.helpers import (
    IMG,
    MD_LINK,
    Q_EINSTEIN,
    Q_INWONERS,
    Q_KANDIDATUUR,
    Q_STOOFVLEES,
    SCRIPT,
    free_port,
    run_module,
)

pytestmark = pytest.mark.slow

ABSTAIN_START = "Dat staat niet in de documenten"
LOGIN = ("journalist", "ge:heim")
KEY = "sleutel-voor-de-redactie"


class Server:
    """A launched chat + API: base URL, the pipeline behind it, and a way to stop it."""

    def __init__(self, pipeline: Pipeline, *, auth: tuple[str, str] | None = None,
                 api_keys: list[str] | None = None, concurrency: int = 4,
                 login_limits: dict[str, float] | None = None) -> None:
        self.pipeline = pipeline
        self.port = free_port()
        self.demo = build_app(pipeline=pipeline, concurrency=concurrency)
        self.url = launch_app(self.demo, port=self.port, prevent_thread_lock=True, quiet=True, auth=auth,
                              settings=pipeline.settings, pipeline=pipeline, concurrency=concurrency,
                              api_keys=api_keys, login_limits=login_limits).rstrip("/")

    def client(self, api_key: str = "geen-sleutel") -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.url}/v1", api_key=api_key, max_retries=0, timeout=120)

    def close(self) -> None:
        self.demo.close(verbose=False)


@pytest.fixture(scope="module")
def api(settings: Settings) -> Iterator[Server]:
    """The chat with the API over the session index, without login (its own pipeline, 4 slots)."""
    pipeline = Pipeline(settings)
    pipeline.load()
    server = Server(pipeline)
    try:
        yield server
    finally:
        server.close()


def ask(api: Server, question: str, **body: Any) -> httpx.Response:
    return httpx.post(f"{api.url}/api/ask", json={"question": question, **body}, timeout=120)


# --- the official openai client ------------------------------------------------------------------

def test_openai_client_non_streamed_cited_answer(api: Server) -> None:
    reply = api.client().chat.completions.create(
        model="topdocumenten", messages=[{"role": "user", "content": Q_INWONERS}])
    content = reply.choices[0].message.content or ""
    answer, _, sources = content.partition("\n\n**Bronnen**\n\n")
    assert "22.000" in answer and "[1]" in answer
    assert "2.b Lokale besturen" in sources and sources.startswith("- [1] Slotverklaring")
    citations = reply.model_extra["citations"]  # the extra field, contract objects
    assert [c["n"] for c in citations] == sorted({int(n) for n in _markers(answer)})
    assert citations[0]["doc_id"] == SEED_ID and "22.000" in citations[0]["quote"]
    assert citations[0]["quote"] in citations[0]["text"]
    assert reply.model == "topdocumenten" and reply.choices[0].finish_reason == "stop"
    assert reply.model_extra["rag"]["abstained"] is False


def _markers(text: str) -> list[str]:
    import re

    return re.findall(r"\[(\d+)\]", text)


def test_openai_client_streamed_answer_equals_the_plain_one(api: Server) -> None:
    client = api.client()
    plain = client.chat.completions.create(model="topdocumenten", messages=[{"role": "user", "content": Q_INWONERS}])
    chunks = list(client.chat.completions.create(
        model="topdocumenten", messages=[{"role": "user", "content": Q_INWONERS}], stream=True))
    assert len(chunks) >= 3  # role, content pieces, final
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == plain.choices[0].message.content
    assert "22.000" in text and "[1]" in text
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["citations"] == plain.model_extra["citations"]
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])


def test_openai_client_abstention_is_an_ordinary_reply(api: Server) -> None:
    client = api.client()
    for stream in (False, True):
        if stream:
            chunks = list(client.chat.completions.create(
                model="topdocumenten", messages=[{"role": "user", "content": Q_STOOFVLEES}], stream=True))
            content = "".join(c.choices[0].delta.content or "" for c in chunks)
            extra = chunks[-1].model_extra
        else:
            reply = client.chat.completions.create(
                model="topdocumenten", messages=[{"role": "user", "content": Q_STOOFVLEES}])
            content, extra = reply.choices[0].message.content or "", reply.model_extra
        assert content.startswith(ABSTAIN_START)
        assert "Bronnen" not in content and not _markers(content)
        assert extra["citations"] == [] and extra["rag"]["abstained"] is True
        assert extra["rag"]["reason"]


def test_openai_client_lists_one_model_named_after_the_corpus(api: Server) -> None:
    models = api.client().models.list().data
    assert [m.id for m in models] == ["topdocumenten"]


def test_openai_history_is_the_earlier_user_messages(api: Server) -> None:
    """The follow-up of test_load's conversation: earlier user messages are the history;
    system and assistant messages (as Open WebUI sends them) are ignored."""
    reply = api.client().chat.completions.create(model="topdocumenten", messages=[
        {"role": "system", "content": "Je bent een behulpzame assistent."},
        {"role": "user", "content": Q_EINSTEIN},
        {"role": "assistant", "content": "Vorig antwoord, met [1] en **opmaak**."},
        {"role": "user", "content": [{"type": "text", "text": Q_KANDIDATUUR}]},
    ])
    content = reply.choices[0].message.content or ""
    assert "2023-2024" in content and "1.b Onderwijs" in content
    assert any("Vervolgvraag" in n for n in reply.model_extra["rag"]["notices"])


def test_openai_errors_are_dutch(api: Server) -> None:
    client = api.client()
    with pytest.raises(openai.UnprocessableEntityError) as err:
        client.chat.completions.create(model="topdocumenten", messages=[{"role": "system", "content": "hallo"}])
    assert "geen bericht van de gebruiker" in err.value.message
    with pytest.raises(openai.UnprocessableEntityError) as err:
        client.chat.completions.create(model="topdocumenten", messages=[{"role": "user", "content": Q_INWONERS}],
                                       stream=True, extra_body={"filters": {"kinds": ["kookboek"]}})
    assert "Onbekende soort document: kookboek" in err.value.message
    # found by a robustness trial: a user message without text, an unknown role, content of a wrong type
    no_text = "het laatste bericht van de gebruiker bevat geen tekst"
    for messages, words in (([{"role": "user", "content": ""}], no_text),
                            ([{"role": "user", "content": Q_INWONERS}, {"role": "user", "content": None}], no_text),
                            ([{"role": "koning", "content": Q_INWONERS}], "Onbekende rol 'koning'")):
        with pytest.raises(openai.UnprocessableEntityError) as err:
            client.chat.completions.create(model="topdocumenten", messages=messages)  # type: ignore[arg-type]
        assert words in err.value.message, err.value.message
    resp = httpx.post(f"{api.url}/v1/chat/completions", json={"messages": [{"role": "user", "content": 42}]})
    assert resp.status_code == 422
    assert resp.json()["detail"] == "Het veld 'messages.0.content' moet een tekst of een lijst zijn."


# --- REST: the same JSON as the CLI --------------------------------------------------------------

def _cli_json(settings: Settings, question: str, *args: str) -> dict[str, Any]:
    proc = run_module("rag.ask", "--json", "--no-build", "--corpus", settings.corpus_dir,
                      "--index", settings.index_dir, *args, question)
    assert proc.returncode == 0, proc.stderr.decode()
    return dict(json.loads(proc.stdout))


@pytest.mark.parametrize(("question", "cli_args", "body"), [
    (Q_INWONERS, [], {}),
    (Q_STOOFVLEES, [], {}),
    (Q_EINSTEIN, ["--kind", "slotverklaring", "--from", "2020", "--top-k", "3"],
     {"filters": {"kinds": ["slotverklaring"], "from": 2020}, "top_k": 3}),
])
def test_rest_ask_matches_the_cli_json(api: Server, settings: Settings, question: str,
                                       cli_args: list[str], body: dict[str, Any]) -> None:
    cli = _cli_json(settings, question, *cli_args)
    resp = ask(api, question, **body)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/json")
    rest = resp.json()
    AnswerOut.model_validate(rest)  # the OpenAPI response model describes the contract
    assert set(rest) == set(cli)
    assert set(rest["timings_ms"]) == set(cli["timings_ms"])
    rest.pop("timings_ms")
    cli.pop("timings_ms")
    assert rest == cli


def test_rest_ask_gives_the_callers_id_back(api: Server) -> None:
    """Found by a robustness trial: the answer object has an ``id`` (batch lines carry one), but
    /api/ask refused an ``id`` ("Onbekend veld 'id'")."""
    for qid in ("vraag-7", 7):
        resp = ask(api, Q_INWONERS, id=qid)
        assert resp.status_code == 200 and resp.json()["id"] == qid
    assert ask(api, Q_INWONERS).json()["id"] is None
    assert ask(api, Q_INWONERS, id=[1]).status_code == 422


def test_rest_documents_list_and_detail(api: Server) -> None:
    listed = httpx.get(f"{api.url}/api/documents").json()
    docs = api.pipeline.documents()
    assert listed["count"] == len(docs) == len(listed["documents"])
    assert [d["id"] for d in listed["documents"]] == [d.id for d in docs]
    seed = next(d for d in listed["documents"] if d["id"] == SEED_ID)
    assert seed["kind"] == "slotverklaring" and seed["date"] == "2023-01-31"

    detail = httpx.get(f"{api.url}/api/documents/{SEED_ID}").json()
    assert detail["id"] == SEED_ID and detail["sections"]
    assert {"1.b", "2.b"} <= {s["key"] for s in detail["sections"]}
    index_ids = [p.id for p in api.pipeline.retriever.index.passages if p.doc_id == SEED_ID]
    given = [pid for para in detail["paragraphs"] for pid in para["passage_ids"]]
    assert sorted(given) == sorted(index_ids)  # every passage once, under its own paragraph
    assert all(pid.startswith(para["id"].split("/p")[0]) for para in detail["paragraphs"]
               for pid in para["passage_ids"])
    cited = ask(api, Q_INWONERS).json()["citations"][0]
    para = next(p for p in detail["paragraphs"] if cited["passage_id"] in p["passage_ids"])
    assert para["locator"] == cited["locator"] and cited["quote"] in para["text"]

    missing = httpx.get(f"{api.url}/api/documents/bestaat-niet")
    assert missing.status_code == 404 and "Onbekend document: bestaat-niet" in missing.json()["detail"]


def test_rest_health(api: Server) -> None:
    health = httpx.get(f"{api.url}/api/health").json()
    index = api.pipeline.retriever.index
    assert health["status"] == "ok" and health["model"] == "topdocumenten"
    assert health["index"]["build_id"] == index.manifest["build_id"]
    assert health["index"]["corpus_hash"] == index.manifest["corpus_hash"] and health["index"]["up_to_date"] is True
    assert health["documents"] == len(index.documents) and health["index"]["passages"] == len(index.passages)
    assert "e5" in health["embedder"] and health["answers"] == "extractive"
    assert health["slots"]["limit"] == 4


def test_openapi_schema_has_typed_routes(api: Server) -> None:
    schema = httpx.get(f"{api.url}/api/openapi.json").json()
    assert {"/api/ask", "/api/documents", "/api/documents/{doc_id}", "/api/health", "/v1/models",
            "/v1/chat/completions"} <= set(schema["paths"])
    ask_op = schema["paths"]["/api/ask"]["post"]
    assert ask_op["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/AskRequest")
    assert ask_op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/AnswerOut")
    assert {"AskRequest", "AnswerOut", "CitationOut", "ChatRequest", "ChatCompletion", "DocumentDetail",
            "Health"} <= set(schema["components"]["schemas"])


# --- bad input: 422 and 413 ----------------------------------------------------------------------

@pytest.mark.parametrize(("body", "message"), [
    (b'{"question": "Wat is de Taalunie?"', "Ongeldige JSON"),
    (b'{"question": "Wat is de Taalunie?",}', "Ongeldige JSON"),
    (b"[1, 2]", "JSON-object"),
    (b"{}", "Het veld 'question' ontbreekt"),
    (b'{"question": 42}', "Het veld 'question' moet een tekst zijn"),
    (b'{"question": "Wat?", "top_k": 0}', "Het veld 'top_k' moet minstens 1 zijn"),
    (b'{"question": "Wat?", "vraag": "x"}', "Onbekend veld 'vraag'"),
    (b'{"question": "???"}', "Stel een vraag met woorden"),
    (b'{"question": "Wat?", "filters": {"kinds": ["kookboek"]}}', "Onbekende soort document: kookboek"),
    (b'{"question": "Wat?", "filters": {"from": 2020, "to": 2010}}', "eindigt voor ze begint"),
    # found by a robustness trial: lax types were accepted ("5", true as 1) or answered in English
    (b'{"question": "Wat?", "top_k": "5"}', "Het veld 'top_k' moet een geheel getal zijn"),
    (b'{"question": "Wat?", "top_k": true}', "Het veld 'top_k' moet een geheel getal zijn"),
    (b'{"question": "Wat?", "top_k": 5.5}', "Het veld 'top_k' moet een geheel getal zijn"),
    (b'{"question": "Wat?", "filters": {"from": "2000"}}', "moet een geheel getal zijn"),
    (b'{"question": "Wat?", "filters": {"from": 1e20}}', "moet een geheel getal zijn"),
    (b'{"question": "Wat is de Taalunie? \xff\xfe"}', "Ongeldige JSON"),
    (b"[" * 100_000, "Ongeldige JSON"),
    # found by a robustness trial: the JSON parser's own words were English
    (b'{"question": "Wat', "Ongeldige JSON in de aanvraag: een tekst zonder afsluitend aanhalingsteken (bij teken"),
    (b'{"question": ', "Ongeldige JSON in de aanvraag: hier hoort een waarde (bij teken"),
])
def test_malformed_requests_get_422_with_a_dutch_message(api: Server, body: bytes, message: str) -> None:
    resp = httpx.post(f"{api.url}/api/ask", content=body, headers={"content-type": "application/json"})
    assert resp.status_code == 422
    assert message in resp.json()["detail"]


def test_malformed_chat_request_gets_an_openai_style_422(api: Server) -> None:
    resp = httpx.post(f"{api.url}/v1/chat/completions", content=b'{"messages": [',
                      headers={"content-type": "application/json"})
    assert resp.status_code == 422
    body = resp.json()
    assert "Ongeldige JSON" in body["detail"] and body["error"]["message"] == body["detail"]
    lax = httpx.post(f"{api.url}/v1/chat/completions",
                     json={"messages": [{"role": "user", "content": "Wat is de Taalunie?"}], "stream": "yes"})
    assert lax.status_code == 422 and "Het veld 'stream' moet true of false zijn" in lax.json()["detail"]


def test_bodies_over_the_limit_get_413(api: Server) -> None:
    big = json.dumps({"question": "Wat is de Taalunie? " + "x" * 300_000}).encode()
    for path in ("/api/ask", "/v1/chat/completions"):
        resp = httpx.post(f"{api.url}{path}", content=big, headers={"content-type": "application/json"})
        assert resp.status_code == 413 and "te groot" in resp.json()["detail"]

    def chunked() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"question": "'
        for _ in range(40):
            yield b"y" * 10_000
        yield b'"}'

    resp = httpx.post(f"{api.url}/api/ask", content=chunked(), headers={"content-type": "application/json"})
    assert resp.status_code == 413
    assert ask(api, Q_INWONERS).status_code == 200  # the server goes on


# --- nothing is HTML -----------------------------------------------------------------------------

def test_api_answers_are_json_never_html(api: Server) -> None:
    resp = ask(api, Q_INWONERS)
    assert resp.headers["content-type"] == "application/json"
    assert resp.headers["x-content-type-options"] == "nosniff"
    with httpx.stream("POST", f"{api.url}/v1/chat/completions", timeout=60,
                      json={"messages": [{"role": "user", "content": Q_INWONERS}], "stream": True}) as s:
        assert s.headers["content-type"].startswith("text/event-stream")
        assert s.headers["x-content-type-options"] == "nosniff"
        s.read()
    for path in ("/api/health", "/api/documents", f"/api/documents/{SEED_ID}", "/v1/models"):
        r = httpx.get(f"{api.url}{path}")
        assert r.headers["content-type"] == "application/json", path


def test_a_wrong_method_or_path_gets_a_dutch_405_or_404_not_the_chat_page(api: Server) -> None:
    """The chat is mounted at "/"; before, it answered these with its own English 404."""
    r = httpx.get(f"{api.url}/api/ask")
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    assert r.json()["detail"] == "De methode GET is hier niet toegestaan; gebruik POST."
    r = httpx.delete(f"{api.url}/v1/chat/completions")
    assert r.status_code == 405 and r.json()["error"]["type"] == "invalid_request_error"
    r = httpx.post(f"{api.url}/api/vraag", json={"question": Q_INWONERS})
    assert r.status_code == 404 and r.headers["content-type"] == "application/json"
    assert r.json()["detail"].startswith("Niet gevonden: /api/vraag is geen adres van dit API")
    assert httpx.get(f"{api.url}/api/openapi.json").status_code == 200
    assert httpx.get(f"{api.url}/").status_code == 200  # the chat page is still there


def test_the_bare_api_prefixes_a_health_probe_and_the_model_lookup(api: Server) -> None:
    """Found by a robustness trial: /api and /v1 themselves got the chat's English 404, a HEAD probe
    of /api/health a 405, and the openai client's models.retrieve a 404."""
    for path in ("/api", "/v1"):
        r = httpx.get(f"{api.url}{path}")
        assert r.status_code == 404 and r.json()["detail"].startswith(f"Niet gevonden: {path} is geen adres")
    assert httpx.head(f"{api.url}/api/health").status_code == 200
    assert api.client().models.retrieve("topdocumenten").id == "topdocumenten"
    with pytest.raises(openai.NotFoundError) as err:
        api.client().models.retrieve("gpt-4")
    assert err.value.code == "model_not_found"


def test_another_model_is_refused_not_silently_replaced(api: Server) -> None:
    with pytest.raises(openai.NotFoundError) as err:
        api.client().chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": Q_INWONERS}])
    assert err.value.code == "model_not_found"
    assert "Het model 'gpt-4' bestaat hier niet; dit API kent alleen 'topdocumenten'" in err.value.message
    # without a model the one model answers, as before
    r = httpx.post(f"{api.url}/v1/chat/completions", timeout=120,
                   json={"messages": [{"role": "user", "content": Q_INWONERS}]})
    assert r.status_code == 200 and r.json()["model"] == "topdocumenten"


@pytest.mark.parametrize("text", [SCRIPT, IMG, MD_LINK, "**vet** _schuin_ `code` <b>x</b> &amp; $x^2$ ~~weg~~",
                                  "![beeld](http://example.org/x.png)"])
def test_markdown_content_renders_as_the_exact_text(text: str) -> None:
    """A Markdown client (CommonMark, as Open WebUI renders) shows corpus text as text: no tag,
    link, image or emphasis can come out of it."""
    from markdown_it import MarkdownIt

    rendered = MarkdownIt("commonmark").enable("strikethrough").render(markdown_text(text))
    assert "<script" not in rendered and "<img" not in rendered and "<a " not in rendered
    assert "<strong>" not in rendered and "<em>" not in rendered and "<code>" not in rendered
    assert "<s>" not in rendered and "<b>" not in rendered
    from tests.helpers import visible_text

    assert visible_text(rendered).strip() == text


def test_reply_markdown_keeps_markers_and_escapes_the_sources(api: Server) -> None:
    answer = api.pipeline.answer(Q_INWONERS)
    content = reply_markdown(answer)
    assert content.startswith(markdown_text(answer.text, keep_markers=True) + "\n\n**Bronnen**\n\n- [1] ")
    assert "[1]" in content and "\\[1\\]" not in content


# --- access --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def locked(settings: Settings) -> Iterator[Server]:
    """The chat with the API, login on and one API key (failure limit high: these tests guess a lot)."""
    pipeline = Pipeline(settings)
    pipeline.load()
    server = Server(pipeline, auth=LOGIN, api_keys=[KEY], login_limits={"max_failures": 10_000})
    try:
        yield server
    finally:
        server.close()


def _routes(server: Server) -> list[tuple[str, str]]:
    schema = httpx.get(f"{server.url}/api/openapi.json", headers={"Authorization": f"Bearer {KEY}"}).json()
    return [(method.upper(), path.replace("{doc_id}", SEED_ID).replace("{name}", "topdocumenten"))
            for path, ops in schema["paths"].items()
            for method in ops] + [("GET", "/api/openapi.json")]


def test_every_api_route_refuses_unauthenticated_calls(locked: Server) -> None:
    routes = _routes(locked)
    assert len(routes) >= 7
    body = {"question": Q_INWONERS, "messages": [{"role": "user", "content": Q_INWONERS}]}
    bad = [None, "Bearer verkeerd", f"Bearer {KEY}x", "Basic " + base64.b64encode(b"journalist:fout").decode(),
           f"Token {KEY}", "Bearer"]
    for method, path in routes:
        for header in bad:
            headers = {"Authorization": header} if header else {}
            r = httpx.request(method, f"{locked.url}{path}", headers=headers,
                              json=body if method == "POST" else None)
            assert r.status_code == 401, (method, path, header, r.status_code)
            assert r.headers["www-authenticate"].startswith("Bearer")
            assert method == "HEAD" or "Niet ingelogd" in r.json()["detail"]  # a HEAD reply has no body
    # before the body is even read: a malformed or oversized body without a key is still 401
    assert httpx.post(f"{locked.url}/api/ask", content=b"{kapot").status_code == 401
    assert httpx.post(f"{locked.url}/api/ask", content=b"x" * 400_000).status_code == 401


def test_valid_keys_and_the_chat_login_are_accepted(locked: Server) -> None:
    basic = "Basic " + base64.b64encode(f"{LOGIN[0]}:{LOGIN[1]}".encode()).decode()
    for header in (f"Bearer {KEY}", f"Bearer {LOGIN[0]}:{LOGIN[1]}", basic):
        r = httpx.post(f"{locked.url}/api/ask", json={"question": Q_INWONERS}, headers={"Authorization": header},
                       timeout=60)
        assert r.status_code == 200 and "22.000" in r.json()["answer"], header
    with pytest.raises(openai.AuthenticationError):
        locked.client("verkeerde-sleutel").models.list()
    reply = locked.client(KEY).chat.completions.create(
        model="topdocumenten", messages=[{"role": "user", "content": Q_INWONERS}])
    assert "22.000" in (reply.choices[0].message.content or "")


def test_guessing_keys_is_rate_limited_like_the_login(settings: Settings) -> None:
    """After 3 wrong keys (limit set to 3) the client is refused with 429 for the lockout, even
    with the right key; a missing header is not counted as a guess."""
    pipeline = Pipeline(settings)
    pipeline.load()
    server = Server(pipeline, api_keys=[KEY], login_limits={"max_failures": 3, "window": 60, "lockout": 2})
    try:
        health = f"{server.url}/api/health"
        for _ in range(5):
            assert httpx.get(health).status_code == 401  # no header: no guess
        assert httpx.get(health, headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
        for _ in range(3):
            assert httpx.get(health, headers={"Authorization": "Bearer gok"}).status_code == 401
        refused = httpx.get(health, headers={"Authorization": f"Bearer {KEY}"})
        assert refused.status_code == 429 and "Te veel mislukte pogingen" in refused.json()["detail"]
        assert int(refused.headers["retry-after"]) >= 1
        with pytest.raises(openai.RateLimitError):
            server.client(KEY).models.list()
        assert _wait_for(lambda: httpx.get(health, headers={"Authorization": f"Bearer {KEY}"}).status_code == 200,
                         timeout=10)  # the lockout ends
    finally:
        server.close()


def test_chat_page_still_asks_for_the_login(locked: Server) -> None:
    r = httpx.get(f"{locked.url}/gradio_api/info")
    assert r.status_code == 401


# --- limits --------------------------------------------------------------------------------------

def test_concurrent_api_clients_get_no_errors(api: Server) -> None:
    """8 clients x 3 questions through REST and the openai client at once (the 20 x 5 load run
    with timings is rag.bench's); the shared slots never exceed the limit."""
    questions = [(Q_INWONERS, "22.000"), (Q_STOOFVLEES, ABSTAIN_START), (Q_EINSTEIN, "Einstein Telescoop")]
    errors: list[str] = []
    peak = {"in_use": 0}
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            slots = httpx.get(f"{api.url}/api/health").json()["slots"]
            peak["in_use"] = max(peak["in_use"], slots["in_use"])
            time.sleep(0.02)

    def client(i: int) -> None:
        oa = api.client()
        for q, expect in questions:
            try:
                if i % 2:
                    text = ask(api, q).json()["answer"]
                else:
                    reply = oa.chat.completions.create(model="topdocumenten",
                                                       messages=[{"role": "user", "content": q}])
                    text = reply.choices[0].message.content
                if expect not in (text or ""):
                    errors.append(f"{i} {q}: {text!r}")
            except Exception as exc:
                errors.append(f"{i} {q}: {type(exc).__name__}: {exc}")

    watcher = threading.Thread(target=watch)
    watcher.start()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    done.set()
    watcher.join()
    assert not errors
    assert 1 <= peak["in_use"] <= 4


def test_answer_slots_are_fifo_bounded_and_cancellable() -> None:
    from rag.errors import AnswerCancelled, BusyError
    from rag.pipeline import AnswerSlots

    slots = AnswerSlots(1, max_waiting=2, poll=0.01)
    order: list[int] = []
    slots.acquire()

    def waiter(i: int) -> None:
        with slots.hold():
            order.append(i)

    threads = []
    for i in range(2):
        threads.append(threading.Thread(target=waiter, args=(i,)))
        threads[-1].start()
        assert _wait_for(lambda n=i + 1: slots.waiting == n, timeout=5)
    with pytest.raises(BusyError):
        slots.acquire()  # two wait already
    cancel = threading.Event()
    cancel.set()
    slots.max_waiting = 3
    with pytest.raises(AnswerCancelled):
        slots.acquire(cancel)
    assert slots.waiting == 2 and slots.in_use == 1
    slots.release()
    for t in threads:
        t.join(timeout=5)
    assert order == [0, 1] and slots.in_use == 0 and slots.waiting == 0


def _wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _slots(server: Server) -> dict[str, int]:
    return dict(httpx.get(f"{server.url}/api/health", timeout=10).json()["slots"])


def _open_stream(server: Server, question: str) -> socket.socket:
    """A raw streaming chat request; returns the socket after the first bytes of the reply."""
    body = json.dumps({"messages": [{"role": "user", "content": question}], "stream": True}).encode()
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    sock.settimeout(30)
    assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    return sock


def test_chat_and_api_share_the_slots_and_disconnects_free_them(settings: Settings) -> None:
    """One slot; a language model that takes a minute to reply. While a streaming API question
    holds the slot, a chat question waits for it (one queue for chat and API); an API client that
    disconnects while waiting leaves the queue without reaching the model; the streaming client
    that disconnects mid-stream frees the slot at once (its model request is closed), and the
    waiting chat question is answered."""
    from http.server import ThreadingHTTPServer

    from gradio_client import Client

    from tests.test_llm import MODEL, FakeLLM, Reply, _make_handler

    state = FakeLLM()
    llm = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(state))
    llm.daemon_threads = True
    threading.Thread(target=llm.serve_forever, daemon=True).start()
    state.script["inwoners"] = Reply("Een gemeente in Vlaanderen telt gemiddeld iets meer dan 22.000 inwoners [1].",
                                     delay=60.0)
    pipeline = Pipeline(settings.with_(llm_base_url=f"http://127.0.0.1:{llm.server_address[1]}/v1",
                                       llm_model=MODEL, llm_timeout=120.0))
    pipeline.load()
    server = Server(pipeline, concurrency=1)
    chat_reply: list[Any] = []
    try:
        chat_client = Client(f"{server.url}/", verbose=False)
        first = _open_stream(server, Q_INWONERS)
        assert _wait_for(lambda: _slots(server)["in_use"] == 1 and len(state.requests) == 1)
        chat = threading.Thread(target=lambda: chat_reply.append(
            chat_client.predict(Q_STOOFVLEES, [], api_name="/chat")))
        chat.start()
        assert _wait_for(lambda: _slots(server)["waiting"] == 1)  # the chat waits for the API's slot
        second = _open_stream(server, Q_INWONERS)
        assert _wait_for(lambda: _slots(server)["waiting"] == 2)
        second.close()
        assert _wait_for(lambda: _slots(server)["waiting"] == 1)
        assert len(state.requests) == 1  # the API waiter never reached the model
        assert chat.is_alive() and not chat_reply
        first.close()  # mid-stream (the first chunk was sent), while the model is still thinking
        chat.join(timeout=20)
        assert chat_reply and ABSTAIN_START in str(chat_reply[0][1][-1])
        assert _wait_for(lambda: _slots(server)["in_use"] == 0 and _slots(server)["waiting"] == 0, timeout=5)
    finally:
        server.close()
        state.stop.set()
        llm.shutdown()
        llm.server_close()


# --- the real `python app.py`: flags, RAG_API_KEYS, and hostile corpus text ----------------------

@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python app.py --concurrency 2`` with ``RAG_API_KEYS`` over a corpus copy plus a document
    full of markup (index built at start-up, embedding cache seeded)."""
    import os
    import subprocess
    import sys

    from tests.helpers import stop
    from tests.test_app import ROOT, hostile_corpus, seeded_index_dir

    base = tmp_path_factory.mktemp("api-hostile")
    corpus = hostile_corpus(base / "Kokkel Dossier")
    index = seeded_index_dir(base / "index")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_API_KEYS=f"andere-sleutel, {KEY}", PYTHONUNBUFFERED="1")
    log = open(base / "server.log", "w", encoding="utf-8")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port), "--concurrency", "2",
                             "--corpus", str(corpus), "--index", str(index)], cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT, text=True, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        assert _wait_for(lambda: _up(url, proc), timeout=300), (base / "server.log").read_text()
        yield url
    finally:
        stop(proc)
        log.close()


def _up(url: str, proc: Any) -> bool:
    assert proc.poll() is None, "app.py stopte"
    try:
        return httpx.get(f"{url}/api/health", timeout=2).status_code == 401
    except httpx.HTTPError:
        return False


Q_KOKKELS = "Hoeveel ton kokkels levert de kokkelvisserij in de Westerschelde jaarlijks op?"


def test_app_py_serves_the_api_with_its_flags_and_keys(hostile_app: str) -> None:
    assert httpx.get(f"{hostile_app}/api/health").status_code == 401  # RAG_API_KEYS read via Settings
    assert httpx.get(f"{hostile_app}/").status_code == 200  # the chat itself has no login
    health = httpx.get(f"{hostile_app}/api/health", headers={"Authorization": f"Bearer {KEY}"}).json()
    assert health["slots"]["limit"] == 2 and health["documents"] == 33  # --concurrency, the extra document
    client = openai.OpenAI(base_url=f"{hostile_app}/v1", api_key="andere-sleutel", max_retries=0)
    assert [m.id for m in client.models.list().data] == ["kokkel-dossier"]  # named after the corpus folder


def test_hostile_corpus_text_stays_text_in_the_api(hostile_app: str) -> None:
    from markdown_it import MarkdownIt

    from tests.helpers import visible_text

    client = openai.OpenAI(base_url=f"{hostile_app}/v1", api_key=KEY, max_retries=0)
    content = client.chat.completions.create(
        model="kokkel-dossier", messages=[{"role": "user", "content": Q_KOKKELS}]).choices[0].message.content or ""
    rendered = MarkdownIt("commonmark").render(content)
    for tag in ("<script", "<img", "<a href=\"javascript", "<iframe"):
        assert tag not in rendered
    shown = visible_text(rendered)
    assert "4.321 ton kokkels" in shown and SCRIPT in shown and IMG in shown  # the exact text, as text

    r = httpx.post(f"{hostile_app}/api/ask", json={"question": Q_KOKKELS}, headers={"Authorization": f"Bearer {KEY}"},
                   timeout=60)
    assert r.headers["content-type"] == "application/json" and r.headers["x-content-type-options"] == "nosniff"
    cited = r.json()["citations"][0]
    assert SCRIPT in cited["text"] and cited["source"] == "javascript:alert(1)"  # data, untouched
    assert "<javascript:alert(1)>" not in content  # a bad source address is never made a link
