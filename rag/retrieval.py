"""Retrieval stage: dense (FAISS) and BM25 search, fused, optionally reranked.

:class:`HybridRetriever` returns a :class:`RetrievalResult`: the query vector and the ranked
:class:`Retrieved` passages, each with its fused score and the score and rank it got from
each retriever. Its steps are separate methods: typo correction (:meth:`~HybridRetriever.query_terms`),
search (:meth:`~HybridRetriever.search`) and fusion (:meth:`~HybridRetriever.fuse`, with the pure
functions of :mod:`rag.fusion`: convex combination of min-max-normalised scores by default, RRF on
request); then one passage per paragraph and the rerankers. ``mode="dense"`` or ``"bm25"`` uses one
retriever alone (for evaluation).
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rag.chunking import Passage
from rag.embedding import Embedder
from rag.features import (
    PASSAGE_BASE_FEATURES,
    EvidenceProfile,
    evidence_profile,
    evidence_text,
    passage_features,
    relative_rows,
)
from rag.filters import Filters
from rag.fusion import convex, lookup_bm25_weight, order, ranks, rrf
from rag.index import SearchIndex
from rag.lexicon import Lexicon
from rag.question import QuestionAnalysis, detect_language, is_inflection_of
from rag.scoring import LogisticModel
from rag.settings import Mode, Settings
from rag.text import DUTCH_STOPWORDS, LETTERS, REAL_WORD_ZIPF, bm25_tokens, dutch_zipf, fold, words

#: typo correction: a shorter term is corrected only for two swapped neighbouring letters; from this
#: length one replaced letter counts too, and so does a corpus form at least ``TYPO_CUTOFF`` similar
#: (difflib)
MIN_CORRECTED_CHARS = 5
#: a shorter word (of at least this many letters) is corrected only for two swapped neighbouring letters
MIN_TRANSPOSED_CHARS = 4
TYPO_CUTOFF = 0.86
#: corrections remembered at most (the memo is emptied past this)
_MAX_CORRECTIONS = 50_000
#: filter masks remembered at most (emptied past this)
_MAX_FILTER_MASKS = 256


@dataclass(frozen=True)
class Retrieved:
    """A ranked passage. ``score`` is the fused score (convex or RRF, see :mod:`rag.fusion`; the
    CrossEncoder's score when that reranker is enabled);
    ``dense_score`` is the cosine similarity (None if the dense retriever did not return it);
    ``bm25_score`` the BM25 score (None likewise); ranks are 1-based. ``rerank_score``: the learned
    reranker's probability in [0, 1] when it ordered the passage (then ``rank`` follows it, not
    ``score``); None when it did not run or the passage lay beyond its first ``reranker_top_n``."""

    passage: Passage
    index: int
    rank: int
    score: float
    dense_score: float | None
    bm25_score: float | None
    dense_rank: int | None
    bm25_rank: int | None
    rerank_score: float | None = None


@dataclass(frozen=True)
class RetrievalResult:
    """What retrieval hands the answer stage.

    ``query``: text as searched; ``query_vector``: float32 (dim,), L2-normalised; ``passages``:
    ranked; ``query_terms``: the query's BM25 terms; ``known_term_share``: share of those terms in
    the corpus vocabulary; ``sentence_scores[i]``: cosines, float32 (k_i,), of passage i's
    sentences with the query;
    ``lexicon``: corpus terms for coverage matching; ``analysis``: the question analysis the
    retrieval was given (None without one); ``rerank_scores[i]``: the learned reranker's
    probability for passage i (None when it did not run; 0.0 for a passage beyond its first
    ``reranker_top_n``, which it did not judge and which ranks below them); ``documents``: the text of the
    retrieved passages' documents.
    """

    query: str
    query_vector: np.ndarray
    passages: tuple[Retrieved, ...]
    query_terms: tuple[str, ...]
    known_term_share: float
    sentence_scores: tuple[np.ndarray, ...] = ()
    lexicon: Lexicon | None = None
    analysis: QuestionAnalysis | None = None
    rerank_scores: tuple[float, ...] | None = None
    #: full text (title, date and paragraphs) of each retrieved passage's document, by document id
    documents: Mapping[str, str] = field(default_factory=dict)
    #: ``profiles[i]``: evidence profile of passage i for ``analysis`` (computed for the reranker;
    #: None where it did not run), so the answer stage does not compute it again
    profiles: tuple[EvidenceProfile | None, ...] = ()
    #: the query's BM25 terms that the corpus holds (numbers too, which the lexicon of words lacks)
    known_terms: frozenset[str] = frozenset()
    #: corpus IDF (natural log) of a stemmed, folded term (:meth:`HybridRetriever.idf`); None when
    #: the result was made without a retriever
    idf: Callable[[str], float] | None = None


class CrossEncoderReranker:
    """Optional reranker: a sentence-transformers CrossEncoder (any name or local path).

    Loaded lazily (imports torch). ``__call__(query, texts)`` returns float scores, one per text.
    """

    def __init__(self, model: str) -> None:
        from sentence_transformers import CrossEncoder

        self.model_id = model
        self._model = CrossEncoder(model, device="cpu")

    def __call__(self, query: str, texts: list[str]) -> list[float]:
        if not texts:
            return []
        scores = self._model.predict([(query, t) for t in texts], show_progress_bar=False)
        return [float(s) for s in np.asarray(scores).reshape(len(texts), -1)[:, -1]]


@dataclass
class Hits:
    """What the search step found: ``candidates`` (passage indices, dense hits first, then BM25-only
    ones), each retriever's score and 1-based rank by passage index. ``dense`` also holds the exact
    cosine of BM25-only candidates (filled in by the retriever)."""

    candidates: list[int]
    dense: dict[int, float]
    bm25: dict[int, float]
    dense_rank: dict[int, int]
    bm25_rank: dict[int, int]


class HybridRetriever:
    """Dense + BM25 retrieval over one :class:`SearchIndex`, fused (convex by default, or RRF) and reranked.

    Call with a query string; returns a :class:`RetrievalResult` with ``top_k`` passages.
    """

    def __init__(self, index: SearchIndex, embedder: Embedder, settings: Settings,
                 reranker: CrossEncoderReranker | None = None, learned: LogisticModel | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self.reranker = reranker
        self.learned = learned
        self.lexicon = index.lexicon
        self._corrections: dict[str, str] = {}
        self._masks: dict[Filters, np.ndarray] = {}
        if self.lexicon._embed is None:  # words the corpus lacks are embedded on first use
            self.lexicon._embed = embedder.embed_queries

    def idf(self, term: str) -> float:
        """Corpus IDF (natural log) of a stemmed, folded term (see :meth:`SearchIndex.idf`)."""
        return self.index.idf(term)

    def correct_words(self, words: Sequence[str], language: str = "nl") -> list[str]:
        """Replace each folded word that the corpus knows neither as a word form nor by its BM25 stem
        by the one corpus word form very close to it: first a swap of two neighbouring letters, at any
        length ("pfsa" → "pfas", "brexti" → "brexit": the commonest typing error, which a ratio cannot
        tell in a short word); then, from ``MIN_CORRECTED_CHARS`` letters, ``difflib`` (ratio >=
        ``TYPO_CUTOFF``, same first letter: "terneuzn" → "terneuzen", "inwonres" → "inwoners") and
        else the one corpus form one letter off (:meth:`_one_letter_off`: "kosteb" → "kosten"). Word
        forms, not stems, are compared: a stemmer cuts a misspelt word where it cuts no real one
        ("terneuzen" → "terneus", "terneuzn" → "terneuzn"). Numbers, stop words and words of under
        ``MIN_TRANSPOSED_CHARS`` letters stay as they are, and so does a compound of two corpus words
        whose close form is no inflection of it (:meth:`~rag.lexicon.Lexicon.holds`: "bijeenkomen" is
        "bijeen" + "komen", not "bijeenkomsten" misspelt; "tweejaarlijkse" is read as "tweejaarlijks"),
        and a common Dutch word in a Dutch
        (``language`` "nl") question (:data:`REAL_WORD_ZIPF`): the corpus lacking it does not make it
        a typo. In an English question the close form is taken only when it is a common Dutch word
        ("region" → "regio"), not an English word of the corpus ("create" stays, not "created")."""
        vocab = self.index.vocabulary
        out = []
        for w in words:
            if (len(w) < MIN_TRANSPOSED_CHARS or not w.isalpha() or w in DUTCH_STOPWORDS or w in self.lexicon
                    or any(t in vocab for t in bm25_tokens(w, stemmer=self.settings.stemmer))):
                out.append(w)
                continue
            if w not in self._corrections:  # the analysis and the search both ask: decide once
                # one swapped pair of neighbouring letters, the commonest typing error, at any length;
                # the similarity ratio cannot see it, nor one wrong letter, in a word of n <= 7
                # letters: both give (n - 1) / n < TYPO_CUTOFF ("brexti" → "brexit")
                swapped = (w[:i] + w[i + 1] + w[i] + w[i + 2:] for i in range(len(w) - 1))
                close = [s for s in swapped if s in self.lexicon][:1]
                if not close and len(w) >= MIN_CORRECTED_CHARS:
                    close = difflib.get_close_matches(w, self._vocab_by_initial.get(w[0], ()), n=1,
                                                      cutoff=TYPO_CUTOFF) or self._one_letter_off(w)
                if len(self._corrections) > _MAX_CORRECTIONS:
                    self._corrections.clear()
                self._corrections[w] = close[0] if close else w
            fixed = self._corrections[w]
            # the word list is consulted only for a word that has a close corpus form (loading it costs
            # a cold start about 0.2 s)
            if fixed != w and not is_inflection_of(w, fixed) and self.lexicon.holds(w):
                fixed = w  # a compound of two corpus words ("bijeenkomen"), not a misspelt other word
            elif fixed != w and language == "nl" and dutch_zipf(w) >= REAL_WORD_ZIPF:
                fixed = w  # a real Dutch word
            elif fixed != w and language != "nl" and dutch_zipf(fixed) < REAL_WORD_ZIPF:
                fixed = w  # an English word maps only to a Dutch word ("region" → "regio", not "create" → "created")
            out.append(fixed)
        return out

    def corrected_query(self, query: str, read: tuple[list[str], list[str]] | None = None) -> str:
        """``query`` with each word that :meth:`correct_words` reads as another corpus word written
        as that word, with the capital as typed ("Wat is de Einstien Telescoop?" → "Wat is de
        Einstein Telescoop?"), the rest as typed. The dense side embeds this text, so a typo changes
        the question's vector no more than its BM25 terms: before, BM25 searched "einstein" while the
        embedding saw "Einstien". ``read``: :meth:`read_words` of ``query``, when already made."""
        typed, corrected = read or self.read_words(query)
        fixes = {w: c for w, c in zip(typed, corrected, strict=True) if w != c}
        if not fixes:
            return query

        def fixed(m: re.Match[str]) -> str:
            typed = m.group(0)
            word = fixes.get(fold(typed), typed)
            return word[:1].upper() + word[1:] if typed[:1].isupper() else word

        return LETTERS.sub(fixed, query)

    def _one_letter_off(self, word: str) -> list[str]:
        """The corpus word forms with the same first letter and length as ``word`` that differ from it in
        exactly one other letter ("kosteb" → "kosten"), when there is exactly one: with two ("sluia"
        → "sluis" or "sluit"?) the typo cannot be read."""
        found = [v for v in self._vocab_by_initial.get(word[:1], ())
                 if len(v) == len(word) and sum(a != b for a, b in zip(v, word, strict=True)) == 1]
        return found if len(found) == 1 else []

    @functools.cached_property
    def _vocab_by_initial(self) -> dict[str, list[str]]:
        """The corpus word forms (:attr:`Lexicon.words`) by first letter: the candidates of a correction."""
        by: dict[str, list[str]] = {}
        for word in self.lexicon.words:
            if word.isalpha():
                by.setdefault(word[:1], []).append(word)
        return by

    def allowed(self, filters: Filters | None) -> np.ndarray | None:
        """Boolean mask (n_passages,) of the passages ``filters`` allows; None when nothing is
        filtered. Computed once per distinct filter (frozen, hashable)."""
        if filters is None or filters.empty:
            return None
        if filters not in self._masks:
            if len(self._masks) > _MAX_FILTER_MASKS:
                self._masks.clear()
            self._masks[filters] = np.fromiter((filters.allows(p) for p in self.index.passages), dtype=bool,
                                               count=len(self.index.passages))
        return self._masks[filters]

    def dense_search(self, qvec: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(passage index, cosine) pairs, best first; with a mask only allowed passages are searched
        (a FAISS ID selector, so the top ``k`` are the top ``k`` of the allowed ones)."""
        import faiss as faiss_module

        faiss: Any = faiss_module  # the stubs lack the search-parameter classes
        dense = self.index.dense
        params = None
        if allowed is not None:
            ids = np.flatnonzero(allowed).astype(np.int64)
            sel = faiss.IDSelectorBatch(ids)
            params = (faiss.SearchParametersHNSW(sel=sel, efSearch=dense.hnsw.efSearch)
                      if isinstance(dense, faiss.IndexHNSW) else faiss.SearchParameters(sel=sel))
            k = min(k, len(ids))
        k = min(k, len(self.index.passages))
        if k <= 0:
            return []
        scores, idx = dense.search(qvec.reshape(1, -1).astype(np.float32), k, params=params)
        return [(int(i), float(s)) for i, s in zip(idx[0], scores[0], strict=True) if i >= 0]

    def bm25_search(self, terms: list[str], k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(passage index, BM25 score) pairs with score > 0, best first; with a mask, passages
        outside it score 0 before ranking (bm25s ``weight_mask``)."""
        k = min(k, len(self.index.passages))
        if not terms or k <= 0:
            return []
        mask = allowed.astype(np.float32) if allowed is not None else None
        docs, scores = self.index.bm25.retrieve([terms], k=k, show_progress=False, weight_mask=mask)
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    def read_words(self, query: str) -> tuple[list[str], list[str]]:
        """The query's folded words as typed and as :meth:`correct_words` reads them (same length, in
        the query's language): the one reading that BM25 (:meth:`query_terms`) and the dense query
        (:meth:`corrected_query`) share."""
        typed = words(query)
        return typed, self.correct_words(typed, detect_language(query))

    def query_terms(self, query: str, read: tuple[list[str], list[str]] | None = None) -> tuple[list[str], float]:
        """Step 1, typo correction: the query's BM25 terms after unknown words are corrected
        (:meth:`correct_words`, in the query's language), and the share (0–1) of distinct terms in
        the corpus vocabulary. ``read``: :meth:`read_words` of ``query``, when already made."""
        _, corrected = read or self.read_words(query)
        vocab = self.index.vocabulary
        terms: list[str] = []
        for w in corrected:
            own = bm25_tokens(w, stemmer=self.settings.stemmer)
            # a word BM25 does not know but the corpus holds as a compound of two of its words is
            # searched as those two (Lexicon.compound_parts): "bijeenkomen" as "bijeen komen", as Dutch
            # writes a verb's parts apart ("komt … bijeen") and a compound's parts on their own
            parts = None if not own or any(t in vocab for t in own) else self.lexicon.compound_parts(w)
            terms.extend(bm25_tokens(" ".join(parts), stemmer=self.settings.stemmer) if parts else own)
        known = sum(1 for t in set(terms) if t in vocab) / len(set(terms)) if terms else 0.0
        return terms, known

    def search(self, qvec: np.ndarray, terms: list[str], mode: Mode, allowed: np.ndarray | None = None,
               depth: int | None = None) -> Hits:
        """Step 2, search: ``depth`` (default ``settings.candidates``) passages from each retriever that
        ``mode`` uses (only passages in the ``allowed`` mask, see :meth:`allowed`), and the exact cosine
        of every candidate (BM25-only ones too) unless ``mode == "bm25"``."""
        k = depth or self.settings.candidates
        dense = self.dense_search(qvec, k, allowed) if mode in ("hybrid", "dense") else []
        bm25 = self.bm25_search(terms, k, allowed) if mode in ("hybrid", "bm25") else []
        hits = Hits(candidates=list(dict.fromkeys([i for i, _ in dense] + [i for i, _ in bm25])),
                    dense=dict(dense), bm25=dict(bm25), dense_rank=ranks(dense), bm25_rank=ranks(bm25))
        if mode != "bm25":
            self._fill_cosines(hits, hits.candidates, qvec)
        return hits

    def fuse(self, hits: Hits, mode: Mode, qvec: np.ndarray, terms: list[str], known: float) -> dict[int, float]:
        """Step 3, fusion: one score per candidate. One retriever alone keeps its own score; hybrid
        mode fuses with ``settings.fusion``: convex (the default; :func:`rag.fusion.convex` of the dense
        part, see :meth:`dense_part`, and BM25) or RRF (:func:`rag.fusion.rrf`)."""
        s = self.settings
        if mode == "dense":
            return {i: hits.dense[i] for i in hits.candidates}
        if mode == "bm25":
            return {i: hits.bm25[i] for i in hits.candidates}
        if s.fusion == "rrf":
            return rrf(hits.candidates, hits.dense_rank, hits.bm25_rank, k=s.rrf_k, dense_weight=s.dense_weight,
                       bm25_weight=s.bm25_weight)
        return convex(hits.candidates, self.dense_part(hits, qvec), hits.bm25,
                      lookup_bm25_weight(terms, known, s.bm25_weight))

    def __call__(self, query: str, *, top_k: int | None = None, mode: Mode | None = None,
                 query_vector: np.ndarray | None = None, analysis: QuestionAnalysis | None = None,
                 filters: Filters | None = None) -> RetrievalResult:
        """Retrieve ``top_k`` passages for ``query``: typo correction, search, fusion, one passage per
        paragraph, then the rerankers. With an ``analysis`` and a learned reranker, hybrid mode
        reorders the first ``reranker_top_n`` fused passages by the reranker. With ``filters``, only
        passages of the allowed documents are searched and ranked."""
        s = self.settings
        mode = mode or s.mode
        top_k = top_k or s.top_k
        read = self.read_words(query)
        terms, known = self.query_terms(query, read)
        qvec = (query_vector if query_vector is not None
                else self.embedder.embed_queries([self.corrected_query(query, read)])[0])
        # a long list asked for (--top-k 100) needs more candidates than fusion usually sees: twice
        # top_k from each retriever, as later pieces of one paragraph are dropped
        hits = self.search(qvec, terms, mode, self.allowed(filters), depth=max(s.candidates, 2 * top_k))
        fused = self.fuse(hits, mode, qvec, terms, known)
        ranked = self._one_per_paragraph(order(fused))
        scores = {i: fused[i] for i in ranked}
        if self.reranker is not None and ranked:
            head = ranked[: s.reranker_top_n]
            rr = self.reranker(query, [self.index.passages[i].index_text(s.passage_context) for i in head])
            scores.update(dict(zip(head, rr, strict=True)))
            ranked = sorted(head, key=lambda i: -scores[i]) + ranked[len(head):]
        shown = ranked[: max(top_k, s.reranker_top_n)]
        if mode == "bm25":  # the answer stage still needs cosines to judge the evidence
            self._fill_cosines(hits, shown, qvec, replace=True)
        sent_scores: dict[int, np.ndarray] = {}
        for i in shown:
            _, vecs = self.index.sentences_of(i)
            sent_scores[i] = np.asarray(vecs) @ qvec if len(vecs) else np.zeros(0, np.float32)
        rerank: dict[int, float] | None = None
        profiles: dict[int, EvidenceProfile] = {}
        if self.learned is not None and analysis is not None and mode == "hybrid" and ranked:
            head = ranked[: s.reranker_top_n]
            profiles = self.profiles(analysis, head)
            rerank = self.rerank(analysis, head, scores, hits.dense, hits.bm25, sent_scores, profiles)
            ranked = sorted(head, key=lambda i: (-rerank[i], i)) + ranked[len(head):]
        ranked = ranked[:top_k]
        out = tuple(
            Retrieved(self.index.passages[i], i, rank, float(scores[i]), hits.dense.get(i), hits.bm25.get(i),
                      hits.dense_rank.get(i), hits.bm25_rank.get(i), rerank.get(i) if rerank is not None else None)
            for rank, i in enumerate(ranked, start=1)
        )
        docs = self._documents
        return RetrievalResult(query, qvec, out, tuple(terms), known,
                               tuple(sent_scores[i] for i in ranked),
                               self.lexicon, analysis,
                               tuple(rerank.get(i, 0.0) for i in ranked) if rerank is not None else None,
                               {r.passage.doc_id: docs[r.passage.doc_id] for r in out},
                               tuple(profiles.get(i) for i in ranked) if profiles else (),
                               frozenset(terms) & self.index.vocabulary, self.idf)

    def _fill_cosines(self, hits: Hits, indices: list[int], qvec: np.ndarray, *, replace: bool = False) -> None:
        """Exact cosine of passages ``indices`` with the query into ``hits.dense`` (only missing ones
        unless ``replace``), from the vectors stored in the FAISS index."""
        for i in indices:
            if replace or i not in hits.dense:
                hits.dense[i] = float(self.index.dense.reconstruct(i) @ qvec)

    def _one_per_paragraph(self, ordered: list[int]) -> list[int]:
        """``ordered`` without later pieces of a paragraph already present: the best-ranked piece stands for it."""
        seen: set[str] = set()
        ranked: list[int] = []
        for i in ordered:
            pid = self.index.passages[i].paragraph_id
            if pid not in seen:
                seen.add(pid)
                ranked.append(i)
        return ranked

    @functools.cached_property
    def _documents(self) -> dict[str, str]:
        """Document id → title, date and distinct paragraph texts, joined (built once)."""
        parts: dict[str, list[str]] = {}
        for p in self.index.passages:
            if p.doc_id not in parts:
                parts[p.doc_id] = [p.title, p.date or ""]
            if p.part == 1:
                parts[p.doc_id].append(p.paragraph_text)
        return {d: "\n".join(x) for d, x in parts.items()}

    def profiles(self, analysis: QuestionAnalysis, head: list[int]) -> dict[int, EvidenceProfile]:
        """Evidence profile (:func:`rag.features.evidence_profile`) of each passage index in ``head``:
        how its paragraph, section, title and date cover the question."""
        out = {}
        for i in head:
            p = self.index.passages[i]
            out[i] = evidence_profile(analysis, evidence_text(p.paragraph_text, p.section_label, p.title, p.date),
                                      self.lexicon)
        return out

    def rerank(self, analysis: QuestionAnalysis, head: list[int], fused: dict[int, float],
               d_score: dict[int, float], b_score: dict[int, float],
               sent_scores: dict[int, np.ndarray], profiles: dict[int, EvidenceProfile]) -> dict[int, float]:
        """Learned reranker probabilities for the passage indices ``head`` (fused order);
        ``profiles``: :meth:`profiles` of ``head``."""
        assert self.learned is not None
        probs = self.learned(self.passage_rows(analysis, head, fused, d_score, b_score, sent_scores, profiles))
        return {i: float(pr) for i, pr in zip(head, probs, strict=True)}

    def passage_rows(self, analysis: QuestionAnalysis, head: list[int], fused: dict[int, float],
                     d_score: dict[int, float], b_score: dict[int, float],
                     sent_scores: dict[int, np.ndarray],
                     profiles: dict[int, EvidenceProfile] | None = None) -> np.ndarray:
        """Reranker features, float32 (len(head), len(PASSAGE_FEATURES)), of passages ``head``
        in fused order (see :func:`rag.features.passage_features`); ``profiles`` as from
        :meth:`profiles` (computed here when not given)."""
        profiles = profiles if profiles is not None else self.profiles(analysis, head)
        top_fused = max(fused[i] for i in head) or 1.0
        top_bm25 = max((b_score.get(i, 0.0) for i in head), default=0.0) or 1.0
        rows = []
        for rank, i in enumerate(head, start=1):
            p = self.index.passages[i]
            sc = sent_scores.get(i)
            rows.append(passage_features(
                analysis, fused_rel=fused[i] / top_fused, rank=rank, passage_cos=d_score.get(i, 0.0),
                best_sentence_cos=float(sc.max()) if sc is not None and len(sc) else d_score.get(i, 0.0),
                bm25_rel=b_score.get(i, 0.0) / top_bm25, profile=profiles[i], sentences=p.sentences))
        return relative_rows(np.stack(rows), len(PASSAGE_BASE_FEATURES))

    def dense_part(self, hits: Hits, qvec: np.ndarray) -> dict[int, float]:
        """The dense side of convex fusion per candidate: ``dense_weight`` * passage cosine +
        ``sentence_weight`` * best sentence cosine (sentence vectors from the index; the passage cosine
        when the passage has no sentence vector). The best sentence rescues long paragraphs whose
        average embedding is diluted (see docs/architecture.md)."""
        s = self.settings
        dense_part = {}
        for i in hits.candidates:
            _, vecs = self.index.sentences_of(i)
            best_sentence = float((vecs @ qvec).max()) if len(vecs) else hits.dense[i]
            dense_part[i] = s.dense_weight * hits.dense[i] + s.sentence_weight * best_sentence
        return dense_part
