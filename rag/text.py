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

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence

#: Bump when any rule in this module changes; it is recorded in the index manifest,
#: so an index built with other rules is detected as stale.
NORMALISATION_VERSION = "nl-norm-4"

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


@functools.lru_cache(maxsize=1)
def _stemmer(algorithm: str = "dutch"):  # type: ignore[no-untyped-def]
    import Stemmer  # PyStemmer: Snowball in C

    return Stemmer.Stemmer(algorithm)


def words(text: str) -> list[str]:
    """Folded word tokens of ``text`` (numbers keep their separators: "51.000")."""
    return _WORD.findall(fold(text))


def bm25_tokens(text: str, *, stemmer: str = "dutch") -> list[str]:
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


def content_terms(text: str, *, stemmer: str = "dutch") -> set[str]:
    """Set of :func:`bm25_tokens` of ``text``."""
    return set(bm25_tokens(text, stemmer=stemmer))


# --- sentences -------------------------------------------------------------------------

_ABBREV_END = re.compile(
    r"(?:(?:^|\s)(?:[a-zA-Z]{1,3}\.){2,3}|\b[A-Z]\.|\b[A-Z][a-z]?\.-[A-Z]\.|\b(?:art|nr|blz|dec|jan|feb|"
    r"aug|sept|okt|nov|mr|dr|prof|ir|ing|drs|mevr|mw|dhr|bijv|resp|incl|excl|ca|vs|St)\.)$"
)
#: a list item's marker on its own ("k.", "3.", "iv)") is where pysbd splits before a capital: no sentence
_LIST_MARKER = re.compile(r"^(?:[a-z]|\d{1,2}|[ivxlc]{1,5})[.)]$")


@functools.lru_cache(maxsize=1)
def _segmenter():  # type: ignore[no-untyped-def]
    import pysbd  # rule-based sentence boundary detection with Dutch rules

    return pysbd.Segmenter(language="nl", clean=False)


def split_sentences(paragraph: str) -> tuple[str, ...]:
    """Split a paragraph into sentences, each an exact substring of ``paragraph``.

    Uses pysbd's Dutch rules, then re-joins splits after abbreviations ("dec. 2022",
    "Ch.-F. Nothomb", "mw. Berx"), after a list item's marker ("k. Design and Build-methode: …")
    and before a lower-case continuation. Lines of a list (a paragraph
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
        for piece in pieces:
            if merged and (piece[:1].islower() or _ABBREV_END.search(merged[-1]) or _LIST_MARKER.match(merged[-1])):
                start = line.find(merged[-1])
                end = line.find(piece, start + len(merged[-1]))
                if start >= 0 and end >= 0:
                    merged[-1] = line[start : end + len(piece)]
                    continue
            merged.append(piece)
        out.extend(s for s in merged if s in paragraph)
    return tuple(out) if out else (paragraph.strip(),)


_SENTENCE_END = re.compile(r"[.!?:;…][\"”’'»)\]]*$")


def ends_sentence(text: str) -> bool:
    """True when ``text`` ends as a sentence does (. ! ? : ; … possibly followed by a closing quote
    or bracket); False for text cut off mid-sentence ("… ziet veel kansen in de grensov")."""
    return bool(_SENTENCE_END.search(text.rstrip()))


def shown_name(name: str) -> str:
    """A file name fit for a terminal line: control, bidi and other invisible characters as escapes.

    An ESC character in the name is shown as the four characters backslash, x, 1, b; so a hostile
    corpus file name cannot drive the terminal through the build report or a staleness message.
    """
    return "".join(ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
                   for ch in name)


def truncate(text: str, limit: int) -> tuple[str, bool]:
    """Cut ``text`` to at most ``limit`` characters at a word boundary; return (text, cut?)."""
    if len(text) <= limit:
        return text, False
    cut = text[:limit]
    space = cut.rfind(" ")
    if space > limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(), True


_LINK_NOTE = re.compile(
    r"\s?\((?:[^()]{0,40}\b)?(?:opent in (?:een )?nieuw(?:e)? (?:venster|tabblad)|opens in (?:a )?new (?:window|tab)"
    r"|externe link|external link)\)", re.IGNORECASE)


def strip_link_notes(text: str) -> str:
    """Remove a web page's notes on its links ("FietsRoadmap(PDF bestand opent in nieuw venster)"
    → "FietsRoadmap"): they describe the page's buttons, not the document, and break up sentences."""
    return _LINK_NOTE.sub("", text)


#: a chrome line is mostly the page title: at least this share of its words
CHROME_TITLE_SHARE = 0.25
_TRAIL_SEPARATOR = re.compile(r"\s(?:»|›|>|/)\s")


def is_navigation(text: str) -> bool:
    """True for a web page's breadcrumb trail ("Info Burgers » Nieuws » Benelux … FietsRoadmap"):
    one line of two or more separators (» › > /) between short segments, no sentence end. It names
    where a page sits on its site, so it is no evidence for any answer."""
    if "\n" in text.strip() or text.rstrip().endswith((".", "?", "!", ":")):
        return False
    segments = _TRAIL_SEPARATOR.split(text.strip())
    return len(segments) >= 3 and all(0 < len(s.split()) <= 8 for s in segments)


def is_page_chrome(text: str, title: str) -> bool:
    """True for a line of site chrome above a web page's heading that repeats the page title inside
    other short text ("Gedaan met laden. U bevindt zich op: <titel> Nieuwsberichten van …"): a
    breadcrumb or "you are here" line ends in the page's own title. ``title`` is the document
    title; a parenthesised tail ("(nieuwsbericht …, 6 december 2022)") is ignored."""
    core = fold(title.split(" (")[0]).strip()
    folded = fold(text)
    if len(core.split()) < 3 or core not in folded or folded.strip() == core:
        return False
    return len(core.split()) >= CHROME_TITLE_SHARE * len(folded.split())


def has_letters_or_digits(text: str) -> bool:
    """True when ``text`` holds at least one letter or digit (in any script)."""
    return any(ch.isalnum() for ch in text)


def numbers_in(text: str) -> set[str]:
    """Numbers written in ``text``, separators removed: "51.000 inwoners in 2023" → {"51000", "2023"}."""
    return {re.sub(r"[.,\s]", "", m) for m in re.findall(r"\d+(?:[.,]\d{3})*(?:,\d+)?", text)}


def join_lines(lines: Iterable[str]) -> str:
    """Join lines with single spaces after :func:`normalize` (no de-hyphenation here)."""
    return " ".join(s for s in (normalize(line) for line in lines) if s)


def unique(items: Sequence[str]) -> list[str]:
    """Items in first-seen order without duplicates."""
    seen: set[str] = set()
    out: list[str] = []
    for it in items:
        if it not in seen:
            seen.add(it)
            out.append(it)
    return out
