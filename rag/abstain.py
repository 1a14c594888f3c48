"""Abstention: does the evidence answer the question, and if not, what is missing (in Dutch)?

:func:`answerable_features` summarises the best candidate of a question for the fitted
``answerable`` model (:mod:`rag.scoring`); :func:`decide` compares its probability with the
threshold chosen on the development split. When it abstains, the reason comes from the model
itself: the feature that pulls the logit down most (coefficient × standardised value) names what
is missing, e.g. the least-covered question term ("De documenten noemen geen 'Duitse gemeente'"),
the asked type ("…noemen geen datum…"), a year or a name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rag.features import SENTENCE_FEATURES, Coverage
from rag.question import QuestionAnalysis
from rag.scoring import ANSWERABLE_FEATURES, LogisticModel

_S = {name: i for i, name in enumerate(SENTENCE_FEATURES)}

#: Dutch name of each concrete answer type, for reasons ("…noemen geen datum…")
TYPE_NOUN = {"amount": "bedrag", "count": "aantal", "date": "datum of periode", "place": "plaats",
              "person": "persoon of organisatie"}


@dataclass(frozen=True)
class Decision:
    """``answer``: give an answer? ``probability``: P(answerable) from the model; ``reason``: Dutch
    text naming what is missing ("" when answering); ``missing``: the missing question words."""

    answer: bool
    probability: float
    reason: str
    missing: str = ""


def answerable_features(analysis: QuestionAnalysis, best: np.ndarray, best_prob: float, second_prob: float,
                        best_passage_prob: float, known_terms: float) -> np.ndarray:
    """Feature row (len(ANSWERABLE_FEATURES),): the best candidate's sentence features ``best``
    (see :data:`~rag.features.SENTENCE_FEATURES`), its probability and margin, the reranker's best
    passage probability, the share of question terms known to the corpus."""
    return np.array([
        best_prob, best_prob - second_prob, best_passage_prob, best[_S["sentence_cos"]], best[_S["passage_cos"]],
        best[_S["evidence_cover_exact"]], best[_S["evidence_cover_soft"]], best[_S["min_match"]],
        best[_S["missing_idf"]], best[_S["names"]], best[_S["codes"]], best[_S["years"]],
        best[_S["type_missing"]], known_terms, 1.0 if analysis.language == "en" else 0.0,
        math.log(1 + len(analysis.terms)), best[_S["focus_missing"]], best[_S["focus_uncovered"]],
    ], dtype=np.float32)


def missing_phrase(analysis: QuestionAnalysis, cov: Coverage) -> str:
    """The question's words for its least-covered term, with the next content word when it
    follows directly ("Duitse gemeente"), as typed."""
    k = cov.worst_term(analysis)
    if k is None:
        return ""
    words = analysis.text.replace("?", " ").split()
    target = analysis.terms[k].word
    from rag.text import fold

    folded = [fold(w).strip(".,;:!()\"'") for w in words]
    for i, w in enumerate(folded):
        if w == target:
            phrase = [words[i]]
            if i + 1 < len(words) and k + 1 < len(analysis.terms) and folded[i + 1] == analysis.terms[k + 1].word:
                phrase.append(words[i + 1])
            return " ".join(p.strip(".,;:!()\"'") for p in phrase)
    return target


def decide(analysis: QuestionAnalysis, row: np.ndarray, model: LogisticModel, threshold: float,
           cov: Coverage | None) -> Decision:
    """Answer or abstain. ``row``: :func:`answerable_features`; ``cov``: coverage of the best
    candidate's evidence (used to name the missing term)."""
    p = float(model(row)[0])
    if p >= threshold:
        return Decision(True, p, "")
    contrib = model.coef * (np.asarray(row, dtype=np.float64) - model.mean) / model.scale
    worst = ANSWERABLE_FEATURES[int(np.argmin(contrib))]
    missing = missing_phrase(analysis, cov) if cov is not None else ""
    if worst in ("years",) and analysis.years:
        reason = f"het jaar {', '.join(analysis.years)} komt in de gevonden passages niet voor"
    elif worst in ("names", "codes") and (analysis.names or analysis.codes):
        reason = f"de gevonden passages gaan niet over {', '.join(analysis.codes or analysis.names)}"
    elif worst == "type_missing" and analysis.answer_type in TYPE_NOUN:
        reason = (f"de gevonden passages noemen geen {TYPE_NOUN[analysis.answer_type]} "
                  "die deze vraag beantwoordt")
    elif worst == "known_terms":
        reason = "de belangrijkste woorden van de vraag komen in het corpus niet voor"
    elif missing and worst in ("min_match", "missing_idf", "evidence_cover_exact", "evidence_cover_soft",
                               "focus_missing", "focus_uncovered"):
        reason = f"de documenten noemen geen '{missing}'"
    elif missing and cov is not None and cov.worst < 0.5:
        reason = f"de best passende passages gaan over iets anders; de documenten noemen geen '{missing}'"
    else:
        reason = "de best passende passages beantwoorden deze vraag niet"
    return Decision(False, p, reason, missing)
