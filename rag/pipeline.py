"""The single entry point shared by the terminal, the web chat and the eval runner.

``Pipeline(settings).answer(question, history=())`` validates the question, rewrites a
follow-up with the previous turn for retrieval, retrieves, answers (extractive, or through
the configured language model), checks the quotes and returns an :class:`~rag.answer.Answer`
with timings. The index is loaded on first use and built when missing or stale (or refused
with :class:`~rag.errors.IndexStaleError` when ``auto_build`` is off).
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rag.answer import (
    CONTINUATION_MESSAGE,
    CONTINUATION_REASON,
    INSTRUCTION_MESSAGE,
    NO_TOPIC_MESSAGE,
    NO_TOPIC_REASON,
    Answer,
    ExtractiveAnswerer,
    abstention,
    strip_instructions,
    with_meta,
)
from rag.embedding import Embedder, load_embedder
from rag.errors import (
    AnswerCancelled,
    BusyError,
    EmptyQuestionError,
    IndexCorruptError,
    IndexMissingError,
    IndexStaleError,
)
from rag.filters import Filters
from rag.index import BuildReport, DocumentInfo, IndexBuilder, SearchIndex, expected_manifest
from rag.question import QuestionAnalysis, analyze, subject_names
from rag.retrieval import CrossEncoderReranker, HybridRetriever, RetrievalResult
from rag.scoring import Scorer
from rag.settings import Mode, Settings
from rag.text import (
    DEFAULT_STEMMER,
    POINTING_BACK_WORDS,
    PRONOMINAL_ADVERBS,
    SENTENCE_BREAK,
    bm25_tokens,
    has_letters_or_digits,
    normalize,
    question_part,
    split_sentences,
    truncate,
)

if TYPE_CHECKING:
    from rag.chunking import Passage
    from rag.corpus import Document

#: the opening of a next turn: a leading conjunction or "what about" ("En in Nederland?", "Maar waarom?")
_TURN_OPENING = r"^\W*(?:en|maar|ook|dus|and|but|what about|hoe zit het)\b"
#: words that point back to an earlier turn: a turn opening, demonstratives and personal
#: pronouns, Dutch pronominal adverbs (daar/hier/er + preposition: "daaraan", "hiervoor", "ermee") and
#: "het" closing the question, alone or before a verb particle ("Hoe vaak vergadert het?", "Hoeveel banen
#: levert het op?": there "het" can only be a pronoun)
_REFERRING = re.compile(
    _TURN_OPENING + rf"|\b({POINTING_BACK_WORDS}|it|that|they|them|there)\b|\b{PRONOMINAL_ADVERBS}\b|"
    r"\bhet(?:\s+(?:aan|af|in|mee|om|op|toe|uit|voor))?\s*[?!.]*\s*$",
    re.IGNORECASE,
)
_CONTINUATION = re.compile(_TURN_OPENING, re.IGNORECASE)
#: notice of a question asked after others and answered on its own: the earlier turns did not help
UNUSED_NOTICE = "Deze vraag is los van de vorige beantwoord: de eerdere vraag hielp niet."


log = logging.getLogger("rag.pipeline")
#: default seconds between checks for a new index build or a changed corpus (Pipeline.maybe_refresh)
REFRESH_SECONDS = 2.0
#: follow-ups: a question of at most this many content terms is one; up to the second number with a word
#: that points back ("dat", "daar"); from the third on, one that names its own subject and does not
#: point back stands alone ("Wie is de burgemeester van Middelburg?": a name and a second content word)
_SHORT_MAX_TERMS = 2
_REFERRING_MAX_TERMS = 5
_STANDALONE_MIN_TERMS = 2
#: an over-long query is cut by a fifth at a time, never below this many characters
_MIN_QUERY_CHARS = 20
_SURROGATE = re.compile("[\ud800-\udfff]")
#: marks a question pasted from an e-mail or a list starts with: "> ", "* ", "- ", "• ", "1. ", "2) "
_PASTE_MARKS = re.compile(r"^(?:\s*(?:>+|[*•·‣▪◦–—-]|\d{1,2}[.)])(?=\s))+\s*")


def is_follow_up(question: str, stemmer: str = DEFAULT_STEMMER) -> bool:
    """True for a short or referring question that needs the previous turn ("En in Vlaanderen?").

    A question that does not point back, with two or more content words of which one is a name ("Wie
    is de burgemeester van Middelburg?", "Wie ondertekende het verdrag over de sluis in Terneuzen?"),
    stands on its own, even after a conversation; an adjective of nationality names no subject ("Wie
    waren er aan Vlaamse kant bij?", :func:`~rag.question.subject_names`).
    """
    content = bm25_tokens(question, stemmer=stemmer)
    referring = bool(_REFERRING.search(question))
    if referring:
        return len(content) <= _REFERRING_MAX_TERMS
    if len(content) >= _STANDALONE_MIN_TERMS and subject_names(question):
        return False
    return len(content) <= _SHORT_MAX_TERMS


def continues_conversation(question: str) -> bool:
    """True for a question that opens as the next turn of a conversation: a leading conjunction
    or "what about" ("En in Nederland?", "Maar waarom?", "And in Flanders?"). Asked first, it has
    no subject of its own."""
    return bool(_CONTINUATION.match(question))


def needs_context(question: str, stemmer: str = DEFAULT_STEMMER) -> bool:
    """True for a question that cannot stand alone: it points back ("En waar?", "Wanneer was dat?")
    or names at most one thing ("Wanneer?", "Hoeveel?")."""
    return len(bm25_tokens(question, stemmer=stemmer)) <= 1 or bool(_REFERRING.search(question))


def asked_part(text: str, stemmer: str = DEFAULT_STEMMER) -> str:
    """The question sentences of an input that also holds statements ("Ik ben journalist bij De
    Standaard. Wanneer vond de top in Den Bosch plaats? Alvast bedankt."): from the first sentence
    that ends in "?" to the last one. The statements before and after it are left out when that first
    question stands on its own (not :func:`is_follow_up`): their words are not what is asked, and a
    word such as "journalist" that no document holds made the answer a refusal. A question that
    needs them ("Over de nieuwe sluis in Terneuzen. Hoeveel kost hij?") keeps its whole input, as
    does an input without a question mark. Returns ``text`` itself when nothing is left out."""
    if not SENTENCE_BREAK.search(text.strip()):
        return text  # one sentence: nothing around it (and no sentence splitter to run)
    sentences = split_sentences(text)
    asks = [i for i, s in enumerate(sentences) if s.rstrip(" \"'’”)»").endswith("?")]
    if not asks or (asks[0] == 0 and asks[-1] == len(sentences) - 1):
        return text
    first, last = sentences[asks[0]], sentences[asks[-1]]
    if is_follow_up(first, stemmer):
        return text
    start = text.find(first)
    end = text.find(last, start) + len(last)
    return text[start:end].strip() if start >= 0 and end > start else text


def retrieval_query(question: str, history: Sequence[str], depth: int = 3, stemmer: str = DEFAULT_STEMMER,
                    *, chained: bool = False) -> str:
    """Query used for retrieval: the question, prefixed by the previous question's own query
    for a follow-up (so a chain "Einstein Telescoop?" → "Wanneer?" → "En waar?" keeps its topic).
    An earlier question carries the turn before it only when it could not stand alone itself
    (:func:`needs_context`): "Wie ondertekende het Scheldeverdrag?" ends the chain."""
    previous = [h for h in history if h and h.strip()]
    follows = needs_context(question, stemmer) if chained else is_follow_up(question, stemmer)
    if previous and depth > 0 and follows:
        earlier = retrieval_query(previous[-1], previous[:-1], depth - 1, stemmer, chained=True)
        return f"{earlier} {question}"
    return question


def part_query(part: QuestionAnalysis, whole: QuestionAnalysis) -> str:
    """Retrieval query of one part of a multi-part question: the part, plus the content words of
    the whole question that the part lacks (its topic: "en wat gebeurt er in 2023?" keeps
    "werkgroep")."""
    own = {t.stem for t in part.terms}
    context = [t.word for t in whole.terms if t.stem not in own]
    return f"{part.text} {' '.join(context)}".strip() if context else part.text


class AnswerSlots:
    """At most ``limit`` answers computed at once in one process, first come first served.

    One object is shared by every interface of a server (the web chat and the HTTP API), so
    ``--concurrency`` bounds them together: :meth:`Pipeline.answer` holds a slot for the whole
    question when ``Pipeline.slots`` is set. At most ``max_waiting`` questions wait; one more
    raises :class:`~rag.errors.BusyError`. A waiter whose ``cancel`` event is set leaves the
    queue with :class:`~rag.errors.AnswerCancelled` (checked every ``poll`` seconds). Thread-safe.
    """

    def __init__(self, limit: int, max_waiting: int = 256, poll: float = 0.05) -> None:
        if limit < 1:
            raise ValueError("het aantal gelijktijdige antwoorden moet minstens 1 zijn")
        self.limit = limit
        self.max_waiting = max_waiting
        self.poll = poll
        self._cond = threading.Condition()
        self._queue: deque[object] = deque()
        self._in_use = 0

    @property
    def in_use(self) -> int:
        """Slots held right now."""
        return self._in_use

    @property
    def waiting(self) -> int:
        """Questions waiting for a slot right now."""
        return len(self._queue)

    def acquire(self, cancel: threading.Event | None = None) -> None:
        """Wait (in FIFO order) for a free slot. Raises BusyError when the queue is full and
        AnswerCancelled when ``cancel`` is set while waiting."""
        ticket = object()
        with self._cond:
            if len(self._queue) >= self.max_waiting:
                raise BusyError()
            self._queue.append(ticket)
            try:
                while not (self._queue[0] is ticket and self._in_use < self.limit):
                    if cancel is not None and cancel.is_set():
                        raise AnswerCancelled()
                    self._cond.wait(self.poll if cancel is not None else None)
            except BaseException:
                self._queue.remove(ticket)
                self._cond.notify_all()
                raise
            self._queue.popleft()
            self._in_use += 1
            self._cond.notify_all()

    def release(self) -> None:
        """Give a slot back (once per :meth:`acquire`)."""
        with self._cond:
            self._in_use -= 1
            self._cond.notify_all()

    @contextlib.contextmanager
    def hold(self, cancel: threading.Event | None = None) -> Iterator[None]:
        """``with slots.hold(cancel):`` — :meth:`acquire`, then :meth:`release` on leaving."""
        self.acquire(cancel)
        try:
            yield
        finally:
            self.release()


def _better(a: Answer, b: Answer) -> bool:
    """Does answer ``a`` rest on stronger evidence than ``b`` (not abstained, higher best citation score)?"""
    if a.abstained:
        return False
    if b.abstained:
        return True
    return max(c.score for c in a.citations) > max(c.score for c in b.citations)


class Pipeline:
    """corpus → index → retrieval → answer, wired from one :class:`Settings`.

    Thread-safe: the index is loaded once under a lock; queries run concurrently.
    """

    def __init__(self, settings: Settings | None = None, *, embedder: Embedder | None = None,
                 progress: Callable[[str], None] | None = None, scorer: Scorer | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self._embedder = embedder
        self._index: SearchIndex | None = None
        self._retriever: HybridRetriever | None = None
        self._lock = threading.Lock()
        self._progress = progress
        self.last_build: BuildReport | None = None
        self.answerer = ExtractiveAnswerer(self.settings, scorer)
        self._llm: Any = None
        #: seconds between checks for a new index build or a changed corpus (0 = before every question)
        self.refresh_interval = REFRESH_SECONDS
        self._checked_at = 0.0
        self._holds = 0
        #: shared limit on answers computed at once (set by a server; None = no limit)
        self.slots: AnswerSlots | None = None
        self._documents: dict[tuple[str, str], Document] = {}

    # --- loading --------------------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        """The embedder, created on first use."""
        if self._embedder is None:
            self._embedder = load_embedder(self.settings)
        return self._embedder

    def load(self) -> SearchIndex:
        """Load the index, building it first if missing, stale or corrupt (when ``auto_build``)."""
        with self._lock:
            if self._index is not None:
                return self._index
            s = self.settings
            from rag.corpus import corpus_fingerprint

            corpus_hash, _ = corpus_fingerprint(s.corpus_dir)
            want = expected_manifest(s, self.embedder, corpus_hash)
            index = self._load_or_build(want, refresh=False)
            self._use(index, CrossEncoderReranker(s.reranker) if s.reranker else None)
            return index

    def _load_or_build(self, want: dict[str, Any], *, refresh: bool) -> SearchIndex:
        """Load the index matching ``want``; when it is missing, stale or corrupt and ``auto_build``
        is on, build it (a forced build with progress at start-up; an incremental, quiet one when
        refreshing a running chat) and load that. Raises the index error otherwise."""
        s = self.settings
        try:
            return SearchIndex.load(s.index_dir, want)
        except (IndexMissingError, IndexStaleError, IndexCorruptError) as exc:
            if not s.auto_build:
                raise
            if refresh:
                log.warning("corpus of index gewijzigd; index wordt opnieuw gebouwd: %s", exc)
            elif self._progress:
                self._progress(f"Index wordt (opnieuw) gebouwd: {exc}")
            self.last_build = IndexBuilder(s, self.embedder).build(force=not refresh, progress=not refresh)
            return SearchIndex.load(s.index_dir, want)

    def _use(self, index: SearchIndex, reranker: CrossEncoderReranker | None) -> None:
        """Answer from ``index`` from now on: a retriever over it with the CrossEncoder ``reranker``
        or, without one, the learned reranker (when ``learned_reranker`` is on)."""
        learned = self.answerer.scorer.reranker if self.settings.learned_reranker and not reranker else None
        self._retriever = HybridRetriever(index, self.embedder, self.settings, reranker, learned)
        self._index = index

    def maybe_refresh(self, *, build: bool = True) -> bool:
        """Between questions: switch to a new ``current`` build, or rebuild for a changed corpus.

        Like Lucene's ``SearcherManager.maybeRefresh``: at most every :attr:`refresh_interval`
        seconds, the corpus fingerprint and the ``current`` build are compared with the loaded index.
        A new verified build that matches the corpus is swapped in atomically; a changed corpus is
        rebuilt first when ``auto_build`` is on (only new passages are embedded), else
        :class:`~rag.errors.IndexStaleError` is raised, so no answer quotes a paragraph that is no
        longer in the corpus. With ``build`` off (a health check), only a build that already exists
        is swapped in; nothing is built and nothing raised. Returns True when another index is now
        in use."""
        if self._index is None or self._holds or time.monotonic() - self._checked_at < self.refresh_interval:
            return False
        from rag.corpus import corpus_fingerprint

        with self._lock:
            self._checked_at = time.monotonic()
            s = self.settings
            corpus_hash, _ = corpus_fingerprint(s.corpus_dir)
            current = s.index_dir / "current"
            same_build = current.exists() and current.resolve() == self._index.directory
            if same_build and self._index.manifest.get("corpus_hash") == corpus_hash:
                return False
            want = expected_manifest(s, self.embedder, corpus_hash)
            if build:
                index = self._load_or_build(want, refresh=True)
            else:
                try:
                    index = SearchIndex.load(s.index_dir, want)
                except (IndexMissingError, IndexStaleError, IndexCorruptError):
                    self._checked_at = 0.0  # the next question still checks, and builds or refuses
                    return False
            self._use(index, self._retriever.reranker if self._retriever is not None else None)
            log.warning("index vernieuwd: %s", index.directory.name)
            return True

    @contextmanager
    def holding_index(self) -> Iterator[None]:
        """While the block runs, questions keep being answered from the loaded index: no refresh
        check, so no question waits for a build (an upload stores a file in the corpus and builds
        the new index meanwhile). On exit the next :meth:`maybe_refresh` checks at once."""
        with self._lock:
            self._holds += 1
        try:
            yield
        finally:
            with self._lock:
                self._holds -= 1
                self._checked_at = 0.0

    @property
    def retriever(self) -> HybridRetriever:
        """The retriever over the loaded index."""
        self.load()
        assert self._retriever is not None
        return self._retriever

    # --- answering ------------------------------------------------------------------------
    def prepare_question(self, raw: str) -> tuple[str, list[str]]:
        """Normalise and bound a question; return (question, notices). Marks of a pasted quote or
        list item before it ("> ", "* ", "1. ") go. Raises EmptyQuestionError."""
        if raw is None or not isinstance(raw, str):
            raise EmptyQuestionError("Stel een vraag als tekst: de invoer is leeg of geen tekst.")
        # lone surrogates stand for bytes that were not UTF-8 (argv, JSON "\udcff"): U+FFFD instead
        question = _PASTE_MARKS.sub("", normalize(_SURROGATE.sub("\ufffd", raw)))
        if not question or not has_letters_or_digits(question):
            raise EmptyQuestionError(
                "Stel een vraag met woorden: de invoer is leeg of bevat alleen leestekens of symbolen.")
        notices = []
        if "\ufffd" in question:  # bytes that were not UTF-8, or a lone surrogate: said, not hidden
            notices.append("Je vraag bevatte tekens die geen geldige tekst waren; ze zijn vervangen door \ufffd.")
        limit = self.settings.max_question_chars
        if len(question) > limit:
            original = len(question)
            question, _, from_start = question_part(question, limit)
            used = (f"alleen de eerste {len(question):,} tekens zijn gebruikt" if from_start else
                    f"alleen het laatste deel tot en met de vraag ({len(question):,} tekens) is gebruikt")
            notices.append(f"Je vraag was erg lang ({original:,} tekens); {used}.".replace(",", "."))
        return question, notices

    def answer(self, raw_question: str, history: Sequence[str] = (), *, top_k: int | None = None,
               mode: Mode | None = None, use_llm: bool | None = None,
               on_token: Callable[[str], None] | None = None, filters: Filters | None = None,
               cancel: threading.Event | None = None) -> Answer:
        """Answer one question. ``history`` holds earlier questions of the conversation, oldest first.
        ``filters`` limits retrieval to some documents, kinds or years (before ranking); a filter
        that leaves no document gives an abstention saying so.

        With :attr:`slots` set, the question first waits for a slot (shared by every interface of
        the process) and holds it until the answer is done. ``cancel`` (set by the caller, e.g. when
        an API client disconnects) ends the wait, or the request to the language model, with
        :class:`~rag.errors.AnswerCancelled`, so the slot is freed.

        Raises EmptyQuestionError for empty input (no model is called); FilterError (Dutch) for a
        filter naming an unknown document or kind; BusyError when too many questions wait for a
        slot; AnswerCancelled (see ``cancel``); index errors only when ``auto_build`` is off.
        Never raises on odd but non-empty input (emoji, other scripts).
        """
        with self.slots.hold(cancel) if self.slots is not None else contextlib.nullcontext():
            if cancel is not None and cancel.is_set():
                raise AnswerCancelled()
            ans = self._answer(raw_question, history, top_k=top_k, mode=mode, use_llm=use_llm,
                               on_token=on_token, filters=filters, cancel=cancel)
        return with_meta(ans, filters=filters) if filters is not None and not filters.empty else ans

    def documents(self) -> tuple[DocumentInfo, ...]:
        """The indexed documents (loads the index): what lists, filters and the API show."""
        return self.retriever.index.documents

    def document(self, doc_id: str) -> tuple[Document, tuple[Passage, ...]] | None:
        """One indexed document with its structure and its passages, or None for an unknown id.

        The :class:`~rag.corpus.Document` (sections, paragraphs with locators) is read again from
        its corpus file, once per index build; the passages (``Passage.id``, ``paragraph_id``) are
        the index's, so they are exactly what answers cite. Raises CorpusFileError (Dutch) when
        the file can no longer be read."""
        from rag.corpus import load_document
        from rag.index import manifest_document_ids

        self.maybe_refresh()
        index = self.retriever.index
        passages = tuple(p for p in index.passages if p.doc_id == doc_id)
        if not passages:
            return None
        key = (str(index.directory), doc_id)
        doc = self._documents.get(key)
        if doc is None:
            s = self.settings
            # the ids this build gave its files (kept across builds, see rag.corpus.document_ids)
            paths = {i: s.corpus_dir / p for p, i in manifest_document_ids(index.manifest).items()}
            if doc_id not in paths:
                return None
            doc = load_document(paths[doc_id], s.corpus_dir, s.max_file_bytes, doc_id=doc_id)
            self._documents = {k: v for k, v in self._documents.items() if k[0] == key[0]}
            self._documents[key] = doc
        return doc, passages

    def status(self) -> dict[str, Any]:
        """What a health check shows (loads the index, and first swaps in a newer ``current`` build
        that matches the corpus, as a question would): ``index`` (build id, build time, corpus
        hash, format version, passages, and ``up_to_date``: False when the corpus changed and no
        build of it exists yet), ``documents`` (count), ``embedder`` (model id),
        ``answers`` ("extractive" or the LLM model name) and ``slots`` (limit, in use, waiting;
        None without a limit)."""
        from rag.corpus import corpus_fingerprint

        self.load()
        self.maybe_refresh(build=False)
        index = self.retriever.index
        m = index.manifest
        slots = self.slots
        return {
            "index": {"build_id": m.get("build_id"), "build_time": m.get("build_time"),
                      "corpus_hash": m.get("corpus_hash"), "format_version": m.get("format_version"),
                      "passages": len(index.passages),
                      "up_to_date": m.get("corpus_hash") == corpus_fingerprint(self.settings.corpus_dir)[0]},
            "documents": len(index.documents),
            "embedder": (m.get("embedder") or {}).get("model_id"),
            "answers": self.settings.llm_model if self.settings.llm_enabled else "extractive",
            "slots": None if slots is None else {"limit": slots.limit, "in_use": slots.in_use,
                                                 "waiting": slots.waiting},
        }

    def _answer(self, raw_question: str, history: Sequence[str], *, top_k: int | None, mode: Mode | None,
                use_llm: bool | None, on_token: Callable[[str], None] | None,
                filters: Filters | None, cancel: threading.Event | None = None) -> Answer:
        t0 = time.perf_counter()
        question, notices = self.prepare_question(raw_question)
        query_text, had_instruction = strip_instructions(question)
        if had_instruction and (not query_text or not has_letters_or_digits(query_text)
                                or not bm25_tokens(query_text)):
            ans = abstention(question, None, "de invoer is een instructie, geen vraag", INSTRUCTION_MESSAGE)
            return with_meta(ans, notices=tuple(notices),
                             timings_ms={"retrieve": 0.0, "answer": 0.0, "total": (time.perf_counter() - t0) * 1000})
        if not any(h and h.strip() for h in history) and continues_conversation(query_text):
            ans = abstention(question, None, CONTINUATION_REASON, CONTINUATION_MESSAGE)
            return with_meta(ans, notices=tuple(notices),
                             timings_ms={"retrieve": 0.0, "answer": 0.0, "total": (time.perf_counter() - t0) * 1000})
        if had_instruction:
            notices.append("Instructies in de vraag zijn genegeerd; alleen de vraag zelf is gezocht.")
        asked = asked_part(query_text, self.settings.stemmer)
        if asked != query_text:
            notices.append(f"Alleen je vraag is gebruikt, niet de tekst eromheen: “{asked}”")
            query_text = asked
        query = self._fit_query(retrieval_query(query_text, history, stemmer=self.settings.stemmer), notices)
        self.load()
        self.maybe_refresh()
        retriever = self.retriever  # one index for the whole question, even if a refresh swaps it
        clock = {"retrieve": 0.0, "answer": 0.0}
        if filters is not None and not filters.empty:
            docs = retriever.index.documents
            filters.check((d.id for d in docs), (d.kind for d in docs if d.kind))
            mask = retriever.allowed(filters)
            if mask is not None and not mask.any():
                reason = f"geen enkel document voldoet aan de filters ({filters.describe()})"
                ans = abstention(question, None, reason, f"Geen enkel document voldoet aan de filters "
                                 f"({filters.describe()}). Verruim of wis de filters en vraag opnieuw.")
                return with_meta(ans, notices=tuple(notices), timings_ms={
                    "retrieve": 0.0, "answer": 0.0, "total": (time.perf_counter() - t0) * 1000})

        def run(q: str, split: bool) -> tuple[RetrievalResult, Answer]:
            t = time.perf_counter()
            # a follow-up is searched with the earlier question, but judged on its own words: the
            # evidence must cover what is asked now, not every word asked before
            analysis = self.analyze(q if split else query_text, split, retriever)
            res = retriever(q, top_k=top_k, mode=mode, analysis=analysis, filters=filters)
            if split and not analysis.terms and not analysis.parts:
                # on its own, "Wanneer?" names nothing the evidence could cover (with the earlier
                # turns, split is False and their topic is searched along)
                clock["retrieve"] += time.perf_counter() - t
                return res, abstention(q, None, NO_TOPIC_REASON, NO_TOPIC_MESSAGE)
            parts = [retriever(part_query(p, analysis), top_k=top_k, mode=mode, analysis=p, filters=filters)
                     for p in analysis.parts]
            clock["retrieve"] += time.perf_counter() - t
            t = time.perf_counter()
            a = self.answerer(res, parts)
            clock["answer"] += time.perf_counter() - t
            return res, a

        result, ans = run(query, query == query_text)
        if query != query_text:
            alone_query = self._fit_query(query_text, [])
            alone_result, alone = run(alone_query, True)
            # a question that points back ("die verklaring", "En wanneer vergadert het?") is read in the
            # context of the earlier turns, answer or abstention: on its own "het" names nothing, so an
            # answer to it alone would be about something else. A short one without such a word ("Hoe
            # vaak vergadert het Politiek College?") must earn them: its answer must quote one of its
            # own words and be at least as strong as the one alone
            # a follow-up that finds the same first paragraph alone is still read with the earlier
            # turns: its further sentences stay on their topic ("Wie waren er aan Vlaamse kant bij?"
            # after a question on the 2018 summit quotes that summit, not the one of 2016 as well)
            points_back = bool(_REFERRING.search(query_text))
            earned = points_back or (self._follow_up_holds(query_text, ans) and not _better(alone, ans))
            if earned:
                notices.append(f"Vervolgvraag: gezocht met de eerdere vraag erbij (\"{query}\").")
            else:  # the earlier turns did not help: the question on its own answers it
                query, result, ans = alone_query, alone_result, alone
                notices.append(UNUSED_NOTICE)
        ans = with_meta(ans, question=question)
        llm = self.settings.llm_enabled if use_llm is None else use_llm
        if llm and not ans.abstained:
            t = time.perf_counter()
            ans = self._generate(question, result, ans, notices, on_token, cancel)
            clock["answer"] += time.perf_counter() - t
        t3 = time.perf_counter()
        return with_meta(ans, notices=tuple(dict.fromkeys([*notices, *ans.notices])), timings_ms={
            "retrieve": clock["retrieve"] * 1000, "answer": clock["answer"] * 1000, "total": (t3 - t0) * 1000})

    def analyze(self, question: str, split: bool = True, retriever: HybridRetriever | None = None
                ) -> QuestionAnalysis:
        """The :class:`~rag.question.QuestionAnalysis` of ``question`` with the corpus' IDF and
        lexicon (of ``retriever``, default the current one; loads the index) and the fitted focus model."""
        r = retriever or self.retriever
        focus = self.answerer.scorer.focus
        return analyze(question, r.idf, split=split, in_corpus=r.lexicon.__contains__,
                       focus=focus if focus is not None else None,
                       correct=lambda w, lang: r.correct_words([w], lang)[0])

    def _follow_up_holds(self, question: str, answer: Answer) -> bool:
        """A follow-up answer counts only if it quotes a content word of the new question itself
        (or the question has none, as in "Wanneer was dat?")."""
        if answer.abstained:
            return False
        own = set(bm25_tokens(question, stemmer=self.settings.stemmer))
        if not own:
            return True
        quoted = set(bm25_tokens(" ".join(c.quote for c in answer.citations), stemmer=self.settings.stemmer))
        return bool(own & quoted)

    def _fit_query(self, query: str, notices: list[str]) -> str:
        limit = self.embedder.max_tokens
        if self.embedder.count_tokens(query, query=True) <= limit:
            return query
        while self.embedder.count_tokens(query, query=True) > limit and len(query) > _MIN_QUERY_CHARS:
            query, _ = truncate(query, int(len(query) * 0.8))
        notices.append("De vraag was te lang voor het taalmodel en is ingekort.")
        return query

    def _generate(self, question: str, result: Any, extractive: Answer, notices: list[str],
                  on_token: Callable[[str], None] | None, cancel: threading.Event | None = None) -> Answer:
        from rag.generate import LLMAnswerer

        if self._llm is None:
            self._llm = LLMAnswerer(self.settings)
        return self._llm(question, result, extractive, notices, on_token, cancel)
