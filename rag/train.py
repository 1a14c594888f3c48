"""Fit the learned scorers: ``python -m rag.train [--questions eval/questions.jsonl] [--out FILE]``.

Reproduces ``rag/models/scorer.json`` from the labelled questions, using only the ``train``
split for fitting and the ``dev`` split for the abstention threshold; ``test`` is never read.

0. **Focus model** — for each content term of an answerable train question: does the evidence
   of its gold paragraph hold it (same stem or compound)? Features :data:`~rag.question.TERM_FEATURES`.
   Its probability weighs each term's absence in the coverage features below.
1. **Reranker** — every train question is retrieved (hybrid fusion, top 20, no learned
   reranking); each passage gets :data:`~rag.features.PASSAGE_FEATURES` and the label "its
   paragraph holds a gold passage".
2. **Sentence model** — with the reranker applied, the sentences of the top evidence passages
   get :data:`~rag.features.SENTENCE_FEATURES` and the label "is (or holds) a gold sentence".
3. **Answerable model** — :data:`~rag.scoring.ANSWERABLE_FEATURES` of each question's best
   candidate, from reranker and sentence models fitted on the *other* folds (5-fold
   ``GroupKFold`` by document section, so the answerable model sees honest probabilities);
   label 1 for an answerable question whose gold paragraph is among the evidence passages, 0 for
   an unanswerable one (answerable questions whose evidence lacks the gold are left out).
   Two kinds of made-up near-miss were tried and are not used: a name or year swapped for one
   the corpus never mentions (dev AUC 0.82 → 0.73), and each answerable question again with its
   gold paragraphs removed from the evidence. The second left the model with one feature, the
   reranker's passage probability, as the rest of a section still covers the question's words;
   without them the model weighs coverage too, and on dev and the three held-out sets as many
   questions were handled right (dev: fact recall 0.612 → 0.623, false abstention 0.039 → 0.029,
   abstention recall 0.583 → 0.458).
4. **Thresholds** — the inclusion thresholds of further answer sentences and of digest
   paragraphs maximise F1 on the train split (``TunedThresholdClassifierCV``); the abstention
   threshold is the highest on P(answerable) at which at most ``--max-false-abstention`` (default
   0.05, the issue's bound) of the answerable dev questions are refused: the stated target is a
   95 % answer rate on answerable questions, and within it as many near-misses refused as the
   model can tell apart.
5. **Digest discount** — the overview digest's weight per sentence already taken from a paragraph
   (:func:`~rag.compose.pick_overview`) is the value of :data:`DIGEST_DISCOUNTS` whose answers to
   the train split's overview questions hold the most answer facts, end to end with the models
   above; among equals, the one whose digests have the highest citation precision (on this machine's
   index 0.0, 0.9 and 1.0 all find 43 facts; 1.0 cites gold paragraphs most often).

All four are scikit-learn ``LogisticRegression`` models on standardised features
(``StandardScaler``); the file stores their coefficients, so the answer path needs only numpy.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from rag.answer import strip_instructions
from rag.evaluate import DEFAULT_QUESTIONS, Question, is_relevant, load_questions
from rag.features import PASSAGE_FEATURES, SENTENCE_FEATURES, evidence_text
from rag.question import TERM_FEATURES, term_rows
from rag.scoring import ANSWERABLE_FEATURES, DEFAULT_SCORER, SCORER_FORMAT, LogisticModel, Scorer
from rag.text import fold

#: passages per question for reranker training; evidence passages come from the answerer
RERANK_DEPTH = 20
#: inverse regularisation strength of the answerable model: its features are correlated and its
#: training set small (about 200 questions); C=0.3 had the best dev AUC of 0.05, 0.3 and 1.0
ANSWERABLE_C = 0.3
#: candidate values of the overview digest's discount (:func:`choose_discount`): 0 spreads a digest
#: over as many paragraphs as it can, 1 takes the most probable sentences wherever they are
DIGEST_DISCOUNTS = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0)


def _norm(text: str) -> str:
    return " ".join(fold(text).split())


def is_gold_sentence(sentence: str, gold_sentences: Sequence[str], facts: Sequence[str]) -> bool:
    """True when ``sentence`` is, contains or lies inside one of the gold sentences (folded,
    whitespace-normalised); without gold sentences, when it holds an answer fact."""
    s = _norm(sentence)
    if gold_sentences:
        return any((g := _norm(x)) and (g in s or (len(s) >= 20 and s in g)) for x in gold_sentences)
    return any(_norm(f) in s for f in facts if _norm(f))


def placeholder_model(features: Sequence[str]) -> LogisticModel:
    """A model that gives 0.5 everywhere (used before the real one is fitted)."""
    n = len(features)
    return LogisticModel(tuple(features), np.zeros(n), np.ones(n), np.zeros(n), 0.0)


#: the direction in which a feature may move the probability: +1 more evidence → more likely,
#: -1 → less likely; features not listed are free. A sign-constrained logistic model cannot learn
#: that covering more of the question makes an answer *less* likely (which correlated features
#: otherwise let it do), so it generalises to questions unlike the training ones.
FEATURE_SIGNS: dict[str, int] = {
    **dict.fromkeys(("sentence_cos", "passage_cos", "best_sentence_cos", "cover_exact", "cover_soft",
                     "sentence_cover_exact", "sentence_cover_soft", "evidence_cover_exact", "evidence_cover_soft",
                     "min_match", "names", "codes", "years", "type_held", "type_rarity", "best_log_odds",
                     "passage_log_odds", "passage_prob", "fused_rel", "rank_inv", "passage_rank_inv",
                     "passage_fused_rel", "bm25_rel", "known_terms", "in_corpus", "name", "number", "prob_margin"), 1),
    **dict.fromkeys(("missing_idf", "focus_missing", "focus_uncovered", "sentence_focus_uncovered", "type_missing",
                     "dangling"), -1),
}


FEATURE_SIGNS.update({f"rel_{name}": sign for name, sign in list(FEATURE_SIGNS.items())})


def fit_logistic(X: np.ndarray, y: np.ndarray, features: Sequence[str], c: float = 1.0) -> LogisticModel:
    """Fit an L2-regularised logistic model on standardised ``X`` (n, len(features)), labels ``y``,
    with the coefficient signs of :data:`FEATURE_SIGNS` as bounds (scikit-learn's ``StandardScaler``,
    SciPy's L-BFGS-B). ``c`` is the inverse regularisation strength, as in scikit-learn."""
    from scipy.optimize import minimize
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(X)
    Z = scaler.transform(X)
    t = np.asarray(y, dtype=np.float64)
    d = Z.shape[1]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = Z @ w[:d] + w[d]
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))
        ll = np.logaddexp(0.0, z) - t * z
        g = p - t
        value = float(ll.sum() + 0.5 / c * (w[:d] @ w[:d]))
        grad = np.concatenate([Z.T @ g + w[:d] / c, [g.sum()]])
        return value, grad

    bounds = [(0.0, None) if FEATURE_SIGNS.get(f, 0) > 0 else (None, 0.0) if FEATURE_SIGNS.get(f, 0) < 0
              else (None, None) for f in features] + [(None, None)]
    res = minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": 5000})
    scale = np.where(scaler.scale_ == 0, 1.0, scaler.scale_)
    return LogisticModel(tuple(features), scaler.mean_.astype(np.float64), scale.astype(np.float64),
                         res.x[:d].astype(np.float64), float(res.x[d]))


def tuned_threshold(X: np.ndarray, y: np.ndarray) -> float:
    """Decision threshold on P(positive) with the best F1, tuned by scikit-learn's
    ``TunedThresholdClassifierCV`` (5-fold cross-validation of the same standardised logistic model)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import TunedThresholdClassifierCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    base = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    tuned = TunedThresholdClassifierCV(base, scoring="f1", cv=5, random_state=0).fit(X, y)
    return float(tuned.best_threshold_)


@dataclass
class _Item:
    q: Question
    text: str
    analysis: Any
    vector: np.ndarray
    base: Any  # RetrievalResult without learned reranking
    group: str


def choose_threshold(probs: np.ndarray, answerable: np.ndarray, max_false_abstention: float
                     ) -> tuple[float, dict[str, float]]:
    """The highest threshold on P(answerable) whose false-abstention rate (answerable questions
    refused) stays within ``max_false_abstention`` on the dev data: as many near-misses refused as
    that budget allows. Returns (threshold, dev figures at it)."""
    candidates = np.unique(np.concatenate([[0.0], probs]))
    n_ans = max(1, int(answerable.sum()))
    chosen = 0.0
    for t in candidates:  # ascending: refusing more as t grows
        false_abst = int((probs[answerable] < t).sum()) / n_ans
        if false_abst <= max_false_abstention:
            chosen = float(t)
    # halfway down to the highest refused probability, so a question on the boundary is not
    # decided by rounding (questions with P(answerable) < t are refused)
    below = probs[probs < chosen]
    t = float((chosen + below.max()) / 2) if len(below) and chosen > 0 else chosen
    answered = probs >= t
    figures = {
        "dev_answer_precision": float(answerable[answered].mean()) if answered.any() else 1.0,
        "dev_abstain_recall": float((~answered & ~answerable).sum() / max(1, (~answerable).sum())),
        "dev_false_abstain": float((~answered & answerable).sum() / n_ans),
    }
    return t, figures


def choose_discount(answerer: Any, scorer: Scorer, overview: Sequence[tuple[Any, Any]],
                    grid: Sequence[float] = DIGEST_DISCOUNTS
                    ) -> tuple[float, dict[str, int], dict[str, float]]:
    """The digest discount of :func:`~rag.compose.pick_overview` from ``grid`` under which the
    answers to ``overview`` ((item, retrieval result) pairs of the train split's answerable overview
    questions) hold the most answer facts (:func:`~rag.evaluate.fact_hits`); among equals, the one
    with the highest citation precision (the share of a digest's citations that are gold paragraphs,
    averaged over the questions, as :mod:`rag.evaluate` reports it: facts tie often, as a digest of
    eight sentences finds most of a question's facts either way), then the smaller discount, the
    wider spread. Returns (discount, facts found and citation precision per grid value as a string)."""
    from rag.evaluate import fact_hits

    found: dict[str, int] = {}
    on_topic: dict[str, float] = {}
    try:
        for d in grid:
            answerer.scorer = replace(scorer, digest_discount=d)
            answers = [(it, answerer(res)) for it, res in overview]
            found[str(d)] = sum(fact_hits(ans.text, it.q.answer_facts) for it, ans in answers)
            on_topic[str(d)] = sum(
                sum(is_relevant(c.passage.paragraph_text, it.q.gold_passages) for c in ans.citations)
                / max(1, len(ans.citations)) for it, ans in answers) / max(1, len(answers))
    finally:
        answerer.scorer = scorer
    best = max(grid, key=lambda d: (found[str(d)], on_topic[str(d)], -d))
    return float(best), found, {k: round(v, 4) for k, v in on_topic.items()}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m rag.train``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m rag.train", description="Fit de geleerde scorers.")
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--out", type=Path, default=DEFAULT_SCORER)
    parser.add_argument("--max-false-abstention", type=float, default=0.05,
                        help="hoogste aandeel beantwoordbare dev-vragen dat geweigerd mag worden (standaard 0.05)")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)

    from sklearn.model_selection import GroupKFold

    from rag.pipeline import Pipeline
    from rag.settings import Settings

    questions = [q for q in load_questions(args.questions) if q.split in ("train", "dev")]
    if not any(q.split == "train" for q in questions):
        print("fout: geen vragen met split 'train' in het vragenbestand", file=sys.stderr)
        return 2
    placeholder = Scorer(placeholder_model(PASSAGE_FEATURES), placeholder_model(SENTENCE_FEATURES),
                         placeholder_model(ANSWERABLE_FEATURES), 0.5, {})
    settings = Settings.from_env(learned_reranker=False)
    pipe = Pipeline(settings, scorer=placeholder)
    retriever = pipe.retriever
    answerer = pipe.answerer
    raw = json.loads("[" + ",".join(
        line for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()) + "]")
    groups = {str(o["id"]): (o.get("sections") or [o["id"]])[0] for o in raw}

    # 0: the focus model — which question terms does evidence that answers the question hold?
    lex = retriever.lexicon
    evidence_of: dict[str, str] = {}
    for p in retriever.index.passages:
        evidence_of.setdefault(p.paragraph_text, evidence_text(p.paragraph_text, p.section_label, p.title, p.date))
    texts: dict[str, str] = {}
    term_x, term_y = [], []
    for q in questions:
        text, _ = strip_instructions(pipe.prepare_question(q.question)[0])
        texts[q.id] = text
        if q.split != "train" or not q.answerable or not text:
            continue
        a = pipe.analyze(text, split=False)
        gold = [ev for para, ev in evidence_of.items() if is_relevant(para, q.gold_passages)]
        if not a.terms or not gold:
            continue
        # only words the corpus holds: a word it lacks is absent from every evidence, whether it
        # matters or not, so its label would say nothing about its weight
        known = [t for t in a.terms if t.in_corpus]
        if not known:
            continue
        m = np.max([lex.match([(t.stem, t.word) for t in known], ev) for ev in gold], axis=0)
        term_x.append(term_rows(known, a.language))
        term_y.extend(m >= 1.0)
    Xt, yt = np.concatenate(term_x), np.array(term_y, dtype=int)
    focus = fit_logistic(Xt, yt, TERM_FEATURES)
    placeholder = replace(placeholder, focus=focus)
    answerer.scorer = placeholder

    items: list[_Item] = []
    for q in questions:
        text = texts[q.id]
        if not text:
            continue
        analysis = pipe.analyze(text, split=False)
        base = retriever(text, top_k=RERANK_DEPTH, mode="hybrid")
        items.append(_Item(q, text, analysis, base.query_vector, base, groups.get(q.id, q.id)))
    train = [it for it in items if it.q.split == "train"]
    dev = [it for it in items if it.q.split == "dev"]
    print(f"{len(train)} train- en {len(dev)} dev-vragen", file=sys.stderr)

    def rerank_data(its: Sequence[_Item]) -> tuple[np.ndarray, np.ndarray]:
        xs: list[np.ndarray] = []
        ys: list[bool] = []
        for it in its:
            res = it.base
            if not res.passages:
                continue
            idx = [r.index for r in res.passages]
            rows = retriever.passage_rows(
                it.analysis, idx, {r.index: r.score for r in res.passages},
                {r.index: r.dense_score or 0.0 for r in res.passages},
                {r.index: r.bm25_score for r in res.passages if r.bm25_score is not None},
                dict(zip(idx, res.sentence_scores, strict=False)))
            xs.append(rows)
            ys.extend(it.q.answerable and is_relevant(r.passage.paragraph_text, it.q.gold_passages)
                      for r in res.passages)
        return np.concatenate(xs), np.array(ys, dtype=int)

    def reranked(it: _Item, model: LogisticModel) -> Any:
        retriever.learned = model
        try:
            return retriever(it.text, top_k=settings.top_k, mode="hybrid", query_vector=it.vector,
                             analysis=it.analysis)
        finally:
            retriever.learned = None

    def sentence_data(its: Sequence[_Item], model: LogisticModel) -> tuple[np.ndarray, np.ndarray]:
        xs: list[np.ndarray] = []
        ys: list[bool] = []
        for it in its:
            X, meta = answerer.candidate_rows(reranked(it, model))
            if not meta:
                continue
            xs.append(X)
            ys.extend(it.q.answerable and is_relevant(r.passage.paragraph_text, it.q.gold_passages)
                      and is_gold_sentence(sent, it.q.gold_sentences, it.q.answer_facts)
                      for r, sent, *_ in meta)
        return np.concatenate(xs), np.array(ys, dtype=int)

    def answerable_rows(its: Sequence[_Item], rr: LogisticModel, sm: LogisticModel, am: LogisticModel
                        ) -> tuple[np.ndarray, np.ndarray, list[_Item]]:
        answerer.scorer = replace(placeholder, sentence=sm, answerable=am)
        xs, ys, kept = [], [], []
        for it in its:
            res = reranked(it, rr)
            rel = [it.q.answerable and is_relevant(r.passage.paragraph_text, it.q.gold_passages)
                   for r in res.passages]
            evidence_has_gold = any(rel[: answerer.evidence_passages])
            cands = answerer.answer_candidates(res)
            if not cands or answerer.unknown_words(res) or answerer.missing_entities(res, cands):
                continue  # refused before the model: no sentence holds the asked fact, or words are missing
            xs.append(answerer.answerable_row(res, cands))
            ys.append(1 if evidence_has_gold else 0)
            kept.append(it)
        if not xs:
            return np.zeros((0, len(ANSWERABLE_FEATURES))), np.zeros(0, dtype=int), []
        return np.stack(xs), np.array(ys, dtype=int), kept

    # 1-2: reranker and sentence model on all train questions, with their inclusion thresholds
    Xr, yr = rerank_data(train)
    reranker = fit_logistic(Xr, yr, PASSAGE_FEATURES)
    Xs, ys = sentence_data(train, reranker)
    sentence = fit_logistic(Xs, ys, SENTENCE_FEATURES)
    passage_threshold = tuned_threshold(Xr, yr)
    sentence_threshold = tuned_threshold(Xs, ys)
    # 3: answerable model on out-of-fold probabilities
    neutral = placeholder_model(ANSWERABLE_FEATURES)
    xa_parts, ya_parts = [], []
    folds = GroupKFold(n_splits=min(args.folds, len({it.group for it in train})))
    for fit_idx, held_idx in folds.split(train, groups=[it.group for it in train]):
        fit_items = [train[i] for i in fit_idx]
        held = [train[i] for i in held_idx]
        rr_f = fit_logistic(*rerank_data(fit_items), PASSAGE_FEATURES)
        sm_f = fit_logistic(*sentence_data(fit_items, rr_f), SENTENCE_FEATURES)
        X, y, kept = answerable_rows(held, rr_f, sm_f, neutral)
        keep = np.array([not (it.q.answerable and yy == 0) for it, yy in zip(kept, y, strict=True)])
        xa_parts.append(X[keep])
        ya_parts.append(y[keep])
    Xa, ya = np.concatenate(xa_parts), np.concatenate(ya_parts)
    answerable = fit_logistic(Xa, ya, ANSWERABLE_FEATURES, c=ANSWERABLE_C)
    # 4: threshold on dev
    Xd, _, dev_kept = answerable_rows(dev, reranker, sentence, answerable)
    # dev questions refused before the model count against the false-abstention budget too
    kept_ids = {it.q.id for it in dev_kept}
    refused = [it for it in dev if it.q.id not in kept_ids]
    probs = np.concatenate([answerable(Xd), np.full(len(refused), -1.0)])
    labels = np.array([it.q.answerable for it in [*dev_kept, *refused]], dtype=bool)
    threshold, figures = choose_threshold(probs, labels, args.max_false_abstention)
    # 5: the digest discount, end to end on the train split's overview questions
    fitted = Scorer(reranker, sentence, answerable, threshold, {}, focus=focus,
                    sentence_threshold=sentence_threshold, passage_threshold=passage_threshold)
    overview = [(it, reranked(it, reranker)) for it in train if it.q.kind == "overview" and it.q.answerable]
    discount, digest_facts, digest_precision = choose_discount(answerer, fitted, overview)

    import sklearn

    info = {
        "fitted": datetime.now(UTC).isoformat(timespec="seconds"),
        "questions_file": str(args.questions),
        "questions_sha256": hashlib.sha256(args.questions.read_bytes()).hexdigest(),
        "train_questions": len(train), "dev_questions": len(dev),
        "reranker_rows": len(yr), "reranker_positive": int(yr.sum()),
        "sentence_rows": len(ys), "sentence_positive": int(ys.sum()),
        "answerable_rows": len(ya), "answerable_positive": int(ya.sum()),
        "max_false_abstention": args.max_false_abstention, **figures,
        "scikit_learn": sklearn.__version__, "embedder": retriever.index.manifest.get("embedder"),
    }
    info.update({"focus_rows": len(yt), "focus_positive": int(yt.sum()),
                 "digest_questions": len(overview), "digest_facts_found": digest_facts,
                 "digest_citation_precision": digest_precision})
    data = {"format": SCORER_FORMAT, "focus": focus.to_json(), "reranker": reranker.to_json(),
            "sentence": sentence.to_json(),
            "answerable": answerable.to_json(), "threshold": threshold,
            "sentence_threshold": sentence_threshold, "passage_threshold": passage_threshold,
            "digest_discount": discount, "info": info}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    tmp.replace(args.out)
    print(json.dumps({"threshold": round(threshold, 4), "sentence_threshold": round(sentence_threshold, 4),
                      "passage_threshold": round(passage_threshold, 4), "digest_discount": discount,
                      **{k: v for k, v in info.items() if k != "embedder"}},
                     indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
