"""Retrieval stage: dense (FAISS) and BM25 search, fused, optionally reranked.

:class:`HybridRetriever` returns a :class:`RetrievalResult`: the query vector and the ranked
:class:`Retrieved` passages, each with its fused score and the score and rank it got from
each retriever. Fusion is weighted reciprocal rank fusion (RRF); ``mode="dense"`` or
``"bm25"`` uses one retriever alone (for evaluation). One passage per paragraph is kept.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rag.chunking import Passage
from rag.embedding import Embedder
from rag.features import evidence_text, passage_features
from rag.filters import Filters
from rag.index import SearchIndex
from rag.lexicon import Lexicon
from rag.question import QuestionAnalysis
from rag.scoring import LogisticModel
from rag.settings import Settings
from rag.text import bm25_tokens


@dataclass(frozen=True)
class Retrieved:
    """A ranked passage. ``score`` is the fused score (RRF, or reranker score when enabled);
    ``dense_score`` is the cosine similarity (None if the dense retriever did not return it);
    ``bm25_score`` the BM25 score (None likewise); ranks are 1-based."""

    passage: Passage
    index: int
    rank: int
    score: float
    dense_score: float | None
    bm25_score: float | None
    dense_rank: int | None
    bm25_rank: int | None


@dataclass(frozen=True)
class RetrievalResult:
    """What retrieval hands the answer stage.

    ``query``: text as searched; ``query_vector``: float32 (dim,), L2-normalised; ``passages``:
    ranked; ``query_terms``: the query's BM25 terms; ``known_term_share``: share of those terms in
    the corpus vocabulary; ``sentence_scores[i]``: cosines, float32 (k_i,), of passage i's
    sentences with the query; ``sentence_vectors[i]``: their vectors (k_i, dim);
    ``lexicon``: corpus terms for coverage matching; ``analysis``: the question analysis the
    retrieval was given (None without one); ``rerank_scores[i]``: the learned reranker's
    probability for passage i (None when it did not run); ``documents``: the text of the
    retrieved passages' documents.
    """

    query: str
    query_vector: np.ndarray
    passages: tuple[Retrieved, ...]
    query_terms: tuple[str, ...]
    known_term_share: float
    sentence_scores: tuple[np.ndarray, ...] = ()
    sentence_vectors: tuple[np.ndarray, ...] = ()
    lexicon: Lexicon | None = None
    analysis: QuestionAnalysis | None = None
    rerank_scores: tuple[float, ...] | None = None
    #: full text (title, date and paragraphs) of each retrieved passage's document, by document id
    documents: Mapping[str, str] = field(default_factory=dict)


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


class HybridRetriever:
    """Dense + BM25 retrieval with RRF over one :class:`SearchIndex`.

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

    def correct_typos(self, terms: list[str]) -> list[str]:
        """Replace a term unknown to the corpus by the one vocabulary term that is very close to it
        ("inwonres" → "inwoner", "gemideld" → "gemiddeld"); numbers and short terms stay as they are."""
        vocab = self.index.vocabulary
        out = []
        for t in terms:
            if t in vocab or len(t) < 5 or t[0].isdigit():
                out.append(t)
                continue
            if t not in self._corrections:  # the analysis and the search both ask: decide once
                close = difflib.get_close_matches(t, self._vocab_by_initial.get(t[0], ()), n=1, cutoff=0.86)
                if len(self._corrections) > 50_000:
                    self._corrections.clear()
                self._corrections[t] = close[0] if close else t
            out.append(self._corrections[t])
        return out

    @functools.cached_property
    def _vocab_by_initial(self) -> dict[str, list[str]]:
        by: dict[str, list[str]] = {}
        for term in self.index.vocabulary:
            by.setdefault(term[:1], []).append(term)
        return by

    def allowed(self, filters: Filters | None) -> np.ndarray | None:
        """Boolean mask (n_passages,) of the passages ``filters`` allows; None when nothing is
        filtered. Computed once per distinct filter (frozen, hashable)."""
        if filters is None or filters.empty:
            return None
        if filters not in self._masks:
            if len(self._masks) > 256:
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

    def __call__(self, query: str, *, top_k: int | None = None, mode: str | None = None,
                 query_vector: np.ndarray | None = None, analysis: QuestionAnalysis | None = None,
                 filters: Filters | None = None) -> RetrievalResult:
        """Retrieve ``top_k`` passages for ``query``. With an ``analysis`` and a learned reranker,
        hybrid mode reorders the first ``reranker_top_n`` fused passages by the reranker. With
        ``filters``, only passages of the allowed documents are searched and ranked."""
        s = self.settings
        mode = mode or s.mode
        top_k = top_k or s.top_k
        vocab = self.index.vocabulary
        terms = self.correct_typos(bm25_tokens(query, stemmer=s.stemmer))
        known = sum(1 for t in set(terms) if t in vocab) / len(set(terms)) if terms else 0.0
        qvec = query_vector if query_vector is not None else self.embedder.embed_queries([query])[0]
        allowed = self.allowed(filters)
        dense = self.dense_search(qvec, s.candidates, allowed) if mode in ("hybrid", "dense") else []
        bm25 = self.bm25_search(terms, s.candidates, allowed) if mode in ("hybrid", "bm25") else []
        d_rank = {i: r for r, (i, _) in enumerate(dense, start=1)}
        b_rank = {i: r for r, (i, _) in enumerate(bm25, start=1)}
        d_score = dict(dense)
        b_score = dict(bm25)
        candidates = list(dict.fromkeys([i for i, _ in dense] + [i for i, _ in bm25]))
        if mode != "bm25":  # exact cosine for BM25-only candidates too
            for i in candidates:
                if i not in d_score:
                    d_score[i] = float(self.index.dense.reconstruct(i) @ qvec)
        if mode == "dense":
            fused = {i: d_score[i] for i in candidates}
        elif mode == "bm25":
            fused = {i: b_score[i] for i in candidates}
        elif s.fusion == "rrf":
            fused = {i: (s.dense_weight / (s.rrf_k + d_rank[i]) if i in d_rank else 0.0)
                     + (s.bm25_weight / (s.rrf_k + b_rank[i]) if i in b_rank else 0.0) for i in candidates}
        else:
            # a short query whose words all occur in the corpus ("3RX", "51.000", "Berx-Donner")
            # is a lexical lookup: BM25 then weighs as much as the dense side
            lookup = 0 < len(set(terms)) <= 2 and known == 1.0
            weight = max(s.bm25_weight, 1.0) if lookup else s.bm25_weight
            fused = self._convex(candidates, d_score, b_score, qvec, weight)
        order = sorted(candidates, key=lambda i: (-fused[i], i))
        # one passage per paragraph: the best-ranked piece stands for it
        seen: set[str] = set()
        ranked: list[int] = []
        for i in order:
            pid = self.index.passages[i].paragraph_id
            if pid not in seen:
                seen.add(pid)
                ranked.append(i)
        scores = {i: fused[i] for i in ranked}
        if self.reranker is not None and ranked:
            head = ranked[: s.reranker_top_n]
            rr = self.reranker(query, [self.index.passages[i].index_text(s.passage_context) for i in head])
            scores.update(dict(zip(head, rr, strict=True)))
            ranked = sorted(head, key=lambda i: -scores[i]) + ranked[len(head):]
        if mode == "bm25":  # the answer stage still needs cosines to judge the evidence
            for i in ranked[: max(top_k, s.reranker_top_n)]:
                d_score[i] = float(self.index.dense.reconstruct(i) @ qvec)
        sent_scores: dict[int, np.ndarray] = {}
        sent_vecs: dict[int, np.ndarray] = {}
        for i in ranked[: max(top_k, s.reranker_top_n)]:
            _, vecs = self.index.sentences_of(i)
            sent_vecs[i] = np.asarray(vecs)
            sent_scores[i] = sent_vecs[i] @ qvec if len(vecs) else np.zeros(0, np.float32)
        rerank: dict[int, float] | None = None
        if self.learned is not None and analysis is not None and mode == "hybrid" and ranked:
            head = ranked[: s.reranker_top_n]
            rerank = self.rerank(analysis, head, scores, d_score, b_score, sent_scores)
            ranked = sorted(head, key=lambda i: (-rerank[i], i)) + ranked[len(head):]
        ranked = ranked[:top_k]
        out = tuple(
            Retrieved(self.index.passages[i], i, rank, float(scores[i]), d_score.get(i), b_score.get(i),
                      d_rank.get(i), b_rank.get(i))
            for rank, i in enumerate(ranked, start=1)
        )
        docs = self._documents
        return RetrievalResult(query, qvec, out, tuple(terms), known,
                               tuple(sent_scores[i] for i in ranked), tuple(sent_vecs[i] for i in ranked),
                               self.lexicon, analysis,
                               tuple(rerank[i] for i in ranked) if rerank is not None else None,
                               {r.passage.doc_id: docs[r.passage.doc_id] for r in out})

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

    def rerank(self, analysis: QuestionAnalysis, head: list[int], fused: dict[int, float],
               d_score: dict[int, float], b_score: dict[int, float],
               sent_scores: dict[int, np.ndarray]) -> dict[int, float]:
        """Learned reranker probabilities for the passage indices ``head`` (fused order)."""
        assert self.learned is not None
        probs = self.learned(self.passage_rows(analysis, head, fused, d_score, b_score, sent_scores))
        return {i: float(pr) for i, pr in zip(head, probs, strict=True)}

    def passage_rows(self, analysis: QuestionAnalysis, head: list[int], fused: dict[int, float],
                     d_score: dict[int, float], b_score: dict[int, float],
                     sent_scores: dict[int, np.ndarray]) -> np.ndarray:
        """Reranker features, float32 (len(head), len(PASSAGE_FEATURES)), of passages ``head``
        in fused order (see :func:`rag.features.passage_features`)."""
        top_fused = max(fused[i] for i in head) or 1.0
        top_bm25 = max((b_score.get(i, 0.0) for i in head), default=0.0) or 1.0
        rows = []
        for rank, i in enumerate(head, start=1):
            p = self.index.passages[i]
            sc = sent_scores.get(i)
            rows.append(passage_features(
                analysis, fused_rel=fused[i] / top_fused, rank=rank, passage_cos=d_score.get(i, 0.0),
                best_sentence_cos=float(sc.max()) if sc is not None and len(sc) else d_score.get(i, 0.0),
                bm25_rel=b_score.get(i, 0.0) / top_bm25,
                evidence=evidence_text(p.paragraph_text, p.section_label, p.title, p.date),
                sentences=p.sentences, lexicon=self.lexicon))
        return np.stack(rows)

    def _convex(self, candidates: list[int], d_score: dict[int, float], b_score: dict[int, float],
                qvec: np.ndarray, bm25_weight: float) -> dict[int, float]:
        """Convex combination of min-max-normalised scores over the candidate set.

        dense part = passage cosine + best sentence cosine (sentence vectors from the index);
        fused = norm(dense part) + ``bm25_weight`` * norm(BM25). Convex fusion of normalised
        scores beat RRF on our eval set (see docs/architecture.md), as in Bruch et al. (2023).
        """
        s = self.settings
        dense_part = {}
        for i in candidates:
            _, vecs = self.index.sentences_of(i)
            best_sentence = float((vecs @ qvec).max()) if len(vecs) else d_score[i]
            dense_part[i] = s.dense_weight * d_score[i] + s.sentence_weight * best_sentence
        d_norm = _minmax(dense_part)
        b_norm = _minmax({i: b_score.get(i, 0.0) for i in candidates})
        return {i: d_norm[i] + bm25_weight * b_norm[i] for i in candidates}


def _minmax(values: dict[int, float]) -> dict[int, float]:
    if not values:
        return {}
    lo, hi = min(values.values()), max(values.values())
    span = hi - lo
    return {i: (v - lo) / span if span > 0 else 0.0 for i, v in values.items()}
