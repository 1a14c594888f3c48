"""Timeline: every dated statement of the corpus, normalised, sorted in time, with its citation.

A pure view over the index's passages (interface layer: ``app.py`` reads ``SearchIndex.passages``
and calls :func:`build_timeline`; nothing here touches files, models or the index).

Dates are read by our own Dutch parser, not ``dateparser``: ``dateparser.search.search_dates``
returns single ``datetime`` values (no precision, so "voorjaar 2023" or "2023-2024" cannot be
expressed), knows no Dutch seasons or spans, and finds false dates in ordinary Dutch words
("mei", "maart" as names). Dutch dates in this corpus are few forms, each a regular expression:

===============================  ===========  ==============================  ================
form in the text                 precision    normalised ``value`` (EDTF)     example
===============================  ===========  ==============================  ================
``6 juni 2023``, ``06-06-2023``  ``dag``      ``2023-06-06``                  3RX-ministers
``5 en 6 juni 2023``             ``periode``  ``2023-06-05/2023-06-06``
``4 november`` (year of doc)     ``dag``      ``2020-11-04`` (year inferred)
``(begin) september 2014``       ``maand``    ``2014-09``
``in het voorjaar van 2023``     ``seizoen``  ``2023-21`` (EDTF season code)  Einstein Telescoop
``eerste kwartaal van 2024``     ``kwartaal`` ``2024-33``
``eind 2022``, ``in 2023``       ``jaar``     ``2022``
``in de loop van 2023-2024``     ``periode``  ``2023/2024``
===============================  ===========  ==============================  ================

Every entry keeps the exact phrase (``When.text``), the first and last day it may mean
(``start``/``end``, for sorting and period filters) and a Dutch label. The status says whether the
sentence reports something decided or done (``besloten/gedaan``) or announced for later
(``aangekondigd/gepland``: "zal", "zullen", "plannen", "geplande", "voornemens", or a date after
the document's own date); without such a signal it is empty.

Citation links: each entry links to ``#passage-<passage id, percent-encoded>``
(:func:`passage_anchor`), the anchor of the passage in the documents view.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote

from rag.chunking import Passage
from rag.text import DUTCH_MONTHS, bm25_tokens, fold

MONTHS = DUTCH_MONTHS
_MONTH_NUMBER = {m: i + 1 for i, m in enumerate(MONTHS)} | {
    "jan": 1, "feb": 2, "febr": 2, "mrt": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "okt": 10, "nov": 11, "dec": 12}
#: season → (EDTF code 21-24, first month, label); winter runs into the next year
SEASONS = {"voorjaar": (21, 3, "voorjaar"), "lente": (21, 3, "voorjaar"), "zomer": (22, 6, "zomer"),
           "najaar": (23, 9, "najaar"), "herfst": (23, 9, "najaar"), "winter": (24, 12, "winter")}
_QUARTERS = {"eerste": 1, "1e": 1, "tweede": 2, "2e": 2, "derde": 3, "3e": 3, "vierde": 4, "4e": 4,
             "laatste": 4}
#: part of a year or month ("begin 2009", "eind 2022", "medio 2020") → (first month, last month)
_YEAR_PARTS = {"begin": (1, 4), "midden": (5, 8), "medio": (5, 8), "halverwege": (5, 8), "eind": (9, 12),
               "einde": (9, 12)}
PRECISIONS = ("dag", "maand", "seizoen", "kwartaal", "jaar", "periode")
DONE = "besloten/gedaan"
PLANNED = "aangekondigd/gepland"

_MONTH_RE = "|".join(sorted(_MONTH_NUMBER, key=len, reverse=True))
_Y = r"((?:1[6-9]|20)\d\d)"
_D = r"(\d{1,2})(?:e|ste|de)?"
_PART = r"(?:(begin|eind|einde|medio|midden|half|halverwege)\s+)?"
#: one alternation, longest forms first; each named group marks a form
_PATTERNS = [
    ("dayspan", rf"\b{_D}\s*(?:-|–|en|tot en met|t/m|tot)\s*{_D}\s+({_MONTH_RE})\.?\s+{_Y}\b"),
    ("day", rf"\b{_D}\s+({_MONTH_RE})\.?\s+{_Y}\b"),
    ("numeric", rf"\b(\d{{1,2}})[-/.](\d{{1,2}})[-/.]{_Y}\b"),
    ("iso", rf"\b{_Y}-(\d\d)-(\d\d)\b"),
    ("dayonly", rf"\b{_D}\s+({'|'.join(MONTHS)})\b(?!,?\s+\d{4})"),
    ("monthspan", rf"\b(?:van\s+|tussen\s+)?({_MONTH_RE})\s+(?:tot en met|t/m|tot|en|-|–)\s+({_MONTH_RE})\s+{_Y}\b"),
    ("month", rf"\b{_PART}({'|'.join(MONTHS)})(?:\s+van)?\s+{_Y}\b"),
    ("season", rf"\b(?:(?:in\s+)?(?:het|de)\s+)?(voorjaar|lente|zomer|najaar|herfst|winter)(?:\s+van)?\s+{_Y}\b"),
    ("quarter", rf"\b(?:het\s+)?(eerste|tweede|derde|vierde|laatste|1e|2e|3e|4e)\s+kwartaal(?:\s+van)?\s+{_Y}\b"),
    ("qcode", rf"\bQ([1-4])\s+{_Y}\b"),
    ("yearspan", rf"\b(?:in\s+de\s+(?:loop|periode)\s+van\s+|van\s+|tussen\s+|periode\s+)?{_Y}\s*"
                 rf"(?:-|–|/|tot en met|t/m|tot|en)\s*{_Y}\b"),
    ("yearpart", rf"\b(begin|eind|einde|medio|midden|halverwege)(?:\s+van)?\s+(?:het\s+jaar\s+)?{_Y}\b"),
    ("year", rf"(?<![\d.,/_-]){_Y}(?![\d_]|[.,]\d|-\d)"),
]
#: words before a year that make it a reference, not an event: "Trb. 1985", "prijspeil 2014", "niveau 2006"
_NOT_AN_EVENT = re.compile(r"\b(?:trb|stb|stcrt|bs|nr|niveau|prijspeil|prijsniveau|rink|artikel)\.?,?\s*$",
                           re.IGNORECASE)
_DATE = re.compile("|".join(f"(?P<{name}>{pat})" for name, pat in _PATTERNS), re.IGNORECASE)

# Markers of a future or planned statement, and of one decided or done (folded, whole words).
_PLANNED = re.compile(
    r"\b(zal|zullen|zult|zou|zouden|plan(?:nen|t)?|gepland(?:e)?|planning|voornemens|voorgenomen|"
    r"beogen|beoogt|beoogde|streven|streeft|verwacht(?:e)?|komende|toekomstige?|aangekondigd(?:e)?|"
    r"kondig(?:t|en)\s+\w+\s+aan|in\s+het\s+vooruitzicht|uiterlijk|volgende)\b")
_DONE = re.compile(
    r"\b(werd|werden|is\s+\w+\s+(?:ge|be|ver|ont|onder|aan|op|in)\w*(?:d|t|en)|zijn\s+\w*\s*(?:ge|be|ver|ont|onder)\w*"
    r"(?:d|t|en)|heeft|hebben|had|hadden|besloten|beslist|ondertekend(?:e)?|ondertekenden|goedgekeurd|"
    r"vond|vonden|kwam(?:en)?|opgericht|gelanceerd|afgesloten|overeengekomen|getekend|aangenomen|"
    r"was|waren|sinds|ingestemd|vastgesteld|gestart|gestarte)\b")


@dataclass(frozen=True)
class When:
    """A normalised date expression.

    ``start``/``end``: first and last calendar day it can mean (inclusive); ``precision``: one of
    :data:`PRECISIONS`; ``value``: EDTF-style normal form (``2023-06-06``, ``2023-06``, ``2023-21``
    for spring, ``2023``, ``2023/2024``); ``label``: Dutch display form (``6 juni 2023``,
    ``voorjaar 2023``, ``2023–2024``); ``text``: the exact phrase in the sentence;
    ``year_inferred``: the year came from the document's date ("Woensdag 4 november")."""

    start: date
    end: date
    precision: str
    value: str
    label: str
    text: str
    year_inferred: bool = False


@dataclass(frozen=True)
class TimelineEntry:
    """One dated statement: when, what (the sentence), where (document, locator, passage id) and status.

    ``status`` is :data:`DONE`, :data:`PLANNED` or ``""`` (the sentence does not say);
    ``anchor`` is the citation link ``#passage-<passage id, percent-encoded>``."""

    when: When
    sentence: str
    status: str
    passage_id: str
    doc_id: str
    title: str
    doc_date: str | None
    locator: str
    section_label: str
    source: str | None
    #: the passage the sentence stands in (for topic filters and display)
    passage_text: str = ""

    @property
    def anchor(self) -> str:
        """Link to the passage in the documents view (see :func:`passage_anchor`)."""
        return "#" + passage_anchor(self.passage_id)

    def to_json(self) -> dict[str, object]:
        """JSON-serialisable dict (dates as ISO strings)."""
        w = self.when
        return {"start": w.start.isoformat(), "end": w.end.isoformat(), "precision": w.precision,
                "value": w.value, "label": w.label, "text": w.text, "year_inferred": w.year_inferred,
                "sentence": self.sentence, "status": self.status, "passage_id": self.passage_id,
                "doc_id": self.doc_id, "title": self.title, "doc_date": self.doc_date, "locator": self.locator,
                "source": self.source, "anchor": self.anchor}


def passage_anchor(passage_id: str) -> str:
    """Fragment identifier of a passage in the documents view: ``passage-`` + the passage id with
    every character outside ``A-Za-z0-9-._~`` percent-encoded, e.g.
    ``passage-2023-slotverklaring-nederlands-vlaamse-top-den-bosch%23inleiding%2Fp1``: the same
    string as ``app.passage_link`` without the ``#``, and the ``id`` of the paragraph in the
    Documents tab, which a click on such a link opens with the paragraph highlighted."""
    return "passage-" + quote(passage_id, safe="")


def _last_day(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _month_span(year: int, first: int, last: int) -> tuple[date, date]:
    if last < first:  # winter: December to February of the next year
        return date(year, first, 1), _last_day(year + 1, last)
    return date(year, first, 1), _last_day(year, last)


def _day(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


#: a span of years longer than this ("1995/2023") is two unrelated years, not a period
MAX_SPAN_YEARS = 30
#: groups of a month match with a part of the month ("begin maart 2023": part, month, year)
MONTH_WITH_PART_GROUPS = 3


def _when(m: re.Match[str], doc_year: int | None) -> When | None:  # noqa: C901 - one branch per date form of _DATE, kept side by side
    """The :class:`When` of one match of :data:`_DATE`, or None when it is no real date."""
    kind = m.lastgroup
    assert kind is not None
    g = [x for x in m.groups()[m.re.groupindex[kind]:] if x is not None]
    # groups after the named one belong to it up to the next named group; take them in order
    text = m.group(kind)
    low = [x.lower() for x in g]
    if kind == "dayspan":
        d1, d2, mon, y = int(g[0]), int(g[1]), _MONTH_NUMBER[low[2]], int(g[3])
        a, b = _day(y, mon, d1), _day(y, mon, d2)
        if a is None or b is None or b < a:
            return None
        label = f"{d1}–{d2} {MONTHS[mon - 1]} {y}"
        return When(a, b, "periode", f"{a.isoformat()}/{b.isoformat()}", label, text)
    if kind in ("day", "numeric", "iso", "dayonly"):
        if kind == "day":
            d, mon, y = int(g[0]), _MONTH_NUMBER[low[1]], int(g[2])
        elif kind == "numeric":
            d, mon, y = int(g[0]), int(g[1]), int(g[2])
        elif kind == "iso":
            y, mon, d = int(g[0]), int(g[1]), int(g[2])
        else:
            if doc_year is None:
                return None
            d, mon, y = int(g[0]), _MONTH_NUMBER[low[1]], doc_year
        a = _day(y, mon, d) if 1 <= mon <= len(MONTHS) else None
        if a is None:
            return None
        return When(a, a, "dag", a.isoformat(), f"{d} {MONTHS[mon - 1]} {y}", text, kind == "dayonly")
    if kind == "monthspan":
        m1, m2, y = _MONTH_NUMBER[low[0]], _MONTH_NUMBER[low[1]], int(g[2])
        if m2 < m1:
            return None
        a, b = _month_span(y, m1, m2)
        return When(a, b, "periode", f"{y}-{m1:02d}/{y}-{m2:02d}", f"{MONTHS[m1 - 1]}–{MONTHS[m2 - 1]} {y}", text)
    if kind == "month":
        part = low[0] if len(g) == MONTH_WITH_PART_GROUPS else None
        mon, y = _MONTH_NUMBER[low[-2]], int(g[-1])
        a, b = date(y, mon, 1), _last_day(y, mon)
        if part in ("begin",):
            b = date(y, mon, 10)
        elif part in ("eind", "einde"):
            a = date(y, mon, 21)
        elif part:
            a, b = date(y, mon, 11), date(y, mon, 20)
        label = f"{part + ' ' if part else ''}{MONTHS[mon - 1]} {y}"
        return When(a, b, "maand", f"{y}-{mon:02d}", label, text)
    if kind == "season":
        code, first, label = SEASONS[low[0]]
        y = int(g[1])
        a, b = _month_span(y, first, (first + 2 - 1) % 12 + 1)
        return When(a, b, "seizoen", f"{y}-{code}", f"{label} {y}", text)
    if kind in ("quarter", "qcode"):
        q = int(g[0]) if kind == "qcode" else _QUARTERS[low[0]]
        y = int(g[1])
        a, b = _month_span(y, 3 * q - 2, 3 * q)
        return When(a, b, "kwartaal", f"{y}-{32 + q}", f"{q}e kwartaal {y}", text)
    if kind == "yearspan":
        y1, y2 = int(g[0]), int(g[1])
        if not 0 < y2 - y1 <= MAX_SPAN_YEARS:  # "2005-2005", "1995/2023" (two unrelated years)
            return None
        return When(date(y1, 1, 1), date(y2, 12, 31), "periode", f"{y1}/{y2}", f"{y1}–{y2}", text)
    if kind == "yearpart":
        part, y = low[0], int(g[1])
        first, last = _YEAR_PARTS[part]
        a, b = _month_span(y, first, last)
        return When(a, b, "jaar", str(y), f"{part} {y}", text)
    y = int(g[0])
    return When(date(y, 1, 1), date(y, 12, 31), "jaar", str(y), str(y), text)


def find_dates(sentence: str, doc_date: str | None = None) -> list[When]:
    """Every date expression of ``sentence``, left to right, longest form first (a year inside
    "6 juni 2023" is not counted again). ``doc_date`` (ISO, may be None) supplies the year of a
    bare day ("Woensdag 4 november"); without it such a day is skipped. Never raises."""
    doc_year = int(doc_date[:4]) if doc_date and re.match(r"\d{4}", doc_date) else None
    out = []
    for m in _DATE.finditer(sentence):
        if m.lastgroup == "year" and _NOT_AN_EVENT.search(sentence[max(0, m.start() - 12):m.start()]):
            continue
        w = _when(m, doc_year)
        if w is not None:
            out.append(w)
    # a bare year already given more precisely in the sentence ("5 februari 1985 (Trb. 1985)") is no new date
    finer = {w.start.year for w in out if w.precision != "jaar"}
    return [w for w in out if not (w.precision == "jaar" and w.label == w.value and w.start.year in finer)]


_CLAUSE_BREAK = re.compile(r"\s*[;:]\s+|,\s+(?=(?:en|maar|terwijl|waarna|waarbij|nadat|zodat|omdat)\b)")


def _clause(sentence: str, phrase: str) -> str:
    """The clause of ``sentence`` that holds ``phrase`` (split at ";", ":" and ", en/maar/…")."""
    pos = sentence.find(phrase)
    if pos < 0:
        return sentence
    start = 0
    for m in _CLAUSE_BREAK.finditer(sentence):
        if m.start() > pos:
            return sentence[start:m.start()]
        start = m.end()
    return sentence[start:]


def statement_status(sentence: str, when: When, doc_date: str | None = None) -> str:
    """:data:`PLANNED` when the sentence announces it ("zal", "zullen", "plannen", "geplande",
    "voornemens", "verwacht", …) or the date starts after the document's own date (a document
    cannot report later events as done); :data:`DONE` when it reports it ("werd", "heeft",
    "vond plaats", "ondertekend", "besloten", …); else ``""``. The clause holding the date is read
    before the whole sentence. ``doc_date`` is an ISO date, month or year, or None."""
    written = _last_day_of(doc_date)
    if written is not None and when.start > written:
        return PLANNED
    # the clause that holds the date decides first ("De top vond plaats op …; de volgende zal …")
    for scope in (fold(_clause(sentence, when.text)), fold(sentence)):
        if _PLANNED.search(scope):
            return PLANNED
        if _DONE.search(scope):
            return DONE
    return ""


def _last_day_of(iso: str | None) -> date | None:
    """Last day an ISO date, month (``2023-01``) or year (``2023``) can mean; None when unreadable."""
    m = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", (iso or "").strip()[:10])
    if not m:
        return None
    try:
        y = int(m.group(1))
        if m.group(3):
            return date(y, int(m.group(2)), int(m.group(3)))
        return _last_day(y, int(m.group(2))) if m.group(2) else date(y, 12, 31)
    except ValueError:
        return None


def build_timeline(passages: Iterable[Passage]) -> list[TimelineEntry]:
    """All dated statements of ``passages`` (normally ``SearchIndex.passages``), sorted by start
    day, then end day (the more precise first), then document and passage order. One entry per
    (passage, sentence, date); a passage split in pieces yields each sentence once. The document's
    own date is used only to infer a bare day's year and for the status."""
    entries: list[tuple[tuple[date, date, int], TimelineEntry]] = []
    order = 0
    for p in passages:
        for sentence in p.sentences:
            seen: set[str] = set()
            for w in find_dates(sentence, p.date):
                if w.value in seen:
                    continue
                seen.add(w.value)
                order += 1
                e = TimelineEntry(w, sentence, statement_status(sentence, w, p.date), p.id, p.doc_id, p.title,
                                  p.date, p.locator, p.section_label, p.source, p.text)
                entries.append(((w.start, w.end, order), e))
    entries.sort(key=lambda t: t[0])
    return [e for _, e in entries]


def filter_timeline(entries: Sequence[TimelineEntry], topic: str = "", doc_ids: Iterable[str] = (),
                    status: str = "", stemmer: str = "dutch") -> list[TimelineEntry]:
    """The entries about ``topic`` (every content word of it, stemmed, occurs in the entry's
    passage, section label or document title; "" = all), in ``doc_ids`` (empty = all documents) and with
    ``status`` ("" = any), order kept."""
    wanted = set(bm25_tokens(topic, stemmer=stemmer)) if topic.strip() else set()
    docs = set(doc_ids)
    out = []
    for e in entries:
        if docs and e.doc_id not in docs:
            continue
        if status and e.status != status:
            continue
        if wanted:
            have = set(bm25_tokens(f"{e.passage_text or e.sentence}\n{e.section_label}\n{e.title}", stemmer=stemmer))
            if not wanted <= have:
                continue
        out.append(e)
    return out
