"""Web chat for journalists: ``python app.py`` serves a Gradio chat on http://127.0.0.1:7860.

Every answer shows its ``[n]`` markers and, below it, the cited paragraphs (document title,
date, locator, source link, and the quoted sentence highlighted inside the full paragraph).
An abstention shows the Dutch message and no sources. Follow-up questions send the earlier
questions of the conversation to :meth:`rag.pipeline.Pipeline.answer` as ``history``.

The page has a Chat tab (a filter row of kinds, year range and documents whose
:class:`~rag.filters.Filters` go to ``Pipeline.answer``; each new answer is scrolled to the top of
the panel) and a Documents tab (a sortable, searchable table of ``Pipeline.documents()`` and a view
of one document by section, read from the index's passages). Every citation's locator links to its
paragraph in that view through :func:`passage_link` (``#passage-<percent-encoded passage id>``), the
one link format other tabs use as well.

Safety rules, enforced here and tested in ``tests/test_app.py`` and ``tests/test_browser.py``:

* Corpus and question text is always shown as text: every piece is HTML-escaped and the
  characters Markdown reacts to are written as numeric entities, so neither Gradio's
  Markdown renderer nor the browser can turn it into markup; links are only made for
  ``http(s)`` URLs (anything else is shown as plain text).
* Nothing outside the machine is contacted: no share link, no analytics, offline models,
  no run history, no monitoring, no MCP server, no server-side rendering.
* The server listens on 127.0.0.1 unless ``--host`` says otherwise; ``RAG_AUTH=user:password``
  or ``--auth-file PATH`` turns on login (never ``--auth user:password``: the process list would
  show the password), with a limit on failed logins per client, and Gradio's session routes
  (``/gradio_api/cancel``, ``/reset``, ``/stream/…``) refuse requests without login; Gradio's file routes (``/file=…``,
  ``/gradio_api/file=…``), uploads and its URL proxy are refused with 403, so the server
  hands out no file besides its own static assets. ``--upload`` (only on 127.0.0.1 or with login)
  opens the upload route alone, for the "Document toevoegen" button (:mod:`rag.upload`).

Tabs: *Chat* (with "Kopieer met bronnen" and 👍/👎 under every answer, conversation download as
Markdown/JSON, optional upload) and *Tijdlijn* (:mod:`rag.timeline`). Each tab and row is built by its
own function (``_chat_tab``, ``feedback_row``, ``export_row``, ``upload_row``, ``timeline_tab``).

Flags: ``--host``, ``--port``, ``--auth-file``, ``--upload``, ``--concurrency`` plus the retrieval/LLM flags
of ``rag.ask`` (``--top-k``, ``--mode``, ``--corpus``, ``--index``, ``--embedder``,
``--no-build``, ``--llm-base-url``, ``--llm-model``, ``--llm-api-key``). A missing or stale
index is built before the server starts, with progress on the console.

Programmatic use (tests)::

    from app import build_app, launch_app
    demo = build_app(settings)               # gr.Blocks, not launched
    url = launch_app(demo, port=7861, prevent_thread_lock=True)
    ...
    demo.close()

The chat event is exposed to ``gradio_client`` as ``/chat``: inputs ``(message, history)``
where ``history`` is the chatbot value (list of ``{"role", "content"}`` messages), outputs
``(textbox value, new history)``; the last assistant message is the rendered answer HTML.
"""

from __future__ import annotations

from rag.settings import quiet_libraries

quiet_libraries()  # before gradio / huggingface_hub are imported: no telemetry, no hub look-ups

import argparse
import base64
import html
import json
import logging
import math
import queue
import re
import sys
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence
from dataclasses import asdict, dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import gradio as gr

from rag.answer import FRAGMENT_NOTE, Answer, Citation, answer_to_json
from rag.chunking import Passage
from rag.errors import EmptyQuestionError, RagError
from rag.export import answer_markdown, conversation_json, conversation_markdown
from rag.feedback import append_feedback
from rag.filters import FilterError, Filters, parse_year
from rag.index import DocumentInfo
from rag.pipeline import Pipeline
from rag.settings import DutchArgumentParser, Settings, add_settings_arguments, env_value, settings_from_args
from rag.text import dutch_date
from rag.timeline import DONE, PLANNED, TimelineEntry, build_timeline, filter_timeline

log = logging.getLogger("rag.app")
#: characters below the space are control characters (never in a shown link)
_FIRST_PRINTABLE = 0x20
_MS_PER_S = 1000
#: gradio's queue push returns (…, …, status) when the queue is full
_PUSH_RESULT_LEN = 3
_MAX_PORT = 65535

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
#: simultaneous answers computed by the server (Gradio queue concurrency)
DEFAULT_CONCURRENCY = 4
#: questions waiting in Gradio's queue before new ones are refused
QUEUE_SIZE = 256
#: shown (HTTP 503) when the queue is full; Gradio's own text is English
QUEUE_FULL_TEXT = ("De chat is op dit moment te druk: de wachtrij met vragen is vol. "
                   "Probeer het over een minuut opnieuw.")
#: failed logins from one client within LOGIN_WINDOW seconds before further attempts are refused
LOGIN_MAX_FAILURES = 5
LOGIN_WINDOW = 60.0
#: seconds a client is refused after LOGIN_MAX_FAILURES failures
LOGIN_LOCKOUT = 300.0
#: earlier questions passed to the pipeline as follow-up context (it uses the last one)
HISTORY_QUESTIONS = 5
#: longest question echoed in the chat (the pipeline itself cuts at settings.max_question_chars)
MAX_ECHO_CHARS = 4000

#: answers remembered per server for feedback and export (oldest forgotten first)
MAX_RECORDS = 5000
_ANSWER_ID = re.compile(r'class="rag-actions rag-answer-id-([0-9a-f]{32})"')

PENDING_TEXT = "Bezig met zoeken…"
#: pixels of the chat panel (the CSS gives the newest answer row nearly this height, so it can be
#: scrolled to the top of the panel)
CHAT_HEIGHT = 600
EXAMPLES = [
    "Hoeveel inwoners telt een gemiddelde gemeente in Vlaanderen?",
    "Wat zeggen Nederland en Vlaanderen over de Einstein Telescoop?",
    "Wanneer werd de intentieverklaring over estuaire vaart ondertekend?",
    "Wat is het recept voor stoofvlees?",
]
TITLE = "Vraag het de topdocumenten"
INTRO = (
    "Stel een vraag over de documenten van de Nederlands-Vlaamse regeringstoppen. Elk antwoord "
    "bestaat uit letterlijke zinnen uit de documenten met een bronvermelding [n]; onder het antwoord "
    "staan de geciteerde alinea's met de zin gemarkeerd. Staat het antwoord niet in de documenten, "
    "dan zegt de chat dat en citeert niets. Vervolgvragen (\u201eEn wanneer?\u201d) gebruiken de vorige vraag."
)

CSS = """
.rag-answer { line-height: 1.5; }
/* Gradio's bundled semibold/bold web font lacks some capitals (B, A) in this Chromium: bold
   headings use the text font's own weights via a plain system stack instead */
.rag-answer .rag-sources-title, .rag-answer .rag-source-head, .rag-answer .rag-locator,
.rag-answer .rag-marker, .rag-answer .rag-source-head *, .rag-fragment-label, .rag-doc-title, .rag-doc-section h3 {
  font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif !important; }
.rag-text { margin: 0 0 .5em 0; }
.rag-marker { font-weight: 700; color: var(--color-accent); white-space: nowrap; }
.rag-abstained .rag-text { font-style: italic; }
.rag-notices { font-size: .8em; opacity: .75; margin-bottom: .4em; }
.rag-notice { display: block; }
.rag-sources { border-top: 1px solid var(--border-color-primary); margin-top: .6em; padding-top: .4em; }
.rag-sources-title { font-size: .85em; font-weight: 700; letter-spacing: .03em; opacity: .7; }
.rag-source { margin: .6em 0 .9em 0; }
.rag-source-head { font-weight: 700; }
.rag-meta { font-size: .85em; opacity: .85; }
.rag-locator { font-weight: 700; }
.rag-fragment { color: #8a5a00; font-style: italic; }
.rag-link { font-size: .8em; word-break: break-all; }
.rag-paragraph { margin: .3em 0 0 0; padding: .3em .7em; border-left: 3px solid var(--border-color-accent);
  font-size: .92em; }
.rag-paragraph mark { background: #fde68a; color: #111; padding: 0 .1em; }
.rag-quote-alone { font-size: .85em; }
.rag-related { font-size: .8em; opacity: .8; margin-top: .5em; }
.rag-footer { font-size: .75em; opacity: .6; margin-top: .3em; }
.rag-pending { opacity: .7; font-style: italic; }
.rag-error { color: var(--error-text-color, #b91c1c); }
.rag-actions { margin-top: .4em; }
.rag-copy-md { display: none !important; }
.rag-copy { font-size: .8em; padding: .15em .6em; border: 1px solid var(--border-color-primary); border-radius: .4em;
  background: var(--background-fill-secondary); cursor: pointer; }
/* timeline tab */
.rag-timeline { line-height: 1.45; }
.rag-tl-count { font-size: .9em; opacity: .8; }
.rag-tl-year { font-size: 1.15em; font-weight: 700; margin: .9em 0 .2em 0;
  border-bottom: 1px solid var(--border-color-primary);
  font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; }
.rag-tl-list { list-style: none; padding-left: 0; margin: 0; }
.rag-tl-entry { margin: .5em 0 .8em 0; padding-left: .7em; border-left: 3px solid var(--border-color-accent); }
.rag-tl-date { font-weight: 700; font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; }
.rag-tl-precision { font-size: .8em; opacity: .7; }
.rag-tl-status { font-size: .78em; padding: 0 .4em; border-radius: .6em; margin-left: .3em; }
.rag-tl-done { background: #dcfce7; color: #14532d; }
.rag-tl-planned { background: #dbeafe; color: #1e3a8a; }
.rag-tl-sentence mark { background: #fde68a; color: #111; padding: 0 .1em; }
.rag-tl-cite { font-size: .85em; }
.rag-tl-cite .rag-locator { font-weight: 400; }
.rag-fragment-label { display: inline-block; font-style: normal; font-weight: 700; font-size: .8em;
  letter-spacing: .03em; padding: 0 .35em; margin-right: .25em;
  border: 1px solid #c08a2b; border-radius: 3px; background: #fff4dc; color: #7a4d00; }
a.rag-doc-link { color: inherit; text-decoration: underline dotted; }
/* the newest answer can be scrolled to the top of the panel even when it is short (the panel is
   CHAT_HEIGHT = 600 px high) */
#rag-chat .message-wrap > .message-row.bot-row:last-of-type { min-height: 590px; align-items: flex-start; }
#rag-filters { gap: .5em; }
#rag-filters .rag-filter-clear, #rag-filter-clear { align-self: center; }
.rag-doc { line-height: 1.5; }
.rag-doc-title { margin: .2em 0 .3em 0; }
.rag-doc-section h3 { margin: 1.1em 0 .3em 0; font-size: 1.05em; }
.rag-doc-para { padding: .25em .6em; margin: .2em 0; border-left: 3px solid transparent; scroll-margin-top: 4em; }
.rag-doc-para p { margin: .1em 0 .2em 0; }
.rag-doc-para .rag-locator { font-size: .78em; opacity: .75; text-decoration: none; color: inherit; }
.rag-doc-para.rag-target { background: #fef3c7; border-left-color: #d97706; }
"""

# --- rendering: every piece of corpus/question text goes through text_html() -----------------

# HTML specials, plus every character that gives inline Markdown (marked, GFM), KaTeX or
# mermaid a meaning. Line-start syntax (lists, headings) cannot occur: newlines become <br>.
_ENTITY = {c: f"&#{ord(c)};" for c in "&<>\"'\\`*_{}[]()#!|~$"}
_MARKER = re.compile(r"\[(\d+)\]")
_MODE_LABELS = {
    "extractive": "letterlijke zinnen uit de documenten",
    "llm": "geformuleerd door het taalmodel, gecontroleerd tegen de geciteerde alinea's",
    "extractive-fallback": "letterlijke zinnen uit de documenten (taalmodel niet gebruikt)",
}
_QUESTION_DIV = re.compile(r'^<div class="rag-question">(.*)</div>$', re.DOTALL)


def text_html(text: str | None) -> str:
    """Inert HTML for arbitrary text: every character that HTML, Markdown or LaTeX could act on
    is written as a numeric entity, and line breaks become ``<br>``. The browser shows the exact
    text; no tag, link, emphasis or formula can come out of it."""
    if not text:
        return ""
    out = "".join(_ENTITY.get(ch, ch) for ch in str(text))
    return out.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")


def safe_url(url: str | None) -> str | None:
    """``url`` if it is an absolute http(s) URL with a host, else None (javascript:, data:,
    relative paths and anything odd are not linked)."""
    if not url:
        return None
    url = url.strip()
    if any(ch.isspace() or ord(ch) < _FIRST_PRINTABLE for ch in url) or any(ch in url for ch in "<>\"'`\\"):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def link_html(url: str | None) -> str:
    """An ``<a>`` for an http(s) URL (opened in a new tab, no referrer); other values as plain text."""
    good = safe_url(url)
    if good is None:
        return f'<span class="rag-link-text">{text_html(url)}</span>' if url else ""
    href = html.escape(good, quote=True)
    return f'<a href="{href}" target="_blank" rel="noopener noreferrer nofollow">{text_html(good)}</a>'


def _find_quote(paragraph: str, quote: str) -> tuple[int, int] | None:
    """Character span of ``quote`` in ``paragraph``: exact, else ignoring case and runs of whitespace."""
    if not quote:
        return None
    start = paragraph.find(quote)
    if start >= 0:
        return start, start + len(quote)
    words = quote.split()
    if not words:
        return None
    pattern = r"\s+".join(re.escape(w) for w in words)
    m = re.search(pattern, paragraph, re.IGNORECASE)
    return (m.start(), m.end()) if m else None


def paragraph_html(paragraph: str, quotes: str | Sequence[str]) -> str:
    """The full paragraph as inert text with each quoted part (``quotes``: one or several spans)
    inside ``<mark>``; a quote not found in the paragraph is shown below it."""
    quotes = [quotes] if isinstance(quotes, str) else list(quotes)
    where = {q: _find_quote(paragraph, q) for q in quotes}
    found = sorted({span for span in where.values() if span is not None})
    body, at = [], 0
    for a, b in found:
        if a < at:  # overlaps the previous mark
            continue
        body.append(f"{text_html(paragraph[at:a])}<mark>{text_html(paragraph[a:b])}</mark>")
        at = b
    body.append(text_html(paragraph[at:]))
    alone = "".join(f'<div class="rag-quote-alone">Geciteerd: <mark>{text_html(q)}</mark></div>'
                    for q in quotes if where[q] is None)
    return f'<blockquote class="rag-paragraph">{"".join(body)}</blockquote>{alone}'


def answer_text_html(text: str, numbers: set[int]) -> str:
    """Answer text as inert HTML with the ``[n]`` markers of real citations emphasised."""
    out: list[str] = []
    pos = 0
    for m in _MARKER.finditer(text):
        if int(m.group(1)) not in numbers:
            continue
        out.append(text_html(text[pos:m.start()]))
        out.append(f'<span class="rag-marker">[{int(m.group(1))}]</span>')
        pos = m.end()
    out.append(text_html(text[pos:]))
    return "".join(out)


def passage_link(passage_id: str) -> str:
    """The stable in-page link to one passage in the Documents tab: ``#passage-`` followed by the
    passage id percent-encoded (every character except letters, digits and ``-._~``), e.g.
    ``#passage-2023-slotverklaring-nederlands-vlaamse-top-den-bosch%232.b%2Fp1``.

    The same string, without the ``#``, is the HTML ``id`` of the paragraph in the document view
    (:func:`document_html`), and opening the chat URL with this fragment opens that document with the
    paragraph highlighted. Chat citations use it; so may any other tab (timeline). The inverse is
    :func:`passage_from_link`."""
    return "#" + passage_anchor(passage_id)


def passage_anchor(passage_id: str) -> str:
    """HTML ``id`` of a passage in the document view: ``passage-`` + the percent-encoded passage id."""
    return "passage-" + quote(passage_id, safe="")


def passage_from_link(link: str | None) -> str | None:
    """The passage id of a :func:`passage_link` (with or without ``#``, or a whole URL ending in
    one); None when ``link`` is no passage link."""
    if not link:
        return None
    fragment = link.rsplit("#", 1)[-1] if "#" in link else link
    if not fragment.startswith("passage-") or len(fragment) <= len("passage-"):
        return None
    return unquote(fragment[len("passage-"):]) or None


def fragment_html() -> str:
    """The visible "fragment" label with the note that the rest of the document is not in the corpus."""
    label, _, note = FRAGMENT_NOTE.partition(":")
    return (f'<span class="rag-fragment"><span class="rag-fragment-label">{text_html(label)}</span> '
            f"{text_html(note.strip())}</span>")


def citation_html(c: Citation) -> str:
    """One cited source: ``[n] title``, date · locator (a link to the paragraph in the Documents
    tab, :func:`passage_link`) · fragment label, source link, paragraph with the quote marked."""
    p = c.passage
    href = html.escape(passage_link(p.id), quote=True)
    meta = [f'<a class="rag-locator rag-doc-link" href="{href}">{text_html(p.locator)}</a>']
    if p.fragment:
        meta.append(fragment_html())
    if p.date:
        meta.insert(0, f'<span class="rag-date">{text_html(dutch_date(p.date))}</span>')
    link = f'<div class="rag-link">Bron: {link_html(p.source)}</div>' if p.source else ""
    return (f'<div class="rag-source"><div class="rag-source-head"><span class="rag-marker">[{c.n}]</span> '
            f'<span class="rag-title">{text_html(p.title)}</span></div>'
            f'<div class="rag-meta">{" · ".join(meta)}</div>{link}'
            f"{paragraph_html(p.paragraph_text, c.spans)}</div>")


def answer_html(answer: Answer) -> str:
    """The assistant message for an :class:`~rag.answer.Answer`: notices, text with markers,
    then the cited paragraphs (none for an abstention; related passages only as a clearly marked
    reading hint). One HTML block without blank lines, all document/question text inert."""
    parts = [f'<div class="rag-answer{" rag-abstained" if answer.abstained else ""}">']
    notes = ""
    if answer.filters is not None and not answer.filters.empty:
        shown = text_html(answer.filters.describe())
        notes += f'<span class="rag-notice rag-filtered">Gezocht met filters: {shown}</span>'
    if answer.notices:
        notes += "".join(f'<span class="rag-notice">Let op: {text_html(n)}</span>' for n in answer.notices)
    if notes:
        parts.append(f'<div class="rag-notices">{notes}</div>')
    numbers = {c.n for c in answer.citations}
    parts.append(f'<p class="rag-text">{answer_text_html(answer.text, numbers)}</p>')
    if answer.citations and not answer.abstained:
        parts.append('<div class="rag-sources"><div class="rag-sources-title">Bronnen</div>')
        parts.extend(citation_html(c) for c in sorted(answer.citations, key=lambda c: c.n))
        parts.append("</div>")
    elif answer.abstained and answer.related:
        items = "".join(  # each opens its paragraph in the Documents tab, as a citation's locator does
            f'<li>{text_html(r.passage.title)} \u2014 <a class="rag-locator rag-doc-link" '
            f'href="{html.escape(passage_link(r.passage.id), quote=True)}">{text_html(r.passage.locator)}</a></li>'
            for r in answer.related)
        parts.append('<details class="rag-related"><summary>Mogelijk verwante passages (geen antwoord, '
                     f"alleen om zelf na te lezen)</summary><ul>{items}</ul></details>")
    total = answer.timings_ms.get("total")
    kind = _MODE_LABELS.get(answer.mode, text_html(answer.mode))
    if not answer.abstained:
        took = "" if total is None else (f" · {total:.0f} ms" if total < _MS_PER_S
                                          else f" · {total / 1000:.1f} s".replace(".", ","))
        parts.append(f'<div class="rag-footer">Antwoord: {kind}{took}</div>')
    parts.append("</div>")
    return "".join(parts)


def question_html(question: str) -> str:
    """The user's message as inert HTML (see :func:`question_from_message` for the inverse)."""
    shown = question if len(question) <= MAX_ECHO_CHARS else question[:MAX_ECHO_CHARS] + "…"
    return f'<div class="rag-question">{text_html(shown)}</div>'


def pending_html(partial: str = "") -> str:
    """Placeholder while the answer is computed, or the partial text of a streaming LLM answer
    (marked as a draft: the verified answer with its sources replaces it)."""
    if partial:
        return ('<div class="rag-answer rag-pending"><div class="rag-notices">Concept; wordt nog gecontroleerd '
                f'tegen de bronnen…</div><p class="rag-text">{text_html(partial)}</p></div>')
    return f'<div class="rag-pending">{text_html(PENDING_TEXT)}</div>'


def error_html(message: str) -> str:
    """An error shown in the chat (Dutch message, inert)."""
    return f'<div class="rag-error">{text_html(message)}</div>'


def answer_actions_html(answer_id: str, markdown: str, label: str = "Kopieer met bronnen") -> str:
    """The actions under an answer: the button ``label`` ("Kopieer met bronnen"; "Kopieer" under a
    refusal, which has no sources) copies ``markdown``, carried base64-encoded
    in a hidden ``span.rag-copy-md`` (only ``A-Za-z0-9+/=``: nothing in it can act as markup, and the
    chat's HTML sanitizer keeps it; it drops ``data-`` attributes); the page script :data:`HEAD` does
    the copy. ``answer_id`` (hex, in the class ``rag-answer-id-<id>``; only ``class`` attributes are
    used, as everywhere in a message) ties the message to its record for feedback and export."""
    encoded = base64.b64encode(markdown.encode("utf-8")).decode("ascii")
    return (f'<div class="rag-actions rag-answer-id-{answer_id}"><button class="rag-copy">{text_html(label)}'
            f'</button><span class="rag-copy-md">{encoded}</span></div>')


# --- chat logic ----------------------------------------------------------------------------------

Message = dict[str, Any]


def _message_text(message: Any) -> str:
    """Text of a chat message in any of Gradio's shapes (str, list of parts, normalized dicts)."""
    content = message.get("content") if isinstance(message, dict) else getattr(message, "content", message)
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text", "")) if content.get("type", "text") == "text" else ""
    if isinstance(content, list | tuple):
        return "".join(_message_text({"content": part}) for part in content)
    text = getattr(content, "text", None)
    return text if isinstance(text, str) else ""


def question_from_message(message: Any) -> str:
    """The raw question behind a user message rendered by :func:`question_html`
    (plain text is taken as is, e.g. from an API client)."""
    text = _message_text(message)
    m = _QUESTION_DIV.match(text.strip())
    if not m:
        return text.strip()
    return html.unescape(m.group(1).replace("<br>", "\n")).strip()


def previous_questions(history: Sequence[Any] | None) -> list[str]:
    """The user questions of a chatbot value, oldest first (the last :data:`HISTORY_QUESTIONS`)."""
    out: list[str] = []
    for msg in history or []:
        role = msg.get("role") if isinstance(msg, dict) else getattr(msg, "role", None)
        if role == "user":
            q = question_from_message(msg)
            if q:
                out.append(q)
    return out[-HISTORY_QUESTIONS:]


def _plain_history(history: Sequence[Any] | None) -> list[Message]:
    """The chatbot value as plain ``{"role", "content": str}`` dicts (drops anything else); user
    messages are rendered again from their question, so they are inert whatever a client sent."""
    out: list[Message] = []
    for msg in history or []:
        role = msg.get("role") if isinstance(msg, dict) else getattr(msg, "role", None)
        if role == "user":
            out.append({"role": role, "content": question_html(question_from_message(msg))})
        elif role == "assistant":
            out.append({"role": role, "content": _message_text(msg)})
    return out


class ChatService:
    """The chat turn, independent of Gradio: ``respond(message, history)`` yields
    ``(textbox value, chatbot value)`` pairs: first the question with a placeholder, then
    (for an LLM, the growing text, and) the final rendered answer."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        #: answer id → (answer record in the JSON contract, index version), newest last, bounded
        self._records: OrderedDict[str, tuple[dict[str, Any], dict[str, Any]]] = OrderedDict()
        self._records_lock = threading.Lock()

    def answer(self, question: str, history: Sequence[str],
               on_token: Callable[[str], None] | None = None, filters: Filters | None = None) -> Answer:
        """:meth:`Pipeline.answer`, with streaming of generated tokens when an LLM is configured."""
        if on_token is not None and self.pipeline.settings.llm_enabled:
            return self.pipeline.answer(question, history, on_token=on_token, filters=filters)
        return self.pipeline.answer(question, history, filters=filters)

    def respond(self, message: str | None, history: Sequence[Any] | None,
                filters: Filters | None = None) -> Iterator[tuple[str, list[Message]]]:
        """One chat turn, answered under ``filters`` (None: the whole corpus). Empty input gets the
        Dutch hint "Stel een vraag: de invoer is leeg." as a reply (no question bubble); errors become a
        Dutch chat message (an :class:`EmptyQuestionError` or :class:`FilterError` its own message,
        with the question kept in the text box to ask again)."""
        question = (message or "").strip()
        chat = _plain_history(history)
        if not question:  # said, not ignored: a click on "Vraag" with an empty box gets a Dutch hint
            yield "", [*chat, {"role": "assistant", "content": error_html(str(EmptyQuestionError()))}]
            return
        earlier = previous_questions(chat)
        chat = [*chat, {"role": "user", "content": question_html(question)}]
        yield "", [*chat, {"role": "assistant", "content": pending_html()}]
        try:
            if self.pipeline.settings.llm_enabled:
                answer = None
                for partial, final in self._stream(question, earlier, filters):
                    if final is not None:
                        answer = final
                    else:
                        yield "", [*chat, {"role": "assistant", "content": pending_html(partial)}]
                assert answer is not None
            else:
                answer = self.answer(question, earlier, filters=filters)
            content = self.answer_message(answer)
        except (EmptyQuestionError, FilterError) as exc:  # kept in the box, to correct and ask again
            yield message or "", [*chat, {"role": "assistant", "content": error_html(str(exc))}]
            return
        except RagError as exc:
            log.warning("vraag mislukt: %s", exc)
            content = error_html(f"Er ging iets mis: {exc}")
        except Exception:
            log.exception("interne fout bij vraag")
            content = error_html("Er ging intern iets mis bij het beantwoorden. Probeer het opnieuw.")
        yield "", [*chat, {"role": "assistant", "content": content}]

    # --- answer records: copy with sources, feedback, conversation export (issue 17) ---------------
    def answer_message(self, answer: Answer) -> str:
        """The assistant message of ``answer``: :func:`answer_html` plus the answer's actions
        (:func:`answer_actions_html`); the answer is remembered under a new id for feedback and export."""
        record = answer_to_json(answer)
        answer_id = uuid.uuid4().hex
        record["answer_id"] = answer_id
        record.setdefault("filters", {})
        try:
            index = self.pipeline.load()
            version = {"build": index.directory.name, "corpus_hash": index.manifest.get("corpus_hash")}
        except RagError:
            version = {}
        with self._records_lock:
            self._records[answer_id] = (record, version)
            while len(self._records) > MAX_RECORDS:
                self._records.popitem(last=False)
        label = "Kopieer" if answer.abstained or not answer.citations else "Kopieer met bronnen"
        return answer_html(answer) + answer_actions_html(answer_id, answer_markdown(record), label)

    def record_of(self, message: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(answer record, index version) behind an assistant message, or None (an error message, or
        an answer this server no longer remembers)."""
        m = _ANSWER_ID.search(_message_text(message))
        if not m:
            return None
        with self._records_lock:
            return self._records.get(m.group(1))

    def records(self, history: Sequence[Any] | None) -> list[dict[str, Any]]:
        """The answer records of a chatbot value, in order (messages without a record are left out)."""
        out = []
        for msg in history or []:
            role = msg.get("role") if isinstance(msg, dict) else getattr(msg, "role", None)
            found = self.record_of(msg) if role == "assistant" else None
            if found is not None:
                out.append(found[0])
        return out

    def feedback(self, history: Sequence[Any] | None, index: Any, liked: Any, comment: str | None) -> str:
        """Append a 👍/👎 on the assistant message at ``index`` of ``history`` (with ``comment``) to
        ``settings.feedback_log`` (:func:`rag.feedback.append_feedback`); return a Dutch status line."""
        rating = "up" if liked in (True, "Like") else "down" if liked in (False, "Dislike") else None
        position = index[0] if isinstance(index, list | tuple) else index
        messages = list(history or [])
        if rating is None or not isinstance(position, int) or not 0 <= position < len(messages):
            return "Deze beoordeling kon niet worden verwerkt."
        found = self.record_of(messages[position])
        if found is None:
            return "Dit bericht is geen antwoord dat deze server nog kent; de beoordeling is niet opgeslagen."
        record, version = found
        s = self.pipeline.settings
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "rating": rating,
                 "comment": (comment or "").strip()[:4000], "question": record["question"],
                 "answer": record["answer"], "abstained": record["abstained"], "reason": record["reason"],
                 "mode": record["mode"], "citations": [
                     {k: c.get(k) for k in ("n", "passage_id", "doc_id", "title", "date", "locator", "source",
                                            "fragment", "quote", "text")} for c in record["citations"]],
                 "filters": record.get("filters") or {}, "notices": record["notices"],
                 "settings": {k: str(v) for k, v in asdict(s).items() if not k.startswith("llm_api")},
                 "index": version, "answer_id": record["answer_id"]}
        try:
            append_feedback(s.feedback_log, entry)
        except OSError as exc:
            log.warning("feedback niet opgeslagen in %s: %s", s.feedback_log, exc)
            return "De beoordeling kon niet worden opgeslagen (het feedbacklog is niet schrijfbaar)."
        thumb = "duim omhoog" if rating == "up" else "duim omlaag"
        return f"Dank je: je beoordeling ({thumb}) is opgeslagen{' met je opmerking' if entry['comment'] else ''}."

    def refuse(self, message: str | None, history: Sequence[Any] | None,
               reason: str) -> Iterator[tuple[str, list[Message]]]:
        """A turn that is not asked (e.g. filters that cannot be applied): the question and the
        Dutch ``reason`` appear in the chat, and the question stays in the text box."""
        question = (message or "").strip()
        chat = _plain_history(history)
        if not question:
            yield message or "", [*chat, {"role": "assistant", "content": error_html(reason)}]
            return
        yield message or "", [*chat, {"role": "user", "content": question_html(question)},
                              {"role": "assistant", "content": error_html(reason)}]

    def _stream(self, question: str, earlier: list[str],
                filters: Filters | None = None) -> Iterator[tuple[str, Answer | None]]:
        """Run the pipeline in a thread; yield (text so far, None) per token, then ("", answer)."""
        tokens: queue.Queue[str | None] = queue.Queue()
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                box["answer"] = self.answer(question, earlier, on_token=tokens.put, filters=filters)
            except BaseException as exc:  # re-raised in the generator
                box["error"] = exc
            finally:
                tokens.put(None)

        threading.Thread(target=work, name="rag-answer", daemon=True).start()
        text = ""
        while (tok := tokens.get()) is not None:
            text += tok
            yield text, None
        if "error" in box:
            raise box["error"]
        yield "", box["answer"]


# --- feedback, copy with sources, conversation export (issue 17) ----------------------------------

#: page script: "Kopieer met bronnen" copies the Markdown next to the button (base64, UTF-8)
#: to the clipboard (with a fallback for pages that are not a secure context), and
#: ``ragDownload(text, name, type)`` saves a conversation export through a blob: URL (Gradio's file
#: routes stay closed). No inline handlers: one delegated listener on the document.
ACTIONS_SCRIPT = """<script>
(() => {
  const decode = (b64) => new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
  const fallback = (text) => {
    const area = document.createElement("textarea");
    area.value = text; area.setAttribute("readonly", ""); area.style.position = "fixed"; area.style.opacity = "0";
    document.body.appendChild(area); area.select();
    try { document.execCommand("copy"); } finally { area.remove(); }
  };
  document.addEventListener("click", async (event) => {
    const button = event.target instanceof Element ? event.target.closest("button.rag-copy") : null;
    if (!button) return;
    event.preventDefault();
    const carrier = button.parentElement ? button.parentElement.querySelector(".rag-copy-md") : null;
    const text = decode(carrier ? carrier.textContent.trim() : "");
    window.ragLastCopy = text;
    try { await navigator.clipboard.writeText(text); } catch (e) { fallback(text); }
    const label = button.dataset.label || (button.dataset.label = button.textContent);
    button.textContent = "Gekopieerd \u2713";
    setTimeout(() => { button.textContent = label; }, 2500);
  });
  window.ragDownload = (text, name, type) => {
    if (!text) return;
    const url = URL.createObjectURL(new Blob([text], {type}));
    const a = document.createElement("a");
    a.href = url; a.download = name; document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  };
})();
</script>"""


def feedback_row(service: ChatService, chatbot: gr.Chatbot) -> None:
    """The optional comment box and status line for the chat's 👍/👎 buttons; a click appends one line
    to ``settings.feedback_log`` (see :meth:`ChatService.feedback`) with the comment typed so far."""
    with gr.Row(elem_id="rag-feedback"):
        comment = gr.Textbox(label="Opmerking bij je beoordeling (optioneel; typ eerst, klik dan op duim omhoog "
                                   "of omlaag onder het antwoord)",
                             elem_id="rag-feedback-comment", lines=2, max_lines=4, scale=4)
        status = gr.Markdown("", elem_id="rag-feedback-status")

    def on_like(evt: gr.LikeData, history: list[Any], text: str) -> tuple[str, str]:
        return "", text_html(service.feedback(history, evt.index, evt.liked, text))

    chatbot.like(on_like, [chatbot, comment], [comment, status], api_visibility="private", show_progress="hidden")


def export_row(service: ChatService, chatbot: gr.Chatbot) -> None:
    """Buttons that download the whole conversation as Markdown or JSON (:mod:`rag.export`), built on
    the server from the remembered answer records and saved by the page script (``ragDownload``)."""
    with gr.Row(elem_id="rag-export"):
        md_button = gr.Button("Gesprek downloaden (Markdown)", size="sm", elem_id="rag-export-md")
        json_button = gr.Button("Gesprek downloaden (JSON)", size="sm", elem_id="rag-export-json")
    payload = gr.Textbox(visible="hidden", elem_id="rag-export-payload")

    def as_markdown(history: list[Any]) -> str:
        records = service.records(history)
        return conversation_markdown(records) if records else ""

    def as_json(history: list[Any]) -> str:
        records = service.records(history)
        return conversation_json(records) if records else ""

    for button, build, name, kind in (
            (md_button, as_markdown, "gesprek-topdocumenten.md", "text/markdown;charset=utf-8"),
            (json_button, as_json, "gesprek-topdocumenten.json", "application/json;charset=utf-8")):
        save = f"(text) => {{ window.ragDownload(text, {json.dumps(name)}, {json.dumps(kind)}); }}"
        button.click(build, [chatbot], [payload], api_visibility="private", show_progress="hidden").then(
            None, [payload], None, js=save, api_visibility="private")


# --- upload (issue 17) ------------------------------------------------------------------------------

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
UPLOAD_REFUSED = ("--upload kan alleen als de chat op 127.0.0.1 luistert of inloggen aan staat "
                  "(RAG_AUTH of --auth-file): anders kan iedereen op het netwerk documenten toevoegen.")


def upload_allowed(host: str, auth: tuple[str, str] | None) -> bool:
    """Uploads only on the loopback address or behind a login."""
    return host in LOOPBACK_HOSTS or auth is not None


def upload_row(pipeline: Pipeline) -> None:
    """The chat's "Document toevoegen" button: PDF, DOCX, HTML, MD or TXT, checked, stored in the
    corpus, shown (sections and paragraphs found) and indexed incrementally (:func:`rag.upload.ingest`);
    questions asked meanwhile are answered from the previous index. Steps are shown as they happen."""
    from rag.upload import UPLOAD_SUFFIXES, ingest

    with gr.Row(elem_id="rag-upload"):
        button = gr.UploadButton("Document toevoegen (PDF, DOCX, HTML, MD, TXT)", file_types=list(UPLOAD_SUFFIXES),
                                 file_count="single", size="sm", elem_id="rag-upload-button", scale=1)
        status = gr.HTML("", elem_id="rag-upload-status")

    def on_upload(path: str | None) -> Iterator[str]:
        if not path:
            yield '<div class="rag-error">Geen bestand ontvangen.</div>'
            return
        original = Path(path).name
        shown: list[str] = []
        for step in ingest(pipeline, Path(path), original):
            css = "rag-error" if step.stage == "error" else f"rag-upload-{step.stage}"
            shown.append(f'<div class="{css}">{text_html(step.message)}</div>')
            yield f'<div class="rag-upload-steps">{"".join(shown)}</div>'

    button.upload(on_upload, [button], [status], api_visibility="private", show_progress="minimal",
                  concurrency_limit=1, concurrency_id="upload")


# --- timeline tab (issue 17) --------------------------------------------------------------------

#: status filter choices of the timeline tab (label, value)
TIMELINE_STATUS = [("alle uitspraken", ""), ("besloten of gedaan", DONE), ("aangekondigd of gepland", PLANNED)]


def timeline_entry_html(e: TimelineEntry) -> str:
    """One timeline entry: date (with its precision), status, the sentence with the date phrase
    marked, and its citation: a link ``#passage-<passage id>`` to the passage in the documents
    view (document title, date, locator) plus the document's source link. All text inert."""
    w = e.when
    span = _find_quote(e.sentence, w.text)
    if span is None:
        sentence = text_html(e.sentence)
    else:
        a, b = span
        sentence = f"{text_html(e.sentence[:a])}<mark>{text_html(e.sentence[a:b])}</mark>{text_html(e.sentence[b:])}"
    inferred = " (jaar uit de documentdatum)" if w.year_inferred else ""
    status = (f'<span class="rag-tl-status rag-tl-{"planned" if e.status == PLANNED else "done"}">'
              f"{text_html(e.status)}</span>") if e.status else ""
    shown_date = dutch_date(e.doc_date)
    doc = text_html(e.title) + (f" ({text_html(shown_date)})" if shown_date and shown_date not in e.title else "")
    pid = html.escape(e.passage_id, quote=True)
    cite = (f'<a class="rag-passage-link" href="{html.escape(e.anchor, quote=True)}" data-passage-id="{pid}">'
            f'{doc}, <span class="rag-locator">{text_html(e.locator)}</span></a>')
    source = f' · <span class="rag-link">{link_html(e.source)}</span>' if e.source else ""
    return (f'<li class="rag-tl-entry" data-passage-id="{pid}" data-when="{html.escape(w.value, quote=True)}">'
            f'<div class="rag-tl-when"><span class="rag-tl-date">{text_html(w.label)}</span> '
            f'<span class="rag-tl-precision">{text_html(w.precision)}{text_html(inferred)}</span> {status}</div>'
            f'<div class="rag-tl-sentence">{sentence}</div><div class="rag-tl-cite">{cite}{source}</div></li>')


def timeline_html(entries: Sequence[TimelineEntry], total: int) -> str:
    """The timeline as one HTML block: a count line, then the entries grouped under their start year."""
    if not entries:
        return ('<div class="rag-timeline"><p class="rag-tl-count">Geen gedateerde uitspraken gevonden met deze '
                f"filters (van de {total} in het corpus). Maak het onderwerp korter of kies andere "
                "documenten.</p></div>")
    parts = [f'<div class="rag-timeline"><p class="rag-tl-count">{len(entries)} van de {total} gedateerde '
             "uitspraken, op volgorde van datum. Elke uitspraak linkt naar haar alinea.</p>"]
    year = None
    for e in entries:
        if e.when.start.year != year:
            if year is not None:
                parts.append("</ol>")
            year = e.when.start.year
            parts.append(f'<div class="rag-tl-year">{year}</div><ol class="rag-tl-list">')
        parts.append(timeline_entry_html(e))
    parts.append("</ol></div>")
    return "".join(parts)


class TimelineView:
    """The timeline of the pipeline's current index, built once per index build (a refreshed index,
    e.g. after an upload, gives a new timeline). ``render(topic, doc_ids, status)`` → HTML."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        #: answer id → (answer record in the JSON contract, index version), newest last, bounded
        self._records: OrderedDict[str, tuple[dict[str, Any], dict[str, Any]]] = OrderedDict()
        self._records_lock = threading.Lock()
        self._built_for: Path | None = None
        self._entries: list[TimelineEntry] = []
        self._lock = threading.Lock()

    def entries(self) -> list[TimelineEntry]:
        """All entries of the current index (loads the index on first use)."""
        index = self.pipeline.load()
        with self._lock:
            if self._built_for != index.directory:
                self._entries = build_timeline(index.passages)
                self._built_for = index.directory
            return self._entries

    def documents(self) -> list[tuple[str, str]]:
        """(label, doc_id) of every document with a dated statement, by document date."""
        docs: dict[str, tuple[str, str]] = {}
        for e in self.entries():
            label = e.title + (f" ({dutch_date(e.doc_date)})" if e.doc_date else "")
            docs.setdefault(e.doc_id, (e.doc_date or "9999", label))
        return [(label, doc_id) for doc_id, (_, label) in sorted(docs.items(), key=lambda kv: (kv[1][0], kv[0]))]

    def render(self, topic: str | None, doc_ids: Sequence[str] | None, status: str | None) -> str:
        """HTML of the entries matching the filters (see :func:`rag.timeline.filter_timeline`)."""
        entries = self.entries()
        chosen = filter_timeline(entries, topic or "", doc_ids or (), status or "",
                                 stemmer=self.pipeline.settings.stemmer)
        return timeline_html(chosen, len(entries))


def timeline_tab(demo: gr.Blocks, pipeline: Pipeline) -> None:
    """The "Tijdlijn" tab's components and events (call inside ``gr.Tab``): topic words, documents
    and status filters over :class:`TimelineView`; filled when the page loads."""
    view = TimelineView(pipeline)
    gr.Markdown("Alle gedateerde uitspraken uit de documenten, op volgorde van datum, elk met de alinea "
                "waar ze staan. Data staan er met de precisie die de tekst geeft (dag, maand, seizoen, kwartaal, "
                "jaar of periode); de status zegt of de zin iets besloten of gedaan meldt of iets aankondigt.",
                elem_classes=["rag-tl-intro"])
    with gr.Row():
        topic = gr.Textbox(label="Onderwerp", placeholder="bv. Einstein Telescoop, 3RX, stikstof",
                           elem_id="rag-tl-topic", scale=2)
        docs = gr.Dropdown(label="Documenten", choices=[], multiselect=True, value=[], elem_id="rag-tl-docs",
                           scale=3)
        status = gr.Radio(label="Status", choices=TIMELINE_STATUS, value="", elem_id="rag-tl-status", scale=2)
    out = gr.HTML(elem_id="rag-timeline")

    def fill(t: str, d: list[str], s: str) -> tuple[Any, str]:
        return gr.update(choices=view.documents()), view.render(t, d, s)

    def show(t: str, d: list[str], s: str) -> str:
        return view.render(t, d, s)

    gr.on([topic.submit, docs.change, status.change], show, [topic, docs, status], out,
          api_visibility="private", show_progress="hidden")
    topic.change(show, [topic, docs, status], out, api_visibility="private", show_progress="hidden",
                 trigger_mode="always_last")
    demo.load(fill, [topic, docs, status], [docs, out], api_visibility="private", show_progress="hidden")


# --- filters and documents: pure functions over the index's documents and passages ----------------

#: columns of the Documents tab's table (the last one, the id, is what a click opens)
DOCUMENT_COLUMNS = ["Titel", "Datum", "Soort", "Fragment", "Alinea's", "Bron", "Document-id"]


def form_filters(kinds: Sequence[str] | None, year_from: Any, year_to: Any,
                 documents: Sequence[str] | None) -> Filters:
    """The :class:`~rag.filters.Filters` of the chat's filter row (kinds, year from/to, document
    ids), read like the JSON ``filters`` object. Raises FilterError (Dutch) for a year that is no
    year or a range that ends before it starts."""
    return Filters.from_json({"kinds": list(kinds or []), "documents": list(documents or []),
                              "from": parse_year(year_from, "Vanaf jaar"),
                              "to": parse_year(year_to, "Tot en met jaar")})


def kind_choices(documents: Sequence[DocumentInfo]) -> list[str]:
    """The document kinds of the index, sorted (choices of the kind filter)."""
    return sorted({d.kind for d in documents if d.kind})


def document_label(d: DocumentInfo) -> str:
    """How a document is named in a choice list: its title, with the year when the title lacks it."""
    year = (d.date or "")[:4]
    return f"{d.title} ({year})" if year and year not in d.title else d.title


def document_choices(documents: Sequence[DocumentInfo]) -> list[tuple[str, str]]:
    """``(label, id)`` per document, sorted by date (undated last), then title."""
    ordered = sorted(documents, key=lambda d: (d.date is None, d.date or "", d.title))
    return [(document_label(d), d.id) for d in ordered]


def document_rows(documents: Sequence[DocumentInfo]) -> list[list[Any]]:
    """One row per document for the Documents tab, in :data:`DOCUMENT_COLUMNS` order: title,
    ISO date ("" when unknown, so the column sorts by time), kind, "fragment" or "", number of
    paragraphs, source URL ("" when unknown), id. Sorted like :func:`document_choices`."""
    ordered = sorted(documents, key=lambda d: (d.date is None, d.date or "", d.title))
    return [[d.title, d.date or "", d.kind or "", "fragment" if d.fragment else "", d.paragraphs,
             d.source or "", d.id] for d in ordered]


def document_html(info: DocumentInfo | None, passages: Sequence[Passage], target: str | None = None) -> str:
    """A whole document as the index holds it: title, date · kind · fragment label · paragraphs ·
    source link, then per section its heading and paragraphs, each with its locator. Every
    paragraph's element has the ``id`` :func:`passage_anchor` of its first passage (an empty
    anchor per further piece of a split paragraph), so :func:`passage_link` lands on it; the
    paragraph holding passage ``target`` gets the class ``rag-target`` (highlighted). All text inert."""
    if info is None:
        return '<div class="rag-doc rag-doc-empty">Kies een document in de lijst hierboven.</div>'
    meta = []
    if info.date:
        meta.append(f'<span class="rag-date">{text_html(dutch_date(info.date))}</span>')
    if info.kind:
        meta.append(f'<span class="rag-kind">{text_html(info.kind)}</span>')
    if info.fragment:
        meta.append(fragment_html())
    word = "alinea" if info.paragraphs == 1 else "alinea's"
    meta.append(text_html(f"{info.paragraphs} {word}"))
    out = [f'<div class="rag-doc" data-doc="{html.escape(quote(info.id, safe=""), quote=True)}">',
           f'<h2 class="rag-doc-title">{text_html(info.title)}</h2>',
           f'<div class="rag-meta">{" · ".join(meta)}</div>']
    if info.source:
        out.append(f'<div class="rag-link">Bron: {link_html(info.source)}</div>')
    paragraphs: dict[str, list[Passage]] = {}
    for p in passages:
        paragraphs.setdefault(p.paragraph_id, []).append(p)
    section = None
    for pieces in paragraphs.values():
        first = pieces[0]
        if first.section_label != section:
            if section is not None:
                out.append("</section>")
            section = first.section_label
            out.append(f'<section class="rag-doc-section"><h3>{text_html(section)}</h3>')
        hit = target is not None and any(p.id == target for p in pieces)
        extra = "".join(f'<span class="rag-anchor" id="{html.escape(passage_anchor(p.id), quote=True)}"></span>'
                        for p in pieces[1:])
        href = html.escape(passage_link(first.id), quote=True)
        out.append(f'<div class="rag-doc-para{" rag-target" if hit else ""}" '
                   f'id="{html.escape(passage_anchor(first.id), quote=True)}">{extra}'
                   f'<a class="rag-locator" href="{href}">{text_html(first.locator)}</a>'
                   f'<p>{text_html(first.paragraph_text)}</p></div>')
    if section is not None:
        out.append("</section>")
    out.append("</div>")
    return "".join(out)


class DocumentLibrary:
    """What the Documents tab and the filter row read: the documents and passages of the
    pipeline's current index (read only; after an index refresh the next call sees the new one)."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def documents(self) -> tuple[DocumentInfo, ...]:
        """:meth:`Pipeline.documents` (loads the index)."""
        return self.pipeline.documents()

    def passages(self, doc_id: str) -> list[Passage]:
        """The passages of one document, in document order ([] for an unknown id)."""
        return [p for p in self.pipeline.retriever.index.passages if p.doc_id == doc_id]

    def info(self, doc_id: str | None) -> DocumentInfo | None:
        """The :class:`DocumentInfo` of ``doc_id``, None when unknown."""
        return next((d for d in self.documents() if d.id == doc_id), None) if doc_id else None

    def document_of(self, passage_id: str) -> str | None:
        """The document id of a passage id, None when the index has no such passage."""
        return next((p.doc_id for p in self.pipeline.retriever.index.passages if p.id == passage_id), None)

    def view(self, doc_id: str | None, target: str | None = None) -> str:
        """:func:`document_html` of ``doc_id`` with passage ``target`` highlighted."""
        info = self.info(doc_id)
        return document_html(info, self.passages(info.id) if info else [], target)


# --- Gradio app ----------------------------------------------------------------------------------

CHAT_TAB, DOCUMENTS_TAB = "chat", "documents"

#: in-page behaviour the Python side cannot do (loaded once through ``launch(head=…)``):
#: * each new assistant message is scrolled to the top of the chat panel (Gradio's own autoscroll
#:   is off: it would show the end of a long answer, not its first line);
#: * a click on a :func:`passage_link` (``#passage-…``) anywhere, a changed URL fragment, or
#:   opening the page with one, opens that paragraph in the Documents tab through the hidden
#:   ``#rag-open-passage`` button, then scrolls the highlighted paragraph into view.
HEAD = """<script>
(() => {
  "use strict";
  const PREFIX = "#passage-";
  let pending = "";
  let lastKey = "";
  window.ragTakePassage = () => { const p = pending; pending = ""; return p; };
  function chatPanel() {
    const chat = document.getElementById("rag-chat");
    return chat ? chat.querySelector(".panel-wrap, .bubble-wrap") : null;
  }
  function scrollToNewAnswer() {
    const panel = chatPanel();
    if (!panel) return;
    const bots = panel.querySelectorAll(".rag-answer, .rag-pending, .rag-error");
    if (!bots.length) { lastKey = ""; return; }
    const last = bots[bots.length - 1];
    const key = bots.length + (last.classList.contains("rag-pending") ? "p" : "f");
    if (key === lastKey) return;
    lastKey = key;
    const msg = last.closest(".message-row") || last.closest(".message") || last;
    const top = msg.getBoundingClientRect().top - panel.getBoundingClientRect().top + panel.scrollTop;
    panel.scrollTop = Math.max(0, top - 6);
  }
  let queued = false;
  new MutationObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; scrollToNewAnswer(); });
  }).observe(document.documentElement, { childList: true, subtree: true, characterData: true });
  function openPassage(hash) {
    if (!hash || !hash.startsWith(PREFIX)) return false;
    const el = document.getElementById("rag-open-passage");
    const button = el && (el.tagName === "BUTTON" ? el : el.querySelector("button"));
    if (!button) return false;
    pending = hash;
    button.click();
    return true;
  }
  document.addEventListener("click", (event) => {
    const a = event.target instanceof Element ? event.target.closest("a[href]") : null;
    const href = a ? a.getAttribute("href") || "" : "";
    if (!href.startsWith(PREFIX)) return;
    event.preventDefault();
    event.stopPropagation();
    if (location.hash !== href) history.pushState(null, "", href);
    openPassage(href);
  }, true);
  window.addEventListener("hashchange", () => openPassage(location.hash));
  window.ragShowTarget = () => new Promise((resolve) => {
    let tries = 0;
    const look = () => {
      const target = document.querySelector("#rag-doc-view .rag-target");
      if (target) { target.scrollIntoView({ block: "center" }); resolve(true); return; }
      if (++tries < 60) setTimeout(look, 50); else resolve(false);
    };
    look();
  });
})();
</script>"""


@dataclass
class FilterRow:
    """The chat's filter components (see :func:`form_filters`)."""

    kinds: gr.Dropdown
    year_from: gr.Textbox
    year_to: gr.Textbox
    documents: gr.Dropdown

    @property
    def inputs(self) -> list[Any]:
        """The components in :func:`form_filters` argument order."""
        return [self.kinds, self.year_from, self.year_to, self.documents]


@dataclass
class DocumentsTab:
    """The Documents tab's components."""

    table: gr.Dataframe
    choice: gr.Dropdown
    view: gr.HTML


def build_app(settings: Settings | None = None, *, pipeline: Pipeline | None = None,
              concurrency: int = DEFAULT_CONCURRENCY, queue_size: int = QUEUE_SIZE,
              allow_upload: bool = False) -> gr.Blocks:
    """The chat as a ``gr.Blocks`` (not launched): a Chat tab (filter row, conversation, question
    box, answer actions, feedback, downloads and, with ``allow_upload``, "Document toevoegen"), a
    Documents tab (list and document view) and a Tijdlijn tab. Give ``settings`` or a ready
    ``pipeline``; the index is loaded (or built, when ``settings.auto_build``) by the first page load
    or question unless the caller already called ``pipeline.load()``. ``concurrency`` answers are
    computed at once (typed questions and clicked examples share that limit). Launch with
    :func:`launch_app` (with ``allow_upload`` too for the upload)."""
    service = ChatService(pipeline or Pipeline(settings))
    library = DocumentLibrary(service.pipeline)
    with gr.Blocks(title=TITLE, analytics_enabled=False, fill_height=True) as demo:
        gr.Markdown(f"## {TITLE}\n{INTRO}", elem_classes=["rag-intro"])
        with gr.Tabs(elem_id="rag-tabs") as tabs:
            with gr.Tab("Chat", id=CHAT_TAB, elem_id="rag-tab-chat"):
                filters = _filter_row()
                _chat_tab(service, filters, concurrency)
                if allow_upload:
                    upload_row(service.pipeline)
            with gr.Tab("Documenten", id=DOCUMENTS_TAB, elem_id="rag-tab-documents"):
                documents = _documents_tab(library)
            with gr.Tab("Tijdlijn", id="tijdlijn", elem_id="rag-tab-timeline"):
                timeline_tab(demo, service.pipeline)
        _passage_navigation(demo, library, tabs, documents)
        demo.load(lambda: _lists_update(library), None,
                  [filters.kinds, filters.documents, documents.table, documents.choice],
                  api_visibility="private", show_progress="hidden")
    demo.queue(max_size=queue_size, default_concurrency_limit=concurrency)
    _dutch_queue_full(demo)
    return demo


def _filter_row() -> FilterRow:
    """The compact filter row above the chat: kinds, year from/to, documents, and "Wis filters".
    Choices are filled on page load from the index (:func:`_lists_update`)."""
    with gr.Row(elem_id="rag-filters", equal_height=True):
        kinds = gr.Dropdown(label="Soort document (leeg = alle)", choices=[], value=[], multiselect=True,
                            scale=2, elem_id="rag-filter-kinds")
        year_from = gr.Textbox(label="Vanaf jaar", value="", max_lines=1, placeholder="bv. 2018", scale=1,
                               min_width=110, elem_id="rag-filter-from")
        year_to = gr.Textbox(label="Tot en met jaar", value="", max_lines=1, placeholder="bv. 2023", scale=1,
                             min_width=110, elem_id="rag-filter-to")
        docs = gr.Dropdown(label="Alleen deze documenten (leeg = alle)", choices=[], value=[], multiselect=True,
                           scale=4, elem_id="rag-filter-docs")
        clear = gr.Button("Wis filters", scale=0, min_width=90, size="sm", elem_id="rag-filter-clear")
    row = FilterRow(kinds, year_from, year_to, docs)
    clear.click(lambda: ([], "", "", []), None, row.inputs, api_visibility="private", show_progress="hidden")
    return row


def _chat_tab(service: ChatService, filters: FilterRow, concurrency: int) -> None:
    """The conversation and question box; every question is answered under the filter row's
    :class:`Filters` (a filter that cannot be applied is a Dutch message in the chat). The API
    endpoint ``/chat`` keeps its ``(message, history)`` signature and searches the whole corpus."""
    chatbot = gr.Chatbot(
        label="Gesprek", elem_id="rag-chat", height=CHAT_HEIGHT, layout="panel", scale=1, autoscroll=False,
        sanitize_html=True, render_markdown=True, latex_delimiters=[], allow_tags=False,
        buttons=[], feedback_options=["Like", "Dislike"], allow_file_downloads=False,
        examples=[{"text": q} for q in EXAMPLES],
        placeholder="Kies een voorbeeldvraag of typ je eigen vraag hieronder.",
    )
    textbox = gr.Textbox(
        show_label=False, label="Vraag", elem_id="rag-question", lines=1, max_lines=6,
        placeholder="Typ je vraag en druk op Enter…", autofocus=True, submit_btn="Vraag", stop_btn=False,
    )
    gr.Markdown("Antwoorden komen uitsluitend uit de documenten in het corpus; controleer de geciteerde "
                "alinea's voor publicatie.", elem_classes=["rag-disclaimer"])

    def filtered(message: str, history: list[Any], kinds: list[str] | None, year_from: Any, year_to: Any,
                 documents: list[str] | None) -> Iterator[tuple[str, list[Message]]]:
        try:
            chosen = form_filters(kinds, year_from, year_to, documents)
        except FilterError as exc:
            yield from service.refuse(message, history, str(exc))
            return
        yield from service.respond(message, history, chosen)

    def run_example(evt: gr.SelectData, history: list[Any], kinds: list[str] | None, year_from: Any,
                    year_to: Any, documents: list[str] | None) -> Iterator[tuple[str, list[Message]]]:
        value = evt.value if isinstance(evt.value, dict) else {}
        yield from filtered(str(value.get("text", "")), history, kinds, year_from, year_to, documents)

    def respond(message: str, history: list[Any]) -> Iterator[tuple[str, list[Message]]]:
        yield from service.respond(message, history)

    kw: dict[str, Any] = {"show_progress": "minimal", "trigger_mode": "once", "concurrency_limit": concurrency,
                          "concurrency_id": "answer"}
    textbox.submit(filtered, [textbox, chatbot, *filters.inputs], [textbox, chatbot], api_visibility="private", **kw)
    chatbot.example_select(run_example, [chatbot, *filters.inputs], [textbox, chatbot], api_visibility="private",
                           **kw)
    # the API endpoint: (message, history), whole corpus; the button is never shown
    api = gr.Button("chat", visible=False)
    api.click(respond, [textbox, chatbot], [textbox, chatbot], api_name="chat",
              api_description="Eén chatbeurt: (vraag, gespreksgeschiedenis) → ('', nieuwe geschiedenis).", **kw)
    feedback_row(service, chatbot)
    export_row(service, chatbot)


def _documents_tab(library: DocumentLibrary) -> DocumentsTab:
    """The list of all documents (sortable by column, searchable) and the document view; a click on
    a row or a choice in "Document openen" shows that document by section, with locators."""
    gr.Markdown("Alle documenten in de index. Klik op een kolomkop om te sorteren, zoek met het "
                "zoekvak (Search…), klik op een rij om het document te lezen.", elem_classes=["rag-doc-help"])
    table = gr.Dataframe(headers=DOCUMENT_COLUMNS, value=[],
                         datatype=["str", "str", "str", "str", "number", "str", "str"], interactive=False,
                         show_search="search", wrap=True, max_height=420,
                         column_widths=["38%", "9%", "10%", "7%", "6%", "18%", "12%"],
                         elem_id="rag-doc-table", label="Documenten", show_label=False)
    choice = gr.Dropdown(label="Document openen", choices=[], value=None, elem_id="rag-doc-choice")
    view = gr.HTML(document_html(None, []), elem_id="rag-doc-view", js_on_load=None, padding=True)

    def open_row(evt: gr.SelectData) -> tuple[Any, str]:
        row = evt.row_value if isinstance(evt.row_value, list) else []
        doc_id = str(row[-1]) if row else None
        return gr.Dropdown(value=doc_id), library.view(doc_id)

    table.select(open_row, None, [choice, view], api_visibility="private", show_progress="hidden")
    choice.input(library.view, [choice], [view], api_visibility="private", show_progress="hidden")
    return DocumentsTab(table, choice, view)


def _passage_navigation(demo: gr.Blocks, library: DocumentLibrary, tabs: gr.Tabs, docs: DocumentsTab) -> None:
    """Open a :func:`passage_link` in the Documents tab with its paragraph highlighted: on a click on
    such a link (through the hidden ``#rag-open-passage`` button, see :data:`HEAD`) and on page load
    with such a URL fragment."""
    box = gr.Textbox(visible="hidden", elem_id="rag-passage-box", label="passage")
    button = gr.Button("open", visible="hidden", elem_id="rag-open-passage")

    def open_passage(link: str | None) -> tuple[Any, Any, Any]:
        passage_id = passage_from_link(link)
        if passage_id is None:
            return gr.skip(), gr.skip(), gr.skip()
        try:
            doc_id = library.document_of(passage_id)
        except RagError as exc:
            return gr.Tabs(selected=DOCUMENTS_TAB), gr.skip(), error_html(f"Er ging iets mis: {exc}")
        if doc_id is None:
            return (gr.Tabs(selected=DOCUMENTS_TAB), gr.skip(),
                    error_html(f"Deze alinea staat niet (meer) in de index: {passage_id}"))
        return (gr.Tabs(selected=DOCUMENTS_TAB),
                gr.Dropdown(choices=document_choices(library.documents()), value=doc_id),
                library.view(doc_id, passage_id))

    show = "() => window.ragShowTarget && window.ragShowTarget()"
    button.click(open_passage, [box], [tabs, docs.choice, docs.view], js="() => window.ragTakePassage()",
                 api_visibility="private", show_progress="hidden").then(None, js=show)
    demo.load(open_passage, [box], [tabs, docs.choice, docs.view], js="() => location.hash",
              api_visibility="private", show_progress="hidden").then(None, js=show)


def _lists_update(library: DocumentLibrary) -> tuple[Any, Any, Any, Any]:
    """Choices of the filter row and the Documents tab's table and choice, from the current index
    (empty lists when the index cannot be loaded; the chat then says why)."""
    try:
        documents = library.documents()
    except RagError as exc:
        log.warning("documentenlijst niet beschikbaar: %s", exc)
        documents = ()
    choices = document_choices(documents)
    return (gr.Dropdown(choices=kind_choices(documents)), gr.Dropdown(choices=choices),
            gr.Dataframe(value=document_rows(documents)), gr.Dropdown(choices=choices))


def _dutch_queue_full(demo: gr.Blocks) -> None:
    """Replace the English "Queue is full. Max size is …" that ``/gradio_api/queue/join`` answers
    (HTTP 503) with :data:`QUEUE_FULL_TEXT`. Gradio has no option for this text, so the queue's
    ``push`` is wrapped; without a queue object (other Gradio versions) nothing changes."""
    q = getattr(demo, "_queue", None)
    push = getattr(q, "push", None)
    if q is None or push is None:
        return

    async def dutch_push(*args: Any, **kwargs: Any) -> Any:
        result = await push(*args, **kwargs)
        if isinstance(result, tuple) and len(result) == _PUSH_RESULT_LEN and result[2] == "queue_full":
            return result[0], QUEUE_FULL_TEXT, result[2]
        return result

    setattr(q, "push", dutch_push)  # noqa: B010 (mypy refuses assigning to a method)


_FILE_ROUTE = re.compile(r"(^|/)(file[=/]|proxy=|upload/?$|upload_progress)", re.IGNORECASE)
_SERVE_ROUTE = re.compile(r"(^|/)(file[=/]|proxy=)", re.IGNORECASE)


class RefuseFileRoutes:
    """ASGI middleware: 403 for Gradio's file, upload and proxy routes.

    The chat uses none of them; refusing them means the server hands out no file outside its own
    static assets (not the corpus, not /etc/passwd, not uploads) and never fetches a URL on a
    visitor's behalf (``/gradio_api/file=https://…`` would otherwise be proxied)."""

    def __init__(self, app: Callable[..., Awaitable[None]], allow_upload: bool = False) -> None:
        self.app = app
        #: with ``--upload``: Gradio's upload routes are let through (the file routes stay refused)
        self.pattern = _SERVE_ROUTE if allow_upload else _FILE_ROUTE

    async def __call__(self, scope: MutableMapping[str, Any], receive: Callable[..., Awaitable[Any]],
                       send: Callable[..., Awaitable[None]]) -> None:
        if scope.get("type") == "http":
            raw = scope.get("raw_path") or b""
            paths = [str(scope.get("path", "")), raw.decode("latin-1") if isinstance(raw, bytes) else ""]
            if any(self.pattern.search(p) or "file%3d" in p.lower() for p in paths):
                body = b"Niet toegestaan: deze server deelt geen bestanden."
                await send({"type": "http.response.start", "status": 403,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


#: Gradio routes that act on a session without checking the login (Gradio 6: ``/cancel``,
#: ``/reset``, the streaming/recording input routes ``/stream/…``, ``/heartbeat/…``); refused
#: without login when auth is on
_UNGUARDED_ROUTE = re.compile(
    r"^/(?:gradio_api/)?(?:cancel|reset|stream/|heartbeat/|process_recording|vibe-|undo-vibe-)",
    re.IGNORECASE)
_LOGIN_ROUTE = re.compile(r"^/(?:gradio_api/)?login/?$", re.IGNORECASE)


async def _send_text(send: Callable[..., Awaitable[None]], status: int, text: str,
                     headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"detail": text}, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


class LoginGuard:
    """ASGI middleware used when login is on.

    * Rate limit: after ``max_failures`` failed ``POST /login`` from one client address within
      ``window`` seconds, every login attempt of that client (even with the right password) is
      refused for ``lockout`` seconds with HTTP 429 and a Dutch message; a successful login clears
      the count.
    * Routes Gradio leaves without a login check (``/gradio_api/cancel``, ``/reset``,
      ``/stream/…`` for recorded input, ``/heartbeat/…``) answer 401 unless the request carries a
      valid login cookie."""

    def __init__(self, app: Callable[..., Awaitable[None]], max_failures: float = LOGIN_MAX_FAILURES,
                 window: float = LOGIN_WINDOW, lockout: float = LOGIN_LOCKOUT) -> None:
        self.app = app
        from rag.api import FailureLimit  # one failure counter for the chat login and the API keys

        self.limits = FailureLimit(max_failures, window, lockout)
        self.limits.what = "inloggen"

    @staticmethod
    def _logged_in(scope: MutableMapping[str, Any]) -> bool:
        from starlette.requests import Request

        app = scope.get("app")
        tokens = getattr(app, "tokens", None)
        cookie_id = getattr(app, "cookie_id", None)
        if not isinstance(tokens, dict) or cookie_id is None:
            return False
        cookies = Request(scope).cookies
        token = cookies.get(f"access-token-{cookie_id}") or cookies.get(f"access-token-unsecure-{cookie_id}")
        return token is not None and token in tokens

    async def __call__(self, scope: MutableMapping[str, Any], receive: Callable[..., Awaitable[Any]],
                       send: Callable[..., Awaitable[None]]) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        if _UNGUARDED_ROUTE.search(path) and not self._logged_in(scope):
            await _send_text(send, 401, "Niet ingelogd: log eerst in om de chat te gebruiken.")
            return
        if not (_LOGIN_ROUTE.search(path) and scope.get("method") == "POST"):
            await self.app(scope, receive, send)
            return
        client = str((scope.get("client") or ("?",))[0])
        wait = self.limits.retry_after(client)
        if wait > 0:
            minutes = max(1, math.ceil(wait / 60))
            await _send_text(send, 429, (f"Te veel mislukte inlogpogingen. Probeer het over {minutes} "
                                         f"{'minuut' if minutes == 1 else 'minuten'} opnieuw."),
                             [(b"retry-after", str(math.ceil(wait)).encode())])
            return
        status: list[int] = []

        async def watch(message: MutableMapping[str, Any]) -> None:
            if message.get("type") == "http.response.start":
                status.append(int(message.get("status", 0)))
            await send(message)

        await self.app(scope, receive, watch)
        if status and status[0] == HTTPStatus.OK:
            self.limits.succeeded(client)
        elif status and status[0] in (HTTPStatus.BAD_REQUEST, HTTPStatus.UNAUTHORIZED):
            self.limits.failed(client)


def blocked_paths(settings: Settings | None = None) -> list[str]:
    """Absolute paths Gradio must never serve (defence in depth behind :class:`RefuseFileRoutes`)."""
    paths = {Path("/etc"), Path.home(), Path.cwd(), Path(__file__).resolve().parent}
    if settings is not None:
        paths |= {settings.corpus_dir.resolve(), settings.index_dir.resolve()}
    return sorted(str(p) for p in paths)


AUTH_ON_COMMAND_LINE = (
    "--auth gebruiker:wachtwoord wordt niet meer aangenomen: een wachtwoord op de opdrachtregel "
    "is voor iedereen op deze machine zichtbaar in de proceslijst. Zet het in de omgeving "
    "(RAG_AUTH=gebruiker:wachtwoord python app.py) of in een bestand (--auth-file PAD, één regel "
    "gebruiker:wachtwoord, bij voorkeur chmod 600)")


def auth_from(auth_file: Path | None, env: MutableMapping[str, str] | None = None,
              cli_value: str | None = None) -> tuple[str, str] | None:
    """The login from ``--auth-file`` or ``RAG_AUTH`` (the file wins); None when neither is set.
    ``--auth`` with a value (``cli_value``) is refused. Raises ValueError (Dutch)."""
    if cli_value is not None:
        raise ValueError(AUTH_ON_COMMAND_LINE)
    if auth_file is not None:
        try:
            data = auth_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"--auth-file {auth_file}: onleesbaar ({exc.__class__.__name__}: "
                             f"{getattr(exc, 'strerror', None) or exc})") from exc
        lines = [line for line in data.splitlines() if line.strip()]
        if len(lines) != 1:
            raise ValueError(f"--auth-file {auth_file}: verwacht één regel gebruiker:wachtwoord")
        try:
            return parse_auth(lines[0]) or None
        except ValueError:
            raise ValueError(f"--auth-file {auth_file}: de regel moet de vorm gebruiker:wachtwoord hebben") from None
    return parse_auth(env_value("RAG_AUTH", env))


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """``"user:password"`` → ``("user", "password")`` (the password may contain ':'); None for
    empty. Raises ValueError (Dutch) when the user or password is missing."""
    if value is None or not value.strip():
        return None
    user, sep, password = value.strip().partition(":")
    if not sep or not user or not password:
        raise ValueError("RAG_AUTH/--auth-file moet de vorm gebruiker:wachtwoord hebben")
    return user, password


def launch_app(demo: gr.Blocks, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
               auth: tuple[str, str] | None = None, settings: Settings | None = None,
               prevent_thread_lock: bool = False, quiet: bool = False,
               login_limits: dict[str, float] | None = None, pipeline: Pipeline | None = None,
               concurrency: int = DEFAULT_CONCURRENCY, api_keys: Sequence[str] | None = None,
               allow_upload: bool = False) -> str:
    """Serve ``demo`` with the safe defaults (localhost, no share link, no file routes, no run
    history/monitoring/MCP/SSR) and the chat's CSS; return the local URL.

    The chat is mounted (``gr.mount_gradio_app``) at ``/`` on a FastAPI application served by
    uvicorn; with ``pipeline`` (the one ``demo`` answers from) that application is
    :func:`rag.api.create_api`: the HTTP API under ``/api`` and ``/v1``, sharing the login
    (``auth``), ``api_keys`` (default ``RAG_API_KEYS``) and ``concurrency`` answers at once with
    the chat. With ``auth`` the :class:`LoginGuard` is installed (``login_limits`` overrides its
    ``max_failures``, ``window``, ``lockout``). With ``prevent_thread_lock`` it returns at once;
    stop the server with ``demo.close()``. ``allow_upload`` (the app built with ``allow_upload``)
    opens Gradio's upload route for files up to ``settings.max_file_mb``; refused (ValueError,
    Dutch) unless the server listens on the loopback address or has a login (:func:`upload_allowed`).
    Raises OSError when the port is taken."""
    from fastapi import FastAPI
    from gradio import http_server
    from starlette.middleware import Middleware
    from starlette.routing import Mount

    from rag.api import create_api

    if allow_upload and not upload_allowed(host, auth):
        raise ValueError(UPLOAD_REFUSED)
    max_size: int | str = (settings or Settings()).max_file_bytes if allow_upload else "1kb"
    app = (create_api(pipeline, concurrency=concurrency, login=auth, api_keys=api_keys, login_limits=login_limits)
           if pipeline is not None
           else FastAPI(docs_url=None, redoc_url=None, openapi_url=None))
    gr.mount_gradio_app(
        app, demo, "/", server_name=host, server_port=port, auth=auth,
        auth_message="Log in om de chat over de topdocumenten te gebruiken." if auth else None,
        show_error=False, allowed_paths=[], blocked_paths=blocked_paths(settings), max_file_size=max_size,
        footer_links=[], run_history=False, enable_monitoring=False, mcp_server=False,
        ssr_mode=False, pwa=False, css=CSS, head=HEAD + ACTIONS_SCRIPT,
        app_kwargs={"middleware": [Middleware(RefuseFileRoutes, allow_upload=allow_upload),
                                   *([Middleware(LoginGuard, **(login_limits or {}))] if auth else [])]},
    )
    _, port, url, server = http_server.start_server(app, server_name=host, server_port=port)  # type: ignore[arg-type]
    # what Blocks.launch would have set, so demo.close() stops this server and the queue
    demo.app = demo.server_app = next(r.app for r in app.routes if isinstance(r, Mount))  # type: ignore[assignment]
    demo.server, demo.server_port = server, port
    demo.server_name, demo.local_url = host, url  # type: ignore[assignment]
    demo.local_api_url = f"{url.rstrip('/')}/gradio_api/"  # type: ignore[assignment]
    demo.is_running = True
    if not quiet:
        print(f"* Running on {url}")
    if not prevent_thread_lock:
        demo.block_thread()
    return str(url)


def build_parser() -> argparse.ArgumentParser:
    """Flags of ``python app.py`` (retrieval/LLM flags shared with ``rag.ask``)."""
    p = DutchArgumentParser(
        prog="python app.py",
        description="Webchat over de Nederlands-Vlaamse topdocumenten, met bronvermelding.")
    p.add_argument("--host", default=DEFAULT_HOST,
                   help=f"adres om op te luisteren (standaard {DEFAULT_HOST}; 0.0.0.0 = hele netwerk)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"poort (standaard {DEFAULT_PORT})")
    p.add_argument("--auth-file", type=Path, default=None, metavar="PAD",
                   help="zet inloggen aan: bestand met één regel gebruiker:wachtwoord "
                        "(of de omgevingsvariabele RAG_AUTH=gebruiker:wachtwoord)")
    # the old flag: refused with a hint, because a password on the command line is visible
    # to every user of the machine in the process list
    p.add_argument("--auth", default=None, help=argparse.SUPPRESS)
    p.add_argument("--upload", action="store_true",
                   help="laat gebruikers documenten toevoegen vanuit de chat (alleen op 127.0.0.1 of met inloggen)")
    p.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY,
                   help=f"vragen die tegelijk worden beantwoord (standaard {DEFAULT_CONCURRENCY})")
    add_settings_arguments(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python app.py``; returns the exit status (2 bad usage, 1 index/internal error)."""

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        settings = settings_from_args(args)
        auth = auth_from(args.auth_file, cli_value=args.auth)
        if not 1 <= args.port <= _MAX_PORT:
            raise ValueError("--port moet tussen 1 en 65535 liggen")
        if args.concurrency < 1:
            raise ValueError("--concurrency moet minstens 1 zijn")
        if args.upload and not upload_allowed(args.host, auth):
            raise ValueError(UPLOAD_REFUSED)
    except ValueError as exc:
        print(f"fout: {exc}", file=sys.stderr)
        return 2
    pipeline = Pipeline(settings, progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    print("Index laden…", file=sys.stderr, flush=True)
    try:
        pipeline.load()
    except RagError as exc:
        print(f"fout: {exc}", file=sys.stderr)
        return 1
    demo = build_app(pipeline=pipeline, concurrency=args.concurrency, allow_upload=args.upload)
    if args.host not in ("127.0.0.1", "localhost", "::1") and auth is None and not settings.api_key_list:
        print("let op: de chat is bereikbaar vanaf het netwerk zonder inloggen "
              "(zet RAG_AUTH of gebruik --auth-file).",
              file=sys.stderr)
    shown_host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    busy = port_in_use(args.host, args.port)
    if busy:
        print(f"fout: kan niet luisteren op {args.host}:{args.port}: {busy}", file=sys.stderr)
        return 1
    print(f"Chat draait op http://{shown_host}:{args.port}/ (stoppen: Ctrl-C); API op /api en /v1 "
          f"(OpenAPI: http://{shown_host}:{args.port}/api/openapi.json)", file=sys.stderr, flush=True)
    try:
        launch_app(demo, host=args.host, port=args.port, auth=auth, settings=settings, quiet=True,
                   pipeline=pipeline, concurrency=args.concurrency, allow_upload=args.upload)
    except OSError as exc:
        print(f"fout: kan niet luisteren op {args.host}:{args.port}: {port_in_use(args.host, args.port) or exc}",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def port_in_use(host: str, port: int) -> str:
    """Why the chat cannot listen on ``host``:``port``, in Dutch ("de poort is al in gebruik …"),
    or "" when a socket can bind there now (checked before "Chat draait op …" is printed)."""
    import errno
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return "de poort is al in gebruik (door een andere chat of een ander programma); kies er een met --port"
            if exc.errno == errno.EACCES:
                return "geen toestemming voor deze poort (onder 1024 alleen als beheerder); kies er een met --port"
            return f"het adres is niet bruikbaar ({exc.strerror or exc})"
    return ""


if __name__ == "__main__":
    raise SystemExit(main())
