"""Question analysis, done once per question: one frozen :class:`QuestionAnalysis`.

:func:`analyze` turns a normalised question into what every later step reads: its language,
its content terms (Dutch BM25 stems) with their corpus IDF, the words behind them, the names,
codes, numbers and years it mentions, the expected answer type and, for a question that asks
two things, its parts (each a :class:`QuestionAnalysis` of its own). No later step re-parses
the question text.

The answer-type lexicon (:data:`ANSWER_TYPES`) is one table of question openings; the detectors
of what a sentence holds (:func:`holds_type`) are the other half of the same mechanism: a
sentence can answer a typed question only when it holds that type (a number for "hoeveel", a
date for "wanneer", a name for "wie"). Sources of the type inventory: Li & Roth (2002), "Learning
question classifiers", coarse classes NUM/LOC/HUM/DESC, plus list, overview and yes/no.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from rag.text import (
    DUTCH_STOPWORDS,
    QUESTION_WORDS,
    adjective_forms,
    bm25_tokens,
    fix_question_words,
    fold,
    normalize,
    numbers_in,
    words,
)

# --- answer types --------------------------------------------------------------------------

#: (answer type, pattern on the folded question), first match wins. One table for every question.
ANSWER_TYPES: tuple[tuple[str, str], ...] = (
    ("overview", r"\bwat (staat|stond|staan) er\b|\bwat (zegt|zeggen|zei|vermeldt|vermelden|schrijft|schrijven)\b"
                 r".*\bover\b|\bwat (is|zijn|waren) de (belangrijkste|voornaamste|centrale|grote|kern)\w*\b|"
                 r"\bgeef (me |mij )?(een )?(overzicht|samenvatting)\b|\boverzicht van\b|\bsamenvatting\b|"
                 r"\bwhat (does|do|did) .* (say|state|agree|mention)\b|\bwhat are the (main|key)\b|\boverview\b|"
                 r"\bsummar(y|ise|ize)\b|\bwat weten we over\b|\bwat wordt er (gezegd|afgesproken) over\b"),
    ("duration", r"\bhoelang\b(?! geleden)|\bhow long\b(?! ago)|\bhoe lang (duurt|duurde|duren|duurden|geldt|gold|"
                 r"gelden|loopt|liep|lopen|blijft|bleef|blijven)\b|\bvoor (welke|hoeveel) (periode|termijn|tijd|jaar|"
                 r"jaren|maanden|weken)\b|\b(welke|wat is de) (looptijd|duur|termijn)\b|\bfor how long\b"),
    # a money noun also as the head of a compound or hyphenated word ("Interreg-geld", "subsidiebedrag")
    ("amount", r"\bhoeveel [\w-]*(geld|euro|budget|middelen|subsidie|financiering|steun)\b|"
               r"\bwelk [\w-]*(bedrag|budget)\b|"
               r"\b(wat|hoeveel) (kost|kostte|kosten|kostten|bedraagt|bedroeg|bedragen|bedroegen)\b|"
               r"\bhow much (money|funding|does|did|is|was|will)\b|\bhoe duur\b|\bwhat (does|did) .* cost\b|"
               r"\bhoe groot is het (bedrag|budget)\b"),
    ("count", r"\bhoeveel\b|\bhoe ?veel\b|\bhow (many|much)\b|\bwelk (aantal|percentage)\b|\bhoe (groot|hoog|lang|"
              r"breed|diep|ver)\b|\bwhat (percentage|share|number)\b"),
    ("date", r"\bwanneer\b|\b(op|vanaf|tot) welke datum\b|\bin welk jaar\b|\bwelk jaar\b|\bsinds wanneer\b|"
             r"\bhoe ?lang geleden\b|^\W*(?:and |en )?when\b|\bsince when\b|\bwhat year\b|\bwhich year\b|"
             r"\bin welke (maand|periode)\b|\bhow long ago\b"),
    ("place", r"^\W*(en |and )?(waar|where)\b(?!om|over|mee|in|op|door|aan|voor|bij|naar|van|uit)"
              # not "waar … naar" with the preposition left behind ("Waar gaat het over?", "Waar verwijst
              # de notitie naar voor …?"): that asks for a thing, as "waarnaar" does
              r"(?!.*\b(naar|over|aan|mee|uit|toe|van|voor|op|door|om|tegen)\s*(\?|$|(voor|in|op|bij|van|aan|met|"
              r"naar|over|tijdens|tussen)\b))|"
              r"\b(in|op|naar|bij) welke? (stad|plaats|gemeente|provincie|regio|land|haven|gebouw|locatie|plek|zaal|"
              r"pand)\b|\bwhich (city|town|place|port|building|venue)\b|\bin what (city|place|building)\b"),
    ("person", r"^\W*(en |and )?(wie|who|whom)\b|\bdoor wie\b|\bnamens wie\b|\bby whom\b|\bwelke (minister|ministers|"
               r"minister-presidenten|personen|bewindslieden|staatssecretarissen|politici|organisaties|partijen|"
               r"instanties|ondertekenaars|partners)\b|\bwhich (minister|ministers|people|organisations?)\b"),
    ("reason", r"\bwaarom\b|\bom welke reden\b|\bhoe komt het\b|\bwhy\b|\bfor what reason\b|\bwaartoe\b|"
               r"\bwat is de reden\b|\bmet welk doel\b"),
    ("definition", r"^\W*(wat|what) (is|zijn|was|waren|are|means?) (een |de |het |a |an |the )?\w+\W*$|"
                   r"\bwat (betekent|houdt .* in)\b|\bwat wordt (er )?bedoeld\b|\bwhat does .* mean\b|"
                   r"^\W*(wat|what) (is|zijn|was|waren|are) (een |de |het |a |an |the )?[\w-]+\s*\?"),
    ("list", r"\bwelke \w+(en|s)\b|\bwhich \w+s\b|\bnoem (de|alle)\b|\bwat (zijn|waren) de \w+(en|s)\b"),
    ("yes/no", r"^\W*(klopt|is|zijn|was|waren|heeft|hebben|had|wordt|worden|werd|werden|kan|kunnen|zal|zullen|gaat|"
               r"gaan|moet|moeten|mag|komt|komen|staat|bestaat|does|do|did|is|are|was|were|will|can|has|have)\b"),
)
_TYPE_PATTERNS = tuple((t, re.compile(p)) for t, p in ANSWER_TYPES)

#: answer types a sentence must visibly hold to answer the question
CONCRETE_TYPES = frozenset({"amount", "count", "date", "duration", "place", "person"})

_QUESTION_WORDS = QUESTION_WORDS
#: the Dutch and English prepositions that may open a part of a two-part question ("en sinds welk jaar
#: …") or, after its question word, a gapped part ("en wie op de digitale top …")
_PREPOSITIONS = (r"(?:voor|in|op|met|van|over|door|uit|naar|bij|aan|tot|sinds|vanaf|tijdens|na|tegen|onder|via|"
                 r"per|to|for|at|by|of|since|from|during|after|until|with|on)")
_PART_SPLIT = re.compile(
    rf"\?\s+(?=\S)|(?:,\s*|\s+)(?:en|and|maar|but)\s+(?=(?:{_PREPOSITIONS}\s+)?"
    rf"(?:(?:de|het|the)\s+)?{_QUESTION_WORDS}\b)", re.IGNORECASE)

_ENGLISH_WORDS = frozenset("""
the a an of and or to is are was were what which who whom when where why how does did do in on for
with by from at as be been this that these those it its their there will would can could should
about
""".split())  # noqa: SIM905
#: English function words, not content terms of an English question (Dutch ones are in rag.text)
ENGLISH_STOPWORDS = _ENGLISH_WORDS | frozenset("""
cannot can't don't doesn't didn't isn't aren't wasn't won't shall may might must has have had having am
i me my we our you your he him his she her they them its itself into onto than then there here very
also just only even more most much many some any each every other such own same so too not no nor but
if because while until against between through during before after above below up down out off over
under again further once all both few being like e.g. i.e. etc whether whose whom
""".split()) - {"won"}  # noqa: SIM905
_DUTCH_WORDS = frozenset("""
de het een en van in op is zijn wat wie waar wanneer waarom hoe welke welk er dat die deze dit voor
met over bij naar uit ook niet wordt worden werd heeft hebben kan zal klopt
""".split())  # noqa: SIM905

#: words of the question's frame, not of its topic: they name the documents or the act of saying
#: ("Wat staat er in de documenten over…", "What does the declaration say about…") and are not
#: expected in the evidence, so they are not content terms
FRAME_WORDS = frozenset("""
document documenten tekst teksten bron bronnen stuk stukken staat stond staan zeggen zegt zei zeiden
noemen noemt noemde vermelden vermeldt vermeld gezegd genoemd geschreven lees lezen say says said
mention mentions mentioned state states stated document documents text texts source sources tell
tells told write writes written eigenlijk precies ongeveer allemaal waaruit waarover waarbij welke
welk plaats den vraag vragen antwoord antwoorden question questions answer answers corpus
""".split())  # noqa: SIM905

#: English names of this region's places and peoples, with the Dutch form the documents use; an
#: English question names them in English ("Flanders"), the evidence in Dutch ("Vlaanderen")
EXONYMS: dict[str, str] = {
    "netherlands": "nederland", "holland": "nederland", "dutch": "nederlands", "flanders": "vlaanderen",
    "flemish": "vlaams", "belgium": "belgie", "belgian": "belgisch", "wallonia": "wallonie", "walloon": "waals",
    "brussels": "brussel", "antwerp": "antwerpen", "ghent": "gent", "hague": "haag", "scheldt": "schelde",
    "flushing": "vlissingen", "zealand": "zeeland", "meuse": "maas", "rhine": "rijn", "westphalia": "westfalen",
    "ukraine": "oekraine", "ukrainian": "oekraiens", "russia": "rusland", "russian": "russisch",
    "germany": "duitsland", "german": "duits", "france": "frankrijk", "french": "frans", "europe": "europa",
    "luxembourg": "luxemburg", "britain": "brittannie", "british": "brits", "bruges": "brugge",
    "louvain": "leuven", "leuven": "leuven", "limburg": "limburg", "taalunie": "taalunie",
}
#: the Dutch adjective of a place name that an English name translates to: "the Netherlands" is
#: "Nederland" and also the "Nederlandse" of "Nederlandse beleidsmakers"; "Flanders" the "Vlaamse"
#: of "de Vlaamse Gemeenschap"
DEMONYMS: dict[str, str] = {
    "nederland": "nederlands", "vlaanderen": "vlaams", "belgie": "belgisch", "wallonie": "waals",
    "brussel": "brussels", "duitsland": "duits", "frankrijk": "frans", "europa": "europees", "zeeland": "zeeuws",
    "limburg": "limburgs", "luxemburg": "luxemburgs", "oekraine": "oekraiens", "rusland": "russisch",
    "brittannie": "brits", "westfalen": "westfaals",
}
#: Dutch ordinal numbers: like a year, an ordinal names one thing of a series ("de vierde top",
#: "de zevende editie"); another one is another thing, never a paraphrase
DUTCH_ORDINALS: dict[str, int] = {
    w: n for n, w in enumerate(("eerste", "tweede", "derde", "vierde", "vijfde", "zesde", "zevende", "achtste",
                                "negende", "tiende", "elfde", "twaalfde", "dertiende", "veertiende", "vijftiende",
                                "zestiende", "zeventiende", "achttiende", "negentiende", "twintigste"), start=1)}
#: an English word at least this common (wordfreq's Zipf scale: 4 = once per 100,000 words) is a
#: translated concept ("Language Union", "Committee"), not a name that the documents spell the same
ENGLISH_COMMON_ZIPF = 4.0


def is_english_common(word: str) -> bool:
    """True for a common English word (see :data:`ENGLISH_COMMON_ZIPF`); loads wordfreq's English
    list on first use, so only English questions pay for it."""
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "en") >= ENGLISH_COMMON_ZIPF

# --- what sentences hold ------------------------------------------------------------------

_MONTHS = ("januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december|"
           "jan|feb|mrt|apr|jun|jul|aug|sep|sept|okt|nov|dec|january|february|march|june|july|august|october")
_DATE_IN_TEXT = re.compile(rf"\b(1[89]\d\d|20\d\d)\b|\b({_MONTHS})\b|\b(jaar|jaren|maand|maanden|week|weken|"
                           r"voorjaar|najaar|zomer|winter|binnenkort|spoedig|vandaag|gisteren|morgen|eeuw|"
                           r"decennium|kwartaal|maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|zondag)\b", re.I)
_DATE_EXPR = re.compile(rf"\b\d{{1,2}}\s+({_MONTHS})\.?(\s+\d{{4}})?|\b(1[89]\d\d|20\d\d)(-(1[89]\d\d|20\d\d))?\b",
                        re.I)
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_REFERENCE_NUMBER = re.compile(r"\b(artikel|artikelen|art|lid|leden|punt|hoofdstuk|bijlage|nr|nummer|paragraaf|"
                               r"fase|spoor|stap|kamerstuk)\.?\s+\d+[a-z]?\b|^\s*(\d{1,2}|[a-z])[.)]\s", re.I)
_NUMBER_WORD_LIST = (r"twee|drie|vier|vijf|zes|zeven|acht|negen|tien|elf|twaalf|dertien|veertien|vijftien|twintig|"
                     r"dertig|veertig|vijftig|zestig|zeventig|tachtig|negentig|honderd|duizend|miljoen|miljard|dozijn|"
                     r"tiental|tientallen|honderden|duizenden|half|halve|helft|kwart|dubbel|verdubbeld|two|three|four|"
                     r"five|hundred|thousand|million|billion")
_NUMBER_WORDS = re.compile(rf"\b({_NUMBER_WORD_LIST})\b", re.I)
_YEAR_RANGE = r"\b(1[89]\d\d|20\d\d)\s*[-–]\s*(1[89]\d\d|20\d\d)\b"
#: a span of time: a number (or "een", "enkele", "een aantal") and a unit of time ("dertig jaar", "zes
#: weken", "2,5 jaar"), or a range of years (group ``years``: "2020-2024"). It answers "hoelang", not
#: "wanneer": "een periode van dertig jaar" says how long, not when
_DURATION = re.compile(
    rf"\b(\d+(?:[.,]\d+)?|een|één|enkele|een aantal|een paar|meerdere|verscheidene|anderhalf|anderhalve|"
    rf"{_NUMBER_WORD_LIST})\s+(jaar|jaren|maand|maanden|week|weken|dag|dagen|werkdagen|uur|uren|eeuw|eeuwen|"
    rf"decennium|decennia|kwartaal|kwartalen|years?|months?|weeks?|days?|hours?|decades?)\b|(?P<years>{_YEAR_RANGE})",
    re.I)
_MONEY = re.compile(r"€|\beuro\b|\bmiljoen\b|\bmiljard\b|\bEUR\b|\bbudget\w*|\bmiddelen\b|\bfinanci\w+", re.I)
#: an adjective of nationality ("Vlaamse", "Nederlandse", "Belgische"): no place, person or organisation
_NATIONALITY = r"[A-Z]\w*(?:se|sche)\b"
_NOT_NATIONALITY = rf"(?!{_NATIONALITY})"
_NATIONALITY_WORD = re.compile(_NATIONALITY)
#: a place phrase: a preposition of place and a name ("in Gent", "te Brussel", "in het Noordbrabants Museum");
#: an adjective of nationality after it ("bij de Vlaamse regering") is no place, nor is "van" (of)
_PLACE = re.compile(rf"\b(in|te|op|naar|uit|at|bij)\s+(de\s+|het\s+)?(’s-|'s-)?{_NOT_NATIONALITY}[A-Z][\w’'-]+")
_ROLE = (r"(?:minister-president|minister|ministers|staatssecretaris|gouverneur|commissaris|voorzitter|burgemeester|"
         r"gedeputeerde|ambassadeur|secretaris|koning|koningin|premier|dhr\.?|mevr\.?|heer|mevrouw|prime minister)")
_SURNAME = r"(?:(?:van|de|der|den|Van|De|VAN|DE|DER)\s+)*[A-Z][A-Za-zà-ÿ]+"
_PERSON = re.compile(
    rf"\b(?:[A-Z][a-z]?\.\s?-?){{1,3}}\s?{_SURNAME}"  # D. F. van der Mei, Ch.-F. NOTHOMB
    rf"|\b{_ROLE}\s+(?:van\s+\w+\s+)?(?:[A-Z][a-zà-ÿ]+\s+)?{_SURNAME}"  # minister Harbers
    rf"|\b[A-Z][a-zà-ÿ]+\s+{_SURNAME}(?:-[A-Z][a-zà-ÿ]+)?")  # Jan Jambon
#: a capitalised word inside a sentence, not an adjective of nationality: a name
_PROPER = re.compile(rf"(?<=\s){_NOT_NATIONALITY}[A-Z][A-Za-zà-ÿ]+(?:-[A-Z][A-Za-zà-ÿ]+)*")
_CODE = re.compile(r"\b(?=[A-Za-z0-9-]*[A-Z]{2})(?=[A-Za-z0-9-]*[A-Za-z])[A-Z0-9][A-Za-z0-9-]*[A-Z0-9]\b|"
                   r"\b[0-9]+[A-Za-z]+[0-9A-Za-z]*\b")
_REASON = re.compile(r"\b(omdat|doordat|want|vanwege|wegens|daardoor|zodat|dankzij|om\s+\w+(\s+\w+){0,6}\s+te|"
                     r"met het oog op|teneinde|ter\s+\w+|gelet op|gezien|reden|redenen|doel|voordeel|voordelen|"
                     r"belang|noodzaak|noodzakelijk|nodig|leidt tot|draagt bij|zorgt voor|zorgt ervoor)\b", re.I)


def quantities_in(text: str) -> set[str]:
    """Quantities in ``text``: numbers that are not a date, a year or an article/list number
    ("51.000", "30%", "995" count; "artikel 4", "6 juni 2023" do not), and number words."""
    rest = _REFERENCE_NUMBER.sub(" ", _DATE_EXPR.sub(" ", text))
    return numbers_in(rest) | {w.lower() for w in _NUMBER_WORDS.findall(rest)}


def codes_in(text: str) -> set[str]:
    """Acronyms and codes in ``text`` ("3RX", "ASML", "PFAS", "CO2", "A11"). A function word or
    question word in capitals is none: "WAT IS DE TAALUNIE?" names no code "WAT", "IS" or "DE"."""
    return {m.group(0) for m in _CODE.finditer(text) if not m.group(0).isdigit() and not _is_function_word(m.group(0))}


def _is_function_word(word: str) -> bool:
    w = fold(word)
    return w in DUTCH_STOPWORDS or w in ENGLISH_STOPWORDS or w in FRAME_WORDS or bool(re.fullmatch(_QUESTION_WORDS, w))


#: measurement units: "hoeveel kilo…" asks for a number of kilos. Countable nouns ("banen",
#: "inwoners") are not units: the text may say "350.000 mensen" for them
UNITS: dict[str, tuple[str, ...]] = {
    "kilo": ("kilo", "kg", "kilogram"), "kilogram": ("kilo", "kg", "kilogram"), "gram": ("gram",),
    "ton": ("ton", "tonnen"), "liter": ("liter", "l"), "meter": ("meter", "m"), "kilometer": ("kilometer", "km"),
    "hectare": ("hectare", "ha"), "procent": ("procent", "%"), "percent": ("procent", "%"),
    "kilos": ("kilo", "kg"), "tons": ("ton",), "kilometres": ("kilometer", "km"), "kilometers": ("kilometer", "km"),
}
_UNIT_AFTER = re.compile(r"\b(?:hoeveel|how many|how much)\s+([^\W\d_]+)", re.IGNORECASE)


def unit_of(question: str) -> str:
    """The measurement unit a "hoeveel <unit>…" question counts in ("kilo"), or ""."""
    m = _UNIT_AFTER.search(question)
    return m.group(1).lower() if m and m.group(1).lower() in UNITS else ""


def holds_type(answer_type: str, sentence: str, asked: str = "", unit: str = "") -> bool:
    """Does ``sentence`` hold the kind of fact ``answer_type`` asks for? True for types that
    need no visible fact (definition, reason, list, overview, yes/no, other). A person, place or
    date already in the (folded) question ``asked`` does not count: "in Den Bosch" does not answer
    "In welk gebouw … in Den Bosch?", "in 2018" does not answer "Wanneer … in 2018?". For a count
    or amount in a measurement ``unit`` ("hoeveel kilo"), the sentence must name that unit."""
    if unit and answer_type in ("count", "amount"):
        # letters and "%" apart from digits: "30%" and "15km" name their unit too
        words = set(re.findall(r"[^\W\d_]+|%", fold(sentence)))
        if not words & set(UNITS[unit]):
            return False
    if answer_type == "person":
        return any(fold(n.split()[-1]) not in asked for n in _person_names(sentence)) or any(
            fold(w) not in asked for w in _proper_words(sentence))
    if answer_type in ("place", "date", "duration") and asked:
        return bool(answer_mentions(answer_type, sentence, asked))
    return _holds(answer_type, sentence)


@functools.lru_cache(maxsize=65536)
def answer_mentions(answer_type: str, sentence: str, asked: str = "") -> tuple[str, ...]:
    """The mentions of a concrete ``answer_type`` in ``sentence`` that the (folded) question
    ``asked`` does not already hold, folded: place names ("noordbrabants museum"), dates, person
    names and other proper words, quantities. () for the other types."""
    asked_words = _word_set(asked)
    if answer_type in ("place", "date", "duration"):
        found = [" ".join(sorted(m)) for m in _type_mentions(answer_type, sentence) if not m <= asked_words]
    elif answer_type == "person":
        found = [fold(n) for n in (*_person_names(sentence), *_proper_words(sentence))
                 if fold(n.split()[-1]) not in asked_words]
    elif answer_type in ("count", "amount"):
        found = [q for q in quantities_in(sentence) if fold(q) not in asked_words]
    else:
        found = []
    return tuple(dict.fromkeys(found))


@functools.lru_cache(maxsize=65536)
def _word_set(folded: str) -> frozenset[str]:
    return frozenset(re.findall(r"\w+", folded))


@functools.lru_cache(maxsize=65536)
def _type_mentions(answer_type: str, sentence: str) -> tuple[frozenset[str], ...]:
    """The folded words of each place name ("den", "bosch" of "in Den Bosch") or date expression
    ("4 november", "2018") of a sentence."""
    if answer_type == "place":
        found = [re.sub(r"^\S+\s+((de|het)\s+)?", "", m.group(0)) for m in _PLACE.finditer(sentence)]
    elif answer_type == "duration":
        found = [m.group(0) for m in _DURATION.finditer(sentence)]
    else:
        found = [m.group(0) for m in _DATE_IN_TEXT.finditer(_points_in_time(sentence))]
    return tuple(_word_set(fold(m)) for m in found)


def _points_in_time(sentence: str) -> str:
    """``sentence`` without its spans of time (:data:`_DURATION`) that name no year: what is left
    can say *when* ("in 2012", "volgend jaar", "op 4 november"); "binnen zes weken" says how long.
    A range of years ("2020-2024") stays: it says when too."""
    return _DURATION.sub(lambda m: m.group(0) if m.group("years") else " ", sentence)


@functools.lru_cache(maxsize=65536)
def _person_names(sentence: str) -> tuple[str, ...]:
    return tuple(m.group(0) for m in _PERSON.finditer(sentence))


@functools.lru_cache(maxsize=65536)
def _proper_words(sentence: str) -> tuple[str, ...]:
    return tuple(_PROPER.findall(sentence))


@functools.lru_cache(maxsize=65536)
def _holds(answer_type: str, sentence: str) -> bool:
    if answer_type == "amount":
        return bool(quantities_in(sentence)) and bool(_MONEY.search(sentence))
    if answer_type == "count":
        return bool(quantities_in(sentence))
    if answer_type == "date":
        return bool(_DATE_IN_TEXT.search(_points_in_time(sentence)))
    if answer_type == "duration":
        return bool(_DURATION.search(sentence))
    if answer_type == "place":
        return bool(_PLACE.search(sentence))
    if answer_type == "reason":
        return bool(_REASON.search(sentence))
    return True


# --- the analysis -----------------------------------------------------------------------

@dataclass(frozen=True)
class Term:
    """A content term of the question: its BM25 stem, the word as typed (folded), its corpus IDF
    (natural log, BM25 form; a term unknown to the corpus gets the maximum), whether it is a name,
    whether the word form occurs in the corpus, its relative position in the question (0–1),
    whether it directly follows the question word ("welke *stad*"), and its focus: the fitted
    probability that evidence answering the question contains it (1.0 without a focus model)."""

    stem: str
    word: str
    idf: float
    name: bool = False
    in_corpus: bool = True
    position: float = 0.0
    after_question_word: bool = False
    focus: float = 1.0
    #: the word was an English name of a Dutch one and has been translated (:data:`EXONYMS`)
    exonym: bool = False


def other_forms(term: Term, language: str) -> tuple[str, ...]:
    """Other Dutch word forms (folded) of a name ``term``: for a place of :data:`DEMONYMS`, typed in a
    Dutch question or translated from an English one, its adjective in both inflections
    ("Vlaanderen" and "Flanders" → "vlaams", "vlaamse": the 1995 treaty names "de Vlaamse
    Gemeenschap", never "Vlaanderen"); else the other inflection of a name in a Dutch question
    (:func:`~rag.text.adjective_forms`: "culturele" for "Cultureel"). () for words that are no name
    and for other English words ("Telescope" is no Dutch word). A Dutch ordinal's other forms are
    its numerals ("vierde" → "4e", "4de", "4ste": "de 4e Vlaams-Nederlandse top")."""
    if language == "nl" and term.word in DUTCH_ORDINALS:
        n = DUTCH_ORDINALS[term.word]
        return (f"{n}e", f"{n}de", f"{n}ste")
    if term.word in DEMONYMS and (term.exonym or language == "nl"):
        adjective = DEMONYMS[term.word]
        return (adjective, *adjective_forms(adjective))
    return adjective_forms(term.word) if language == "nl" and term.name else ()


#: features of a question term for the focus model (see :func:`term_rows`)
TERM_FEATURES: tuple[str, ...] = ("idf", "name", "number", "length_log", "position",
                                  "after_question_word", "english", "participle", "past_tense", "ends_en", "ends_t")

# Dutch verb morphology, as cues (not rules) for the focus model: verbs of a question ("ondertekende",
# "levert", "afgesproken") are seldom in the answering text in the same form; nouns and names are
_PARTICIPLE = re.compile(r"^(?:\w{0,6}?)ge\w{2,}(?:d|t|en)$")
_PAST = re.compile(r"\w{3,}(?:de|te|den|ten)$")


def term_rows(terms: Sequence[Term], language: str) -> np.ndarray:
    """Focus-model features, float (len(terms), len(TERM_FEATURES))."""
    return np.array([[t.idf, float(t.name), float(t.word[:1].isdigit()),
                      math.log(1 + len(t.word)), t.position, float(t.after_question_word),
                      1.0 if language != "nl" else 0.0, float(bool(_PARTICIPLE.match(t.word))),
                      float(bool(_PAST.fullmatch(t.word))), float(t.word.endswith("en")), float(t.word.endswith("t"))]
                     for t in terms], dtype=np.float64).reshape(len(terms), len(TERM_FEATURES))


@dataclass(frozen=True)
class QuestionAnalysis:
    """Everything later steps need to know about one question (or one part of it).

    ``terms`` are ordered as in the question; ``focus`` is the subset whose absence from the
    evidence means the evidence is about something else (all terms but those with very low IDF).
    ``parts`` is empty for a single question, else two or more analyses of the sub-questions.
    """

    text: str
    language: str
    terms: tuple[Term, ...]
    names: tuple[str, ...]
    codes: tuple[str, ...]
    numbers: tuple[str, ...]
    years: tuple[str, ...]
    answer_type: str
    parts: tuple[QuestionAnalysis, ...] = ()
    #: measurement unit of a count or amount question ("kilo"), "" if none (see :func:`unit_of`)
    unit: str = ""
    #: words of a Dutch question read as another corpus word (typed, read as): ("terneuzn", "terneuzen")
    corrections: tuple[tuple[str, str], ...] = ()

    @functools.cached_property
    def folded(self) -> str:
        """The folded question text and its content terms (an English name as translated, "ghent"
        and "gent"), for "is this already in the question" checks."""
        return " ".join([fold(self.text), *(t.word for t in self.terms)])

    @property
    def stems(self) -> tuple[str, ...]:
        """The content terms' stems in question order."""
        return tuple(t.stem for t in self.terms)

    @functools.cached_property
    def term_pairs(self) -> tuple[tuple[str, str], ...]:
        """(stem, folded word) of each content term, as :meth:`rag.lexicon.Lexicon.match` takes them."""
        return tuple((t.stem, t.word) for t in self.terms)

    @functools.cached_property
    def _forms(self) -> tuple[tuple[int, str, str], ...]:
        return tuple((k, stem, f) for k, t in enumerate(self.terms) for f in other_forms(t, self.language)
                     for stem in bm25_tokens(f)[:1])

    @functools.cached_property
    def form_pairs(self) -> tuple[tuple[str, str], ...]:
        """(stem, folded form) of each other word form of a term (:func:`other_forms`), as
        :meth:`rag.lexicon.Lexicon.match` takes them; :attr:`form_index` gives each one's term.
        Coverage takes the best of a term and its forms."""
        return tuple((stem, f) for _, stem, f in self._forms)

    @functools.cached_property
    def form_index(self) -> np.ndarray:
        """Term index, int (len(form_pairs),), of each of :attr:`form_pairs`."""
        return np.array([k for k, _, _ in self._forms], dtype=np.intp)

    @functools.cached_property
    def term_idf(self) -> np.ndarray:
        """The content terms' IDF, float32 (len(terms),), in question order (read-only)."""
        out = np.array([t.idf for t in self.terms], dtype=np.float32)
        out.flags.writeable = False
        return out

    @functools.cached_property
    def term_focus(self) -> np.ndarray:
        """The content terms' focus weights, float32 (len(terms),), in question order (read-only)."""
        out = np.array([t.focus for t in self.terms], dtype=np.float32)
        out.flags.writeable = False
        return out

    @functools.cached_property
    def term_ordinal(self) -> np.ndarray:
        """Which content terms are Dutch ordinals (:data:`DUTCH_ORDINALS`), bool (len(terms),), all
        False in an English question: coverage matches them as written only (read-only)."""
        out = np.array([self.language == "nl" and t.word in DUTCH_ORDINALS for t in self.terms], dtype=bool)
        out.flags.writeable = False
        return out

    @property
    def concrete(self) -> bool:
        """True when the answer must visibly hold a fact of :attr:`answer_type` (amount, date...)."""
        return self.answer_type in CONCRETE_TYPES

    @property
    def entities(self) -> tuple[Term, ...]:
        """Terms that name something and must be in the evidence as written: names, codes, years and,
        in a Dutch question, ordinals (:data:`DUTCH_ORDINALS`: "de vierde top" is not "de vijfde").
        In an English question a name counts when it is a known English name of a Dutch
        one (:data:`EXONYMS`, already translated) or when it is not a common English word ("Rutte",
        "Ajax"). A capitalised common word is a translated concept even when some English phrase of
        the corpus holds it too: "North Rhine-Westphalia" is "Noordrijn-Westfalen" in the evidence,
        though "North Sea Port" puts "north" in the corpus."""
        codes = {fold(c) for c in self.codes}
        return tuple(t for t in self.terms if t.word in codes or (t.word.isdigit() and t.word in self.years) or (
            t.name and (self.language == "nl" or t.exonym or not is_english_common(t.word)))
            or (self.language == "nl" and t.word in DUTCH_ORDINALS))

    @property
    def overview(self) -> bool:
        """True for "Wat staat er over X?"-style questions: answered by a digest."""
        return self.answer_type == "overview"


#: French, German and Spanish function words that are neither Dutch nor English ones: a question in
#: another language than the two the product reads ("Quand a eu lieu le sommet …?")
_OTHER_WORDS = frozenset("""
le la les des du une est sont quand qui quoi pourquoi comment quel quelle quels quelles eu lieu au aux avec
pour dans sur par ce cette ces ou mais und ist sind wann wo wer warum welche welcher welches ein eine einen
dem mit auf im zum zur nicht hat haben wird wurde wurden viele gibt einer eines sich auch noch nur fand statt
ont ete fait combien lors entre el los las del es son fue cuando donde quien por que cuantos una
""".split())  # noqa: SIM905


def detect_language(question: str) -> str:
    """"en" when English function words outnumber Dutch ones, "other" when French, German or
    Spanish ones (:data:`_OTHER_WORDS`) outnumber both, else "nl". Every step but the language
    notice reads "other" as it reads "en": a question that is not Dutch (no Dutch-only refusal
    reasons, the ``english`` features set)."""
    ws = re.findall(r"[a-z]+", fold(question))
    en = sum(w in _ENGLISH_WORDS for w in ws)
    nl = sum(w in _DUTCH_WORDS for w in ws)
    other = sum(w in _OTHER_WORDS for w in ws)
    if other > en and other > nl:
        return "other"
    return "en" if en > nl else "nl"


#: the modifiers between a question word and the noun it asks about: Dutch inflected adjectives
#: ("welke *vlaamse* ministers", "welke *concrete* afspraken"; not nouns in "-ie" or "-ee"), numerals
#: ("welke *vier* projecten") and, in English, any one word ("which *Flemish* ministers"); the
#: word after them must be a content word ("welke *gemeente* is" keeps its noun)
_WH_MODIFIERS = re.compile(r"\b(welke|welk)\s+(?:(?:\w+(?<![ie])e|twee|drie|vier|vijf|zes|zeven|acht|negen|tien|\d+)"
                           r"\s+){1,2}(?=(\w+))|\b(which)\s+\w+\s+(?=(\w+))")


def _without_modifiers(folded: str) -> str:
    def drop(m: re.Match[str]) -> str:
        head = m.group(2) or m.group(4)
        return m.group(0) if head in DUTCH_STOPWORDS or head in _ENGLISH_WORDS else (m.group(1) or m.group(3)) + " "
    return _WH_MODIFIERS.sub(drop, folded)


#: Dutch inflectional endings: a verb's -t, -en, -de, -te, the plural's -s, -en, an adjective's -e
#: ("zetelt" is a form of "zetel"; the Snowball stemmer keeps the -t of a verb made from a noun)
INFLECTION_ENDINGS = ("t", "e", "s", "en", "de", "te", "den", "ten")


def is_inflection_of(word: str, base: str) -> bool:
    """True when ``word`` is ``base`` with a Dutch inflectional ending (:data:`INFLECTION_ENDINGS`):
    "zetelt" of "zetel", "besturen" of "bestuur" does not count (a vowel change). Reading such a
    word as the corpus form is matching a word form, not correcting a typo, so it gets no notice."""
    return len(word) > len(base) and word.startswith(base) and word[len(base):] in INFLECTION_ENDINGS


def answer_type(question: str) -> str:
    """The expected answer type of a (single) question, from :data:`ANSWER_TYPES`; "other" if none.

    The table names the noun a question word asks about ("welke ministers"); when no opening
    matches, the question is read again with the modifiers in between left out ("welke Vlaamse
    ministers" → "welke ministers")."""
    q = fold(question)
    for kind, pattern in _TYPE_PATTERNS:
        if pattern.search(q):
            return kind
    bare = _without_modifiers(q)
    for kind, pattern in _TYPE_PATTERNS if bare != q else ():
        if pattern.search(bare):
            return kind
    return "other"


def names_in(question: str) -> set[str]:
    """Names in a question: capitalised words after the first word, and codes, without
    question words ("Taalunieverdrag", "Einstein", "Terneuzen", "3RX")."""
    ws = re.findall(r"[^\W\d_][\w'’-]*|\d+[A-Za-z]\w*", question)
    out = {w for w in ws[1:] if w[:1].isupper() and fold(w) not in DUTCH_STOPWORDS and fold(w) not in FRAME_WORDS
           and len(w) > 2}
    return out | codes_in(question)


def subject_names(question: str) -> set[str]:
    """The :func:`names_in` a question that name a subject of its own: not an adjective of
    nationality ("Wie waren er aan Vlaamse kant bij?" names no subject; "Wie is de burgemeester van
    Middelburg?" does)."""
    return {n for n in names_in(question) if not _NATIONALITY_WORD.match(n)}


def split_parts(question: str) -> list[str]:
    """The sub-questions of a question that asks two or more things ("Wanneer … en wat …?");
    a part without a content word of its own borrows the rest of the next part ("Wanneer en waar
    vond de top plaats?" → "Wanneer vond de top plaats?", "waar vond de top plaats?")."""
    pieces = [p.strip(" ,;") for p in _PART_SPLIT.split(question) if p and p.strip(" ,;?")]
    if len(pieces) < 2:
        return [question]
    out = []
    for i, p in enumerate(pieces):
        p = p.rstrip("?")
        gapped = _GAPPED.match(p) if i else None
        if gapped:
            # "…, en wie op de digitale top van 2020?": the verb and its subject were left out, as
            # Dutch and English leave them out when they repeat; the part takes them from the first
            # one ("Wie was de Vlaamse minister-president op de top in Gent …" → "Wie was de Vlaamse
            # minister-president op de digitale top van 2020?")
            head = _head(pieces[0].rstrip("?"))
            if head:
                p = f"{head} {p[gapped.end():]}".strip()
        if not _content(_QUESTION_PREFIX.sub("", p, count=1)):
            # "Wanneer en waar vond … plaats?": the bare part borrows the topic of its neighbour
            other = pieces[i + 1] if i + 1 < len(pieces) else pieces[i - 1]
            p = f"{p} {_QUESTION_PREFIX.sub('', other.rstrip('?'), count=1)}".strip()
        out.append(p + "?")
    return out if sum(1 for p in out if _content(p)) >= 2 else [question]


#: a later part that is only its question word and a prepositional phrase: "wie op de digitale top …"
_GAPPED = re.compile(rf"^\W*{_QUESTION_WORDS}\s+(?={_PREPOSITIONS}\s)", re.IGNORECASE)
#: the first part's question word, verb and subject, up to its first prepositional phrase
_HEAD = re.compile(rf"^\W*({_QUESTION_WORDS}\b.*?)\s+{_PREPOSITIONS}\s", re.IGNORECASE)


def _head(first: str) -> str:
    """The first part of a question up to its first prepositional phrase, which a gapped later
    part repeats ("Wie was de Vlaamse minister-president"); "" when it has none."""
    m = _HEAD.match(first)
    return m.group(1) if m and _content(_QUESTION_PREFIX.sub("", m.group(1), count=1)) else ""


_QUESTION_PREFIX = re.compile(
    r"^\W*(?:(?:voor|in|op|met|van|over|door|uit|naar|bij|aan|tot|to|for|at|by|of)\s+)?"
    r"(?:(?:welke|welk|hoeveel|which|how many|how much|what)\s+(?!(?:de|het|een|the|a|an)\b)[\w-]+|"
    rf"{_QUESTION_WORDS}\b(?:\s+(?:is|zijn|was|waren|werd|werden|wordt|worden|are|were|is|did|does|do))?)\s*",
    re.IGNORECASE)


def _content(text: str) -> list[str]:
    """Content words of ``text``: folded words that are neither stop words nor frame words."""
    return [w for w in words(text) if w not in DUTCH_STOPWORDS and w not in FRAME_WORDS and len(w) > 1]


def analyze(question: str, idf: Callable[[str], float], *, split: bool = True,
            in_corpus: Callable[[str], bool] | None = None,
            focus: Callable[[np.ndarray], np.ndarray] | None = None,
            correct: Callable[[str, str], str] | None = None) -> QuestionAnalysis:
    """Analyse one question. ``idf(stem)`` gives a stem's corpus IDF (natural log);
    ``in_corpus(word)`` whether a folded word form occurs in the corpus; ``focus(rows)`` maps
    :func:`term_rows` to focus probabilities (the fitted focus model); ``correct(word, language)``
    replaces a word the corpus lacks by a very close corpus word form (typo tolerance, as in retrieval).

    Shapes: ``terms`` holds one :class:`Term` per distinct content stem, in question order.
    Never raises on odd input; an empty question gives an analysis without terms.
    """
    text, question_word_fixes = fix_question_words(normalize(question))
    names = names_in(text)
    # a hyphenated name's capitalised parts are names too: "Oost-Vlaanderen" → "oost", "vlaanderen"
    # (the terms are its words); "Benelux-landen" → "benelux"
    name_words = {fold(n) for n in names} | {fold(p) for n in names for p in n.split("-") if p[:1].isupper()}
    language = detect_language(text)
    all_words = words(text)
    seen: set[str] = set()
    terms = []
    corrections: dict[str, str] = dict(question_word_fixes)
    read_as: dict[str, str] = {}  # every word read as another corpus word, notices or not
    for k, w in enumerate(all_words):
        if (w in DUTCH_STOPWORDS or w in FRAME_WORDS or (len(w) < 2 and not w.isdigit())
                or (language == "en" and w in ENGLISH_STOPWORDS) or (language == "other" and w in _OTHER_WORDS)):
            continue
        exonym = language == "en" and w in EXONYMS
        if exonym:
            name_words.add(EXONYMS[w])
            w = EXONYMS[w]
        if correct is not None:
            typed, w = w, correct(w, language)
            if w != typed:
                read_as[typed] = w
                if typed in name_words:  # "Einstien" is the name "Einstein" misspelt
                    name_words.add(w)
            if w != typed and language == "nl" and not exonym and not is_inflection_of(typed, w):
                corrections[typed] = w
        stems = bm25_tokens(w)
        if not stems or stems[0] in seen:
            continue
        seen.add(stems[0])
        after = k > 0 and bool(re.fullmatch(_QUESTION_WORDS, all_words[k - 1]))
        terms.append(Term(stems[0], w, float(idf(stems[0])), w in name_words,
                          in_corpus(w) if in_corpus is not None else True,
                          k / max(1, len(all_words) - 1), after, exonym=exonym))
    if focus is not None and terms:
        probs = focus(term_rows(terms, language))
        terms = [replace(t, focus=float(p)) for t, p in zip(terms, probs, strict=True)]
    parts: tuple[QuestionAnalysis, ...] = ()
    if split:
        pieces = split_parts(text)
        if len(pieces) > 1:
            parts = tuple(analyze(p, idf, split=False, in_corpus=in_corpus, focus=focus, correct=correct)
                          for p in pieces)
    return QuestionAnalysis(
        text=text, language=language, terms=tuple(terms),
        names=tuple(sorted({_read_as(n, read_as) for n in names})),
        codes=tuple(sorted({_read_as(c, read_as) for c in codes_in(text)})), numbers=tuple(sorted(quantities_in(text))),
        years=tuple(sorted(set(_YEAR.findall(text)))), answer_type=answer_type(text), parts=parts,
        unit=unit_of(text), corrections=tuple(corrections.items()))


def _read_as(name: str, read_as: dict[str, str]) -> str:
    """A name or code of the question as the corrected words read it ("PFSA" → "PFAS", "Einstien" →
    "Einstein", each hyphen part on its own), in the capitals it was typed in; as typed otherwise."""
    def one(part: str) -> str:
        fixed = read_as.get(fold(part))
        if fixed is None:
            return part
        if part.isupper():
            return fixed.upper()
        return fixed[:1].upper() + fixed[1:] if part[:1].isupper() else fixed
    return "-".join(one(p) for p in name.split("-"))


def years_in(text: str) -> set[str]:
    """Four-digit years 1800–2099 written in ``text``."""
    return set(_YEAR.findall(text))
