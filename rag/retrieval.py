"""Retrieval stage: dense (FAISS) and BM25 search, fused, optionally reranked.

:class:`HybridRetriever` returns a :class:`RetrievalResult`: the query vector and the ranked
:class:`Retrieved` passages, each with its fused score and the score and rank it got from
each retriever. Fusion is weighted reciprocal rank fusion (RRF); ``mode="dense"`` or
``"bm25"`` uses one retriever alone (for evaluation). One passage per paragraph is kept.
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass

import numpy as np

from rag.chunking import Passage
from rag.embedding import Embedder
from rag.index import SearchIndex
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
    """Query text as searched, its embedding (float32 (dim,), L2-normalised), ranked passages,
    the query's BM25 terms and the share of those terms known to the corpus vocabulary."""

    query: str
    query_vector: np.ndarray
    passages: tuple[Retrieved, ...]
    query_terms: tuple[str, ...]
    known_term_share: float


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
                 reranker: CrossEncoderReranker | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self.reranker = reranker

    def correct_typos(self, terms: list[str]) -> list[str]:
        """Replace a term unknown to the corpus by the one vocabulary term that is very close to it
        ("inwonres" → "inwoner", "gemideld" → "gemiddeld"); numbers and short terms stay as they are."""
        vocab = self.index.vocabulary
        out = []
        for t in terms:
            if t in vocab or len(t) < 5 or t[0].isdigit():
                out.append(t)
                continue
            close = difflib.get_close_matches(t, self._vocab_by_initial.get(t[0], ()), n=1, cutoff=0.86)
            out.append(close[0] if close else t)
        return out

    @functools.cached_property
    def _vocab_by_initial(self) -> dict[str, list[str]]:
        by: dict[str, list[str]] = {}
        for term in self.index.vocabulary:
            by.setdefault(term[:1], []).append(term)
        return by

    def dense_search(self, qvec: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(passage index, cosine) pairs, best first."""
        k = min(k, len(self.index.passages))
        if k <= 0:
            return []
        scores, ids = self.index.dense.search(qvec.reshape(1, -1).astype(np.float32), k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def bm25_search(self, terms: list[str], k: int) -> list[tuple[int, float]]:
        """(passage index, BM25 score) pairs with score > 0, best first."""
        k = min(k, len(self.index.passages))
        if not terms or k <= 0:
            return []
        docs, scores = self.index.bm25.retrieve([terms], k=k, show_progress=False)
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    def __call__(self, query: str, *, top_k: int | None = None, mode: str | None = None,
                 query_vector: np.ndarray | None = None) -> RetrievalResult:
        s = self.settings
        mode = mode or s.mode
        top_k = top_k or s.top_k
        vocab = self.index.vocabulary
        terms = self.correct_typos(bm25_tokens(query, stemmer=s.stemmer))
        known = sum(1 for t in set(terms) if t in vocab) / len(set(terms)) if terms else 0.0
        qvec = query_vector if query_vector is not None else self.embedder.embed_queries([query])[0]
        dense = self.dense_search(qvec, s.candidates) if mode in ("hybrid", "dense") else []
        bm25 = self.bm25_search(terms, s.candidates) if mode in ("hybrid", "bm25") else []
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
        ranked = ranked[:top_k]
        if mode == "bm25":  # the answer stage still needs cosines to judge the evidence
            for i in ranked:
                d_score[i] = float(self.index.dense.reconstruct(i) @ qvec)
        out = tuple(
            Retrieved(self.index.passages[i], i, rank, float(scores[i]), d_score.get(i), b_score.get(i),
                      d_rank.get(i), b_rank.get(i))
            for rank, i in enumerate(ranked, start=1)
        )
        return RetrievalResult(query, qvec, out, tuple(terms), known)

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
