"""Features of evidence for the learned scorers: passages (reranker) and sentences (answer).

Pure functions over a :class:`~rag.question.QuestionAnalysis`, the retrieval scores and a
:class:`~rag.lexicon.Lexicon`; no index, no model. Each returns a float vector whose entries are
named by :data:`PASSAGE_FEATURES` / :data:`SENTENCE_FEATURES` (the fitted models store the names
they were trained on, and :mod:`rag.scoring` refuses a model whose names differ).

Coverage is IDF-weighted: a question term's weight is its corpus IDF, and a text covers it by
:meth:`Lexicon.match` (same stem or compound 1.0, else the centred word-embedding cosine).
"Evidence" is the sentence plus its paragraph, section label, document title and date, as the
answer is judged on what a reader sees with the quote.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.lexicon import Lexicon
from rag.question import QuestionAnalysis, answer_mentions, holds_type, years_in
from rag.text import bm25_tokens, fold, introduces_list

PASSAGE_BASE_FEATURES: tuple[str, ...] = (
    "fused_rel", "rank_inv", "passage_cos", "best_sentence_cos", "bm25_rel", "cover_exact", "cover_soft",
    "min_match", "missing_idf", "names", "codes", "years", "type_held", "english", "focus_missing",
    "focus_uncovered",
)
#: the base features and, for each, the passage's value minus the best among the reranked passages
PASSAGE_FEATURES: tuple[str, ...] = (*PASSAGE_BASE_FEATURES, *(f"rel_{f}" for f in PASSAGE_BASE_FEATURES))
#: what :func:`sentence_features` computes for one sentence on its own
SENTENCE_BASE_FEATURES: tuple[str, ...] = (
    "sentence_cos", "sentence_cos_gap", "passage_cos", "passage_rank_inv", "passage_fused_rel", "bm25_rel",
    "sentence_cover_exact", "sentence_cover_soft", "evidence_cover_exact", "evidence_cover_soft", "min_match",
    "missing_idf", "names", "codes", "years", "typed", "type_held", "type_missing", "position_inv", "first",
    "length_log", "dangling", "new_words", "english", "overview", "passage_prob", "cos_rank_in_passage",
    "focus_missing", "focus_uncovered", "sentence_focus_uncovered", "type_rarity",
)
#: the base features and, for each, the sentence's value minus the best value among the question's
#: candidates (:func:`relative_rows`): a logistic model then compares a sentence with the others
SENTENCE_FEATURES: tuple[str, ...] = (*SENTENCE_BASE_FEATURES, *(f"rel_{f}" for f in SENTENCE_BASE_FEATURES))


@dataclass(frozen=True)
class Coverage:
    """How a text covers a question's terms: per-term match in [0, 1] (question order),
    IDF-weighted exact and soft coverage, the worst match and the IDF share left uncovered."""

    match: np.ndarray
    exact: float
    soft: float
    worst: float
    missing_idf: float
    #: max over terms of focus × (1 − match): a term the evidence should hold but does not
    focus_missing: float = 0.0
    #: focus-weighted share of the question left uncovered
    focus_uncovered: float = 0.0

    def worst_term(self, analysis: QuestionAnalysis) -> int | None:
        """Index of the term whose absence weighs most (focus × IDF × (1 − match): a word the
        evidence should hold, and a rare one, not "volgens"; not a number; ties: the rarer one); None without
        terms, or when every term is in the text (as a stem or compound part): then no word is
        missing, and a reason must not name one."""
        if not len(self.match):
            return None
        idf = analysis.term_idf
        weight = analysis.term_focus * idf * (1.0 - self.match)
        # numbers and years are checked as entities; as words they are not in the lexicon
        weight[[t.word[:1].isdigit() for t in analysis.terms]] = 0.0
        k = int(np.lexsort((-idf, -weight))[0])
        return k if self.match[k] < 1.0 else None


def coverage(analysis: QuestionAnalysis, text: str, lexicon: Lexicon) -> Coverage:
    """:class:`Coverage` of ``analysis``' terms by ``text``."""
    terms = analysis.term_pairs
    if not terms:
        return Coverage(np.zeros(0, np.float32), 1.0, 1.0, 1.0, 0.0)
    m = lexicon.match(terms, text)
    ordinal = analysis.term_ordinal & (m < 1.0)
    if ordinal.any():  # "vierde" is not half-held by "vijfde"
        m = m.copy()
        m[ordinal] = 0.0
    forms = analysis.form_pairs
    if forms:  # a name is covered by its other word forms too ("Netherlands" by "Nederlandse"), as written
        m = m.copy()
        np.maximum.at(m, analysis.form_index, lexicon.match(forms, text, exact=True))
    idf = analysis.term_idf
    total = float(idf.sum()) or 1.0
    exact = float(idf[m >= 1.0].sum()) / total
    soft = float((idf * m).sum()) / total
    top = float(idf.max()) or 1.0
    missing = float((idf * (1.0 - m)).max()) / top
    focus = analysis.term_focus
    gap = focus * (1.0 - m)
    return Coverage(m, exact, soft, float(m.min()), missing, float(gap.max()),
                    float(gap.sum() / (focus.sum() or 1.0)))


def _share_names(analysis: QuestionAnalysis, folded: str) -> float:
    if not analysis.names:
        return 1.0
    long_words = {w for w in folded.split() if len(w) >= 5}
    hits = 0
    for name in analysis.names:
        n = fold(name)
        parts = [x for x in re.split(r"[-\s]+", n) if len(x) >= 3]
        if (n in folded or any(n.startswith(w) for w in long_words if len(w) < len(n))
                or (len(parts) > 1 and all(x in folded for x in parts))):
            hits += 1  # "Vlaams-Nederlandse" is named by "Vlaams – Nederlandse" too
    return hits / len(analysis.names)


def _codes_ok(analysis: QuestionAnalysis, folded: str) -> float:
    return 1.0 if all(fold(c) in folded for c in analysis.codes) else 0.0


def _years_ok(analysis: QuestionAnalysis, text: str) -> float:
    return 1.0 if set(analysis.years) <= years_in(text) else 0.0


@dataclass(frozen=True)
class EvidenceProfile:
    """What one passage's evidence holds for a question: term coverage and the share of the
    question's names, its codes and its years found (1.0 when the question has none)."""

    coverage: Coverage
    names: float
    codes: float
    years: float


def evidence_profile(analysis: QuestionAnalysis, evidence: str, lexicon: Lexicon) -> EvidenceProfile:
    """:class:`EvidenceProfile` of an :func:`evidence_text` for ``analysis``."""
    folded = fold(evidence)
    return EvidenceProfile(coverage(analysis, evidence, lexicon), _share_names(analysis, folded),
                           _codes_ok(analysis, folded), _years_ok(analysis, evidence))


def evidence_text(paragraph: str, section_label: str, title: str, date: str | None) -> str:
    """What a reader sees with a quote: paragraph, section label, document title and date."""
    return f"{title}\n{date or ''}\n{section_label}\n{paragraph}"


def passage_features(analysis: QuestionAnalysis, *, fused_rel: float, rank: int, passage_cos: float,
                     best_sentence_cos: float, bm25_rel: float, profile: EvidenceProfile,
                     sentences: Sequence[str]) -> np.ndarray:
    """Base feature vector (len(PASSAGE_BASE_FEATURES),) of one retrieved passage for the reranker.

    ``fused_rel``: fused score / best fused score; ``bm25_rel``: BM25 score / best BM25 score
    (0 when BM25 did not return it); ``profile``: :func:`evidence_profile` of the passage's
    :func:`evidence_text` (computed once and handed on to the answer stage).
    """
    prof = profile
    cov = prof.coverage
    asked = analysis.folded
    held = 1.0 if any(holds_type(analysis.answer_type, s, asked, analysis.unit) for s in sentences) else 0.0
    return np.array([
        fused_rel, 1.0 / rank, passage_cos, best_sentence_cos, bm25_rel, cov.exact, cov.soft, cov.worst,
        cov.missing_idf, prof.names, prof.codes, prof.years, held, 1.0 if analysis.language != "nl" else 0.0,
        cov.focus_missing, cov.focus_uncovered,
    ], dtype=np.float32)


def relative_rows(rows: np.ndarray, width: int = len(SENTENCE_BASE_FEATURES)) -> np.ndarray:
    """All candidates of one question: base rows float32 (m, width) → (m, 2 * width), each row
    followed by its difference from the column maxima (width: len(SENTENCE_BASE_FEATURES) for
    sentences, len(PASSAGE_BASE_FEATURES) for passages)."""
    rows = np.asarray(rows, dtype=np.float32)
    if not len(rows):
        return np.zeros((0, 2 * width), np.float32)
    return np.hstack([rows, rows - rows.max(axis=0, keepdims=True)])


def sentence_features(analysis: QuestionAnalysis, sentence: str, *, sentence_cos: float, best_cos: float,
                      passage_cos: float, rank: int, fused_rel: float, bm25_rel: float, position: int,
                      last: bool, profile: EvidenceProfile, lexicon: Lexicon, passage_prob: float,
                      cos_rank: int, corpus_idf: Callable[[str], float] | None = None) -> np.ndarray:
    """Base feature vector (len(SENTENCE_BASE_FEATURES),) of one candidate sentence.

    ``best_cos``: the best sentence cosine among all candidates of the question; ``position``:
    0-based place of the sentence in its passage; ``profile``: :func:`evidence_profile` of the
    passage (computed once per passage and shared by its sentences); ``passage_prob``: the
    reranker's probability for the passage; ``cos_rank``: 1-based rank of the sentence's cosine
    among its passage's sentences; ``corpus_idf``: a stem's corpus IDF (natural log, as
    :meth:`rag.retrieval.HybridRetriever.idf`), for ``type_rarity`` (0.0 without it).
    """
    sent_cov = coverage(analysis, sentence, lexicon)
    ev = profile.coverage
    asked = analysis.folded
    typed = analysis.concrete
    held = holds_type(analysis.answer_type, sentence, asked, analysis.unit)
    own = set(bm25_tokens(sentence))
    q = set(analysis.stems)
    new_words = len(own - q) / len(own) if own else 0.0
    # a term the sentence covers better than its passage does still counts: evidence includes it
    match = np.maximum(ev.match, sent_cov.match) if len(ev.match) else ev.match
    worst = float(match.min()) if len(match) else 1.0
    idf = analysis.term_idf
    missing = float((idf * (1.0 - match)).max() / (idf.max() or 1.0)) if len(match) else 0.0
    focus = analysis.term_focus
    gap = focus * (1.0 - match) if len(match) else np.zeros(1, np.float32)
    focus_missing = float(gap.max())
    focus_uncovered = float(gap.sum() / (focus.sum() or 1.0)) if len(match) else 0.0
    return np.array([
        sentence_cos, sentence_cos - best_cos, passage_cos, 1.0 / rank, fused_rel, bm25_rel,
        sent_cov.exact, sent_cov.soft, max(ev.exact, sent_cov.exact), max(ev.soft, sent_cov.soft), worst, missing,
        profile.names, profile.codes, profile.years, 1.0 if typed else 0.0, 1.0 if held else 0.0,
        1.0 if typed and not held else 0.0,
        1.0 / (1 + position), 1.0 if position == 0 else 0.0, math.log(1 + len(sentence)),
        1.0 if last and introduces_list(sentence) else 0.0, new_words,
        1.0 if analysis.language != "nl" else 0.0, 1.0 if analysis.overview else 0.0, passage_prob, 1.0 / cos_rank,
        focus_missing, focus_uncovered, sent_cov.focus_uncovered,
        type_rarity(analysis, sentence, corpus_idf) if corpus_idf is not None and held and typed else 0.0,
    ], dtype=np.float32)


def type_rarity(analysis: QuestionAnalysis, sentence: str, idf: Callable[[str], float]) -> float:
    """How specific the sentence's fact of the asked type is, in [0, 1]: over its mentions that the
    question does not hold (:func:`~rag.question.answer_mentions`), the highest mean IDF of a
    mention's stems, divided by the IDF of a term the corpus lacks. "in het Noordbrabants Museum"
    is specific; "in Nederland", which nearly every passage holds, says little about where."""
    top = idf("\x00") or 1.0
    best = 0.0
    for mention in answer_mentions(analysis.answer_type, sentence, analysis.folded):
        stems = bm25_tokens(mention)
        if stems:
            best = max(best, sum(idf(s) for s in stems) / len(stems) / top)
    return min(1.0, best)
