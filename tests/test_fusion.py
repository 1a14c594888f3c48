"""rag.fusion on hand-made score lists: min-max, convex, RRF, ranks, order, the lookup rule;
ties and empty lists included. Pure functions: no index, no model."""

from __future__ import annotations

import pytest

from rag.fusion import convex, lookup_bm25_weight, minmax, order, ranks, rrf


def test_minmax_scales_to_unit_range_and_keeps_order_of_keys():
    assert minmax({3: 2.0, 1: 4.0, 2: 3.0}) == {3: 0.0, 1: 1.0, 2: 0.5}
    assert list(minmax({3: 2.0, 1: 4.0})) == [3, 1]


def test_minmax_of_ties_one_value_and_nothing():
    assert minmax({1: 0.7, 2: 0.7}) == {1: 0.0, 2: 0.0}  # no spread: nobody is better
    assert minmax({5: -3.0}) == {5: 0.0}
    assert minmax({}) == {}


def test_minmax_handles_negative_scores():
    assert minmax({1: -1.0, 2: 1.0, 3: 0.0}) == {1: 0.0, 2: 1.0, 3: 0.5}


def test_convex_normalises_over_the_candidates_and_weighs_bm25():
    dense = {1: 0.9, 2: 0.5, 3: 0.7, 99: 5.0}  # 99 is no candidate: it must not stretch the scale
    bm25 = {2: 10.0, 3: 5.0}  # 1 has no BM25 score: it counts as 0
    fused = convex([1, 2, 3], dense, bm25, bm25_weight=0.2)
    assert fused == pytest.approx({1: 1.0, 2: 0.2, 3: 0.5 + 0.1})
    assert order(fused) == [1, 3, 2]


def test_convex_bm25_weight_decides_between_a_dense_and_a_lexical_hit():
    dense = {1: 0.9, 2: 0.8, 3: 0.85}
    bm25 = {2: 7.0, 3: 3.5}
    assert order(convex([1, 2, 3], dense, bm25, bm25_weight=0.2)) == [1, 3, 2]
    assert order(convex([1, 2, 3], dense, bm25, bm25_weight=1.5)) == [2, 3, 1]
    # equal weight: the best dense and the best lexical candidate tie, the lower index first
    assert convex([2, 1], {1: 0.9, 2: 0.8}, {2: 7.0}, bm25_weight=1.0) == {1: 1.0, 2: 1.0}
    assert order(convex([2, 1], {1: 0.9, 2: 0.8}, {2: 7.0}, bm25_weight=1.0)) == [1, 2]


def test_convex_of_no_candidates_and_of_ties():
    assert convex([], {}, {}, bm25_weight=0.2) == {}
    assert convex([4, 2], {4: 0.5, 2: 0.5}, {}, bm25_weight=0.2) == {4: 0.0, 2: 0.0}


def test_convex_needs_a_dense_score_for_every_candidate():
    with pytest.raises(KeyError):
        convex([1, 2], {1: 0.3}, {2: 1.0}, bm25_weight=0.2)


def test_rrf_adds_reciprocal_ranks_and_zero_for_a_missing_retriever():
    fused = rrf([1, 2, 3], {1: 1, 2: 2}, {2: 1, 3: 2}, k=60, dense_weight=1.0, bm25_weight=0.5)
    assert fused == pytest.approx({1: 1 / 61, 2: 1 / 62 + 0.5 / 61, 3: 0.5 / 62})
    assert order(fused) == [2, 1, 3]


def test_rrf_of_nothing_and_of_tied_ranks():
    assert rrf([], {}, {}, k=60, dense_weight=1.0, bm25_weight=1.0) == {}
    fused = rrf([7, 3], {7: 1, 3: 2}, {3: 1, 7: 2}, k=60, dense_weight=1.0, bm25_weight=1.0)
    assert fused[7] == fused[3]
    assert order(fused) == [3, 7]  # a tie goes to the lower passage index


def test_ranks_are_one_based_in_hit_order():
    assert ranks([(8, 0.9), (2, 0.8), (5, 0.1)]) == {8: 1, 2: 2, 5: 3}
    assert ranks([]) == {}


def test_order_of_nothing_and_of_equal_scores():
    assert order({}) == []
    assert order({5: 1.0, 3: 1.0, 9: 2.0}) == [9, 3, 5]


@pytest.mark.parametrize(("terms", "known", "expected"), [
    (["3rx"], 1.0, 1.0),  # one known term: a lookup, BM25 weighs as much as the dense side
    (["berx", "donner"], 1.0, 1.0),
    (["berx", "donner", "top"], 1.0, 0.2),  # three terms: a question, not a lookup
    (["berx", "onbekend"], 0.5, 0.2),  # not every term is in the corpus
    ([], 0.0, 0.2),
    (["berx", "berx"], 1.0, 1.0),  # distinct terms count
])
def test_lookup_bm25_weight(terms, known, expected):
    assert lookup_bm25_weight(terms, known, 0.2) == expected


def test_lookup_never_lowers_a_larger_weight():
    assert lookup_bm25_weight(["3rx"], 1.0, 1.5) == 1.5
