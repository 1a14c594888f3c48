"""Dutch text normalisation, folding, tokenisation and sentence splitting.

One place for every text rule, used for documents and questions alike:

* :func:`normalize` gives *display* text: Unicode NFC, ligatures expanded, soft hyphens,
  zero-width and control characters removed, whitespace collapsed. Curly quotes and
  diacritics stay.
* :func:`fold` gives *matching* text: :func:`normalize`, then case-folded, diacritics
  stripped and curly quotes/dashes made plain, so "Oekraine" matches "Oekraïne".
* :func:`bm25_tokens` gives the Dutch BM25 terms: folded words, stop words dropped,
  Snowball-stemmed.
* :func:`split_sentences` splits a paragraph into sentences that are exact substrings
  of it (needed for verbatim quotes).

Nothing here touches files or models.
"""

from __future__ import annotations

import datetime
import functools
import re
import unicodedata

#: Bump when any rule in this module changes; it is recorded in the index manifest,
#: so an index built with other rules is detected as stale.
NORMALISATION_VERSION = "nl-norm-5"

_LIGATURES = {
    "\ufb00": "ff",
    "\ufb01": "fi",
    "\ufb02": "fl",
    "\ufb03": "ffi",
    "\ufb04": "ffl",
    "\ufb05": "st",
    "\ufb06": "st",
    "\u0132": "IJ",
    "\u0133": "ij",
}
# Invisible characters that split words: soft hyphen, zero-width space/joiners, word
# joiner, BOM, and the bidi controls (LRM/RLM/embeddings/isolates).
_INVISIBLE = dict.fromkeys(
    [0x00AD, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x200E, 0x200F, 0x061C,
     *range(0x202A, 0x202F), *range(0x2066, 0x206A)],
    None,
)
_ANSI_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "`": "'",
        "\u00b4": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2012": "-",
        "\u2010": "-",
        "\u2011": "-",
        "\u2212": "-",
    }
)


def normalize(text: str, *, keep_newlines: bool = False) -> str:
    """Return display text: NFC, ligatures expanded, invisible/control characters removed.

    ANSI escape sequences and C0/C1 control characters (NUL included) are removed, so text
    from a document can never drive a terminal. Runs of spaces collapse to one; with
    ``keep_newlines`` line breaks survive (trailing spaces on each line are dropped),
    otherwise every whitespace run becomes one space. Leading/trailing space is stripped.
    """
    if not text:
        return ""
    text = _ANSI_ESCAPE.sub("", text)
    text = text.translate(_INVISIBLE)
    for lig, rep in _LIGATURES.items():
        if lig in text:
            text = text.replace(lig, rep)
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    text = _CONTROL.sub(" ", text)
    if keep_newlines:
        lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
        return "\n".join(lines).strip()
    return " ".join(text.split())


@functools.lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Return matching text: normalised, case-folded, diacritics and curly quotes made plain.

    ``fold("Oekraïne regio’s")`` gives ``"oekraine regio's"``. Decomposed input
    (e + U+0308) folds the same as precomposed input. Used by BM25, quote checks and eval
    gold matching; never shown to users.
    """
    text = normalize(text).translate(_QUOTES)
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.casefold()


def contains_folded(haystack: str, needle: str) -> bool:
    """True when ``needle`` occurs in ``haystack`` after :func:`fold` on both sides."""
    n = fold(needle)
    return bool(n) and n in fold(haystack)


# --- BM25 tokens -----------------------------------------------------------------------

_WORD = re.compile(r"[0-9]+(?:[.,][0-9]+)*[^\W\d_]*|[^\W_]+")

# Dutch function words (folded). From the Snowball Dutch stop list, plus question words
# that carry no topic ("hoeveel", "wanneer"...). Kept here rather than taken from bm25s
# because bm25s' Dutch list is not folded (it keeps "één", "zijn"/"zij'n").
_STOPWORD_TEXT = """
    aan al alle alles als altijd andere ben bij daar dan dat de der deze die dit doch doen door dus
    een eens en er ge geen geweest haar had heb hebben heeft hem het hier hij hoe hun iets ik in is
    ja je kan kon kunnen maar me meer men met mij mijn moet na naar niet niets nog nu of om omdat
    onder ons ook op over reeds te tegen toch toen tot u uit uw van veel voor want waren was wat
    werd wezen wie wil worden wordt zal ze zelf zich zij zijn zo zonder zou zouden welke welk
    wanneer waar waarom hoeveel hoelang wiens waarin waarover waarmee the a an of and or to is are
    was were what which who when where how why does did do in on for with by from at as be been this
    that these those it its
"""
DUTCH_STOPWORDS: frozenset[str] = frozenset(_STOPWORD_TEXT.split())


#: Snowball algorithm for BM25 terms (the default of :attr:`rag.settings.Settings.stemmer`)
DEFAULT_STEMMER = "dutch"


@functools.lru_cache(maxsize=1)
def _stemmer(algorithm: str = DEFAULT_STEMMER):  # type: ignore[no-untyped-def]
    import Stemmer  # PyStemmer: Snowball in C

    return Stemmer.Stemmer(algorithm)


def words(text: str) -> list[str]:
    """Folded word tokens of ``text`` (numbers keep their separators: "51.000")."""
    return _WORD.findall(fold(text))


def bm25_tokens(text: str, *, stemmer: str = DEFAULT_STEMMER) -> list[str]:
    """Return Dutch BM25 terms: folded words minus stop words, Snowball-stemmed.

    Numbers are kept whole ("51.000", "2023"); one-letter words are dropped.
    ``bm25_tokens("grensbelemmeringen") == bm25_tokens("grensbelemmering")``.
    Memoised per (text, stemmer): the same paragraphs come back question after question.
    """
    return list(_bm25_tokens(text, stemmer))


@functools.lru_cache(maxsize=65536)
def _bm25_tokens(text: str, stemmer: str) -> tuple[str, ...]:
    toks = [w for w in words(text) if w not in DUTCH_STOPWORDS and (len(w) > 1 or w.isdigit())]
    if not toks:
        return ()
    stem = _stemmer(stemmer).stemWords
    out: list[str] = []
    for w in toks:
        if w[0].isdigit():
            out.append(w)
        else:
            out.extend(stem([w]))
    return tuple(out)


#: a folded word ending in a single vowel and one consonant after a consonant ("culturel", "europes")
_SHORT_CLOSED = re.compile(r"[^aeiou][aeiou][^aeiou]$")
#: ... and in a doubled vowel and one consonant ("cultureel", "europees"; not "rooie" spellings)
_LONG_CLOSED = re.compile(r"(?:^|[^aeiou])([aeiou])\1[^aeiou]$")
_MIN_ADJECTIVE = 4


#: a word of a Dutch question at least this common in Dutch (wordfreq Zipf; 3 = once per million words)
#: is a word, not a typo: "heten" is not "heen", "leger" not "leer", "gemeten" not "gemeenten"
REAL_WORD_ZIPF = 3.0


@functools.lru_cache(maxsize=65536)
def dutch_zipf(word: str) -> float:
    """How common a folded word is in Dutch, on wordfreq's Zipf scale (0 = unknown, 3 = once per
    million words, 6 = once per thousand); wordfreq's bundled Dutch list, loaded on first use."""
    from wordfreq import zipf_frequency

    return float(zipf_frequency(word, "nl"))


def adjective_forms(word: str) -> tuple[str, ...]:
    """The other inflection of a folded Dutch adjective or demonym: base ↔ attributive "-e" form,
    with the spelling change of a long vowel before a single consonant ("cultureel" ↔ "culturele",
    "europees" ↔ "europese", "vlaams" ↔ "vlaamse", "duits" ↔ "duitse"). () for short words and
    words that end in a vowel other than "e". The Snowball stemmer keeps the two apart
    ("cultureel" vs "culturel"), so a name written in the other form would not be found."""
    if len(word) < _MIN_ADJECTIVE or not word.isalpha():
        return ()
    if word.endswith("e"):
        base = word[:-1]
        if _SHORT_CLOSED.search(base):
            return base, base[:-1] + base[-2] + base[-1]  # "culturel" (as stemmed) and "cultureel"
        return (base,) if base[-1] not in "aeiou" else ()
    if word[-1] in "aeiou":
        return ()
    if _LONG_CLOSED.search(word):
        return (word[:-2] + word[-1] + "e",)  # "cultureel" -> "culturele"
    return (word + "e",)


# --- sentences -------------------------------------------------------------------------

_ABBREV_END = re.compile(
    r"(?:(?:^|\s)(?:[a-zA-Z]{1,3}\.){2,3}|\b[A-Z]\.|\b[A-Z][a-z]?\.-[A-Z]\.|\b(?:art|nr|blz|dec|jan|feb|"
    r"aug|sept|okt|nov|mr|dr|prof|ir|ing|drs|mevr|mw|dhr|bijv|resp|incl|excl|ca|vs|St)\.)$"
)
#: a list item's marker on its own ("k.", "3.", "iv)") is where pysbd splits before a capital: no sentence
_LIST_MARKER = re.compile(r"^(?:[a-z]|\d{1,2}|[ivxlc]{1,5})[.)]$")
#: closing quotes or brackets that pysbd leaves at the start of the next piece ("… 2008).” 1) De …"):
#: they end the sentence before them
_LEADING_CLOSE = re.compile(r"^[\"”’'»)\]]+(?=\s|$)")


@functools.lru_cache(maxsize=1)
def _segmenter():  # type: ignore[no-untyped-def]
    import pysbd  # rule-based sentence boundary detection with Dutch rules

    return pysbd.Segmenter(language="nl", clean=False)


def _through(line: str, sentence: str, piece: str) -> str:
    """The span of ``line`` from ``sentence`` through the ``piece`` after it ("" when either is not
    found there): two pieces of pysbd's output joined as the text writes them."""
    start = line.find(sentence)
    end = line.find(piece, start + len(sentence)) if start >= 0 else -1
    return line[start : end + len(piece)] if end >= 0 else ""


def split_sentences(paragraph: str) -> tuple[str, ...]:
    """Split a paragraph into sentences, each an exact substring of ``paragraph``.

    Uses pysbd's Dutch rules, then re-joins splits after abbreviations ("dec. 2022",
    "Ch.-F. Nothomb", "mw. Berx"), after a list item's marker ("k. Design and Build-methode: …")
    and before a lower-case continuation; a closing quote or bracket that pysbd puts at the start
    of the next piece ("… 2008).” 1) De …") stays with the sentence it closes. Lines of a list (a paragraph
    holding newlines) are split at the newlines first. Returns at least one sentence for
    non-empty input, ``()`` for blank input.
    """
    if not paragraph.strip():
        return ()
    out: list[str] = []
    for line in paragraph.split("\n"):
        if not line.strip():
            continue
        pieces = [p.strip() for p in _segmenter().segment(line) if p.strip()]
        merged: list[str] = []
        for raw in pieces:
            piece = raw
            close = _LEADING_CLOSE.match(piece) if merged else None
            if close and (joined := _through(line, merged[-1], close.group(0))):
                merged[-1] = joined
                piece = piece[close.end():].strip()
                if not piece:
                    continue
            if (merged and (piece[:1].islower() or _ABBREV_END.search(merged[-1]) or _LIST_MARKER.match(merged[-1]))
                    and (joined := _through(line, merged[-1], piece))):
                merged[-1] = joined
                continue
            merged.append(piece)
        out.extend(s for s in merged if s in paragraph)
    return tuple(out) if out else (paragraph.strip(),)


#: the end of a sentence or line that ends one: . ! ? : ; possibly followed by a closing quote or bracket
SENTENCE_END = re.compile(r"[.!?:;][\"”’'»)\]]*$")
#: Dutch month names, January first (dates in headers, titles, the timeline and exports)
DUTCH_MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
                "oktober", "november", "december")


def ends_sentence(text: str) -> bool:
    """True when ``text`` ends as a sentence does (:data:`SENTENCE_END`); False for text cut off
    mid-sentence ("… ziet veel kansen in de grensov")."""
    return bool(SENTENCE_END.search(text.rstrip()))


def shown_name(name: str) -> str:
    """A file name fit for a terminal line: control, bidi and other invisible characters as escapes.

    An ESC character in the name is shown as the four characters backslash, x, 1, b; so a hostile
    corpus file name cannot drive the terminal through the build report or a staleness message.
    """
    return "".join(ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
                   for ch in name)


def dutch_date(date: str | None) -> str:
    """``2023-01-31`` → ``31 januari 2023``; ``2023-01`` → ``januari 2023``; ``2023`` → ``2023``;
    None or anything else → as given (None → "")."""
    if not date:
        return ""
    m = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", date.strip())
    if not m:
        return date
    year, month, day = m.group(1), m.group(2), m.group(3)
    if month and 1 <= int(month) <= len(DUTCH_MONTHS):
        name = DUTCH_MONTHS[int(month) - 1]
        return f"{int(day)} {name} {year}" if day else f"{name} {year}"
    return year


#: words of a press release that point at its own date ("Vandaag vond in Middelburg overleg plaats"):
#: "gisteren" is the day before the document's date, the others that date itself; not the Dutch
#: idioms in which "vandaag" means "nowadays" or "at any time": "vandaag de dag", "(van) vandaag en
#: morgen", "vandaag of morgen" ("de uitdagingen van vandaag en morgen" names no day)
_DEICTIC = re.compile(r"\b(vandaag|vanmiddag|vanavond|vanochtend|vanmorgen|vannacht|gisteren)\b"
                      r"(?!\s+de\s+dag\b)(?!\s+(?:en|of)\s+morgen\b)", re.IGNORECASE)


def deictic_note(sentence: str, document_date: str | None) -> str:
    """A note that dates a sentence's "vandaag" or "gisteren" by the date of its document ("vandaag:
    5 november 2018, de datum van het document"); "" when the sentence has none of these words or
    the document has no full date (``YYYY-MM-DD``). A quote of a press release says "Vandaag vond
    … plaats"; pasted into an article, it needs the day it was written."""
    m = _DEICTIC.search(sentence)
    if not m or not document_date:
        return ""
    try:
        day = datetime.date.fromisoformat(document_date)  # "2018-11" or "2018" raise ValueError
    except ValueError:
        return ""
    word = m.group(1).lower()
    if word == "gisteren":
        before = dutch_date((day - datetime.timedelta(days=1)).isoformat())
        return f"gisteren: {before}, de dag voor de datum van het document"
    return f"{word}: {dutch_date(document_date)}, de datum van het document"


def truncate(text: str, limit: int) -> tuple[str, bool]:
    """Cut ``text`` to at most ``limit`` characters at a word boundary; return (text, cut?)."""
    if len(text) <= limit:
        return text, False
    cut = text[:limit]
    space = cut.rfind(" ")
    if space > limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(), True


#: the white space after a sentence (or clause) ends, or a line break: where a kept part may begin,
#: and the sign that a text holds more than one sentence
SENTENCE_BREAK = re.compile(r"(?<=[.!?:;…])\s+|\n+")


#: the Dutch and English question words (a regular expression group, to use with ``\b`` after it)
QUESTION_WORDS = (r"(?:wat|wie|waar|wanneer|waarom|hoeveelste|hoeveel|welke|welk|hoe|what|who|where|when|why|how|"
                  r"which|klopt)")
#: a sentence that opens as a question does, also when its question mark was left out
_QUESTION_OPENING = re.compile(rf"(?:^|(?<=[.!;…\n])\s*)\s*(?:en\s+|and\s+)?{QUESTION_WORDS}\b[^.!?;…\n]*",
                               re.IGNORECASE)


#: the Dutch question words of five letters or more: one typing error away from one of them lies no
#: other word, so a non-word there is that question word misspelt ("Waneer", "hoevel", "wlke")
LONG_QUESTION_WORDS = ("wanneer", "waarom", "hoeveel", "hoeveelste", "welke")
#: a run of letters (no digits, no "_"): a word as typed
LETTERS = re.compile(r"[^\W\d_]+")
#: a swap changes two letters; a typed word shorter than this is not read as a question word
_SWAP, _MIN_QUESTION_TYPO = 2, 4


def one_edit_apart(a: str, b: str) -> bool:
    """Are ``a`` and ``b`` one typing error apart: one letter left out, added or changed, or two
    neighbouring letters swapped (Damerau–Levenshtein distance exactly 1)?"""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diff) == 1:
            return True
        if len(diff) != _SWAP:
            return False
        i, j = diff
        return j == i + 1 and a[i] == b[j] and a[j] == b[i]
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = next((k for k, (x, y) in enumerate(zip(short, long_, strict=False)) if x != y), len(short))
    return short[i:] == long_[i + 1:]


def fix_question_words(text: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """``text`` with each misspelt Dutch question word (:data:`LONG_QUESTION_WORDS`) written right,
    and the (typed, read as) pairs, folded. A word counts as misspelt when it is one typing error
    from exactly one of them (:func:`one_edit_apart`) and is no common word in Dutch or English
    (wordfreq Zipf below :data:`REAL_WORD_ZIPF`): "Waneer is het verdrag ondertekent?" →
    "Wanneer …", "en hoevel daarvan" → "en hoeveel daarvan"; "hoewel" and "were" stay. The
    question word decides the asked answer type and where a two-part question splits, and as a
    stop word it is left out of the corpus-based correction of :mod:`rag.retrieval`."""
    fixes: dict[str, str] = {}

    def one(m: re.Match[str]) -> str:
        typed = m.group(0)
        w = fold(typed)
        if len(w) < _MIN_QUESTION_TYPO or w in DUTCH_STOPWORDS or w in LONG_QUESTION_WORDS:
            return typed
        close = [q for q in LONG_QUESTION_WORDS if one_edit_apart(w, q)]
        if len(close) != 1:
            return typed
        from wordfreq import zipf_frequency  # only for a word one error from a question word

        if dutch_zipf(w) >= REAL_WORD_ZIPF or zipf_frequency(w, "en") >= REAL_WORD_ZIPF:
            return typed
        fixes[w] = close[0]
        return close[0].capitalize() if typed[:1].isupper() else close[0]

    fixed = LETTERS.sub(one, text)
    return fixed, tuple(fixes.items())


def question_part(text: str, limit: int) -> tuple[str, bool, bool]:
    """The part of an over-long input that holds its question, at most ``limit`` characters; returns
    (text, cut?, from the start?). A journalist pastes a preamble or an article and asks at the end:
    the last sentence that ends in "?" is kept, with as many whole sentences before it as fit. Text
    after that question mark (padding, a signature) goes. Without a question mark, the last sentence
    that opens with a question word ("Wanneer vond de top plaats") is the question, kept alone. Without either,
    or when the question alone is longer than ``limit``, the start is kept (:func:`truncate`), cut
    at a word."""
    if len(text) <= limit:
        return text, False, True
    end = text.rfind("?") + 1
    if end <= 0:
        opening = next(reversed(list(_QUESTION_OPENING.finditer(text))), None)
        if opening is None or opening.end() - opening.start() > limit:
            return truncate(text, limit)[0], True, True
        # the sentences before it cannot be told apart from the question without its "?" (see
        # rag.pipeline.asked_part), so the question sentence alone is kept
        return text[opening.start():opening.end()].strip(), True, opening.start() == 0
    start = max(0, end - limit)
    if start > 0:
        # begin at a sentence start, so the kept part does not open in the middle of a word
        boundary = SENTENCE_BREAK.search(text, start, end)
        if boundary is None:
            return truncate(text, limit)[0], True, True
        start = boundary.end()
    kept = text[start:end].strip()
    return kept, True, start == 0


_LINK_NOTE = re.compile(
    r"\s?\((?:[^()]{0,40}\b)?(?:opent in (?:een )?nieuw(?:e)? (?:venster|tabblad)|opens in (?:a )?new (?:window|tab)"
    r"|externe link|external link)\)", re.IGNORECASE)


#: the text an inline SVG icon leaves in a scraped page: its layer name and the drawing program's
#: signature ("Besluitenlijsten - 2021 t/m heden Path 4 Created with Sketch.")
_ICON_TITLE = re.compile(r"\s?(?:\b[A-Z][\w/-]*(?: \d+)? )?Created with (?:Sketch|Figma|Adobe Illustrator)\b\.?")


def strip_link_notes(text: str) -> str:
    """Remove a web page's notes on its links ("FietsRoadmap(PDF bestand opent in nieuw venster)"
    → "FietsRoadmap") and the titles of its icons ("… t/m heden Path 4 Created with Sketch." → "… t/m
    heden"): they describe the page's buttons, not the document, and break up sentences."""
    return _ICON_TITLE.sub("", _LINK_NOTE.sub("", text))


#: a chrome line is mostly the page title: at least this share of its words
CHROME_TITLE_SHARE = 0.25
_TRAIL_SEPARATOR = re.compile(r"\s(?:»|›|>|/)\s")
#: a breadcrumb trail has at least this many segments of at most this many words each
_MIN_TRAIL_SEGMENTS = 3
_MAX_TRAIL_SEGMENT_WORDS = 8
#: a page title shorter than this many words is too common to recognise chrome by
_MIN_CHROME_TITLE_WORDS = 3


def is_navigation(text: str) -> bool:
    """True for a web page's breadcrumb trail ("Info Burgers » Nieuws » Benelux … FietsRoadmap"):
    one line of two or more separators (» › > /) between short segments, no sentence end. It names
    where a page sits on its site, so it is no evidence for any answer."""
    if "\n" in text.strip() or text.rstrip().endswith((".", "?", "!", ":")):
        return False
    segments = _TRAIL_SEPARATOR.split(text.strip())
    return len(segments) >= _MIN_TRAIL_SEGMENTS and all(0 < len(s.split()) <= _MAX_TRAIL_SEGMENT_WORDS
                                                        for s in segments)


def is_page_chrome(text: str, title: str) -> bool:
    """True for a line of site chrome above a web page's heading that repeats the page title inside
    other short text ("Gedaan met laden. U bevindt zich op: <titel> Nieuwsberichten van …"): a
    breadcrumb or "you are here" line ends in the page's own title. ``title`` is the document
    title; a parenthesised tail ("(nieuwsbericht …, 6 december 2022)") is ignored."""
    core = fold(title.split(" (", 1)[0]).strip()
    folded = fold(text)
    if len(core.split()) < _MIN_CHROME_TITLE_WORDS or core not in folded or folded.strip() == core:
        return False
    return len(core.split()) >= CHROME_TITLE_SHARE * len(folded.split())


def has_letters_or_digits(text: str) -> bool:
    """True when ``text`` holds at least one letter or digit (in any script)."""
    return any(ch.isalnum() for ch in text)


def numbers_in(text: str) -> set[str]:
    """Numbers written in ``text``, separators removed: "51.000 inwoners in 2023" → {"51000", "2023"}."""
    return {re.sub(r"[.,\s]", "", m) for m in re.findall(r"\d+(?:[.,]\d{3})*(?:,\d+)?", text)}


#: Dutch words that point back to what was said before: demonstratives and personal pronouns, and
#: pronominal adverbs (daar/hier/er + preposition: "daaraan", "hiervoor", "ermee"). One lexicon for
#: a follow-up question (:mod:`rag.pipeline`) and for a sentence quoted without its referent
POINTING_BACK_WORDS = r"dat|dit|die|deze|daar|toen|hij|zij|ze|hun|hem|haar"
PRONOMINAL_ADVERBS = (r"(?:daar|hier|er)(?:aan|achter|bij|binnen|boven|buiten|door|in|langs|mee|na|naar|naast|om|"
                      r"onder|op|over|tegen|toe|tussen|uit|van|voor)")
#: a sentence opening that points back to the sentence before it ("Dat is een van de conclusies",
#: "Deze studie moet …", "Zij krijgen de taak …", "Daarom …", "Hiermee …")
_REFERS_BACK = re.compile(rf"^\W*(?:{POINTING_BACK_WORDS}|{PRONOMINAL_ADVERBS})\b", re.IGNORECASE)


def refers_back(sentence: str) -> bool:
    """True when ``sentence`` opens with a word that points back to the sentence before it, so a
    quote of it alone leaves the reader without its referent."""
    return bool(_REFERS_BACK.match(sentence))


def introduces_list(text: str) -> bool:
    """True when ``text`` ends in ":" (trailing space aside): "Deelnemers aan de top zijn:" introduces the
    list that follows. The one rule for a list intro, used by the corpus, the chunker and the answer stage."""
    return text.rstrip().endswith(":")


def quote_span(text: str, first: str, last: str, max_chars: int) -> str:
    """The span of ``text`` from the start of ``first`` to the end of the first ``last`` at or after it
    (both exact substrings), or "" when either is missing or the span is longer than ``max_chars``.
    One quote for several consecutive sentences of a passage, used by both answer paths."""
    start = text.find(first)
    end = text.find(last, start) if start >= 0 else -1
    span = text[start:end + len(last)] if start >= 0 and end >= 0 else ""
    return span if len(span) <= max_chars else ""
