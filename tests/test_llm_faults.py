# ruff: noqa: F811  (the fixtures imported from tests.test_llm are used as test parameters)
"""Issue 14, items 2 to 5: language-model replies that are subtly false, huge, slow or malformed.

Every case runs against the real scripted OpenAI-compatible HTTP server on 127.0.0.1 from
``tests/test_llm.py`` and the real session index; every bad reply must end as either a verified
answer (only supported sentences, mode ``llm``) or the extractive answer with a Dutch notice
(mode ``extractive-fallback``), within the configured deadline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from rag.generate import MAX_REPLY_CHARS, sentence_support
from rag.settings import Settings
from tests.conftest import CORPUS, ROOT
from tests.test_llm import (  # noqa: F401  (fixtures)
    MODEL,
    FakeLLM,
    Reply,
    assert_verified,
    fast_timeout_pipeline,
    llm_pipeline,
    llm_server,
    number_of,
    server,
)

Q_INHABITANTS = "Hoeveel inwoners telt een gemiddelde gemeente in Vlaanderen?"
SUPPORTED = "Een gemeente in Vlaanderen telt gemiddeld iets meer dan 22.000 inwoners"
EVIDENCE = "22.000 inwoners"


def _fallback(ans: Any, extractive: Any) -> None:
    assert ans.mode == "extractive-fallback" and not ans.abstained
    assert ans.text == extractive.text
    assert_verified(ans)
    assert any("extractieve antwoord" in n for n in ans.notices), ans.notices


# --- item 2: support check of generated sentences -------------------------------------------------

def test_fc02_invented_clause_on_supported_words_is_dropped(server: FakeLLM, llm_pipeline: Any,
                                                             pipeline: Any) -> None:
    """fc02: '…22.000 inwoners, maar de Vlaamse minister-president heeft daarover gelogen [1].' is not
    shown as a checked generated answer: the sentence is dropped, the answer falls back to extractive."""
    def reply(body: dict[str, Any]) -> str:
        n = number_of(body, EVIDENCE)
        return f"{SUPPORTED}, maar de Vlaamse minister-president heeft daarover gelogen [{n}]."

    server.script[Q_INHABITANTS] = Reply(reply)
    ans = llm_pipeline.answer(Q_INHABITANTS)
    assert len(server.requests) == 1
    assert "gelogen" not in ans.text
    _fallback(ans, pipeline.answer(Q_INHABITANTS))
    assert any("niet aan de bronnen worden getoetst" in n for n in ans.notices)


def test_inverted_comparison_is_dropped_and_the_true_sentence_kept(server: FakeLLM, llm_pipeline: Any) -> None:
    """Every word of '…telt veel meer inwoners dan een Nederlandse gemeente [1]' is in the passage, but
    the passage says the opposite: the comparison words do not stand next to the same words there."""
    def reply(body: dict[str, Any]) -> str:
        n = number_of(body, EVIDENCE)
        return (f"{SUPPORTED} [{n}]. "
                f"Een gemeente in Vlaanderen telt veel meer inwoners dan een Nederlandse gemeente [{n}].")

    server.script[Q_INHABITANTS] = Reply(reply)
    ans = llm_pipeline.answer(Q_INHABITANTS)
    assert ans.mode == "llm"
    assert_verified(ans)
    assert ans.text == f"{SUPPORTED} [1]."
    assert any("1 zin" in n and "weggelaten" in n for n in ans.notices)


def test_sentence_support_rules() -> None:
    """Coverage is stem-, accent- and compound-aware; negation and comparison words must match."""
    ev = ["De gemiddelde Nederlandse gemeente telt op dit moment meer dan 51.000 inwoners, een gemeente in "
          "Vlaanderen telt gemiddeld iets meer dan 22.000 inwoners.",
          "Het Taalunieverdrag werd in 1980 ondertekend door België en Nederland."]
    assert sentence_support(f"{SUPPORTED}.", ev) == []
    assert sentence_support("Een Nederlandse gemeente telt meer dan 51.000 inwoners.", ev) == []
    assert sentence_support("Het verdrag van de taalunie werd in 1980 ondertekend door Belgie.", ev) == []  # accents
    assert sentence_support("Het verdrag werd ondertekend.", ev) == []  # part of the compound
    assert "gelogen" in " ".join(sentence_support(f"{SUPPORTED}, maar iemand heeft gelogen.", ev))
    assert sentence_support("Een Nederlandse gemeente telt niet meer dan 51.000 inwoners.", ev)
    assert sentence_support("Een gemeente in Vlaanderen telt meer inwoners dan een Nederlandse gemeente.", ev)
    neg = ["Het verdrag werd niet ondertekend door Frankrijk."]
    assert sentence_support("Het verdrag werd ondertekend door Frankrijk.", neg)  # negation left out
    assert sentence_support("Het verdrag werd niet ondertekend door Frankrijk.", neg) == []


def test_llm_label_promises_only_what_was_checked(server: FakeLLM, llm_pipeline: Any) -> None:
    """The 'gecontroleerd' label is shown only on an answer whose every sentence passed the check."""
    from app import answer_html
    from tests.helpers import visible_text

    def reply(body: dict[str, Any]) -> str:
        n = number_of(body, EVIDENCE)
        return f"{SUPPORTED} [{n}]. De minister-president heeft daarover gelogen [{n}]."

    server.script[Q_INHABITANTS] = Reply(reply)
    ans = llm_pipeline.answer(Q_INHABITANTS)
    shown = visible_text(answer_html(ans))
    assert ans.text == f"{SUPPORTED} [1]." and "gelogen" not in shown
    assert "gecontroleerd" in shown and "1 zin" in shown


# --- item 3: reply size -----------------------------------------------------------------------------

@pytest.mark.parametrize("size", [100_000, 300_000, 5_000_000])
def test_huge_reply_is_cut_before_parsing_and_falls_back(server: FakeLLM, llm_pipeline: Any, pipeline: Any,
                                                         size: int) -> None:
    """A reply of 100,000, 300,000 or 5,000,000 characters (one sentence, no full stop) is refused after
    MAX_REPLY_BYTES bytes, before any JSON parsing or sentence splitting: fallback in well under 5 s."""
    server.script[Q_INHABITANTS] = Reply("inwoners " * (size // 9))
    extractive = pipeline.answer(Q_INHABITANTS)
    t = time.perf_counter()
    ans = llm_pipeline.answer(Q_INHABITANTS)
    took = time.perf_counter() - t
    _fallback(ans, extractive)
    assert any("te groot" in n for n in ans.notices)
    assert took < 5.0, took


def test_huge_streamed_reply_is_cut_and_falls_back(server: FakeLLM, llm_pipeline: Any, pipeline: Any) -> None:
    """The same in the chat's streaming mode: at most MAX_REPLY_CHARS characters reach on_token."""
    server.script[Q_INHABITANTS] = Reply("inwoners " * 33_000)  # 300,000 characters
    chunks: list[str] = []
    t = time.perf_counter()
    ans = llm_pipeline.answer(Q_INHABITANTS, on_token=chunks.append)
    assert time.perf_counter() - t < 5.0
    assert ans.mode == "extractive-fallback"
    assert sum(map(len, chunks)) <= MAX_REPLY_CHARS
    assert any("te groot" in n for n in ans.notices)


# --- item 4: one wall-clock deadline ----------------------------------------------------------------

def _trickle(handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
    """A valid completion, sent one byte every 0.2 s (about 60 s in all)."""
    data = json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": SUPPORTED + " [1]."}}]})
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    for ch in data.encode():
        handler.wfile.write(bytes([ch]))
        handler.wfile.flush()
        time.sleep(0.2)


def _keep_alives(handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
    """An SSE stream that only ever sends keep-alive comments, every 0.2 s for 60 s."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.end_headers()
    for _ in range(300):
        handler.wfile.write(b": keep-alive\n\n")
        handler.wfile.flush()
        time.sleep(0.2)


def test_trickling_endpoint_is_given_up_at_the_total_deadline(server: FakeLLM, fast_timeout_pipeline: Any,
                                                               pipeline: Any) -> None:
    """One byte every 0.2 s never trips a per-read time-out; the 1 s total deadline does."""
    server.script[Q_INHABITANTS] = Reply("", raw=_trickle)
    extractive = pipeline.answer(Q_INHABITANTS)
    t = time.perf_counter()
    ans = fast_timeout_pipeline.answer(Q_INHABITANTS)
    took = time.perf_counter() - t
    _fallback(ans, extractive)
    assert any("time-out" in n for n in ans.notices)
    assert took < 2.5, took


def test_sse_keep_alives_do_not_extend_the_deadline(server: FakeLLM, fast_timeout_pipeline: Any) -> None:
    server.script[Q_INHABITANTS] = Reply("", raw=_keep_alives)
    t = time.perf_counter()
    ans = fast_timeout_pipeline.answer(Q_INHABITANTS, on_token=lambda _c: None)
    took = time.perf_counter() - t
    assert ans.mode == "extractive-fallback"
    assert any("time-out" in n for n in ans.notices)
    assert took < 2.5, took


# --- item 5: malformed replies --------------------------------------------------------------------

def _body(data: bytes, content_type: str = "application/json") -> Any:
    def write(handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
    return write


def _completion(content: Any) -> bytes:
    return json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": MODEL,
                       "choices": [{"index": 0, "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": content}}]}).encode()


MALFORMED = {
    "cut-off-json": _completion("Een gemeente [1].")[:40],
    "content-is-a-number": _completion(42),
    "content-is-a-list": _completion([{"type": "text", "text": "x"}]),
    "no-choices": b'{"id": "x", "object": "chat.completion"}',
    "choices-not-a-list": b'{"choices": "ja"}',
    "message-not-an-object": b'{"choices": [{"message": "tekst"}]}',
    "json-array": b"[1, 2, 3]",
    "html-page": b"<html><body>502 Bad Gateway</body></html>",
    "empty-body": b"",
    "deeply-nested": b"[" * 100_000 + b"]" * 100_000,
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_reply_falls_back_with_a_notice(server: FakeLLM, llm_pipeline: Any, pipeline: Any,
                                                  case: str) -> None:
    server.script[Q_INHABITANTS] = Reply("", raw=_body(MALFORMED[case]))
    ans = llm_pipeline.answer(Q_INHABITANTS)
    _fallback(ans, pipeline.answer(Q_INHABITANTS))
    assert any(n.startswith("Geen gegenereerd antwoord: het taalmodel") for n in ans.notices), ans.notices


@pytest.mark.parametrize("case", ["bad-json-chunk", "content-is-a-number", "cut-off"])
def test_malformed_stream_falls_back_with_a_notice(server: FakeLLM, llm_pipeline: Any, case: str) -> None:
    events = {
        "bad-json-chunk": b'data: {"choices": [{"delta": {"content": "Een"}}]}\n\ndata: {"choices": [\n\n',
        "content-is-a-number": b'data: {"choices": [{"delta": {"content": 7}}]}\n\ndata: [DONE]\n\n',
        "cut-off": b'data: {"choices": [{"delta": {"cont',
    }[case]
    server.script[Q_INHABITANTS] = Reply("", raw=_body(events, "text/event-stream"))
    ans = llm_pipeline.answer(Q_INHABITANTS, on_token=lambda _c: None)
    assert ans.mode == "extractive-fallback"
    assert any("extractieve antwoord" in n for n in ans.notices)


@pytest.mark.slow
def test_cli_cut_off_json_reply_is_an_extractive_answer(server: FakeLLM, settings: Settings) -> None:
    """``rag.ask`` used to end with ``interne fout: JSONDecodeError`` (exit 1)."""
    server.script[Q_INHABITANTS] = Reply("", raw=_body(MALFORMED["cut-off-json"]))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_LLM_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    cmd = [sys.executable, "-m", "rag.ask", "--json", "--no-build", "--index", str(settings.index_dir),
           "--corpus", str(CORPUS), "--llm-base-url", server.url, "--llm-model", MODEL, Q_INHABITANTS]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "interne fout" not in proc.stderr
    out = json.loads(proc.stdout)
    assert out["mode"] == "extractive-fallback" and "22.000" in out["answer"]
    assert any("onbruikbaar antwoord" in n for n in out["notices"])


def test_reply_checks_are_bounded_for_any_input() -> None:
    """verify_generated itself never works on more than MAX_REPLY_CHARS characters."""
    from rag.generate import verify_generated

    t = time.perf_counter()
    verify_generated("woord " * 1_000_000, [])
    assert time.perf_counter() - t < 5.0
