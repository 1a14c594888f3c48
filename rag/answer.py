"""Answer stage: cited extractive answers, honest abstention, quote checks and the JSON contract.

:class:`ExtractiveAnswerer` scores the sentences of the best retrieved passages against the
question (cosine of precomputed sentence embeddings, weighted term overlap, answer-type cues),
composes a short Dutch answer of 1–3 verbatim sentences with ``[n]`` markers, and abstains
when the evidence is too weak, when a year or number asked about does not occur, or when the
"question" is an instruction. Every quote is checked mechanically against its paragraph
before output (:func:`verify_answer`). :func:`answer_to_json` defines the JSON contract.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from rag.chunking import Passage
from rag.index import SearchIndex
from rag.retrieval import RetrievalResult, Retrieved
from rag.settings import Settings
from rag.text import bm25_tokens, contains_folded, fold, numbers_in

ABSTAIN_MESSAGE = ("Dat staat niet in de documenten: ik vond geen passage die deze vraag beantwoordt, "
                   "dus ik geef geen antwoord en citeer niets.")
INSTRUCTION_MESSAGE = ("Ik voer geen instructies uit die in een vraag of document staan. Stel een vraag "
                       "over de inhoud van de documenten.")


@dataclass(frozen=True)
class Citation:
    """Numbered source of an answer: the passage, the exact quote used from it, and its score."""

    n: int
    passage: Passage
    quote: str
    score: float


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


# --- question analysis ---------------------------------------------------------------------

_INJECTION = re.compile(
    r"\b(negeer|vergeet|ignore|disregard|forget)\b.{0,40}\b(instructies?|opdrachte?n?|regels|bronnen|context|"
    r"documenten|instructions?|rules|prompt|sources|context)\b|\b(system ?prompt|jailbreak|je bent nu|you are now|"
    r"doe alsof|pretend to be|act as)\b|\b(zeg|antwoord|schrijf|say|answer|reply)\b.{0,20}\b(dat|that|met|with)\b"
    r".{0,30}\b(ja|yes|jij|you|altijd|always)\b|\b(schrijf|write|maak|verzin|dicht)\b.{0,15}\b(een|a|an)\b.{0,15}"
    r"\b(toespraak|gedicht|verhaal|speech|poem|story|tweet|lied|grap|joke)\b",
    re.IGNORECASE)
_COUNT_Q = re.compile(r"\b(hoeveel|hoe ?veel|how (many|much)|welk (bedrag|percentage|aantal)|wat (kost|kostte|kosten|"
                      r"bedraagt|bedroeg)|hoe (groot|hoog|duur|lang|breed|diep)|hoelang|\w*budget|percentage)\b", re.I)
_MONEY_Q = re.compile(r"\b(kost|kostte|kosten|\w*bedrag|\w*budget|geld|euro|prijs|prijzen|how much money|cost|costs|"
                      r"price|uitgetrokken|trekken .{0,30} uit)\b", re.I)
_MONEY = re.compile(r"€|\beuro\b|\bmiljoen\b|\bmiljard\b|\bEUR\b", re.I)
_UNIT_AFTER_HOEVEEL = re.compile(r"\b(?:hoeveel|how many)\s+([^\W\d_]{3,})", re.I)
_DATE_Q = re.compile(r"\b(wanneer|op welke datum|in welk jaar|welk jaar|what year|which year|hoe lang geleden)\b|"
                     r"^\W*(and |en )?when\b|\bsince when\b", re.I)
_ENGLISH_WORDS = """the a an of and or to is are was were what which who whom when where why how does did do in on
for with by from at as be been this that these those it its their there"""
_ENGLISH = frozenset(_ENGLISH_WORDS.split())
_MONTHS = ("januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december|"
           "jan|feb|mrt|apr|jun|jul|aug|sep|sept|okt|nov|dec|january|february|march|june|july|august|"
           "october")
_MONTH_WORDS = frozenset(_MONTHS.split("|")) | {"maandag", "dinsdag", "woensdag", "donderdag", "vrijdag",
                                                 "zaterdag", "zondag"}
_DATE_IN_TEXT = re.compile(rf"\b(1[89]\d\d|20\d\d)\b|\b({_MONTHS})\b|\b(jaar|jaren|maand|maanden|week|"
                           r"voorjaar|najaar|zomer|winter|binnenkort|spoedig|vandaag|gisteren|morgen)\b", re.I)
_DATE_EXPR = re.compile(rf"\b\d{{1,2}}\s+({_MONTHS})\.?(\s+\d{{4}})?|"
                        r"\b(1[89]\d\d|20\d\d)(-(1[89]\d\d|20\d\d))?\b", re.I)
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")


_REFERENCE_NUMBER = re.compile(r"\b(artikel|artikelen|art|lid|leden|punt|hoofdstuk|bijlage|nr|nummer|paragraaf|"
                               r"fase|spoor|stap|kamerstuk)\.?\s+\d+[a-z]?\b|^\s*(\d{1,2}|[a-z])[.)]\s", re.I)


_NUMBER_WORDS = re.compile(
    r"\b(twee|drie|vier|vijf|zes|zeven|acht|negen|tien|elf|twaalf|dertien|veertien|vijftien|twintig|dertig|"
    r"veertig|vijftig|zestig|zeventig|tachtig|negentig|honderd|duizend|miljoen|miljard|dozijn|tiental|"
    r"tientallen|honderden|duizenden|half|halve|helft|kwart|dubbel|verdubbeld|two|three|four|five|"
    r"hundred|thousand|million|billion)\b", re.I)


def quantities_in(text: str) -> set[str]:
    """Quantities in ``text``: numbers that are not a date, a year or an article/lid/list number
    ("51.000", "30%", "995" count; "artikel 4", "6 juni 2023", "3. Nederland…" do not), and
    Dutch number words ("honderd jaar" gives {"honderd"})."""
    rest = _REFERENCE_NUMBER.sub(" ", _DATE_EXPR.sub(" ", text))
    return numbers_in(rest) | {w.lower() for w in _NUMBER_WORDS.findall(rest)}


def strip_instructions(question: str) -> tuple[str, bool]:
    """Remove sentences that try to instruct the system; return (rest, had_instruction)."""
    parts = re.split(r"(?<=[.!?])\s+|\n+", question)
    kept = [p for p in parts if not _INJECTION.search(p)]
    return " ".join(kept).strip(), len(kept) != len(parts)


_WHERE_Q = re.compile(r"^\W*(en\s+|and\s+)?(waar|where)\b.*\b(plaats|gehouden|gevestigd|ligt|liggen|lag|zetel|"
                      r"bijeen|samen|located|held|take|takes|took|happen|happened)\b", re.I)
_PLACE = re.compile(r"\b(in|te|op|naar|uit|at|in)\s+(de\s+|het\s+)?(’s-|'s-)?[A-Z][\w’'-]+")


_WHO_Q = re.compile(r"^\W*(en\s+|and\s+)?(wie|who|door wie|by whom|namens wie)\b|^\W*(welke|which)\s+(\w+\s+){0,2}"
                    r"(ministers?|minister-presidenten|personen|mensen|bewindslieden|bewindspersonen|"
                    r"staatssecretarissen|politici|deelnemers|leden|ondertekenaars|people|persons)\b", re.I)
_ROLE = (r"(?:minister-president|minister|ministers|staatssecretaris|gouverneur|commissaris|voorzitter|burgemeester|"
         r"gedeputeerde|ambassadeur|secretaris|koning|koningin|premier|dhr\.?|mevr\.?|heer|mevrouw|prime minister)")
_SURNAME = r"(?:(?:van|de|der|den|Van|De|VAN|DE|DER)\s+)*[A-Z][A-Za-zà-ÿ]+"
_PERSON = re.compile(
    rf"\b(?:[A-Z][a-z]?\.\s?-?){{1,3}}\s?{_SURNAME}"  # D. F. van der Mei, Ch.-F. NOTHOMB
    rf"|\b{_ROLE}\s+(?:van\s+\w+\s+)?(?:[A-Z][a-zà-ÿ]+\s+)?{_SURNAME}"  # minister Harbers
    rf"|\b[A-Z][a-zà-ÿ]+\s+{_SURNAME}(?:-[A-Z][a-zà-ÿ]+)?")  # Jan Jambon
# capitalised words that start an institution's or place's name, not a first name ("Algemeen
# Secretariaat", "Politiek College", "Nederlandse Taalunie", "Koninkrijk België")
_NOT_FIRST_NAMES = re.compile(r"^(Het|De|Den|Der|Een|Voor|Op|In|Met|Van|Bij|Tijdens|Ook|Zo|Dit|Deze|Die|Dat|Nederland|"
                              r"Vlaanderen|Vlaams|Nederlands|Belgisch|Europees|Koninkrijk|Verdrag|Artikel|Bijlage|"
                              r"Algemeen|Politiek|Ambtelijk|Uitvoerend|Internationaal|Nationaal|Hoge|Raad|Comité|"
                              r"\w+(?:e|se|sche|lijk|eel|aal|ief|isch|iek|ig))$")


def expects_name(question: str) -> bool:
    """True for "Wie …?" / "Who …?": the answer must name a person."""
    return bool(_WHO_Q.search(question))


def new_names(sentence: str, question: str) -> set[str]:
    """Person names in ``sentence`` that the question does not contain: initials with a surname
    ("Ch.-F. Nothomb", "D. F. VAN DER MEI"), a role with a name ("minister Harbers") or a first
    name with a surname ("Jan Jambon"); "Nederlandse Taalunie" is not a person."""
    asked = fold(question)
    out = set()
    for m in _PERSON.finditer(sentence):
        name = m.group(0)
        first = name.split()[0]
        if " " in name and _NOT_FIRST_NAMES.match(first) and not re.match(_ROLE, first, re.I):
            continue
        surname = name.split()[-1]
        if fold(surname) in asked:
            continue
        out.add(name)
    return out


_PROPER = re.compile(r"(?<=\s)[A-Z][A-Za-zà-ÿ]+(?:-[A-Z][A-Za-zà-ÿ]+)*")


def new_proper_names(sentence: str, question: str) -> set[str]:
    """Capitalised words (not the first) that the question does not contain: an organisation or
    region may answer "Wie organiseerde…?" ("Noordrijn-Westfalen")."""
    asked = fold(question)
    return {w for w in _PROPER.findall(sentence) if fold(w) not in asked and not _NOT_FIRST_NAMES.match(w)}


def expects_place(question: str) -> bool:
    """True for questions after a place: "Waar vond … plaats?", "Where was … held?" ("Waar verwijst
    … naar?" asks for a thing, "waarom" for a reason: not these)."""
    return bool(_WHERE_Q.search(question))


def looks_english(question: str) -> bool:
    """True when at least a quarter of the words are English function words."""
    ws = re.findall(r"[a-z]+", question.lower())
    return bool(ws) and sum(w in _ENGLISH for w in ws) / len(ws) >= 0.25


#: measurement units: "hoeveel kilo PFAS" must be answered by a sentence that says kilo. Countable
#: nouns ("banen", "inwoners") are not checked: the text may say "een baan" or "350.000 mensen".
_UNIT_WORDS = "kilo kilogram kg gram ton tonnen liter meter kilometer km kilometers meters hectare procent euro dollar"
_UNITS = frozenset(_UNIT_WORDS.split())


_CODE = re.compile(r"\b(?=[A-Za-z0-9-]*[A-Z]{2})(?=[A-Za-z0-9-]*[A-Za-z])[A-Z0-9][A-Za-z0-9-]*[A-Z0-9]\b|"
                   r"\b[0-9]+[A-Za-z]+[0-9A-Za-z]*\b")


def codes_in(text: str) -> set[str]:
    """Acronyms and codes in ``text`` ("3RX", "ASML", "PFAS", "CO2", "A11"): language-independent
    names that an answer's paragraph must contain when the question names them."""
    return {m.group(0) for m in _CODE.finditer(text) if not m.group(0).isdigit()}


_QUESTION_WORD_TEXT = """
wat wie waar wanneer waarom hoe hoeveel welke welk is zijn werd worden klopt kan kunnen mag moet heeft hebben
zal zullen en of the what who where when why how which is are was were did does do in op van voor met over bij
naar uit
"""
_QUESTION_WORDS = frozenset(_QUESTION_WORD_TEXT.split())


def names_in(question: str) -> set[str]:
    """Names in a question: capitalised words after the first word, and codes ("Taalunieverdrag",
    "Einstein", "Terneuzen", "3RX"), without question words."""
    words = re.findall(r"[^\W\d_][\w'’-]*|\d+[A-Za-z]\w*", question)
    out = {w for w in words[1:] if w[:1].isupper() and w.lower() not in _QUESTION_WORDS and len(w) > 2}
    return out | codes_in(question)


def name_share(names: set[str], text: str) -> float:
    """Share of ``names`` that occur in ``text`` (folded); a compound name counts when a word of
    five or more letters of the text is part of it ("Taalunie" in "Taalunieverdrag")."""
    if not names:
        return 0.0
    folded = fold(text)
    long_words = set(re.findall(r"[a-z]{5,}", folded))
    hits = 0
    for name in names:
        n = fold(name)
        # Dutch compounds put the specific part first: "Taalunie" names "Taalunieverdrag",
        # "verdrag" does not
        if n in folded or any(n.startswith(w) for w in long_words if len(w) < len(n)):
            hits += 1
    return hits / len(names)


def count_unit(question: str) -> str:
    """The unit counted in "hoeveel <unit>…" ("inwoners", "kilo"), or "" when the word after
    "hoeveel" is a verb ("Hoeveel draagt…") or an amount of money (checked separately)."""
    m = _UNIT_AFTER_HOEVEEL.search(question)
    if not m:
        return ""
    word = m.group(1).lower()
    if _MONEY_Q.search(word) or word in ("geld", "euro", "euros"):
        return ""
    return word if word in _UNITS else ""


def _typed(question: str) -> bool:
    """Does the question ask for something a sentence must visibly hold (amount, date, place, code)?"""
    return (expects_number(question) or expects_date(question) or expects_place(question)
            or expects_name(question) or bool(codes_in(question)))


def expects_number(question: str) -> bool:
    """True for "hoeveel…", "how many…", "welk bedrag…" style questions."""
    return bool(_COUNT_Q.search(question))


def expects_date(question: str) -> bool:
    """True for "wanneer…", "in welk jaar…", "when…" questions."""
    return bool(_DATE_Q.search(question))


# --- scoring ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Candidate:
    retrieved: Retrieved
    sentence: str
    position: int
    dense: float
    coverage: float
    score: float


def _idf(index: SearchIndex, term: str) -> float:
    """BM25-style idf of ``term``; a term unknown to the corpus counts as maximally specific."""
    n = len(index.passages)
    df = index.document_frequency(term)
    if df == 0:
        return math.log(1 + n)
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def _coverage(query_terms: Sequence[str], text_terms: set[str], weights: dict[str, float]) -> float:
    total = sum(weights[t] for t in set(query_terms))
    if total <= 0:
        return 0.0
    return sum(weights[t] for t in set(query_terms) if t in text_terms) / total


class ExtractiveAnswerer:
    """Compose a cited answer from retrieved passages without any language model.

    ``__call__(question, result, index)`` returns an :class:`Answer` (abstained or not).
    """

    def __init__(self, settings: Settings, evidence_passages: int = 5) -> None:
        self.settings = settings
        self.evidence_passages = evidence_passages

    def candidates(self, question: str, result: RetrievalResult, index: SearchIndex) -> list[_Candidate]:
        """Scored sentences from the top passages, best first.

        score = sentence cosine + ``answer_term_weight`` * idf-weighted share of the question's
        terms in the sentence + ``answer_passage_weight`` * the passage's retrieval score
        (min-max over the evidence passages) + ``answer_name_weight`` * the share of the
        question's names found in the passage's document ("Taalunieverdrag" → the Taalunie
        treaty) + small bonuses for a number ("hoeveel…") or a date ("wanneer…") when the
        question asks for one, minus a penalty for a dangling "…:" at a paragraph's end.
        Typed questions (amount, date, code) look at all retrieved passages, others at the top five.
        """
        s = self.settings
        terms = list(result.query_terms)
        weights = {t: _idf(index, t) for t in set(terms)}
        want_num, want_date, want_name = expects_number(question), expects_date(question), expects_name(question)
        years = set(_YEAR.findall(question))
        n_passages = max(1, len(index.passages))
        # names that most passages carry ("Nederland", "Vlaanderen") say nothing about the document
        names = {nm for nm in names_in(question)
                 if all(index.document_frequency(t) < 0.1 * n_passages for t in bm25_tokens(nm, stemmer=s.stemmer))}
        typed = _typed(question)
        # a question after an amount, date or code may find it a little further down the ranking
        evidence = result.passages if typed else result.passages[: self.evidence_passages]
        lo = min((r.score for r in evidence), default=0.0)
        hi = max((r.score for r in evidence), default=0.0)
        out: list[_Candidate] = []
        for r in evidence:
            sents, vecs = index.sentences_of(r.index)
            if not len(sents):
                continue
            prior = (r.score - lo) / (hi - lo) if hi > lo else 1.0
            named = name_share(names, r.passage.title + " " + r.passage.paragraph_text)
            dense = vecs @ result.query_vector
            for pos, (sent, d) in enumerate(zip(sents, dense, strict=True)):
                cov = _coverage(terms, set(bm25_tokens(sent, stemmer=s.stemmer)), weights)
                bonus = 0.0
                if want_num and quantities_in(sent):
                    bonus += 0.03
                if want_date and _DATE_IN_TEXT.search(sent):
                    bonus += 0.03
                if years and any(y in sent for y in years):
                    bonus += 0.05
                if want_name and new_names(sent, question):
                    bonus += 0.03
                if sent.rstrip().endswith(":") and pos == len(sents) - 1:
                    bonus -= 0.08  # "Komen het volgende overeen:" with nothing after it answers nothing
                score = (float(d) + s.answer_term_weight * cov + s.answer_passage_weight * prior
                         + s.answer_name_weight * named + bonus)
                out.append(_Candidate(r, sent, pos, float(d), cov, score))
            if typed:  # "…hebben ondertekend. GEDAAN te Brussel, op 9 september 1980": the asked fact
                # often sits in the sentence after the one that matches the question
                text = r.passage.text
                for pos in range(len(sents) - 1):
                    first, second = sents[pos], sents[pos + 1]
                    brings = ((want_num and not quantities_in(first) and quantities_in(second))
                              or (want_date and not _DATE_IN_TEXT.search(first) and _DATE_IN_TEXT.search(second))
                              or (want_name and not new_names(first, question) and new_names(second, question)))
                    if not brings:
                        continue
                    a = text.find(sents[pos])
                    b = text.find(sents[pos + 1], a + len(sents[pos])) if a >= 0 else -1
                    if a < 0 or b < 0 or b + len(sents[pos + 1]) - a > 600:
                        continue
                    span = text[a:b + len(sents[pos + 1])]
                    # judged by its first sentence (the one that matches the question); the
                    # second only has to bring the asked fact
                    cov = _coverage(terms, set(bm25_tokens(sents[pos], stemmer=s.stemmer)), weights)
                    d = float(dense[pos])
                    bonus = ((0.03 if want_num and quantities_in(span) else 0.0)
                             + (0.03 if want_date and _DATE_IN_TEXT.search(span) else 0.0)
                             + (0.05 if years and any(y in span for y in years) else 0.0) - 0.03)
                    score = (d + s.answer_term_weight * cov + s.answer_passage_weight * prior
                             + s.answer_name_weight * named + bonus)
                    out.append(_Candidate(r, span, pos, d, cov, score))
        out.sort(key=lambda c: -c.score)
        return out

    def judge(self, question: str, result: RetrievalResult, cands: list[_Candidate]) -> str:
        """Return "" when the evidence answers the question, else a Dutch reason to abstain."""
        s = self.settings
        if not result.passages or not cands:
            return "geen passages gevonden"
        top = result.passages[: self.evidence_passages]
        best_dense = max((r.dense_score or 0.0) for r in top[:3])
        best_cov = max(c.coverage for c in cands)
        if best_dense < s.min_dense_score and best_cov < s.min_term_coverage:
            return "de best passende passages gaan over iets anders"
        english = looks_english(question)
        if result.query_terms and result.known_term_share == 0 and not english:
            return "geen enkel woord van de vraag komt in het corpus voor"
        if result.known_term_share < 0.6 and best_dense < s.min_dense_score + 0.03 and not english:
            return "de belangrijkste woorden van de vraag komen in het corpus niet voor"
        years = set(_YEAR.findall(question))
        if years:
            evidence = " ".join(r.passage.paragraph_text + " " + r.passage.title for r in result.passages)
            missing = [y for y in years if y not in evidence]
            if missing:
                return f"het jaar {', '.join(sorted(missing))} komt in de gevonden passages niet voor"
        if (_typed(question)) \
                and not self.typed_answers(question, cands):
            return self.type_mismatch(question, cands[0])
        return ""

    def type_mismatch(self, question: str, c: _Candidate) -> str:
        """"" when sentence ``c`` can answer the kind of question (an amount, a count with its
        unit, a date, the acronyms and codes it names); otherwise the Dutch reason why not."""
        s = self.settings
        years = set(_YEAR.findall(question))
        if years:
            where = c.sentence + " " + c.retrieved.passage.paragraph_text + " " + c.retrieved.passage.title
            if not any(y in where for y in years):
                return f"de passage hoort niet bij {', '.join(sorted(years))}"
        codes = codes_in(question)
        if codes:
            where = fold(c.retrieved.passage.paragraph_text + " " + c.retrieved.passage.title)
            missing = sorted(x for x in codes if fold(x) not in where)
            if missing:
                return f"de gevonden passages gaan niet over {', '.join(missing)}"
        if expects_number(question):
            if not quantities_in(c.sentence):
                return "de gevonden passages noemen geen getal dat deze vraag beantwoordt"
            if _MONEY_Q.search(question) and not _MONEY.search(c.sentence):
                return "de gevonden passages noemen geen bedrag dat deze vraag beantwoordt"
            if c.coverage < s.min_quantity_coverage:
                return "de getallen in de gevonden passages gaan over iets anders dan de vraag"
            unit = count_unit(question)
            if unit:
                stems = set(bm25_tokens(unit, stemmer=s.stemmer))
                if stems and not stems & set(bm25_tokens(c.sentence, stemmer=s.stemmer)):
                    return f"de gevonden passages noemen geen aantal '{unit}'"
        if expects_date(question) and not _DATE_IN_TEXT.search(c.sentence):
            return "de gevonden passages noemen geen datum of periode die deze vraag beantwoordt"
        if expects_place(question) and not _PLACE.search(c.sentence):
            return "de gevonden passages noemen geen plaats die deze vraag beantwoordt"
        if expects_name(question) and not (new_names(c.sentence, question)
                                           or new_proper_names(c.sentence, question)):
            return "de gevonden passages noemen niemand die deze vraag beantwoordt"
        return ""

    def typed_answers(self, question: str, cands: list[_Candidate]) -> list[_Candidate]:
        """Sentences scoring within ``answer_typed_margin`` of the best that fit the question type."""
        floor = cands[0].score - self.settings.answer_typed_margin
        fit = [c for c in cands if c.score >= floor and not self.type_mismatch(question, c)]
        if expects_name(question):  # a sentence naming a person beats one naming only an institution
            fit.sort(key=lambda c: (not new_names(c.sentence, question), -c.score))
        return fit

    def __call__(self, question: str, result: RetrievalResult, index: SearchIndex) -> Answer:
        cands = self.candidates(question, result, index)
        reason = self.judge(question, result, cands)
        if reason:
            return abstention(question, result, reason)
        typed = (self.typed_answers(question, cands)
                 if _typed(question) else [])
        s = self.settings
        best = typed[0] if typed else cands[0]
        chosen = [best]
        covered = set(bm25_tokens(best.sentence, stemmer=s.stemmer))
        for c in cands:
            if len(chosen) >= s.max_answer_sentences:
                break
            if any(c.sentence in x.sentence or x.sentence in c.sentence for x in chosen):
                continue  # the same sentence, or one inside a two-sentence window already chosen
            same_paragraph = c.retrieved.passage.id == best.retrieved.passage.id
            margin = s.answer_margin * (2 if same_paragraph else 1)
            if c.score < best.score - margin:
                continue
            terms = set(bm25_tokens(c.sentence, stemmer=s.stemmer))
            new_terms = (set(result.query_terms) & terms) - covered
            if not new_terms and not same_paragraph:
                continue
            if typed and not same_paragraph and self.type_mismatch(question, c):
                continue  # another paragraph must bring the asked kind of fact too
            chosen.append(c)
            covered |= new_terms
        return compose(question, result, [_with_list(c, index) for c in chosen])


def _with_list(c: _Candidate, index: SearchIndex, limit: int = 600) -> _Candidate:
    """A sentence that introduces a list ("De organen van de Taalunie zijn:") brings its items along.

    The result is still one exact span of the passage text, so the quote check holds.
    """
    text = c.retrieved.passage.text
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if len(lines) >= 3 and c.sentence in lines and len(text) <= 1200:
        return replace(c, sentence=text.strip())  # one item of a list: the whole list answers
    if not c.sentence.rstrip().endswith(":"):
        return c
    sents = c.retrieved.passage.sentences
    start = text.find(c.sentence)
    end = start + len(c.sentence)
    for nxt in sents[c.position + 1 : c.position + 8]:
        at = text.find(nxt, end)
        if at < 0 or at + len(nxt) - start > limit:
            break
        end = at + len(nxt)
    if start < 0 or end <= start + len(c.sentence):
        return c
    return replace(c, sentence=text[start:end])


_ITEM_NUMBER = re.compile(r"^\s*(?:\d{1,2}[.)°]|[a-z][.)]|[–•-])\s+")


def compose(question: str, result: RetrievalResult, chosen: Sequence[_Candidate]) -> Answer:
    """Build the answer text with [n] markers and one citation per cited passage."""
    numbers: dict[str, int] = {}
    quotes: dict[str, list[_Candidate]] = {}
    for c in chosen:
        pid = c.retrieved.passage.id
        if pid not in numbers:
            numbers[pid] = len(numbers) + 1
            quotes[pid] = []
        quotes[pid].append(c)
    parts = []
    for pid in numbers:  # passages in order of first use, sentences in document order within each
        for c in sorted(quotes[pid], key=lambda c: c.position):
            # "3. Nederland levert…" reads as "Nederland levert…"; the quote keeps the numbering
            shown = _ITEM_NUMBER.sub("", c.sentence, count=1) or c.sentence
            parts.append(f"{shown} [{numbers[pid]}]")
    citations = []
    for pid, n in numbers.items():
        group = sorted(quotes[pid], key=lambda c: c.position)
        passage = group[0].retrieved.passage
        quote = group[0].sentence
        if len(group) > 1:
            start = passage.text.find(group[0].sentence)
            end_sent = group[-1].sentence
            end = passage.text.find(end_sent, start)
            span = passage.text[start:end + len(end_sent)] if start >= 0 and end >= 0 else ""
            quote = span if span and len(span) <= 1200 else max(group, key=lambda c: c.score).sentence
        citations.append(Citation(n, passage, quote, round(max(c.score for c in group), 4)))
    answer = Answer(question=question, text=" ".join(parts), abstained=False, citations=tuple(citations),
                    retrieved=result.passages)
    return verify_answer(answer)


def abstention(question: str, result: RetrievalResult | None, reason: str,
               message: str = ABSTAIN_MESSAGE) -> Answer:
    """An abstaining answer: Dutch message, no citations; top passages only as "related"."""
    related = tuple(r for r in (result.passages[:3] if result else ()) if (r.dense_score or 0) >= 0.78)
    return Answer(question=question, text=message, abstained=True, citations=(),
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
        if not c.quote.strip() or not contains_folded(c.passage.paragraph_text, c.quote):
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
                "source": p.source, "locator": p.locator, "text": p.paragraph_text, "quote": c.quote,
                "score": c.score}

    def ret(r: Retrieved) -> dict[str, Any]:
        p = r.passage
        return {"rank": r.rank, "passage_id": p.id, "doc_id": p.doc_id, "locator": p.locator,
                "text": p.text, "score": round(r.score, 6), "dense_score": _round(r.dense_score),
                "bm25_score": _round(r.bm25_score), "title": p.title}

    return {
        "id": answer.id,
        "question": answer.question,
        "answer": answer.text,
        "abstained": answer.abstained,
        "mode": answer.mode,
        "citations": [cite(c) for c in answer.citations],
        "retrieved": [ret(r) for r in answer.retrieved],
        "related": [ret(r) for r in answer.related],
        "notices": list(answer.notices),
        "timings_ms": {k: round(v, 2) for k, v in answer.timings_ms.items()},
    }
