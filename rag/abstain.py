"""Abstention: does the evidence answer the question, and if not, what is missing (in Dutch)?

:func:`answerable_features` summarises the best candidate of a question for the fitted
``answerable`` model (:mod:`rag.scoring`); :func:`decide` compares its probability with the
threshold chosen on the development split. When it abstains, the reason comes from the model
itself: the feature that pulls the logit down most (coefficient × standardised value) names what
is missing, e.g. the least-covered question term, the asked type ("…noemen geen datum…").

Before the model, three parts of coverage are checked as they are written: a Dutch question
must have a content word the corpus knows; the question's names, codes and years must occur in
the cited document
(:func:`uncovered_entities`; "De documenten noemen geen 'Duitse gemeente'"), and a question after a
concrete fact needs a sentence that holds one (see
:meth:`rag.answer.ExtractiveAnswerer.answer_candidates`). The model's threshold is chosen on dev
with those refusals counted in its false-abstention budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.features import SENTENCE_FEATURES, Coverage
from rag.lexicon import Lexicon, heads_a_name
from rag.question import QuestionAnalysis, Term, other_forms
from rag.scoring import ANSWERABLE_FEATURES, LogisticModel, log_odds
from rag.text import bm25_tokens, fold

_S = {name: i for i, name in enumerate(SENTENCE_FEATURES)}

#: Dutch name of each concrete answer type, for reasons ("…noemen geen datum…")
TYPE_NOUN = {"amount": "bedrag", "count": "aantal", "date": "datum of tijdstip", "duration": "duur of periode",
             "place": "plaats", "person": "persoon of organisatie"}
_NEUTER = frozenset({"bedrag", "aantal"})  # het-words: "een bedrag dat …", "een datum die …"
#: a term whose focus probability reaches this is one the evidence should hold (the focus model's
#: decision point, P = 0.5)
FOCUS_DECISION = 0.5


#: the lower-case words of a surname ("De Croo", "Van de Poel", "Van der Mei")
_NAME_PARTICLES = frozenset({"de", "van", "der", "den", "ter", "ten", "te", "het", "t", "du", "la", "le", "von"})


def missing_fact(answer_type: str) -> str:
    """The Dutch words for "no <asked fact> that answers this question" of a concrete answer type:
    "bedrag dat deze vraag beantwoordt", "duur of periode die deze vraag beantwoordt"."""
    noun = TYPE_NOUN[answer_type]
    return f"{noun} {'dat' if noun in _NEUTER else 'die'} deze vraag beantwoordt"


@dataclass(frozen=True)
class Decision:
    """``answer``: give an answer? ``probability``: P(answerable) from the model; ``reason``: Dutch
    text naming what is missing ("" when answering); ``missing``: the missing question words;
    ``on_topic``: the best passage's document holds every name, code and year of the question, and
    only the asked fact is missing (its passages are then worth reading, see
    :meth:`rag.answer.ExtractiveAnswerer.related`)."""

    answer: bool
    probability: float
    reason: str
    missing: str = ""
    on_topic: bool = False


def answerable_features(analysis: QuestionAnalysis, best: np.ndarray, best_prob: float, second_prob: float,
                        best_passage_prob: float, known_terms: float) -> np.ndarray:
    """Feature row (len(ANSWERABLE_FEATURES),): the best candidate's sentence features ``best``
    (see :data:`~rag.features.SENTENCE_FEATURES`), the log-odds of its probability and its margin,
    the log-odds of ``best_passage_prob`` (the reranker's probability of the passage the best
    candidate comes from, see :meth:`rag.answer.ExtractiveAnswerer.answerable_row`) and the share of
    question terms known to the corpus."""
    return np.array([
        log_odds(best_prob), best_prob - second_prob, log_odds(best_passage_prob), best[_S["sentence_cos"]],
        best[_S["passage_cos"]],
        best[_S["evidence_cover_exact"]], best[_S["evidence_cover_soft"]], best[_S["min_match"]],
        best[_S["missing_idf"]], best[_S["names"]], best[_S["codes"]], best[_S["years"]],
        best[_S["type_missing"]], known_terms, best[_S["focus_missing"]], best[_S["focus_uncovered"]],
    ], dtype=np.float32)


def covers_focus(analysis: QuestionAnalysis, cov: Coverage) -> bool:
    """Does evidence with coverage ``cov`` hold every term of the question it should hold (focus at
    least :data:`FOCUS_DECISION`), as a stem or compound part? False when the question has no such term."""
    focus = analysis.term_focus
    need = focus >= FOCUS_DECISION
    return bool(need.any() and (cov.match[need] >= 1.0).all())


def missing_phrase(analysis: QuestionAnalysis, cov: Coverage) -> str:
    """The question's words for its least-covered term (see :func:`entity_phrase`); "" when there
    is none, or when it is an English word the Dutch documents could not hold anyway ("cycling")."""
    k = cov.worst_term(analysis)
    if k is None or (analysis.language != "nl" and not analysis.terms[k].in_corpus):
        return ""
    return entity_phrase(analysis, analysis.terms[k])


def uncovered_entities(analysis: QuestionAnalysis, document: str, lexicon: Lexicon) -> list[Term]:
    """The question's names, codes and years (:attr:`QuestionAnalysis.entities`) that ``document``
    (the text of the cited document) does not hold as written, stem-, compound- and
    inflection-aware ("Cultureel Verdrag" is held by "culturele samenwerking", see
    :func:`~rag.text.adjective_forms`)."""
    ents = analysis.entities
    if not ents:
        return []
    m = lexicon.match([(t.stem, t.word) for t in ents], document)
    forms = {t.stem: [(stem, f) for f in other_forms(t, analysis.language) for stem in bm25_tokens(f)[:1]]
             for t, v in zip(ents, m, strict=True) if v < 1.0}
    return [t for t in ents if t.stem in forms and not lexicon.match(forms[t.stem], document, exact=True).any()
            and not (t.name and heads_a_name(t.word, document))]


def entity_reason(analysis: QuestionAnalysis, missing: Sequence[Term], lexicon: Lexicon,
                  known_terms: frozenset[str] = frozenset()) -> str:
    """Dutch reason naming the missing entities with the word after them when it belongs to them
    ("de documenten noemen geen 'Duitse gemeente'"); "…gaan niet over…" when the corpus does name
    them elsewhere: a word of the lexicon, or a term among ``known_terms`` (the query's BM25 terms
    the corpus holds, numbers included: "2014" is in the sluice treaty)."""
    shown = _topic_list(analysis, missing)
    if any(t.word in lexicon or t.stem in known_terms for t in missing):
        return f"de best passende passages gaan niet over {shown}"
    return f"de documenten noemen geen {shown}"


def absent_words_reason(analysis: QuestionAnalysis, known_terms: frozenset[str], lexicon: Lexicon | None = None
                        ) -> str:
    """Dutch reason naming what the question asks about that the corpus does not hold in any form
    (neither the word, translated from English where it is a known name, nor its stem among
    ``known_terms``, the query's BM25 terms the corpus holds, nor the parts of a compound:
    "regeringsdelegaties" is held by "regering" and "delegaties", :meth:`Lexicon.holds`): its names
    (:attr:`QuestionAnalysis.entities`, years and codes aside) and, in a Dutch question, the content
    words the evidence should hold (focus >= 0.5, the focus model's own decision point):
    "de documenten noemen geen 'voetbalwedstrijd', 'Ajax', 'Feyenoord'". "" when there is none; an
    English question's English words are not named, as the Dutch documents cannot hold them anyway."""
    names = {t.stem for t in analysis.entities if t.name}
    absent = [t for t in analysis.terms if not t.word[:1].isdigit() and not t.in_corpus
              and t.stem not in known_terms and not (lexicon is not None and lexicon.holds(t.word)) and (
        t.stem in names or (analysis.language == "nl" and not t.name and t.focus >= FOCUS_DECISION))]
    if not absent:
        return ""
    return "de documenten noemen geen " + _phrase_list([entity_phrase(analysis, t) for t in absent])


def missing_fact_reason(analysis: QuestionAnalysis, missing: Sequence[Term]) -> str:
    """Dutch reason for a concrete question whose topic the documents cover but without the asked
    fact ("de documenten over 'Einstein Telescoop' noemen geen bedrag dat deze vraag beantwoordt");
    a phrase inside another one ("Telescoop" in "Einstein Telescoop") is named once."""
    topic = _topic_list(analysis, missing)
    return f"de documenten over {topic} noemen geen {missing_fact(analysis.answer_type)}"


def _topic_list(analysis: QuestionAnalysis, terms: Sequence[Term]) -> str:
    """The question's words for ``terms`` (:func:`_phrase_list`), a year as a year, not as a
    quoted word: "'Gent', het jaar 2025"; "de jaren 2014 en 2015"."""
    years = [t.word for t in terms if t.word in analysis.years]
    shown = _phrase_list([entity_phrase(analysis, t) for t in terms if t.word not in analysis.years])
    named = (f"het jaar {years[0]}" if len(years) == 1
             else f"de jaren {', '.join(years[:-1])} en {years[-1]}" if years else "")
    return ", ".join(x for x in (shown, named) if x)


def _phrase_list(phrases: Sequence[str]) -> str:
    """"'Einstein Telescoop', 'Duitse gemeente'": each phrase once, quoted; a phrase inside another
    one ("Telescoop" in "Einstein Telescoop") is not named again."""
    unique = list(dict.fromkeys(phrases))
    return ", ".join(f"'{_short(p)}'" for p in unique if not any(p != q and p in q for q in unique))


#: longest word or phrase a refusal reason quotes whole (a 1,000-letter "word" is cut, with "…")
MAX_REASON_PHRASE = 40


def _short(phrase: str) -> str:
    return phrase if len(phrase) <= MAX_REASON_PHRASE else phrase[:MAX_REASON_PHRASE - 1] + "…"


def _worst_in_corpus(analysis: QuestionAnalysis, cov: Coverage) -> bool:
    k = cov.worst_term(analysis)
    return k is not None and analysis.terms[k].in_corpus


def entity_phrase(analysis: QuestionAnalysis, term: Term) -> str:
    """The question's words for ``term``: the word as typed, with the next content word when it
    follows directly and belongs to it: the noun after an adjective ("Duitse gemeente"), or a name
    after a name ("Einstein Telescoop"); not a verb after a name ("Vlaanderen ondertekent"). A part
    of a hyphenated name is the whole name ("West-Vlaanderen")."""
    words = analysis.text.replace("?", " ").split()
    folded = [fold(w).strip(".,;:!()\"'") for w in words]
    if term.name:  # a surname keeps its particles when they are written as part of it: "De Croo", "Van de Poel"
        for i, w in enumerate(folded):
            if w == term.word:
                j = i
                while j > 0 and folded[j - 1] in _NAME_PARTICLES:
                    j -= 1
                while j < i and not words[j][:1].isupper():
                    j += 1
                if j < i:
                    return " ".join(x.strip(".,;:!()\"'") for x in words[j:i + 1])
                break
    k = next((i for i, t in enumerate(analysis.terms) if t.stem == term.stem), None)
    for i, w in enumerate(folded):
        if w != term.word and term.word in w.split("-"):  # part of a hyphenated name: "West-Vlaanderen"
            return words[i].strip(".,;:!()\"'")
        if w == term.word:
            phrase = [words[i]]
            nxt = analysis.terms[k + 1] if k is not None and k + 1 < len(analysis.terms) else None
            if (nxt is not None and i + 1 < len(words) and folded[i + 1] == nxt.word
                    and (nxt.name or (w.endswith("e") and w.isalpha()))):
                phrase.append(words[i + 1])
            return " ".join(p.strip(".,;:!()\"'") for p in phrase)
    return term.word.capitalize() if term.name else term.word  # a translated name: "Nederland"


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
        reason = f"de gevonden passages noemen geen {missing_fact(analysis.answer_type)}"
    elif worst == "known_terms":
        reason = "de belangrijkste woorden van de vraag komen in het corpus niet voor"
    elif missing and worst in ("min_match", "missing_idf", "evidence_cover_exact", "evidence_cover_soft",
                               "focus_missing", "focus_uncovered"):
        # a word the corpus holds elsewhere is missing from the evidence, not from the documents
        where = "de gevonden passages" if cov is not None and _worst_in_corpus(analysis, cov) else "de documenten"
        reason = f"{where} noemen geen '{missing}'"
    elif missing and cov is not None and cov.worst < 0.5:
        where = "de gevonden passages" if _worst_in_corpus(analysis, cov) else "de documenten"
        reason = f"de best passende passages gaan over iets anders; {where} noemen geen '{missing}'"
    else:
        reason = "de best passende passages beantwoorden deze vraag niet"
    return Decision(False, p, reason, missing)
