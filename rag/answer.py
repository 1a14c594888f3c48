"""Answer stage: cited extractive answers, honest abstention, quote checks and the JSON contract.

:class:`ExtractiveAnswerer` wires the answer modules: the question analysis travels with the
retrieval result (:mod:`rag.question`), candidate sentences get features (:mod:`rag.features`)
and a fitted probability (:mod:`rag.scoring`), answerability and its Dutch reason come from
:mod:`rag.abstain`, and :mod:`rag.compose` builds single, multi-part and overview answers.
This module keeps the contract: :class:`Answer`, :class:`Citation`, the mechanical quote check
(:func:`check_quotes`, run before any answer leaves), abstentions without sources, and the
JSON of ``rag.ask --json`` (:func:`answer_to_json`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from rag.abstain import (
    Decision,
    absent_words_reason,
    answerable_features,
    covers_focus,
    decide,
    entity_reason,
    missing_fact,
    missing_fact_reason,
    uncovered_entities,
)
from rag.chunking import Passage
from rag.compose import Candidate, citation_spans, grouped, pick_overview, pick_single, repeats, shown
from rag.features import (
    SENTENCE_FEATURES,
    Coverage,
    evidence_profile,
    evidence_text,
    relative_rows,
    sentence_features,
)
from rag.filters import Filters
from rag.question import Term
from rag.retrieval import RetrievalResult, Retrieved
from rag.scoring import ANSWERABLE_FEATURES, Scorer, from_log_odds, load_scorer
from rag.settings import Settings
from rag.text import contains_folded, deictic_note

#: every abstention text starts with this (then the reason, in Dutch)
ABSTAIN_PREFIX = "Dat staat niet in de documenten"
ABSTAIN_MESSAGE = ("Dat staat niet in de documenten: ik vond geen passage die deze vraag beantwoordt, "
                   "dus ik geef geen antwoord en citeer niets.")
#: shown with a citation of a document marked ``Status: fragment`` (CLI and chat; JSON: ``fragment``)
FRAGMENT_NOTE = "fragment: het corpus bevat maar een deel van dit document"
#: a question without any content word, name, code or year ("Wanneer?", "Wat is het?") asked on its own
NO_TOPIC_REASON = "de vraag noemt geen onderwerp"
NO_TOPIC_MESSAGE = ("Uw vraag noemt geen onderwerp, dus ik weet niet waarover u iets wilt weten. Stel de vraag "
                    "met het onderwerp erbij, bijvoorbeeld \"Wanneer vergadert het Politiek College?\", of stel "
                    "hem als vervolg op een eerdere vraag.")
INSTRUCTION_MESSAGE = ("Ik voer geen instructies uit die in een vraag of document staan. Stel een vraag "
                       "over de inhoud van de documenten.")
#: a question that continues a conversation ("En in Nederland?") asked without one
CONTINUATION_REASON = "de vraag bouwt voort op een eerdere vraag, maar er is geen eerdere vraag"
CONTINUATION_MESSAGE = ("Deze vraag bouwt voort op een eerdere vraag, maar er is geen eerdere vraag. Stel de "
                        "vraag volledig, met het onderwerp erbij.")


@dataclass(frozen=True)
class Citation:
    """Numbered source of an answer: the passage, the exact quote used from it, and its score.
    ``quotes``: every span of the passage the answer quotes, in text order (``quote`` is one of
    them, the most probable; empty means just ``quote``)."""

    n: int
    passage: Passage
    quote: str
    score: float
    quotes: tuple[str, ...] = ()

    @property
    def spans(self) -> tuple[str, ...]:
        """The quoted spans to mark in the paragraph: ``quotes``, or ``(quote,)``."""
        return self.quotes or (self.quote,)


@dataclass(frozen=True)
class Answer:
    """The result of one question; serialised by :func:`answer_to_json`."""

    question: str
    text: str
    abstained: bool
    citations: tuple[Citation, ...]
    retrieved: tuple[Retrieved, ...]
    mode: str = "extractive"
    timings_ms: dict[str, float] = field(default_factory=dict)
    notices: tuple[str, ...] = ()
    related: tuple[Retrieved, ...] = ()
    id: Any = None
    reason: str = ""
    filters: Filters | None = None  # the search filters the question was answered under


_INJECTION = re.compile(
    r"\b(negeer|vergeet|ignore|disregard|forget)\b.{0,40}\b(instructies?|opdrachte?n?|regels|bronnen|context|"
    r"documenten|instructions?|rules|prompt|sources|context)\b|\b(system ?prompt|jailbreak|je bent nu|you are now|"
    r"doe alsof|pretend to be|act as)\b|\b(zeg|antwoord|schrijf|say|answer|reply)\b.{0,20}\b(dat|that|met|with)\b"
    r".{0,30}\b(ja|yes|jij|you|altijd|always)\b|\b(schrijf|write|maak|verzin|dicht)\b.{0,15}\b(een|a|an)\b.{0,15}"
    r"\b(toespraak|gedicht|verhaal|speech|poem|story|tweet|lied|grap|joke)\b",
    re.IGNORECASE)


def strip_instructions(question: str) -> tuple[str, bool]:
    """Remove sentences that try to instruct the system; return (rest, had_instruction)."""
    parts = re.split(r"(?<=[.!?])\s+|\n+", question)
    kept = [p for p in parts if not _INJECTION.search(p)]
    return " ".join(kept).strip(), len(kept) != len(parts)


_HELD = SENTENCE_FEATURES.index("type_held")
_PASSAGE_PROB = SENTENCE_FEATURES.index("passage_prob")
ENGLISH_NOTICE = "De vraag is in het Engels; de documenten en dus de citaten zijn in het Nederlands."
#: shown with a question in another language than Dutch or English (French, German, Spanish)
OTHER_LANGUAGE_NOTICE = ("De vraag lijkt niet in het Nederlands of het Engels gesteld; de documenten en dus de "
                         "citaten zijn in het Nederlands, en vragen in andere talen worden minder goed begrepen.")


def correction_notice(corrections: Sequence[tuple[str, str]]) -> str:
    """The notice for words of a question read as other corpus words (typo tolerance, see
    :meth:`rag.retrieval.HybridRetriever.correct_words`): "Gezocht met verbeterde spelling:
    'terneuzn' → 'terneuzen'." "" without corrections."""
    if not corrections:
        return ""
    return "Gezocht met verbeterde spelling: " + ", ".join(f"'{a}' → '{b}'" for a, b in corrections) + "."


class ExtractiveAnswerer:
    """Compose a cited answer from retrieved passages without any language model.

    ``__call__(result, parts=())`` reads the question analysis in ``result.analysis`` (required),
    scores the sentences of the first ``evidence_passages`` passages with the fitted sentence
    model, decides answerability with the fitted answerable model and its dev-split threshold,
    and composes a single answer, a multi-part answer (``parts``: one retrieval result per
    sub-question) or an overview digest. Raises ValueError without an analysis.
    """

    def __init__(self, settings: Settings, scorer: Scorer | None = None, evidence_passages: int = 6) -> None:
        self.settings = settings
        self.scorer = scorer or (load_scorer(Path(settings.scorer_path)) if settings.scorer_path else load_scorer())
        self.evidence_passages = evidence_passages

    @property
    def _neutral_passage_prob(self) -> float:
        """The passage probability assumed when the learned reranker did not run (dense or BM25
        mode): the sentence model's training mean, so the feature contributes nothing."""
        return float(self.scorer.sentence.mean[SENTENCE_FEATURES.index("passage_prob")])

    def candidates(self, result: RetrievalResult, depth: int | None = None) -> list[Candidate]:
        """Scored sentences of the top passages (``depth``, default ``evidence_passages``), best first."""
        X, meta = self.candidate_rows(result, depth)
        if not meta:
            return []
        probs = self.scorer.sentence(X)
        out = [Candidate(r, sent, pos, X[i], float(probs[i]), cov) for i, (r, sent, pos, cov) in enumerate(meta)]
        out.sort(key=lambda c: -c.prob)
        return out

    def candidate_rows(self, result: RetrievalResult, depth: int | None = None
                       ) -> tuple[np.ndarray, list[tuple[Retrieved, str, int, Coverage]]]:
        """Sentence features, float32 (m, len(SENTENCE_FEATURES)), of the sentences of the top
        passages (each compared with the best of the others, :func:`~rag.features.relative_rows`),
        and per row (retrieved passage, sentence, position, evidence coverage)."""
        a = result.analysis
        if a is None:
            raise ValueError("retrieval result without question analysis")
        lex = result.lexicon
        assert lex is not None
        top = result.passages[: depth or self.evidence_passages]
        if not top:
            return np.zeros((0, len(SENTENCE_FEATURES)), np.float32), []
        best_cos = max((float(sc.max()) for sc in result.sentence_scores[: len(top)] if len(sc)), default=0.0)
        top_fused = max(r.score for r in result.passages) or 1.0
        top_bm25 = max((r.bm25_score or 0.0) for r in result.passages) or 1.0
        rows, meta = [], []
        for k, r in enumerate(top):
            p = r.passage
            prof = result.profiles[k] if k < len(result.profiles) else None
            if prof is None:  # the reranker did not run (dense or BM25 mode, or past its depth)
                prof = evidence_profile(a, evidence_text(p.paragraph_text, p.section_label, p.title, p.date), lex)
            scores = result.sentence_scores[k] if k < len(result.sentence_scores) else np.zeros(len(p.sentences))
            passage_prob = result.rerank_scores[k] if result.rerank_scores else self._neutral_passage_prob
            cos_order = {int(j): n for n, j in enumerate(np.argsort(-np.asarray(scores)), start=1)}
            for pos, sent in enumerate(p.sentences):
                if _INJECTION.search(sent):
                    continue  # an instruction planted in a document is never quoted as an answer
                cos = float(scores[pos]) if pos < len(scores) else float(r.dense_score or 0.0)
                rows.append(sentence_features(
                    a, sent, sentence_cos=cos, best_cos=best_cos, passage_cos=float(r.dense_score or 0.0),
                    rank=k + 1, fused_rel=r.score / top_fused, bm25_rel=(r.bm25_score or 0.0) / top_bm25,
                    position=pos, last=pos == len(p.sentences) - 1, profile=prof, lexicon=lex,
                    passage_prob=passage_prob, cos_rank=cos_order.get(pos, len(p.sentences)), corpus_idf=result.idf))
                meta.append((r, sent, pos, prof.coverage))
        if not rows:
            return np.zeros((0, len(SENTENCE_FEATURES)), np.float32), []
        return relative_rows(np.stack(rows)), meta

    def answer_candidates(self, result: RetrievalResult, depth: int | None = None) -> list[Candidate]:
        """:meth:`candidates`, restricted to sentences that hold the asked answer type when the
        question asks for a concrete fact (amount, count, date, duration, place, person): evidence covers a
        question only when it holds what is asked. Empty when no sentence holds it."""
        cands = self.candidates(result, depth)
        a = result.analysis
        if a is None or not a.concrete:
            return cands
        return [c for c in cands if c.features[_HELD] > 0]

    def decide(self, result: RetrievalResult, cands: Sequence[Candidate]) -> Decision:
        """Answerability of ``result``'s question from its best candidates (see :mod:`rag.abstain`).
        A refusal of a Dutch question that asks about words the corpus lacks altogether names those
        words (:func:`rag.abstain.absent_words_reason`): "de documenten noemen geen 'landskampioen',
        'voetbal'" says more than that the passages found are not about "België"."""
        verdict = self._decide(result, cands)
        a = result.analysis
        if verdict.answer or a is None:
            return verdict
        absent = absent_words_reason(a, result.known_terms, result.lexicon)
        return replace(verdict, reason=absent) if absent else verdict

    def _decide(self, result: RetrievalResult, cands: Sequence[Candidate]) -> Decision:
        a = result.analysis
        assert a is not None
        if not cands and a.concrete and result.passages:
            return Decision(False, 0.0, f"de gevonden passages noemen geen {missing_fact(a.answer_type)}")
        if not cands:
            return Decision(False, 0.0, "geen passages gevonden")
        if self.unknown_words(result):
            return Decision(False, 0.0, "geen enkel woord van de vraag komt in de documenten voor")
        missing = self.missing_entities(result, cands)
        if missing and result.lexicon is not None:
            # when the best retrieved passage's document is about what is asked but no sentence of the
            # asked kind is, name the missing fact, not the topic
            topic_covered = a.concrete and bool(result.passages) and not self._uncovered_in(
                result, result.passages[0].passage.doc_id)
            reason = (missing_fact_reason(a, missing) if topic_covered
                      else entity_reason(a, missing, result.lexicon, result.known_terms))
            return Decision(False, 0.0, reason, ", ".join(t.word for t in missing), on_topic=topic_covered)
        return decide(a, self.answerable_row(result, cands), self.scorer.answerable, self.scorer.threshold,
                      cands[0].coverage)

    def related(self, result: RetrievalResult) -> tuple[Retrieved, ...]:
        """Passages to read after a refusal whose topic the documents cover ("de documenten over
        'Einstein Telescoop' noemen geen bedrag …"): those of the first three whose document holds
        every name, code and year of the question."""
        return tuple(r for r in result.passages[:3] if not self._uncovered_in(result, r.passage.doc_id))

    @staticmethod
    def unknown_words(result: RetrievalResult) -> bool:
        """True for a Dutch question none of whose content words occurs in the corpus ("Wat is het
        recept voor stoofvlees?", "Lorem ipsum"): nothing can cover it. An English question names
        Dutch things in English, so it is left to the model."""
        a = result.analysis
        return bool(a is not None and a.language == "nl" and result.query_terms and result.known_term_share == 0)

    def missing_entities(self, result: RetrievalResult, cands: Sequence[Candidate]) -> list[Term]:
        """Names, codes and years of the question that the best candidate's document lacks
        (see :func:`rag.abstain.uncovered_entities`)."""
        return self._uncovered_in(result, cands[0].retrieved.passage.doc_id) if cands else []

    @staticmethod
    def _uncovered_in(result: RetrievalResult, doc_id: str) -> list[Term]:
        """Names, codes and years of the question that document ``doc_id`` (one of ``result.documents``)
        lacks; [] without an analysis, a lexicon or that document."""
        a, lex = result.analysis, result.lexicon
        document = result.documents.get(doc_id, "")
        if a is None or lex is None or not document:
            return []
        return uncovered_entities(a, document, lex)

    def answerable_row(self, result: RetrievalResult, cands: Sequence[Candidate]) -> np.ndarray:
        """Features (len(ANSWERABLE_FEATURES),) of the best of ``cands`` (non-empty, best first)."""
        a = result.analysis
        assert a is not None and cands
        m = self.scorer.answerable
        second = cands[1].prob if len(cands) > 1 else 0.0
        # the reranker's probability of the passage the answer would quote, not of the best passage:
        # when no sentence of the best one holds the asked fact, the quote comes from a passage the
        # reranker may find irrelevant ("Hoeveel statiegeld …?" quoted the lock treaty's cost clause)
        passage_prob = (float(cands[0].features[_PASSAGE_PROB]) if result.rerank_scores
                        else from_log_odds(float(m.mean[ANSWERABLE_FEATURES.index("passage_log_odds")])))
        return answerable_features(a, cands[0].features, cands[0].prob, second, passage_prob,
                                   result.known_term_share)

    def __call__(self, result: RetrievalResult, parts: Sequence[RetrievalResult] = ()) -> Answer:
        a = result.analysis
        if a is None:
            raise ValueError("retrieval result without question analysis")
        language_notice = {"en": ENGLISH_NOTICE, "other": OTHER_LANGUAGE_NOTICE}.get(a.language, "")
        notices = tuple(n for n in (language_notice,
                                    correction_notice(a.corrections)) if n)
        if parts:
            return self._multi_part(result, parts, notices)
        cands = self.answer_candidates(result, depth=10 if a.overview else None)
        verdict = self.decide(result, cands)
        if not verdict.answer:
            refusal = abstention(a.text, result, verdict.reason)
            related = self.related(result) if verdict.on_topic else refusal.related
            if verdict.probability > 0 and cands:
                # the model weighed this evidence and found it short (the checks before it refuse
                # with probability 0, so the best sentence's document holds the question's names):
                # its passage is what a reader checks first (a refusal near the threshold listed nothing)
                best = cands[0].retrieved
                related = (best, *(r for r in related if r.passage.id != best.passage.id))[:3]
            return replace(refusal, notices=notices, related=related)
        if a.overview:
            # the paragraphs whose evidence holds the topic (every term the question's focus asks
            # for): a paragraph beside it ("nutriënten" next to "PFAS") is not about it. When none
            # does, those the reranker finds relevant and those of the best one's section (a
            # section of a document is about one topic)
            top = cands[0].retrieved.passage
            relevant = {c.retrieved.passage.id for c in cands if covers_focus(a, c.coverage)} or {
                r.passage.id for r, p in zip(result.passages, result.rerank_scores or (), strict=False)
                if p >= self.scorer.passage_threshold} | {top.id} | {
                r.passage.id for r in result.passages
                if r.passage.doc_id == top.doc_id and r.passage.section_label == top.section_label}
            chosen = grouped(pick_overview(cands, relevant, discount=self.scorer.digest_discount))
        else:
            chosen = pick_single(cands, self.settings.max_answer_sentences, self.scorer.sentence_threshold)
        return replace(compose_answer(a.text, result, [chosen]), notices=notices)

    def _multi_part(self, result: RetrievalResult, parts: Sequence[RetrievalResult],
                    notices: tuple[str, ...]) -> Answer:
        a = result.analysis
        assert a is not None
        groups: list[list[Candidate]] = []
        missing: list[str] = []
        reasons = []
        used: list[str] = []
        refused: list[tuple[RetrievalResult, list[Candidate], str, str]] = []
        for pr in parts:
            cands = self.answer_candidates(pr)
            verdict = self.decide(pr, cands)
            pa = pr.analysis
            assert pa is not None
            if verdict.answer:
                # each part: its best sentence and one more of the same passage; a sentence that
                # answers two parts is shown once
                picked = [c for c in pick_single(cands, 2, 1.0) if not repeats(c.sentence, used)]
                groups.append(picked)
                used.extend(c.sentence for c in picked)
            else:
                groups.append([])
                refused.append((pr, cands, pa.text, verdict.reason))
        # a refused part that a sentence shown for another part answers is not said to be missing
        # while its answer is on screen: the part's own candidates among the shown sentences pass
        # its own decision ("GEDAAN te Brussel, op 9 september 1980" answers "waar" and "wanneer")
        shown = set(used)
        for pr, cands, text, reason in refused:
            on_screen = [c for c in cands if c.sentence in shown]
            if not (on_screen and self.decide(pr, on_screen).answer):
                missing.append(text)
                reasons.append(reason)
        if not any(groups):
            return replace(abstention(a.text, result, "; ".join(dict.fromkeys(reasons))), notices=notices)
        ans = compose_answer(a.text, result, groups, missing)
        return replace(ans, notices=notices, reason="; ".join(dict.fromkeys(reasons)))


def _quoted(c: Candidate, n: int) -> str:
    """One quoted sentence of an answer text with its marker, and a note that dates its "vandaag" or
    "gisteren" by its document (:func:`~rag.text.deictic_note`), outside the quote."""
    note = deictic_note(c.sentence, c.retrieved.passage.date)
    # before the marker: after it, the note read as the start of the next sentence (a new-user trial)
    return f"{shown(c.sentence)}" + (f" ({note})" if note else "") + f" [{n}]"


def compose_answer(question: str, result: RetrievalResult, groups: Sequence[Sequence[Candidate]],
                   missing: Sequence[str] = ()) -> Answer:
    """Answer text with ``[n]`` markers from groups of chosen sentences (one group per question
    part, in the order given, each on its own line), one citation per passage; ``missing`` parts get
    a line saying they are not in the documents. The quotes are verified (:func:`verify_answer`)."""
    flat = [c for g in groups for c in g]
    spans = citation_spans(flat)
    parts: list[str] = []
    for g in groups:
        if g:
            parts.append(" ".join(_quoted(c, spans[c.retrieved.passage.id][0]) for c in g))
    parts.extend(f"Over de vraag \"{m.rstrip('?')}\" staat niets in de documenten." for m in missing)
    citations = tuple(Citation(n, c.retrieved.passage, quote, round(prob, 4), quotes)
                      for n, c, quote, prob, quotes in spans.values())
    # a multi-part answer gives each part its own line (the chat shows it as a line break)
    answer = Answer(question=question, text="\n".join(parts), abstained=False, citations=citations,
                    retrieved=result.passages)
    return verify_answer(answer)


def abstention_message(reason: str) -> str:
    """The Dutch abstention text for a reason ("de documenten noemen geen 'Duitse gemeente'")."""
    if not reason:
        return ABSTAIN_MESSAGE
    return f"{ABSTAIN_PREFIX}: {reason}. Ik geef daarom geen antwoord en citeer niets."


def abstention(question: str, result: RetrievalResult | None, reason: str,
               message: str | None = None) -> Answer:
    """An abstaining answer: Dutch message naming the reason, no citations; the top passages
    only as "related" (those the reranker thinks likelier relevant than not, or with a high cosine)."""
    ranked = result.passages[:3] if result else ()
    probs = (result.rerank_scores or ()) if result else ()
    related = tuple(r for k, r in enumerate(ranked)
                    if (probs[k] >= 0.5 if k < len(probs) else (r.dense_score or 0) >= 0.78))
    return Answer(question=question, text=message or abstention_message(reason), abstained=True, citations=(),
                  retrieved=result.passages if result else (), related=related, reason=reason)


class QuoteCheckError(AssertionError):
    """A citation's quote does not occur in its paragraph, or a marker has no citation."""


def check_quotes(answer: Answer) -> list[str]:
    """Problems with an answer's citations (empty list = all quotes verified).

    Every quote must occur in its cited paragraph after normalisation (NFC, folding of case,
    diacritics and quotes); every ``[n]`` marker must name a citation; an abstention must
    cite nothing.
    """
    problems = []
    if answer.abstained and answer.citations:
        problems.append("onthouding met bronnen")
    numbers = {c.n for c in answer.citations}
    for c in answer.citations:
        if any(not q.strip() or not contains_folded(c.passage.paragraph_text, q) for q in (c.quote, *c.quotes)):
            problems.append(f"citaat [{c.n}] staat niet in {c.passage.paragraph_id}")
    for m in re.findall(r"\[(\d+)\]", answer.text):
        if int(m) not in numbers:
            problems.append(f"verwijzing [{m}] zonder bron")
    return problems


def verify_answer(answer: Answer) -> Answer:
    """Return ``answer`` if :func:`check_quotes` finds nothing; raise QuoteCheckError otherwise."""
    problems = check_quotes(answer)
    if problems:
        raise QuoteCheckError("; ".join(problems))
    return answer


def with_meta(answer: Answer, **changes: Any) -> Answer:
    """Copy of ``answer`` with some fields replaced (timings, notices, id, mode)."""
    return replace(answer, **changes)


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


def answer_to_json(answer: Answer) -> dict[str, Any]:
    """The stable JSON contract of ``rag.ask --json`` (see README, "JSON contract")."""
    def cite(c: Citation) -> dict[str, Any]:
        p = c.passage
        return {"n": c.n, "passage_id": p.id, "doc_id": p.doc_id, "title": p.title, "date": p.date,
                "source": p.source, "locator": p.locator, "fragment": p.fragment, "text": p.paragraph_text,
                "quote": c.quote, "quotes": list(c.spans), "score": c.score}

    def ret(r: Retrieved) -> dict[str, Any]:
        p = r.passage
        return {"rank": r.rank, "passage_id": p.id, "doc_id": p.doc_id, "locator": p.locator,
                "text": p.text, "score": round(r.score, 6), "dense_score": _round(r.dense_score),
                "bm25_score": _round(r.bm25_score), "rerank_score": _round(r.rerank_score), "title": p.title}

    return {
        "id": answer.id,
        "question": answer.question,
        "answer": answer.text,
        "abstained": answer.abstained,
        "reason": answer.reason,
        "mode": answer.mode,
        "citations": [cite(c) for c in answer.citations],
        "retrieved": [ret(r) for r in answer.retrieved],
        "related": [ret(r) for r in answer.related],
        "notices": list(answer.notices),
        "filters": answer.filters.to_json() if answer.filters is not None else None,
        "timings_ms": {k: round(v, 2) for k, v in answer.timings_ms.items()},
    }
