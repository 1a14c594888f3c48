"""HTTP API for other tools: REST routes with the JSON contract and an OpenAI-compatible chat.

Served by the same process as the web chat: :func:`create_api` makes a FastAPI application with
the routes below, and ``app.py`` mounts the Gradio chat on it (``gr.mount_gradio_app``), so both
share one :class:`~rag.pipeline.Pipeline`, one ``--host``/``--port``, the login and one limit on
answers computed at once (:class:`~rag.pipeline.AnswerSlots`, ``--concurrency``).

REST (``/api``):

* ``POST /api/ask`` ``{"question", "history": [earlier questions], "filters": {...}, "top_k"}`` →
  exactly the object of ``python -m rag.ask --json`` (:func:`rag.answer.answer_to_json`).
* ``GET /api/documents`` → ``{"count", "documents": [DocumentInfo.to_json()]}``.
* ``GET /api/documents/{id}`` → :func:`rag.corpus.document_to_json` with, per paragraph, the
  ``passage_ids`` the index cites (404 for an unknown id).
* ``GET /api/health`` → index version (build id, time, corpus hash), document count, models, slots.
* ``GET /api/openapi.json`` → the OpenAPI schema (pydantic models of every request and response).

OpenAI-compatible (``/v1``):

* ``GET /v1/models`` → one model, :attr:`rag.settings.Settings.api_model` (named after the corpus).
* ``POST /v1/chat/completions`` ``{"messages", "stream"}``: the last user message is the question,
  the earlier user messages are the history. ``content`` is the answer with its ``[n]`` markers and a
  Markdown source list; the structured citations (contract objects) are in the extra field
  ``citations`` of the completion, and of the last chunk when streaming (SSE, ``data: [DONE]``).
  An abstention is an ordinary reply with the Dutch message and no sources. Optional extra fields
  ``filters`` and ``top_k`` as in ``/api/ask``.

Access and limits: with the chat login (``RAG_AUTH``/``--auth-file``) or API keys
(``RAG_API_KEYS``) every route answers 401 without ``Authorization: Bearer <key>`` (or the login as
``Bearer gebruiker:wachtwoord`` or HTTP Basic); after 5 wrong credentials within a minute a client is
refused for 5 minutes (429), as at the chat's login. Bodies over ``max_body_bytes`` get 413, malformed
JSON and wrong fields 422 with a Dutch message, a full queue 503. Responses are JSON (or
``text/event-stream``) with ``X-Content-Type-Options: nosniff``; nothing is rendered as HTML, and
in the Markdown ``content`` every character Markdown or HTML could act on is backslash-escaped.
A client that disconnects while its question waits or is answered sets the question's cancel
event (:meth:`rag.pipeline.Pipeline.answer`), which frees its slot.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import json
import logging
import math
import re
import secrets
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping, Sequence
from http import HTTPStatus
from typing import Any, Literal, cast

import anyio
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from rag.answer import Answer, answer_to_json, with_meta
from rag.corpus import document_to_json
from rag.errors import AnswerCancelled, BusyError, EmptyQuestionError, RagError, json_error_message
from rag.filters import FilterError, Filters
from rag.index import DocumentInfo
from rag.pipeline import AnswerSlots, Pipeline

log = logging.getLogger("rag.api")
#: addresses whose failed log-ins are remembered at most (memory stays bounded under a flood)
_MAX_TRACKED_CLIENTS = 10_000

#: largest request body accepted (bytes); a long chat history of an OpenAI client fits easily
MAX_BODY_BYTES = 256 * 1024
#: API questions waiting for a thread before new ones get 503
MAX_WAITING = 256
#: earlier user questions passed to the pipeline as follow-up context
HISTORY_QUESTIONS = 5
#: seconds between checks whether a waiting client is still connected
DISCONNECT_POLL = 0.1
API_PREFIXES = ("/api", "/v1")
UNAUTHORIZED_TEXT = ("Niet ingelogd: stuur een geldige API-sleutel mee (Authorization: Bearer <sleutel>, "
                     "zie RAG_API_KEYS) of de login van de chat.")
CANCELLED_STATUS = 499  # nginx's "client closed request": logged only, the client is gone


#: every method a client may send; the catch-all routes answer them with a Dutch 404 or 405
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

# --- request and response models (the OpenAPI schema) ---------------------------------------------

class FiltersModel(BaseModel):
    """Search filters (empty lists and null do not restrict); see :class:`rag.filters.Filters`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True)
    documents: list[str] = Field(default_factory=list, description="document ids (GET /api/documents)")
    kinds: list[str] = Field(default_factory=list, description="document kinds, e.g. verdrag, slotverklaring")
    year_from: int | None = Field(None, alias="from", description="first year, inclusive")
    year_to: int | None = Field(None, alias="to", description="last year, inclusive")

    def to_filters(self) -> Filters:
        """The pipeline's :class:`~rag.filters.Filters`; raises FilterError (Dutch)."""
        return Filters.from_json({"documents": self.documents, "kinds": self.kinds,
                                  "from": self.year_from, "to": self.year_to})


class AskRequest(BaseModel):
    """``POST /api/ask``: one question, with earlier questions of the conversation (oldest first)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    question: str = Field(description="the question, in Dutch (English works less well)")
    history: list[str] = Field(default_factory=list, description="earlier questions, oldest first")
    filters: FiltersModel | None = None
    top_k: int | None = Field(None, ge=1, le=100, description="passages retrieved (default: the server's)")
    id: str | int | None = Field(None, description="the caller's id of the question, given back as the answer's id")


class CitationOut(BaseModel):
    """One cited paragraph (README, JSON contract)."""

    n: int
    passage_id: str
    doc_id: str
    title: str
    date: str | None
    source: str | None
    locator: str
    fragment: bool
    text: str
    quote: str
    score: float


class RetrievedOut(BaseModel):
    """One retrieved passage (README, JSON contract)."""

    rank: int
    passage_id: str
    doc_id: str
    locator: str
    text: str
    score: float
    dense_score: float | None
    bm25_score: float | None
    rerank_score: float | None = None
    title: str


class FiltersOut(BaseModel):
    """The filters a question was answered under."""

    model_config = ConfigDict(populate_by_name=True)
    documents: list[str]
    kinds: list[str]
    year_from: int | None = Field(alias="from")
    year_to: int | None = Field(alias="to")


class AnswerOut(BaseModel):
    """The JSON contract of ``rag.ask --json`` (:func:`rag.answer.answer_to_json`)."""

    id: Any = None
    question: str
    answer: str
    abstained: bool
    reason: str
    mode: str
    citations: list[CitationOut]
    retrieved: list[RetrievedOut]
    related: list[RetrievedOut]
    notices: list[str]
    filters: FiltersOut | None
    timings_ms: dict[str, float]


class DocumentList(BaseModel):
    """``GET /api/documents``."""

    count: int
    #: one indexed document each; pydantic reads the frozen dataclass :class:`rag.index.DocumentInfo` as its schema
    documents: list[DocumentInfo]


class SectionOut(BaseModel):
    """A heading of a document."""

    key: str
    kind: str
    number: str
    title: str
    label: str
    subtitle: str
    parent_key: str


class ParagraphOut(BaseModel):
    """A paragraph with its locator and the ids of the passages the index made of it."""

    id: str
    section_key: str
    locator: str
    kind: str
    caption: str
    article: str | None
    text: str
    passage_ids: list[str]


class DocumentDetail(BaseModel):
    """``GET /api/documents/{id}``: metadata, sections and paragraphs (:func:`rag.corpus.document_to_json`)."""

    id: str
    title: str
    date: str | None
    source: str | None
    path: str
    kind: str | None
    fragment: bool
    pages: int
    unreadable_pages: list[int]
    tables: int
    sections: list[SectionOut]
    paragraphs: list[ParagraphOut]


class IndexStatus(BaseModel):
    """Which index build answers."""

    build_id: str | None
    build_time: str | None
    corpus_hash: str | None
    format_version: int | None
    passages: int
    up_to_date: bool = Field(description="False when the corpus changed and no index of it is built yet")


class SlotStatus(BaseModel):
    """Answers computed at once: the limit, held now, waiting now (chat and API together)."""

    limit: int
    in_use: int
    waiting: int


class Health(BaseModel):
    """``GET /api/health``."""

    status: Literal["ok"]
    model: str = Field(description="the model id of GET /v1/models")
    index: IndexStatus
    documents: int
    embedder: str | None
    answers: str = Field(description='"extractive" or the language model that writes answers')
    slots: SlotStatus | None


class ErrorOut(BaseModel):
    """An error: ``detail`` is a Dutch message (``/v1`` routes add OpenAI's ``error`` object)."""

    detail: str
    error: dict[str, Any] | None = None


class ChatMessage(BaseModel):
    """One message of an OpenAI chat request; ``content`` is text or a list of parts (text parts used)."""

    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    """``POST /v1/chat/completions`` (OpenAI's fields; sampling fields are accepted and ignored)."""

    model_config = ConfigDict(extra="allow")
    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = Field(False, strict=True)
    filters: FiltersModel | None = Field(None, description="extension: search filters as in /api/ask")
    top_k: int | None = Field(None, ge=1, le=100, strict=True, description="extension: passages retrieved")


class ChatChoiceMessage(BaseModel):
    """The assistant message of a completion."""

    role: Literal["assistant"]
    content: str


class ChatChoice(BaseModel):
    """The one choice of a completion."""

    index: int
    message: ChatChoiceMessage
    finish_reason: Literal["stop"]


class ChatCompletion(BaseModel):
    """A non-streamed completion; ``citations`` and ``rag`` are extra fields of this server."""

    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[ChatChoice]
    citations: list[CitationOut] = Field(description="the cited paragraphs, numbered as the [n] markers")
    rag: dict[str, Any] = Field(description="abstained, reason, mode, notices and filters of the answer")


class ModelOut(BaseModel):
    """One entry of ``GET /v1/models``."""

    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class ModelList(BaseModel):
    """``GET /v1/models``."""

    object: Literal["list"]
    data: list[ModelOut]


# --- Dutch validation messages -------------------------------------------------------------------

_TYPE_WORDS = {"string": "een tekst", "int": "een geheel getal", "bool": "true of false", "list": "een lijst",
               "dict": "een object", "model": "een object", "float": "een getal"}


def _field_name(loc: Sequence[Any]) -> str:
    """"messages.0.content" of pydantic's ``loc``; the member of a union it tried ("str",
    "list[dict[str,any]]") is a type, not a field, and is left out."""
    parts = [str(p) for p in loc if p != "body" and not (isinstance(p, str) and _UNION_MEMBER.fullmatch(p))]
    return ".".join(parts) if parts else "body"


_UNION_MEMBER = re.compile(r"str|int|float|bool|dict|list|none|\w+\[.*\]")


#: FastAPI's detail for a request body it cannot decode (not UTF-8, or JSON nested too deep)
_UNPARSABLE_BODY = "There was an error parsing the body"


def dutch_validation_message(errors: Sequence[dict[str, Any]]) -> str:
    """One Dutch sentence per pydantic/FastAPI validation error, joined (``json_invalid``,
    ``missing``, ``extra_forbidden``, wrong types, out-of-range numbers; others with pydantic's text)."""
    out = []
    wanted: dict[str, list[str]] = {}  # a field of a union type: "een tekst of een lijst"
    for err in errors:
        kind = str(err.get("type", ""))
        name = _field_name(err.get("loc", ()))
        ctx = err.get("ctx") or {}
        if kind == "json_invalid":
            where = err.get("loc", ("body", 0))
            pos = where[1] if len(where) > 1 and isinstance(where[1], int) else None
            why = json_error_message(str(ctx.get("error", "onleesbaar")), pos)
            out.append(f"Ongeldige JSON in de aanvraag: {why}.")
        elif kind == "missing":
            out.append("De aanvraag is leeg of geen JSON-object." if name == "body"
                       else f"Het veld '{name}' ontbreekt.")
        elif kind == "extra_forbidden":
            out.append(f"Onbekend veld '{name}'.")
        elif kind.endswith("_type") or kind.endswith("_parsing") or kind == "int_from_float":
            base = kind.split("_", 1)[0]
            wants = wanted.setdefault(name, [])
            wants.append(_TYPE_WORDS.get(base, base))
            out.append("De aanvraag moet een JSON-object zijn." if name == "body"
                       else f"Het veld '{name}' moet {' of '.join(dict.fromkeys(wants))} zijn.")
        elif kind in ("greater_than_equal", "greater_than"):
            out.append(f"Het veld '{name}' moet minstens {ctx.get('ge', ctx.get('gt'))} zijn.")
        elif kind in ("less_than_equal", "less_than"):
            out.append(f"Het veld '{name}' mag hoogstens {ctx.get('le', ctx.get('lt'))} zijn.")
        elif kind == "too_short":
            out.append(f"Het veld '{name}' mag niet leeg zijn.")
        else:
            out.append(f"Het veld '{name}' is ongeldig ({err.get('msg', kind)}).")
    # of a union's messages for one field, the last names every type it may have
    out = [m for i, m in enumerate(out) if not any(o != m and o.startswith(m[:-len(" zijn.")]) for o in out[i + 1:])]
    return " ".join(dict.fromkeys(out)) or "Ongeldige aanvraag."


def _error_response(request: Request, status: int, message: str, code: str,
                    headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"detail": message}
    if request.url.path.startswith("/v1"):
        kind = "invalid_request_error" if status in (400, 404, 405, 413, 422) else (
            "authentication_error" if status == HTTPStatus.UNAUTHORIZED else "server_error")
        body["error"] = {"message": message, "type": kind, "param": None, "code": code}
    return JSONResponse(body, status_code=status, headers=headers)


# --- access and body size: pure ASGI middleware on the API paths ---------------------------------

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class Access:
    """Who may call the API. Off (everyone) unless ``api_keys`` or ``login`` is given; then a
    request needs ``Authorization: Bearer <key>`` with one of ``api_keys``, or the chat login as
    ``Bearer gebruiker:wachtwoord`` or ``Basic base64(gebruiker:wachtwoord)`` (constant-time checks)."""

    def __init__(self, api_keys: Sequence[str] = (), login: tuple[str, str] | None = None) -> None:
        self.tokens = [k.encode() for k in api_keys if k]
        self.login = login
        if login is not None:
            self.tokens.append(f"{login[0]}:{login[1]}".encode())

    @property
    def enabled(self) -> bool:
        """True when calls must authenticate."""
        return bool(self.tokens)

    def allows(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header value grants access."""
        if not self.enabled:
            return True
        if not authorization:
            return False
        scheme, _, value = authorization.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer":
            given = value.encode()
        elif scheme.lower() == "basic" and self.login is not None:
            try:
                given = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                return False
        else:
            return False
        ok = False
        for token in self.tokens:  # compare with every token, so timing does not tell which matched
            ok |= secrets.compare_digest(given, token)
        return ok


class FailureLimit:
    """Failed credentials per client address: after ``max_failures`` within ``window`` seconds the
    client is refused for ``lockout`` seconds (even with a right key), as the chat's login is, so
    the API cannot be used to guess the chat password. Thread-safe; memory bounded."""

    def __init__(self, max_failures: float = 5, window: float = 60.0, lockout: float = 300.0) -> None:
        self.max_failures = max_failures
        self.window = window
        self.lockout = lockout
        self.what = "API"  # named in the log line ("API", "inloggen")
        self._failures: dict[str, list[float]] = {}
        self._locked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def succeeded(self, client: str) -> None:
        """Forget the failed attempts of ``client`` (a right key or login clears the count)."""
        with self._lock:
            self._failures.pop(client, None)

    def retry_after(self, client: str) -> float:
        """Seconds this client is still refused (0 when it is not)."""
        now = time.monotonic()
        with self._lock:
            until = self._locked_until.get(client, 0.0)
            if until <= now:
                self._locked_until.pop(client, None)
                return 0.0
            return until - now

    def failed(self, client: str) -> None:
        """Count one failed attempt of ``client``."""
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._failures.get(client, []) if now - t < self.window] + [now]
            self._failures[client] = recent
            if len(recent) >= self.max_failures:
                self._locked_until[client] = now + self.lockout
                self._failures.pop(client, None)
                log.warning("%s geblokkeerd voor %s: %d mislukte pogingen binnen %.0f s", self.what, client,
                            len(recent), self.window)
            if len(self._failures) > _MAX_TRACKED_CLIENTS:
                self._failures = {c: ts for c, ts in self._failures.items() if now - ts[-1] < self.window}


class ApiGuard:
    """ASGI middleware for the ``/api`` and ``/v1`` paths, in this order: a call that ``access``
    does not allow gets 401 (before its body is read); a body larger than ``max_body_bytes`` (by
    ``Content-Length`` or as it streams in) gets 413 before any route sees it; every response gets
    ``X-Content-Type-Options: nosniff`` and ``Cache-Control: no-store``. Other paths (the Gradio
    chat) pass untouched."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], access: Access,
                 max_body_bytes: int = MAX_BODY_BYTES, limits: FailureLimit | None = None) -> None:
        self.app = app
        self.access = access
        self.max_body_bytes = max_body_bytes
        self.limits = limits or FailureLimit()

    @staticmethod
    async def _refuse(send: Send, path: str, status: int, text: str, code: str,
                      headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
        payload: dict[str, Any] = {"detail": text}
        if path.startswith("/v1"):
            kind = "authentication_error" if status == HTTPStatus.UNAUTHORIZED else "invalid_request_error"
            payload["error"] = {"message": text, "type": kind, "param": None, "code": code}
        data = json.dumps(payload, ensure_ascii=False).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json; charset=utf-8"),
                                (b"content-length", str(len(data)).encode()),
                                (b"x-content-type-options", b"nosniff"), *headers]})
        await send({"type": "http.response.body", "body": data})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope.get("type") != "http" or not any(path == p or path.startswith(p + "/") for p in API_PREFIXES):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if self.access.enabled:
            client = str((scope.get("client") or ("?",))[0])
            wait = self.limits.retry_after(client)
            if wait > 0:
                minutes = max(1, math.ceil(wait / 60))
                await self._refuse(send, path, 429, (
                    f"Te veel mislukte pogingen met een verkeerde sleutel of login. Probeer het over {minutes} "
                    f"{'minuut' if minutes == 1 else 'minuten'} opnieuw."), "rate_limited",
                    [(b"retry-after", str(math.ceil(wait)).encode())])
                return
            authorization = headers.get("authorization")
            if not self.access.allows(authorization):
                if authorization:  # a wrong credential, not a missing one, counts as a guess
                    self.limits.failed(client)
                await self._refuse(send, path, 401, UNAUTHORIZED_TEXT, "invalid_api_key",
                                   [(b"www-authenticate", b'Bearer realm="rag"')])
                return
        length = headers.get("content-length", "")
        too_big = length.isdigit() and int(length) > self.max_body_bytes
        has_body = scope.get("method") in ("POST", "PUT", "PATCH")
        body = b""
        more = has_body and not too_big
        while more:  # read the whole (bounded) body first, then replay it to the route
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = bool(message.get("more_body"))
            if len(body) > self.max_body_bytes:
                too_big = True
                break
        if too_big:
            text = (f"De aanvraag is te groot: hoogstens {self.max_body_bytes // 1024} kB "
                    f"({self.max_body_bytes:,} bytes).").replace(",", ".")
            await self._refuse(send, path, 413, text, "request_too_large", [(b"connection", b"close")])
            return
        replayed = False

        async def replay() -> MutableMapping[str, Any]:
            nonlocal replayed
            if has_body and not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def secure(message: MutableMapping[str, Any]) -> None:
            if message.get("type") == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-content-type-options", b"nosniff"),
                                      (b"cache-control", b"no-store")]
            await send(message)

        await self.app(scope, replay, secure)


class ClientGone(Exception):
    """The client disconnected while its question was waiting or being answered."""


# --- answering off the event loop, with a shared limit and cancellation on disconnect -----------

class Answering:
    """Runs :meth:`Pipeline.answer` in worker threads: at most ``slots.limit`` threads at once
    (further API questions wait here without a thread, in FIFO order), each holding a slot of the
    shared :class:`~rag.pipeline.AnswerSlots`. ``await answering(request, question, …)`` returns the
    Answer; when ``request`` disconnects first, the question's cancel event is set (so a waiting or
    streaming question frees its slot) and :class:`ClientGone` is raised."""

    def __init__(self, pipeline: Pipeline, slots: AnswerSlots, max_waiting: int = MAX_WAITING) -> None:
        self.pipeline = pipeline
        self.slots = slots
        self.max_waiting = max_waiting
        self._limiter: anyio.CapacityLimiter | None = None

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        """Created inside the server's event loop (anyio needs a running loop)."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.slots.limit)
        return self._limiter

    @property
    def waiting(self) -> int:
        """API questions waiting for a thread."""
        return self.limiter.statistics().tasks_waiting if self._limiter is not None else 0

    async def __call__(self, request: Request | None, question: str, history: Sequence[str], *,
                       top_k: int | None, filters: Filters | None, cancel: threading.Event | None = None) -> Answer:
        if self.waiting >= self.max_waiting:
            raise BusyError()
        cancel = cancel or threading.Event()
        call = functools.partial(self.pipeline.answer, question, list(history), top_k=top_k, filters=filters,
                                 cancel=cancel)
        task = asyncio.ensure_future(anyio.to_thread.run_sync(call, limiter=self.limiter))
        try:
            while not task.done():
                await asyncio.wait({task}, timeout=DISCONNECT_POLL)
                if not task.done() and request is not None and await request.is_disconnected():
                    raise ClientGone()
            return task.result()
        finally:
            if not task.done():
                cancel.set()
                task.cancel()
                task.add_done_callback(lambda t: t.cancelled() or t.exception())  # no "never retrieved"


# --- the OpenAI reply ----------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>&~$])")
_MARKER_ESCAPED = re.compile(r"\\\[(\d+)\\\]")
_SAFE_URL = re.compile(r"^https?://[^\s<>\"'`\\()\[\]]+$", re.IGNORECASE)


def markdown_text(text: str, keep_markers: bool = False) -> str:
    """``text`` with every character Markdown or HTML could act on backslash-escaped (CommonMark
    shows ``\\<`` as ``<``), so a client that renders Markdown shows the exact text and no tag,
    link or emphasis comes out of it; ``keep_markers`` leaves the ``[n]`` citation markers as they are."""
    out = _MD_SPECIAL.sub(r"\\\1", text)
    return _MARKER_ESCAPED.sub(r"[\1]", out) if keep_markers else out


def reply_markdown(answer: Answer) -> str:
    """The ``content`` of an OpenAI reply: the answer with its ``[n]`` markers, then (when it cites
    anything) a Markdown source list, one item per citation: title, date, locator, source link and
    the quoted sentence(s). An abstention is the Dutch message alone."""
    parts = [markdown_text(answer.text, keep_markers=True)]
    if answer.citations and not answer.abstained:
        lines = ["**Bronnen**", ""]
        for c in sorted(answer.citations, key=lambda c: c.n):
            p = c.passage
            head = f"[{c.n}] {markdown_text(p.title)}"
            if p.heading_date:
                head += f" ({markdown_text(p.heading_date)})"
            head += f", {markdown_text(p.locator)}"
            if p.fragment:
                head += " (fragment: het corpus bevat maar een deel van dit document)"
            if p.source and _SAFE_URL.match(p.source):
                head += f" — <{p.source}>"
            lines.append(f"- {head}")
            lines.extend(f"  > {markdown_text(q)}" for q in c.spans)
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def _message_text(message: ChatMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content
                       if isinstance(part, dict) and part.get("type", "text") == "text")
    return ""


#: the roles of an OpenAI chat message
_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


def chat_question(messages: Sequence[ChatMessage]) -> tuple[str, list[str]]:
    """(question, history) of an OpenAI ``messages`` list: the last user message and the earlier
    user messages (last :data:`HISTORY_QUESTIONS`, oldest first). System and assistant messages
    are ignored. Raises EmptyQuestionError (Dutch) without a user message."""
    unknown = sorted({m.role for m in messages} - _ROLES)
    if unknown:
        raise EmptyQuestionError(f"Onbekende rol {', '.join(repr(r) for r in unknown)} in 'messages'; toegestaan: "
                                 f"{', '.join(sorted(_ROLES))}.")
    users = [_message_text(m).strip() for m in messages if m.role == "user"]
    if not users:
        raise EmptyQuestionError("Stel een vraag: het verzoek bevat geen bericht van de gebruiker (role 'user').")
    if not users[-1]:
        raise EmptyQuestionError("Stel een vraag: het laatste bericht van de gebruiker bevat geen tekst (van een "
                                 "lijst van delen worden alleen de tekstdelen gelezen).")
    return users[-1], [u for u in users[:-1] if u][-HISTORY_QUESTIONS:]


def _rag_extra(answer: Answer) -> dict[str, Any]:
    data = answer_to_json(answer)
    return {k: data[k] for k in ("abstained", "reason", "mode", "notices", "filters")}


def _pieces(text: str, size: int = 48) -> list[str]:
    """``text`` cut at spaces into pieces of about ``size`` characters (the streamed deltas)."""
    out: list[str] = []
    current = ""
    for word in re.split(r"(?<= )", text):
        current += word
        if len(current) >= size:
            out.append(current)
            current = ""
    if current:
        out.append(current)
    return out


def _sse(data: dict[str, Any] | str) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"data: {payload}\n\n".encode()


# --- the application -----------------------------------------------------------------------------

def create_api(  # noqa: C901 - the FastAPI app factory: each route is a closure over the pipeline
        pipeline: Pipeline, *, concurrency: int = 4, login: tuple[str, str] | None = None,
               api_keys: Sequence[str] | None = None, max_body_bytes: int = MAX_BODY_BYTES,
               max_waiting: int = MAX_WAITING, login_limits: dict[str, float] | None = None) -> FastAPI:
    """The FastAPI application with the ``/api`` and ``/v1`` routes (mount the chat on it).

    ``concurrency`` answers are computed at once by the API and every other user of ``pipeline``
    together: ``pipeline.slots`` is set to an :class:`~rag.pipeline.AnswerSlots` of that size when
    it has none. ``login`` (the chat's user and password) and ``api_keys`` (default
    ``pipeline.settings.api_key_list``, i.e. ``RAG_API_KEYS``) turn on the 401 check; wrong
    credentials are rate-limited per client like the chat's login (``login_limits``: ``max_failures``,
    ``window``, ``lockout`` of :class:`FailureLimit`, then 429)."""
    if pipeline.slots is None:
        pipeline.slots = AnswerSlots(concurrency, max_waiting=max_waiting)
    slots = pipeline.slots
    settings = pipeline.settings
    access = Access(settings.api_key_list if api_keys is None else api_keys, login)
    answering = Answering(pipeline, slots, max_waiting)
    model_id = settings.api_model
    started = int(time.time())

    app = FastAPI(title="RAG Topdocumenten API", version="1",
                  description="Vragen over de documenten van de Nederlands-Vlaamse Top, met bronvermelding.",
                  openapi_url="/api/openapi.json", docs_url=None, redoc_url=None)
    app.add_middleware(ApiGuard, access=access, max_body_bytes=max_body_bytes,
                       limits=FailureLimit(**(login_limits or {})))
    # declared for the OpenAPI schema only; ApiGuard checks the header before a route runs
    bearer = [Depends(HTTPBearer(auto_error=False, description="RAG_API_KEYS, or gebruiker:wachtwoord"))]
    errors: dict[int | str, dict[str, Any]] = {401: {"model": ErrorOut}, 413: {"model": ErrorOut},
                                               422: {"model": ErrorOut}, 503: {"model": ErrorOut}}
    rest = APIRouter(prefix="/api", dependencies=bearer if access.enabled else [], responses=errors)
    openai = APIRouter(prefix="/v1", dependencies=bearer if access.enabled else [], responses=errors)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error_response(request, 422, dutch_validation_message(exc.errors()), "invalid_request")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == HTTPStatus.BAD_REQUEST and exc.detail == _UNPARSABLE_BODY:
            # bytes that are not UTF-8, or JSON nested too deep to read: invalid JSON, as documented
            return _error_response(request, 422, "Ongeldige JSON in de aanvraag: de tekst is geen leesbare "
                                   "JSON in UTF-8.", "invalid_request")
        allow = (exc.headers or {}).get("Allow", "een andere methode")
        message = {404: f"Niet gevonden: {request.url.path} is geen adres van dit API (zie /api/openapi.json).",
                   405: f"De methode {request.method} is hier niet toegestaan; gebruik {allow}."}.get(
            exc.status_code, str(exc.detail))
        return _error_response(request, exc.status_code, message, str(exc.status_code),
                               dict(exc.headers) if exc.headers else None)

    @app.exception_handler(FilterError)
    @app.exception_handler(EmptyQuestionError)
    async def bad_question(request: Request, exc: Exception) -> JSONResponse:
        return _error_response(request, 422, str(exc), "invalid_request")

    @app.exception_handler(BusyError)
    async def busy(request: Request, exc: Exception) -> JSONResponse:
        return _error_response(request, 503, str(exc), "server_busy", {"Retry-After": "30"})

    @app.exception_handler(ClientGone)
    async def gone(request: Request, exc: Exception) -> JSONResponse:
        return _error_response(request, CANCELLED_STATUS, AnswerCancelled().args[0], "client_closed")

    @app.exception_handler(RagError)
    async def rag_error(request: Request, exc: Exception) -> JSONResponse:
        log.warning("vraag via de API mislukt: %s", exc)
        return _error_response(request, 500, f"Er ging iets mis: {exc}", "internal_error")

    async def ask_answer(request: Request | None, question: str, history: Sequence[str], top_k: int | None,
                         filters: FiltersModel | None, cancel: threading.Event | None = None) -> Answer:
        f = filters.to_filters() if filters is not None else None
        return await answering(request, question, history, top_k=top_k, filters=f, cancel=cancel)

    @rest.post("/ask", response_model=AnswerOut, summary="Eén vraag; antwoord volgens het JSON-contract")
    async def ask(body: AskRequest, request: Request) -> JSONResponse:
        """The answer object of ``python -m rag.ask --json`` for the same question."""
        answer = await ask_answer(request, body.question, body.history, body.top_k, body.filters)
        return JSONResponse(answer_to_json(with_meta(answer, id=body.id) if body.id is not None else answer))

    @rest.get("/documents", response_model=DocumentList, summary="De geïndexeerde documenten")
    async def documents() -> JSONResponse:
        docs = await anyio.to_thread.run_sync(pipeline.documents)
        return JSONResponse({"count": len(docs), "documents": [d.to_json() for d in docs]})

    @rest.get("/documents/{doc_id}", response_model=DocumentDetail, responses={404: {"model": ErrorOut}},
              summary="Secties en alinea's van één document, met locators en passage-ids")
    async def document(doc_id: str, request: Request) -> JSONResponse:
        found = await anyio.to_thread.run_sync(pipeline.document, doc_id)
        if found is None:
            return _error_response(request, 404, f"Onbekend document: {doc_id}. Zie GET /api/documents.",
                                   "not_found")
        doc, passages = found
        data = document_to_json(doc)
        ids: dict[str, list[str]] = {}
        for p in passages:
            ids.setdefault(p.paragraph_id, []).append(p.id)
        for para in cast(list[dict[str, Any]], data["paragraphs"]):
            para["passage_ids"] = ids.get(para["id"], [])
        return JSONResponse(data)

    @rest.head("/health", include_in_schema=False)  # uptime probes ask with HEAD
    @rest.get("/health", response_model=Health, summary="Indexversie, aantal documenten, modellen")
    async def health() -> JSONResponse:
        status = await anyio.to_thread.run_sync(pipeline.status)
        if status.get("slots") is not None:
            status["slots"]["waiting"] += answering.waiting
        return JSONResponse({"status": "ok", "model": model_id, **status})

    model_entry = {"id": model_id, "object": "model", "created": started, "owned_by": "rag-topdocumenten"}

    @openai.get("/models", response_model=ModelList, summary="Het ene model: dit corpus")
    async def models() -> JSONResponse:
        return JSONResponse({"object": "list", "data": [model_entry]})

    @openai.get("/models/{name}", response_model=ModelOut, responses={404: {"model": ErrorOut}},
                summary="Het ene model, of 404 model_not_found")
    async def model(name: str, request: Request) -> JSONResponse:
        if name != model_id:
            return _error_response(request, 404, f"Het model '{name}' bestaat hier niet; dit API kent alleen "
                                   f"'{model_id}' (zie GET /v1/models).", "model_not_found")
        return JSONResponse(model_entry)

    @openai.post("/chat/completions", response_model=ChatCompletion,
                 summary="OpenAI-compatibel: laatste gebruikersbericht = vraag, eerdere = geschiedenis")
    async def chat_completions(body: ChatRequest, request: Request) -> Any:
        if body.model is not None and body.model != model_id:
            # no silent stand-in: a client that asks for another model learns it is not served here
            return _error_response(request, 404, f"Het model '{body.model}' bestaat hier niet; dit API kent "
                                   f"alleen '{model_id}' (zie GET /v1/models).", "model_not_found")
        question, history = chat_question(body.messages)
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(time.time())
        if not body.stream:
            answer = await ask_answer(request, question, history, body.top_k, body.filters)
            data = answer_to_json(answer)
            return JSONResponse({
                "id": completion_id, "object": "chat.completion", "created": created, "model": model_id,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": reply_markdown(answer)},
                             "finish_reason": "stop"}],
                "citations": data["citations"], "rag": _rag_extra(answer)})
        # check question and filters before the stream starts, so bad input is a plain 422
        pipeline.prepare_question(question)
        if body.filters is not None:
            docs = await anyio.to_thread.run_sync(pipeline.documents)
            body.filters.to_filters().check((d.id for d in docs), (d.kind for d in docs if d.kind))

        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
            return _sse({"id": completion_id, "object": "chat.completion.chunk", "created": created,
                         "model": model_id, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                         **extra})

        async def events() -> AsyncIterator[bytes]:
            cancel = threading.Event()
            try:
                yield chunk({"role": "assistant", "content": ""})
                try:
                    # the request is not polled here: Starlette cancels this generator on disconnect
                    answer = await ask_answer(None, question, history, body.top_k, body.filters, cancel)
                except (RagError, ValueError) as exc:  # after the first chunk: an error text, then stop
                    log.warning("vraag via de API mislukt: %s", exc)
                    yield chunk({"content": f"Er ging iets mis: {exc}"})
                    yield chunk({}, "stop", citations=[], rag={"error": str(exc)})
                    yield _sse("[DONE]")
                    return
                for piece in _pieces(reply_markdown(answer)):
                    yield chunk({"content": piece})
                yield chunk({}, "stop", citations=answer_to_json(answer)["citations"], rag=_rag_extra(answer))
                yield _sse("[DONE]")
            finally:
                cancel.set()  # a disconnect (generator cancelled) frees a waiting or streaming question

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"X-Accel-Buffering": "no"})

    app.include_router(rest)
    app.include_router(openai)
    routes = [r for r in (*app.routes, *rest.routes, *openai.routes) if isinstance(r, Route)]

    # The chat is mounted at "/" and would answer every other API path with its own English 404;
    # these catch what no API route takes: a wrong method (405 with Allow) or an unknown path (404)
    @app.api_route("/api", methods=_ALL_METHODS, include_in_schema=False)
    @app.api_route("/v1", methods=_ALL_METHODS, include_in_schema=False)
    @app.api_route("/api/{rest:path}", methods=_ALL_METHODS, include_in_schema=False)
    @app.api_route("/v1/{rest:path}", methods=_ALL_METHODS, include_in_schema=False)
    async def not_an_api_route(request: Request, rest: str = "") -> None:
        allowed = sorted({m for r in routes if r.path_regex.match(request.url.path) for m in r.methods or ()})
        if allowed:
            raise StarletteHTTPException(405, headers={"Allow": ", ".join(allowed)})
        raise StarletteHTTPException(404)

    return app
