"""Learned scorers: logistic models fitted by ``python -m rag.train`` and applied with numpy.

The fitted models live in one small JSON file, ``rag/models/scorer.json`` (or
``RAG_SCORER_PATH``): per model its feature names, the standardisation (mean, scale) and the
logistic coefficients and intercept that scikit-learn fitted, plus the abstention threshold
chosen on the development split and the data it was fitted on. Applying them needs only numpy,
so the answer path never imports scikit-learn (cold start, see docs/benchmarks.md).

Four models:

* ``focus`` — P(evidence that answers the question holds this question term) from
  :data:`~rag.question.TERM_FEATURES`: weighs which missing words matter;

* ``reranker`` — P(passage holds the answer) from :data:`~rag.features.PASSAGE_FEATURES`;
* ``sentence`` — P(sentence states the answer) from :data:`~rag.features.SENTENCE_FEATURES`;
* ``answerable`` — P(the evidence answers the question) from :data:`ANSWERABLE_FEATURES`,
  compared with ``threshold`` to abstain.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import RagError

#: Bump when the file layout changes; the training data and feature lists are versioned inside.
SCORER_FORMAT = 1
DEFAULT_SCORER = Path(__file__).parent / "models" / "scorer.json"

#: question-level features of the best candidate, for the answerability model. The question's
#: language and length are left out: fitted freely, they learned the writers' style (English questions
#: of the training set were nearly all answerable, near-misses were shorter), not the evidence
ANSWERABLE_FEATURES: tuple[str, ...] = (
    "best_log_odds", "prob_margin", "passage_log_odds", "sentence_cos", "passage_cos", "evidence_cover_exact",
    "evidence_cover_soft", "min_match", "missing_idf", "names", "codes", "years", "type_missing",
    "known_terms", "focus_missing", "focus_uncovered",
)


#: probabilities are clipped to [LOG_ODDS_EPS, 1 - LOG_ODDS_EPS] before their log-odds are taken
LOG_ODDS_EPS = 1e-4


def log_odds(p: float) -> float:
    """log(p / (1 - p)) of a probability ``p``, clipped (:data:`LOG_ODDS_EPS`): the scale on which a
    logistic model stacked on other models' probabilities is linear (0.01 and 0.14 lie far apart)."""
    q = min(max(float(p), LOG_ODDS_EPS), 1.0 - LOG_ODDS_EPS)
    return math.log(q / (1.0 - q))


def from_log_odds(z: float) -> float:
    """The probability whose :func:`log_odds` is ``z``: 1 / (1 + exp(-z)), with ``z`` clipped to
    [-40, 40] as :class:`LogisticModel` does (no OverflowError for a huge ``z``)."""
    return 1.0 / (1.0 + math.exp(-min(40.0, max(-40.0, z))))


class ScorerError(RagError):
    """The fitted scorer file is missing, unreadable or does not fit this code's features."""


@dataclass(frozen=True)
class LogisticModel:
    """A standardised logistic model: p = sigmoid(coef · (x - mean) / scale + intercept)."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Probabilities, float (n,), for feature rows ``x`` of shape (n, len(features)) or (len(features),)."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        z = ((x - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))

    def to_json(self) -> dict[str, Any]:
        """JSON-serialisable dict (inverse of :meth:`from_json`)."""
        return {"features": list(self.features), "mean": [float(v) for v in self.mean],
                "scale": [float(v) for v in self.scale], "coef": [float(v) for v in self.coef],
                "intercept": float(self.intercept)}

    @classmethod
    def from_json(cls, d: dict[str, Any], expected: Sequence[str]) -> LogisticModel:
        """Read a model; raises ScorerError when its feature names differ from ``expected``."""
        feats = tuple(d["features"])
        if feats != tuple(expected):
            raise ScorerError(f"scorer fitted on other features ({len(feats)} vs {len(expected)}); "
                              "run python -m rag.train")
        arrays = [np.asarray(d[k], dtype=np.float64) for k in ("mean", "scale", "coef")]
        if any(a.shape != (len(feats),) for a in arrays):
            raise ScorerError("scorer file has arrays of the wrong length")
        scale = np.where(arrays[1] == 0, 1.0, arrays[1])
        return cls(feats, arrays[0], scale, arrays[2], float(d["intercept"]))


#: the overview digest's discount of a scorer file written before ``rag.train`` fitted one
DEFAULT_DIGEST_DISCOUNT = 0.75


@dataclass(frozen=True)
class Scorer:
    """The three fitted models and the abstention threshold (see the module docstring)."""

    reranker: LogisticModel
    sentence: LogisticModel
    answerable: LogisticModel
    threshold: float
    info: dict[str, Any]
    #: P(evidence that answers a question contains this question term); None = every term counts fully
    focus: LogisticModel | None = None
    #: P(answer) from which a further sentence joins an answer (fitted on train for F1)
    sentence_threshold: float = 0.5
    #: P(relevant) from which a paragraph joins an overview digest (fitted on train for F1)
    passage_threshold: float = 0.5
    #: weight of a paragraph's next sentence in an overview digest, per sentence already taken from
    #: it (:func:`~rag.compose.pick_overview`; fitted on the train split's overview questions)
    digest_discount: float = DEFAULT_DIGEST_DISCOUNT


@functools.lru_cache(maxsize=4)
def load_scorer(path: Path = DEFAULT_SCORER) -> Scorer:
    """Load and check a scorer file. Raises ScorerError (Dutch) if it is missing, unreadable or
    fitted on other features than this code computes."""
    from rag.features import PASSAGE_FEATURES, SENTENCE_FEATURES
    from rag.question import TERM_FEATURES

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("format") != SCORER_FORMAT:
            raise ScorerError(f"scorerbestand {path} heeft formaat {data.get('format')!r}, verwacht {SCORER_FORMAT}")
        scorer = Scorer(
            LogisticModel.from_json(data["reranker"], PASSAGE_FEATURES),
            LogisticModel.from_json(data["sentence"], SENTENCE_FEATURES),
            LogisticModel.from_json(data["answerable"], ANSWERABLE_FEATURES),
            float(data["threshold"]), dict(data.get("info", {})),
            focus=LogisticModel.from_json(data["focus"], TERM_FEATURES) if "focus" in data else None,
            sentence_threshold=float(data.get("sentence_threshold", 0.5)),
            passage_threshold=float(data.get("passage_threshold", 0.5)),
            digest_discount=float(data.get("digest_discount", DEFAULT_DIGEST_DISCOUNT)))
    except ScorerError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ScorerError(f"Het scorerbestand {path} is onleesbaar ({type(exc).__name__}: {exc}); "
                          "maak het opnieuw met python -m rag.train.") from exc
    if not 0.0 <= scorer.threshold <= 1.0 or math.isnan(scorer.threshold):
        raise ScorerError(f"scorerbestand {path}: drempel {scorer.threshold} ligt niet tussen 0 en 1")
    if not 0.0 <= scorer.digest_discount <= 1.0 or math.isnan(scorer.digest_discount):
        raise ScorerError(f"scorerbestand {path}: digest_discount {scorer.digest_discount} ligt niet tussen 0 en 1")
    return scorer
