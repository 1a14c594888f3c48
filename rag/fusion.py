"""Fusion of the dense and BM25 rankings: pure functions over ``{passage index: score}`` maps.

:func:`convex` (the default) combines min-max-normalised scores, :func:`rrf` reciprocal ranks;
:func:`minmax` is the normalisation and :func:`lookup_bm25_weight` the one rule that changes the
weights (a short lexical lookup gives BM25 full weight). Why convex and not RRF: docs/architecture.md
("Retrieval"), after Bruch, Gai and Ingber, "An Analysis of Fusion Functions for Hybrid Retrieval" (2023).
No numpy, no index: the retriever computes the scores, these functions only combine them. The method
names are :data:`rag.settings.Fusion`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

#: a query of at most this many distinct terms, all in the corpus vocabulary, is a lexical lookup
LOOKUP_MAX_TERMS = 2


def minmax(values: Mapping[int, float]) -> dict[int, float]:
    """Scores scaled to 0..1 by the lowest and highest value; all 0.0 when they are equal (ties, one
    value); ``{}`` for no values. Keys and their order are kept."""
    if not values:
        return {}
    lo, hi = min(values.values()), max(values.values())
    span = hi - lo
    return {i: (v - lo) / span if span > 0 else 0.0 for i, v in values.items()}


def convex(candidates: Sequence[int], dense: Mapping[int, float], bm25: Mapping[int, float],
           bm25_weight: float) -> dict[int, float]:
    """``minmax(dense) + bm25_weight * minmax(bm25)`` over ``candidates`` (normalised over the candidates
    only). ``dense`` must hold every candidate; a candidate missing from ``bm25`` scores 0.0 there."""
    d_norm = minmax({i: dense[i] for i in candidates})
    b_norm = minmax({i: bm25.get(i, 0.0) for i in candidates})
    return {i: d_norm[i] + bm25_weight * b_norm[i] for i in candidates}


def rrf(candidates: Sequence[int], dense_rank: Mapping[int, int], bm25_rank: Mapping[int, int], *,
        k: int, dense_weight: float, bm25_weight: float) -> dict[int, float]:
    """Weighted reciprocal rank fusion: ``w_d / (k + rank_d) + w_b / (k + rank_b)``, ranks 1-based; a
    retriever that did not return a candidate adds 0.0."""
    return {i: (dense_weight / (k + dense_rank[i]) if i in dense_rank else 0.0)
            + (bm25_weight / (k + bm25_rank[i]) if i in bm25_rank else 0.0) for i in candidates}


def ranks(hits: Sequence[tuple[int, float]]) -> dict[int, int]:
    """1-based rank of each passage index in ``hits`` (best first)."""
    return {i: r for r, (i, _) in enumerate(hits, start=1)}


def order(fused: Mapping[int, float]) -> list[int]:
    """Passage indices by fused score, best first; ties by the lower index (deterministic)."""
    return sorted(fused, key=lambda i: (-fused[i], i))


def lookup_bm25_weight(terms: Collection[str], known_share: float, bm25_weight: float) -> float:
    """The BM25 weight for convex fusion: a short query whose terms all occur in the corpus ("3RX",
    "51.000", "Berx-Donner": at most :data:`LOOKUP_MAX_TERMS` distinct terms, ``known_share == 1``) is a
    lexical lookup, and BM25 then weighs at least as much as the dense side (1.0); else ``bm25_weight``."""
    lookup = 0 < len(set(terms)) <= LOOKUP_MAX_TERMS and known_share == 1.0
    return max(bm25_weight, 1.0) if lookup else bm25_weight
