"""Corpus stage: files in ``corpus/`` → :class:`Document` objects made of sections and paragraphs.

Reads ``.txt``/``.md`` (with optional ``Bron:``/``Titel:``/``Datum:``/``Soort:``/``Status:``
header lines), ``.html`` (main text, via trafilatura) and, through :mod:`rag.readers`, ``.pdf``
(by its layout: line positions, fonts, columns, tables), ``.docx`` and ``.odt``.
Rebuilds the documents' own paragraphs from PDF-extracted text (reflow), joins words split
only by a line end while keeping real Dutch compound hyphens, recognises numbered sections,
lettered subsections, subtitles, treaty chapters/articles/annexes, and gives each paragraph a
stable id and a Dutch locator such as ``"2.b Lokale besturen, alinea 1"``.

A file that cannot be read is reported in :attr:`CorpusLoad.skipped` with a Dutch reason; the
other files still load. Run ``python -m rag.corpus`` to inspect the result by eye.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import contextvars
import datetime
import functools
import hashlib
import itertools
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from rag.errors import CorpusError, CorpusFileError
from rag.settings import DEFAULT_MAX_FILE_BYTES
from rag.text import (
    DUTCH_MONTHS,
    SENTENCE_END,
    dutch_zipf,
    fold,
    introduces_list,
    normalize,
    shown_name,
    strip_link_notes,
)

#: Bump when parsing rules change: recorded in the manifest so old indexes are rebuilt.
PARSER_VERSION = "corpus-17"

# --- thresholds of the readers and the structure rules (characters unless said otherwise) -------------
#: bytes below the space are control characters; tab, newline, form feed and carriage return are text
_FIRST_PRINTABLE = 0x20
_TEXT_CONTROLS = (9, 10, 12, 13)
_FIRST_NON_ASCII = 0x80
#: a header ("Titel: …") may follow at most this many blank lines
_MAX_BLANKS_BEFORE_HEADER = 3
#: the shortest word taken apart as a compound
_MIN_COMPOUND_CHARS = 6
#: a typeset document splits a word into a fragment at this many line ends, and a quarter of them at least
_TYPESET_MIN_FRAGMENTS = 3
_TYPESET_FRAGMENT_SHARE = 0.25
#: "industrie- en": the part before the hyphen has at least this many characters
_MIN_ELLIPSIS_STEM = 3
#: headings: any one-line heading, a numbered one ("2. Mobiliteit") and a lettered one ("b. Onderwijs")
_MAX_HEADING_CHARS = 160
_MAX_NUMBERED_HEADING_CHARS = 120
_MAX_LETTERED_HEADING_CHARS = 100
#: an unnumbered heading candidate: at most this long and this many words
_MAX_CANDIDATE_CHARS = 150
_MAX_CANDIDATE_WORDS = 20
#: a title in capitals of more than this many letters is put in sentence case
_MIN_SHOUTED_LETTERS = 3
#: PDF text with one printed line per line: enough lines, most followed by a blank line, the 90th
#: percentile of line widths in a printed column's range, most unterminated, many continued in lower case
_PDF_LAYOUT_MIN_LINES = 12
_PDF_BLANK_AFTER = 0.6
_PDF_LINE_CHARS = (45, 130)
_PDF_UNTERMINATED = 0.4
_PDF_CONTINUED = 0.25
#: a paragraph of PDF text ends at two trailing spaces or two blank lines, or a line short of the column
_LAYOUT_BREAK = 2
_SHORT_LINE_SHARE = 0.82
#: text whose 90th-percentile line is longer than this is one paragraph per line (not wrapped)
_UNWRAPPED_LINE_CHARS = 100
#: boilerplate: a short line repeated at least this often
_MAX_BOILERPLATE_CHARS = 120
_BOILERPLATE_REPEATS = 3
#: the first block is the title when it is at most this long
_MAX_TITLE_CHARS = 200
#: characters of a paragraph shown by ``python -m rag.corpus`` without --full
_SHOWN_CHARS = 160
SUPPORTED_SUFFIXES = (".txt", ".md", ".pdf", ".html", ".htm", ".docx", ".odt")
HEADER_KEYS = {
    "bron": "source",
    "source": "source",
    "titel": "title",
    "title": "title",
    "datum": "date",
    "date": "date",
    "soort": "kind",
    "status": "status",
}


@dataclass(frozen=True)
class Section:
    """A heading of a document: numbered section, lettered subsection, article, chapter...

    ``key`` is unique within the document and used in paragraph ids ("2.b", "art12");
    ``label`` is the Dutch display form ("2.b Lokale besturen", "Artikel 12 (Geschillen)");
    ``subtitle`` holds the line(s) printed under the heading, if any.
    """

    key: str
    kind: str
    number: str
    title: str
    label: str
    subtitle: str = ""
    parent_key: str = ""


@dataclass(frozen=True)
class Paragraph:
    """One paragraph as the document prints it (display text, normalised, reflowed).

    ``id`` is ``"<doc_id>#<section key>/p<n>"`` and does not change when other documents
    are added or removed. ``locator`` is Dutch, e.g. ``"2.b Lokale besturen, alinea 1"``.
    """

    id: str
    doc_id: str
    section_key: str
    section_label: str
    section_title: str
    number: int
    locator: str
    text: str
    article: str | None = None
    kind: str = "text"  # "text" or "table" (rows as "cel | cel | cel" lines)
    caption: str = ""  # a table's caption ("Tabel 1. ..."), used as embedding context


@dataclass(frozen=True)
class Document:
    """A loaded corpus file. ``content_hash`` is the sha256 of the file's bytes."""

    id: str
    title: str
    date: str | None
    source: str | None
    fragment: bool
    path: str
    content_hash: str
    kind: str | None
    sections: tuple[Section, ...]
    paragraphs: tuple[Paragraph, ...]
    pages: int = 0  # pages of a PDF (0 for other formats)
    unreadable_pages: tuple[int, ...] = ()  # 1-based PDF pages without a text layer

    @property
    def tables(self) -> int:
        """Number of table paragraphs."""
        return sum(1 for p in self.paragraphs if p.kind == "table")


class HeadingBlock(str):
    """A block that the text marks as a heading itself (Markdown "## Beheer", here "Beheer")."""


class TableBlock(str):
    """A block that is a table: rows as ``"cel | cel | cel"`` lines; ``caption`` may be empty."""

    caption: str = ""

    def __new__(cls, text: str, caption: str = "") -> TableBlock:
        """Make a table block from its row text and optional caption."""
        obj = super().__new__(cls, text)
        obj.caption = caption
        return obj


@dataclass(frozen=True)
class SkippedFile:
    """A corpus file that was not loaded, with the Dutch reason."""

    path: str
    reason: str


@dataclass(frozen=True)
class CorpusLoad:
    """Result of :func:`load_corpus`: loaded documents (sorted by id) and skipped files."""

    documents: tuple[Document, ...]
    skipped: tuple[SkippedFile, ...] = field(default_factory=tuple)
    #: files whose plain id (:func:`doc_id_for`) another file shares, with the distinct id each got
    renamed: tuple[RenamedFile, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class RenamedFile:
    """A file that got a distinct document id because another file would share its plain id."""

    path: str
    id: str
    reason: str


# --------------------------------------------------------------------------------------
# Reading files
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Raw:
    header: dict[str, str]
    body: str
    mode: str  # "text", "pdf-text" (PDF text layer, one line per printed line), "html" or "blocks"
    title_hint: str | None = None
    blocks: tuple[str, ...] = ()  # mode "blocks": paragraphs and headings already rebuilt (rag.readers)
    pages: int = 0
    unreadable_pages: tuple[int, ...] = ()


def list_corpus_files(corpus_dir: Path) -> list[Path]:
    """Supported files under ``corpus_dir`` (recursive, sorted; README.md and dotfiles skipped)."""
    if not corpus_dir.is_dir():
        raise CorpusError(f"Corpusmap niet gevonden: {corpus_dir}")
    out = []
    for p in sorted(corpus_dir.rglob("*")):
        rel = p.relative_to(corpus_dir)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES and p.name.lower() != "readme.md":
            out.append(p)
    return out


def corpus_fingerprint(corpus_dir: Path) -> tuple[str, dict[str, str]]:
    """Return (combined sha256, {relative path: sha256 of bytes}) of the corpus files.

    Cheap (hashes bytes only, no parsing), so the index can check staleness at start-up.
    Files that vanish while hashing are left out.
    """
    files: dict[str, str] = {}
    for p in list_corpus_files(corpus_dir):
        try:
            files[p.relative_to(corpus_dir).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
        except OSError:
            continue
    combined = hashlib.sha256()
    combined.update(PARSER_VERSION.encode())
    for rel, digest in sorted(files.items()):
        combined.update(f"{rel}\0{digest}\n".encode())
    return combined.hexdigest(), files


def _decode(data: bytes, name: str) -> str:
    if not data.strip():
        raise CorpusFileError(name, "leeg bestand")
    for bom, enc in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                     (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(enc)
            except UnicodeDecodeError as exc:
                raise CorpusFileError(name, f"ongeldige {enc.upper()}-tekst ({exc.reason})") from exc
    head = data[:65536]
    controls = sum(1 for b in head if b < _FIRST_PRINTABLE and b not in _TEXT_CONTROLS)
    if b"\x00" in head or controls > max(8, len(head) // 100):
        raise CorpusFileError(name, "binair bestand, geen tekst")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # UTF-8 with a few broken bytes stays UTF-8 (the bad bytes become U+FFFD) rather than
    # garbling every accented letter as Windows-1252
    lenient = data.decode("utf-8-sig", errors="replace")
    non_ascii = sum(1 for b in data if b >= _FIRST_NON_ASCII)
    if lenient.count("\ufffd") <= max(2, non_ascii // 100) and non_ascii > 2 * lenient.count("\ufffd"):
        return lenient
    try:  # Western-European legacy text: Windows-1252, else Latin-1 (never fails)
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _parse_header(text: str) -> tuple[dict[str, str], str]:
    lines = text.split("\n")
    header: dict[str, str] = {}
    i = 0
    while i < len(lines) and not lines[i].strip() and i < _MAX_BLANKS_BEFORE_HEADER:
        i += 1
    start = i
    while i < len(lines):
        m = re.match(r"^\s*([A-Za-z]+)\s*:\s*(.*?)\s*$", lines[i])
        if not m or m.group(1).lower() not in HEADER_KEYS:
            break
        header[HEADER_KEYS[m.group(1).lower()]] = m.group(2)
        i += 1
    if not header:
        return {}, text
    if i < len(lines) and lines[i].strip() and i == start:
        return {}, text
    return header, "\n".join(lines[i:])


_DUTCH_MONTHS = {m: i for i, m in enumerate(DUTCH_MONTHS, start=1)}
_STATED_DATE = re.compile(r"\b(\d{1,2})\s+(" + "|".join(_DUTCH_MONTHS) + r")\s+((?:19|20)\d\d)\b",
                          re.IGNORECASE)
#: characters at the start of a page's main text searched for a stated date
STATED_DATE_CHARS = 600


def stated_date(text: str) -> str | None:
    """The first full Dutch date written out near the top of ``text`` ("3 maart 2024" →
    ``"2024-03-03"``), or None. Never a guess: a bare year or month gives None."""
    for m in _STATED_DATE.finditer(text[:STATED_DATE_CHARS]):
        try:
            return datetime.date(int(m.group(3)), _DUTCH_MONTHS[m.group(2).lower()], int(m.group(1))).isoformat()
        except ValueError:
            continue
    return None


def _read_html(data: bytes, name: str) -> _Raw:
    html = _decode(data, name)
    import trafilatura  # imported here: only index builds read HTML

    text = trafilatura.extract(html, output_format="txt", include_comments=False,
                               include_tables=True, favor_recall=True) or ""
    if not text.strip():
        text = trafilatura.html2txt(html) or ""
    if not any(ch.isalnum() for ch in text):
        raise CorpusFileError(name, "geen leesbare hoofdtekst in de HTML")
    # extensive=False: only dates the markup states (meta tags, <time>, JSON-LD, ...); htmldate's
    # extensive search turns a bare year ("© 2024") into a guessed 2024-01-01 (issue 14)
    meta = trafilatura.extract_metadata(html, extensive=False)
    title = meta.title if meta is not None and meta.title else None
    date = (meta.date if meta is not None and meta.date else None) or stated_date(text)
    header = {"title": title} if title else {}
    if date:
        header["date"] = date
    body = "\n\n".join(line for line in text.split("\n") if line.strip())
    return _Raw(header, body, "html", title)


#: inline formatting tags left in markdown exports ("<sup> 1)</sup>"); anything else (a <script>) stays
#: as text, to be shown literally and never run
_FORMAT_TAGS = re.compile(r"</?(?:sup|sub|b|i|em|strong|u|small|br)\s*/?>", re.IGNORECASE)


def read_file(path: Path, name: str, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> _Raw:
    """Read one corpus file into header and body text; raise CorpusFileError with a Dutch reason."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise CorpusFileError(
                name,
                f"bestand te groot ({size / 1_048_576:.1f} MB; limiet {max_bytes / 1_048_576:.0f} MB, "
                "instelbaar met RAG_MAX_FILE_MB)",
            )
        suffix = path.suffix.lower()
        if suffix in (".pdf", ".docx", ".odt"):
            from rag import readers  # layout readers: only index builds need them

            return readers.read(path, name)
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise CorpusFileError(name, "bestand verdwenen tijdens het inlezen") from exc
    except PermissionError as exc:
        raise CorpusFileError(name, "geen leesrechten") from exc
    except IsADirectoryError as exc:
        raise CorpusFileError(name, "is een map, geen bestand") from exc
    if suffix in (".html", ".htm"):
        return _read_html(data, name)
    text = _FORMAT_TAGS.sub("", _decode(data, name))
    header, body = _parse_header(text.replace("\r\n", "\n").replace("\r", "\n"))
    if not any(ch.isalnum() for ch in body):
        raise CorpusFileError(name, "geen tekst na de kopregels")
    return _Raw(header, body, "text")


# --------------------------------------------------------------------------------------
# Line-end hyphens
# --------------------------------------------------------------------------------------

_ELLIPSIS_WORDS = {"en", "of", "tot", "noch", "als", "dan", "and", "or"}
_HYPHEN_PREFIXES = {"niet", "ex", "oud", "vice", "non", "co"}


def _is_dutch_word(word: str) -> bool:
    return dutch_zipf(word) > 0.0


@functools.lru_cache(maxsize=65536)
def _is_dutch_compound(word: str) -> bool:
    """True when ``word`` is a Dutch word or two Dutch words glued (with optional linking s)."""
    if _is_dutch_word(word):
        return True
    for i in range(3, len(word) - 2):
        left, right = word[:i], word[i:]
        if _is_dutch_word(right) and (_is_dutch_word(left) or (left.endswith("s") and _is_dutch_word(left[:-1]))):
            return True
    return False


@functools.lru_cache(maxsize=65536)
def _compound_splits(word: str) -> frozenset[int]:
    """Positions where ``word`` splits into a Dutch word (optional linking s) and a word or compound."""
    out = set()
    for i in range(3, len(word) - 2):
        left, right = word[:i], word[i:]
        if (_is_dutch_word(left) or (left.endswith("s") and _is_dutch_word(left[:-1]))) and (
                _is_dutch_word(right) or (len(right) >= _MIN_COMPOUND_CHARS and _compound_splits(right))):
            out.add(i)
    return frozenset(out)


_WORD_FORM = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")


@dataclass(frozen=True)
class HyphenEvidence:
    """What a document itself says about its line-end hyphens.

    ``forms``: its word forms (lower case) counted off line ends ("grensbelemmeringen" elsewhere
    in it means "grens-" + "belemmeringen" joins). ``hyphenated``: the document was hyphenated
    by a typesetter (at least three line ends split a word into a fragment, and such splits are
    at least a quarter of its line-end hyphens; a document that is not hyphenated has only real
    compounds such as "minister-presidenten" at its line ends); then a line-end hyphen between two Dutch words is
    a hyphenation point too, since Dutch writes compounds closed.
    """

    forms: Counter[str]
    hyphenated: bool


_EVIDENCE: contextvars.ContextVar[HyphenEvidence | None] = contextvars.ContextVar("hyphen_evidence", default=None)


def document_evidence(lines: Iterable[str]) -> HyphenEvidence:
    """Count the word forms of printed lines (in reading order) and decide whether the document
    was hyphenated; a line's last word is left out when it ends in "-"."""
    forms: Counter[str] = Counter()
    fragments = total = 0
    prev = ""
    for line in lines:
        if not line.strip():
            continue
        words = _WORD_FORM.findall(line.lower())
        m_prev = re.search(r"([^\W\d_]+)-\s*$", prev)
        m_next = re.match(r"\s*([^\W\d_]+)", line)
        if m_prev and m_next and m_next.group(1)[0].islower() and m_next.group(1).lower() not in _ELLIPSIS_WORDS:
            lw, rw = m_prev.group(1), m_next.group(1).lower()
            if not any(ch.isupper() for ch in lw[1:]):  # not after an acronym ("PFAS-")
                total += 1
                if not (_is_dutch_word(lw.lower()) and (_is_dutch_word(rw) or any(
                        _is_dutch_word(rw[:i]) and _is_dutch_word(rw[i:]) for i in range(4, len(rw) - 3)))):
                    fragments += 1  # "po-" + "litieke": not two words
        if words and re.search(r"[^\W\d_]-\s*$", line):
            words = words[:-1]
        forms.update(words)
        prev = line
    return HyphenEvidence(forms, fragments >= _TYPESET_MIN_FRAGMENTS and fragments >= _TYPESET_FRAGMENT_SHARE * total)


@contextlib.contextmanager
def hyphen_evidence(lines: Iterable[str]) -> Iterator[None]:
    """Within this block, :func:`join_line_end_hyphen` also weighs what the document of ``lines``
    (all of it, in reading order) says itself: see :class:`HyphenEvidence`."""
    token = _EVIDENCE.set(document_evidence(lines))
    try:
        yield
    finally:
        _EVIDENCE.reset(token)


def join_line_end_hyphen(left: str, right: str) -> str:
    """Join a word broken at a line end: ``left`` ends with "-", ``right`` starts the next line.

    Returns the joined text (left and right included). Dutch rules, decided with the wordfreq
    Dutch word list, never with a list of this corpus's words:

    * "industrie- en" (ellipsis before a conjunction) keeps hyphen and space, unless the joined
      form is a word and no compound follows the conjunction ("partij-" + "en die" → "partijen");
    * inside :func:`hyphen_evidence`, the form the document itself uses elsewhere wins
      ("grensbelemmeringen" or "minister-presidenten");
    * a hyphen before a capital or digit, or after an acronym/name stays ("Noord-Holland",
      "PFAS-gehalten", "Interreg-financiering");
    * a split inside one word is joined ("duurzaam-" + "heid" → "duurzaamheid"), also when the
      joined word is a compound whose longest first part ends elsewhere ("stik-" + "stofreductie");
    * a compound of two words stays hyphenated ("minister-presidenten", "nul-emissie").
    """
    m_left = re.search(r"(\S*?)([^\W\d_]*)-$", left)
    m_right = re.match(r"([^\W\d_]*)", right)
    lword = m_left.group(2) if m_left else ""
    rword = m_right.group(1) if m_right else ""
    keep = left + right
    if not lword or not rword:
        return keep
    joined = (lword + rword).lower()
    if (rword.lower() in _ELLIPSIS_WORDS and len(lword) >= _MIN_ELLIPSIS_STEM
            and (len(right) == len(rword) or not right[len(rword)].isalnum())):
        after = re.match(r"\s*([^\W\d_][\w-]*)", right[len(rword):])
        word_after = after.group(1) if after else ""
        if not _is_dutch_word(joined) or word_after[:1].isupper() or "-" in word_after or (
                len(word_after) >= _MIN_COMPOUND_CHARS and _compound_splits(word_after.lower())):
            return left + " " + right  # "industrie- en grondstoffenbeleid", "land- en tuinbouw"
    evidence = _EVIDENCE.get()
    if evidence is not None:
        closed, hyphenated = evidence.forms[joined], evidence.forms[f"{lword}-{rword}".lower()]
        if closed != hyphenated:
            return left[:-1] + right if closed > hyphenated else keep
    if rword[0].isupper() or any(ch.isupper() for ch in lword[1:]):
        return keep
    if _is_dutch_word(joined):
        return left[:-1] + right
    splits = _compound_splits(joined)
    if splits and len(lword) != max(splits):
        return left[:-1] + right  # "stik-" + "stofreductie": the hyphen is inside "stikstof"
    if evidence is not None and evidence.hyphenated:
        vowel_clash = lword[-1].lower() in "aeiou" and rword[0] in "aeiou"
        name = lword[0].isupper() and not _is_dutch_word(lword.lower())
        if not (vowel_clash or name or lword.lower() in _HYPHEN_PREFIXES):
            return left[:-1] + right  # typeset text: "klimaat-" + "regelgeving" is a hyphenation point
    if lword[0].isupper():
        return keep
    if lword.lower() in _HYPHEN_PREFIXES:
        return keep
    if _is_dutch_compound(lword.lower()) and _is_dutch_compound(rword.lower()):
        return keep
    if (lword[-1].lower() in "aeiou" and rword[0] in "aeiou") and _is_dutch_word(rword):
        return keep  # klinkerbotsing: "zee-egel", "na-apen"
    return left[:-1] + right


def join_lines(lines: Sequence[str]) -> str:
    """Join printed lines of one paragraph with spaces, repairing line-end hyphens.

    A soft hyphen (U+00AD) at a line end always joins the two parts.
    """
    out = ""
    soft = False
    for raw in lines:
        line = normalize(raw)
        if not line:
            continue
        if not out:
            out = line
        elif soft:
            out = out + line
        elif re.search(r"[^\W\d_]-$", out) and re.match(r"[^\W\d_]", line):
            head, _, last = out.rpartition(" ")
            joined = join_line_end_hyphen(last, line)
            out = f"{head} {joined}" if head else joined
        else:
            out = f"{out} {line}"
        soft = raw.rstrip().endswith("\u00ad")
    return out


# --------------------------------------------------------------------------------------
# Blocks: reflow of PDF text and blank-line paragraphs
# --------------------------------------------------------------------------------------

_TERMINAL = SENTENCE_END
_LIST_ITEM = re.compile(r"^(?:[a-z]\)|[a-z]\.|\d{1,2}°|\d{1,2}\)|\d{1,2}\.(?=\s)|[–•\-*·▪◦])\s*")
_NUMBERED = re.compile(r"^(\d{1,2})\.\s+(\S.*)$")
_LETTERED = re.compile(r"^([a-z])[.)]\s+(\S.*)$")
_ARTICLE = re.compile(r"^(?:Artikel|ARTIKEL|Art\.)\s+(\d+[a-z]?(?:\.\d+)?)\.?$")
_CHAPTER = re.compile(r"^(?:HOOFDSTUK|Hoofdstuk|HFST\.?|Titel|TITEL)\s+([IVXLC]+|\d+)\.?$")
_ANNEX = re.compile(r"^(?:BIJLAGE|Bijlage)\s+([A-Z]|[IVX]+|\d+)\.?$")
_PART = re.compile(r"^([IVX]{1,4})\.?$")


def _first_alpha_upper(text: str) -> bool:
    for ch in text:
        if ch.isalpha():
            return ch.isupper()
    return False


def _heading_kind(text: str) -> str | None:
    """Classify a one-line block as a heading kind, or None."""
    if "\n" in text or len(text) > _MAX_HEADING_CHARS or isinstance(text, TableBlock):
        return None
    if _ARTICLE.match(text):
        return "article"
    if _CHAPTER.match(text):
        return "chapter"
    if _ANNEX.match(text):
        return "annex"
    if _PART.match(text):
        return "part"
    m = _NUMBERED.match(text)
    if (m and len(text) <= _MAX_NUMBERED_HEADING_CHARS and not text.endswith((".", ";", ",", ":"))
            and _first_alpha_upper(m.group(2))):
        return "numbered"
    m = _LETTERED.match(text)
    if (m and len(text) <= _MAX_LETTERED_HEADING_CHARS and not re.search(r"[.;:,]\s*$", text)
            and _first_alpha_upper(m.group(2)) and ":" not in text):
        return "lettered"
    return None


def _is_candidate(text: str) -> bool:
    """A line that may be an unnumbered heading: short, no sentence end, not a list item."""
    if ("\n" in text or len(text) > _MAX_CANDIDATE_CHARS or not any(ch.isalpha() for ch in text)
            or isinstance(text, TableBlock)):
        return False
    if _TERMINAL.search(text) and not text.endswith("?"):
        return False
    if text.endswith(","):
        return False
    if _LIST_ITEM.match(text) or text.startswith("|"):
        return False
    return (len(text.split()) <= _MAX_CANDIDATE_WORDS and not text[:1].islower()
            and (_first_alpha_upper(text) or text[:2] in ("’s", "'s")))


@dataclass
class _Line:
    text: str
    lead: int
    trail: int
    blank_before: int
    blank_after: int


def _lines_with_layout(body: str) -> list[_Line]:
    raw = body.split("\n")
    out: list[_Line] = []
    blanks = 0
    for line in raw:
        if not line.strip():
            blanks += 1
            if out:
                out[-1].blank_after = blanks
            continue
        stripped = line.strip()
        out.append(_Line(stripped, len(line) - len(line.lstrip()), len(line) - len(line.rstrip()), blanks, 0))
        blanks = 0
    return out


def looks_like_pdf_layout(body: str) -> bool:
    """True when ``body`` is PDF text with one printed line per line (most lines unterminated,
    each followed by a blank line, widths clustered like a printed column)."""
    lines = _lines_with_layout(body)
    if len(lines) < _PDF_LAYOUT_MIN_LINES:
        return False
    lengths = sorted(len(ln.text) for ln in lines)
    p90 = lengths[int(0.9 * (len(lengths) - 1))]
    blank_after = sum(1 for ln in lines if ln.blank_after) / len(lines)
    unterminated = sum(1 for ln in lines if not _TERMINAL.search(ln.text)) / len(lines)
    continued = sum(1 for _, b in itertools.pairwise(lines) if b.text[:1].islower()) / len(lines)
    return (blank_after > _PDF_BLANK_AFTER and _PDF_LINE_CHARS[0] <= p90 <= _PDF_LINE_CHARS[1]
            and unterminated > _PDF_UNTERMINATED and continued > _PDF_CONTINUED)


def _reflow_pdf(body: str, blank_style: bool) -> list[str]:
    """Rebuild paragraphs from printed lines. Returns block texts (headings as own blocks)."""
    lines = [ln for ln in _lines_with_layout(body) if not re.fullmatch(r"\d{1,4}|[-–]\s*\d{1,4}\s*[-–]", ln.text)]
    if not lines:
        return []
    lengths = sorted(len(ln.text) for ln in lines)
    width = lengths[int(0.9 * (len(lengths) - 1))]
    blocks: list[str] = []
    cur: list[str] = []
    prev_ended = True  # did the previous line end a block?

    def flush() -> None:
        nonlocal cur
        if cur:
            blocks.append(join_lines(cur))
            cur = []

    for k, ln in enumerate(lines):
        nxt = lines[k + 1] if k + 1 < len(lines) else None
        text = ln.text
        if _heading_kind(text) and (prev_ended or len(text) < 0.7 * width):
            flush()
            blocks.append(normalize(text))
            prev_ended = True
            continue
        next_starts_block = nxt is None or not nxt.text[:1].islower()
        if (not cur and prev_ended and _is_candidate(text) and len(text) < 0.65 * width
                and next_starts_block):
            blocks.append(normalize(text))
            prev_ended = True
            continue
        cur.append(text)
        ends = False
        if nxt is None:
            ends = True
        elif blank_style and nxt.blank_before == 0 and nxt.lead > 0:
            ends = False  # a page break: the next printed line continues this paragraph
        elif nxt is not None and _heading_kind(nxt.text) and _TERMINAL.search(text):
            ends = True
        elif _TERMINAL.search(text):
            direct = blank_style and k > 0 and ln.blank_before == 0 and ln.lead == 0
            ends = (direct or ln.trail >= _LAYOUT_BREAK or ln.blank_after >= _LAYOUT_BREAK
                        or len(text) < _SHORT_LINE_SHARE * width)
        if ends:
            flush()
        prev_ended = ends
    flush()
    return blocks


#: a Markdown ATX heading: "# Titel", "## 2. Klimaat ##"
_ATX_HEADING = re.compile(r"^#{1,6}\s+(.+?)(?:\s+#+)?\s*$")


def _blank_line_blocks(body: str) -> list[str]:
    """Blocks separated by blank lines.

    Hard-wrapped text (most lines under ~100 characters) has its lines joined within a
    block; unwrapped text (one paragraph per line, as in web and law-text exports) keeps
    every line as its own block. Headings, list items and table rows always start a new
    line group; consecutive table rows stay together. A Markdown heading ("## Beheer") is a
    block of its own without its "#" marks.
    """
    lengths = sorted(len(ln.strip()) for ln in body.split("\n") if ln.strip())
    unwrapped = bool(lengths) and lengths[int(0.9 * (len(lengths) - 1))] > _UNWRAPPED_LINE_CHARS
    blocks: list[str] = []
    for chunk in re.split(r"\n\s*\n", body):
        groups: list[list[str]] = []
        headings: set[int] = set()  # the groups that are Markdown headings
        for ln in chunk.split("\n"):
            s = ln.strip()
            if not s:
                continue
            atx = _ATX_HEADING.match(s)
            if atx:  # a Markdown heading ("## Beheer") is a block of its own, without its marks
                headings.add(len(groups))
                groups.append([atx.group(1)])
                continue
            prev = groups[-1][-1].strip() if groups else ""
            if groups and len(groups) - 1 in headings:  # the text under a heading starts a new block
                groups.append([ln])
                continue
            if groups and s.startswith("|") and prev.startswith("|"):
                groups[-1].append(ln)
                continue
            starts_new = (not groups or unwrapped or bool(_LIST_ITEM.match(s)) or bool(_heading_kind(s))
                          or bool(_heading_kind(prev)) or s.startswith("|") or prev.startswith("|"))
            if starts_new:
                groups.append([ln])
            else:
                groups[-1].append(ln)
        for n, g in enumerate(groups):
            if n in headings:
                blocks.append(HeadingBlock(normalize(g[0])))
            elif g[0].strip().startswith("|"):
                blocks.append("\n".join(normalize(x) for x in g))
            else:
                blocks.append(join_lines(g))
    return blocks


def _merge_broken_blocks(blocks: list[str]) -> list[str]:
    """Re-join a paragraph split by a blank line mid-sentence ("duurzaam-" / "heid ...")."""
    out: list[str] = []
    for b in blocks:
        prev = out[-1] if out else ""
        hyphen_break = bool(re.search(r"[^\W\d_]-$", prev)) and b[:1].isalpha()
        if prev and (hyphen_break or b[:1].islower()) and not _heading_kind(prev) and not _heading_kind(b) \
                and not _TERMINAL.search(prev) and "\n" not in prev and not prev.startswith("|"):
            out[-1] = join_lines([out[-1], b])
        else:
            out.append(b)
    return out


def text_blocks(body: str, *, pdf_text: bool = False) -> list[str]:
    """Rebuild the blocks (paragraphs and heading lines) of a document body, in order.

    ``pdf_text``: text from a PDF text layer (one printed line per line). Otherwise PDF-like
    text with a blank line after every printed line is detected and reflowed; plain text is
    split at blank lines. Line-end hyphens are repaired in every mode.
    """
    with hyphen_evidence(body.split("\n")):
        if pdf_text:
            blocks = _reflow_pdf(body, blank_style=False)
        elif looks_like_pdf_layout(body):
            blocks = _reflow_pdf(body, blank_style=True)
        else:
            blocks = _blank_line_blocks(body)
        return _merge_broken_blocks(blocks)


# --------------------------------------------------------------------------------------
# Structure: headings, sections, paragraphs
# --------------------------------------------------------------------------------------

_RANK = {"top": -1, "part": 0, "chapter": 1, "annex": 1, "numbered": 1, "closing": 1, "article": 2, "lettered": 2,
         "generic": 3}
#: the formula that opens a treaty's signature block (Dutch treaty convention)
_CLOSING = re.compile(r"^(TEN BLIJKE WAARVAN|GEDAAN te|ONDERTEKEND te|Gedaan te)\b")


@dataclass
class _Heading:
    kind: str
    number: str
    title: str
    subtitle: str = ""
    key: str = ""


def _sentence_case(title: str) -> str:
    letters = [c for c in title if c.isalpha()]
    if len(letters) > _MIN_SHOUTED_LETTERS and all(c.isupper() for c in letters):
        return title[:1].upper() + title[1:].lower()
    return title


def _slug(text: str, limit: int = 40) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")
    return s[:limit].rstrip("-") or "x"


def _heading_label(h: _Heading) -> str:
    t = h.title
    if h.kind == "numbered":
        return f"{h.number}. {t}".strip()
    if h.kind == "lettered":
        return f"{h.number} {t}".strip()
    if h.kind == "article":
        return f"Artikel {h.number}" + (f" ({t})" if t else "")
    if h.kind == "chapter":
        return f"Hoofdstuk {h.number}" + (f" ({t})" if t else "")
    if h.kind == "annex":
        return f"Bijlage {h.number}" + (f" ({t})" if t else "")
    if h.kind == "part":
        return f"{h.number} {t}".strip()
    return t


def _shorten(text: str, words: int = 6) -> str:
    parts = text.split()
    return text if len(parts) <= words else " ".join(parts[:words]) + " …"


def _title_matches(block: str, title: str) -> bool:
    b, t = fold(block).strip(" .\"'"), fold(title)
    if not b:
        return False
    b2 = re.sub(r"[^a-z0-9]+", " ", b).strip()
    t2 = re.sub(r"[^a-z0-9]+", " ", t).strip()
    return b2 in t2 or t2 in b2


def _merge_lists(blocks: list[str]) -> list[str]:
    """Attach list items to the paragraph that introduces them (ending with ':')."""
    out: list[str] = []
    marker = ""  # kind of list marker of the list being collected ("" = none)
    for b in blocks:
        if isinstance(b, TableBlock) or (out and isinstance(out[-1], TableBlock)):
            marker = ""
            out.append(b)
            continue
        m = _LIST_ITEM.match(b)
        kind = _marker_kind(m.group(0)) if m and not _heading_kind(b) else ""
        if out and kind and marker and kind == "symbol" and marker != "symbol":
            out[-1] = out[-1] + "\n" + b  # a dash item nested in a lettered or numbered list
            continue
        if out and kind and ((marker and kind == marker) or (not marker and introduces_list(out[-1]))):
            out[-1] = out[-1] + "\n" + b
            marker = kind
            continue
        marker = ""
        out.append(b)
    return out


def _marker_kind(marker: str) -> str:
    m = marker.strip()
    if re.fullmatch(r"[a-z][.)]", m):
        return "letter"
    if re.fullmatch(r"\d{1,2}[.)°]", m):
        return "number"
    return "symbol"


#: the heading kinds whose line is only a marker and a number ("Artikel 3", "HOOFDSTUK I", "Bijlage A", "II")
_BARE_HEADINGS = {"article": _ARTICLE, "chapter": _CHAPTER, "annex": _ANNEX, "part": _PART}
#: key prefixes of the heading kinds whose key is the prefix plus the (lower-cased) number
_KEY_PREFIXES = {"article": "art", "chapter": "hfst", "annex": "bijlage-", "part": "deel-"}
#: heading kinds whose key is scoped by the enclosing part or top heading (article numbers may restart)
_SCOPED = ("article", "chapter", "generic", "annex", "closing")
#: a run of this many short candidate lines (or more) is a list, not a heading with a subtitle
_LIST_RUN = 3
#: a block between a numbered section and its first lettered subsection up to this long is the subtitle
_MAX_SUBTITLE_CHARS = 250


def _parse_heading(kind: str, block: str) -> tuple[str, str]:
    """(number, title) of a heading line of ``kind`` (see :func:`_heading_kind`); the title is "" for a
    bare heading ("Artikel 3")."""
    bare = _BARE_HEADINGS.get(kind)
    if bare is not None:
        return bare.match(block).group(1), ""  # type: ignore[union-attr]
    m = (_NUMBERED if kind == "numbered" else _LETTERED).match(block)
    return m.group(1), m.group(2).strip()  # type: ignore[union-attr]


def _drop_boilerplate(blocks: list[str]) -> list[str]:
    """Without blocks that hold no letter and without short lines repeated three or more times (page and
    article boilerplate such as "Terug naar boven"), unless they are headings or table rows."""
    counts = Counter(b for b in blocks if "\n" not in b and len(b) <= _MAX_BOILERPLATE_CHARS)
    return [b for b in blocks if any(ch.isalpha() for ch in b)
            and not (counts[b] >= _BOILERPLATE_REPEATS and not _heading_kind(b) and not b.startswith("|"))]


def _front_matter(blocks: list[str], title: str) -> tuple[list[str], list[str]]:
    """(title page, the rest): the unnumbered short lines before the first text or heading form the
    title page; repeats of the document title among them are dropped."""
    front: list[str] = []
    i = 0
    while i < len(blocks) and not _heading_kind(blocks[i]):
        b = blocks[i]
        if _title_matches(b, title) and not b.endswith("."):
            i += 1
        elif isinstance(b, HeadingBlock):  # the text's own heading opens the body
            break
        elif _is_candidate(b):
            front.append(b)
            i += 1
        else:
            break
    return front, blocks[i:]


class _StructureBuilder:
    """Sections and paragraphs of one document, built block by block (:meth:`feed`).

    The state is explicit: ``stack`` holds the open headings, outermost first (a heading closes every
    open heading of the same or a deeper rank, :data:`_RANK`); ``sections`` maps keys to sections;
    ``counters`` numbers the paragraphs per section key and ``used_keys`` makes keys unique ("~2")."""

    def __init__(self, doc_id: str, has_articles: bool) -> None:
        self.doc_id = doc_id
        self.has_articles = has_articles
        self.sections: dict[str, Section] = {}
        self.paragraphs: list[Paragraph] = []
        self.stack: list[_Heading] = []
        self.counters: Counter[str] = Counter()
        self.used_keys: Counter[str] = Counter()

    # --- where we are ---------------------------------------------------------------------

    def current_key(self) -> str:
        """Key of the innermost open section ("preambule" / "inleiding" before the first heading)."""
        return self.stack[-1].key if self.stack else ("preambule" if self.has_articles else "inleiding")

    def current_label(self) -> str:
        """Dutch label of the innermost open section, with the part or top heading (and, for an
        unnumbered heading, its numbered parent) in front: "II Artikelsgewijze bespreking – Artikel 1"."""
        stack = self.stack
        if not stack:
            return "Preambule" if self.has_articles else "Inleiding"
        deepest = stack[-1]
        label = _heading_label(deepest)
        if deepest.kind == "lettered":
            num = self._enclosing_number()
            label = f"{num}.{label}" if num else label
        prefix = [h for h in stack[:-1] if h.kind in ("top", "part")]
        if (deepest.kind == "generic" and len(stack) > 1
                and stack[-2].kind in ("numbered", "lettered", "chapter", "annex")):
            prefix = [*prefix, stack[-2]]
        parts = [_shorten(_heading_label(h)) if h.kind == "top" else _heading_label(h) for h in prefix]
        return " – ".join([*parts, label])

    def _enclosing_number(self) -> str:
        return next((h.number for h in reversed(self.stack) if h.kind == "numbered"), "")

    # --- headings and sections ------------------------------------------------------------------

    def _key_base(self, h: _Heading) -> str:
        if h.kind == "numbered":
            return h.number
        if h.kind == "lettered":
            num = self._enclosing_number()
            return f"{num}.{h.number}" if num else h.number
        if h.kind in _KEY_PREFIXES:
            return _KEY_PREFIXES[h.kind] + h.number.lower()
        if h.kind == "closing":
            return "ondertekening"
        return _slug(h.title)

    def push(self, h: _Heading) -> None:
        """Open heading ``h``: close the open headings of its rank or deeper, give it a unique key."""
        rank = _RANK[h.kind]
        while self.stack and _RANK[self.stack[-1].kind] >= rank:
            self.stack.pop()
        base = self._key_base(h)
        if h.kind in _SCOPED:
            scope = next((x.key for x in reversed(self.stack) if x.kind in ("part", "top")), "")
            base = f"{scope}/{base}" if scope else base
        self.used_keys[base] += 1
        h.key = base if self.used_keys[base] == 1 else f"{base}~{self.used_keys[base]}"
        self.stack.append(h)

    def save_section(self) -> None:
        """Record the innermost open heading as a :class:`Section` (after its title and subtitle are known)."""
        if not self.stack:
            return
        h = self.stack[-1]
        parent = self.stack[-2].key if len(self.stack) > 1 else ""
        self.sections[h.key] = Section(h.key, h.kind, h.number, h.title, self.current_label(), h.subtitle, parent)

    # --- paragraphs ---------------------------------------------------------------------------

    def add_paragraph(self, text: str, key: str | None = None, label: str | None = None, title: str = "",
                      kind: str = "text", caption: str = "") -> None:
        """Append a paragraph to section ``key`` (default: the current one), numbered within it."""
        key = key or self.current_key()
        label = label or self.current_label()
        self.counters[key] += 1
        n = self.counters[key]
        article = (next((h.number for h in reversed(self.stack) if h.kind == "article"), None)
                   if key == self.current_key() else None)
        sec_title = title or (self.stack[-1].title if self.stack else label)
        self.paragraphs.append(Paragraph(
            id=f"{self.doc_id}#{key}/p{n}", doc_id=self.doc_id, section_key=key, section_label=label,
            section_title=sec_title, number=n, locator=f"{label}, alinea {n}", text=text, article=article,
            kind=kind, caption=caption,
        ))

    def add_list(self, items: str) -> None:
        """A list of short lines: joined to the paragraph before it when that introduces it in the same
        section ("Nederland:" + the ministers under it: one paragraph, citable as a whole), else its own."""
        last = self.paragraphs[-1] if self.paragraphs else None
        if last is not None and last.section_key == self.current_key() and introduces_list(last.text):
            self.paragraphs[-1] = replace(last, text=f"{last.text}\n{items}")
        else:
            self.add_paragraph(items)

    # --- one step -------------------------------------------------------------------------------

    def feed(self, blocks: list[str], k: int) -> int:
        """Take ``blocks[k]`` (and the blocks it owns: a heading's title and subtitle, a run of short
        lines); return the index of the next block to feed."""
        b = blocks[k]
        if isinstance(b, TableBlock):  # a table is one paragraph of its own, never a heading or list
            self.add_paragraph(str(b), kind="table", caption=b.caption)
            return k + 1
        kind = _heading_kind(b)
        if kind:
            return self._heading(blocks, k, kind)
        if isinstance(b, HeadingBlock):  # marked as a heading by the text itself, whatever its length
            self.push(_Heading("generic", "", _sentence_case(str(b))))
            self.save_section()
            return k + 1
        if _is_candidate(b) and k + 1 < len(blocks):
            return self._candidate_run(blocks, k)
        if self.has_articles and _CLOSING.match(b) and not (self.stack and self.stack[-1].kind == "closing"):
            self.push(_Heading("closing", "", "Ondertekening"))  # the signature block is not part of the last article
            self.save_section()
        self.add_paragraph(b)
        return k + 1

    def _heading(self, blocks: list[str], k: int, kind: str) -> int:
        number, ttl = _parse_heading(kind, blocks[k])
        self.push(_Heading(kind, number, _sentence_case(ttl)))
        nxt = blocks[k + 1] if k + 1 < len(blocks) else None
        # title line under a bare "Artikel 3" / "HOOFDSTUK I" / "Bijlage A" / "II"
        if not ttl and nxt is not None and _is_candidate(nxt) and not _heading_kind(nxt):
            self.stack[-1].title = _sentence_case(nxt)
            k += 1
            nxt = blocks[k + 1] if k + 1 < len(blocks) else None
        # subtitle: a candidate line right under the heading, or (for a numbered
        # section) a short text block directly followed by its first lettered subsection
        if nxt is not None and not _heading_kind(nxt):
            after = blocks[k + 2] if k + 2 < len(blocks) else None
            is_sub = (_is_candidate(nxt) and after is not None and not _is_candidate(after)) or (
                kind == "numbered" and after is not None and _heading_kind(after) == "lettered"
                and len(nxt) <= _MAX_SUBTITLE_CHARS)
            if is_sub:
                self.stack[-1].subtitle = nxt
                k += 1
        self.save_section()
        return k + 1

    def _candidate_run(self, blocks: list[str], k: int) -> int:
        # run of candidate lines: 3+ is a list, otherwise a heading (+ subtitle)
        run = 1
        while k + run < len(blocks) and _is_candidate(blocks[k + run]) and not _heading_kind(blocks[k + run]):
            run += 1
        after_run = blocks[k + run] if k + run < len(blocks) else None
        if run >= _LIST_RUN or after_run is None:
            self.add_list("\n".join(blocks[k:k + run]))
            return k + run
        top = self.has_articles and after_run is not None and _heading_kind(after_run) in ("part", "chapter")
        self.push(_Heading("top" if top else "generic", "", blocks[k]))
        if run == _LIST_RUN - 1:
            self.stack[-1].subtitle = blocks[k + 1]
        self.save_section()
        return k + run

    def result(self) -> tuple[tuple[Section, ...], tuple[Paragraph, ...]]:
        """The sections (every paragraph's key has one) and the paragraphs, in document order."""
        for p in self.paragraphs:
            if p.section_key not in self.sections:
                self.sections[p.section_key] = Section(p.section_key, "intro", "", p.section_label, p.section_label)
        return tuple(self.sections.values()), tuple(self.paragraphs)


def structure(doc_id: str, title: str, blocks: list[str]) -> tuple[tuple[Section, ...], tuple[Paragraph, ...]]:
    """Turn ordered blocks into sections and numbered paragraphs with stable ids and locators.

    Boilerplate is dropped, the title page split off, list items attached to their intro
    (:func:`_merge_lists`); then :class:`_StructureBuilder` takes the blocks one by one."""
    blocks = _drop_boilerplate(blocks)
    has_articles = any(_heading_kind(b) == "article" for b in blocks)
    front, blocks = _front_matter(blocks, title)
    blocks = _merge_lists(blocks)
    builder = _StructureBuilder(doc_id, has_articles)
    if front:
        builder.add_paragraph("\n".join(front), key="titelblad", label="Titelblad", title="Titelblad")
    k = 0
    while k < len(blocks):
        k = builder.feed(blocks, k)
    return builder.result()


# --------------------------------------------------------------------------------------
# Documents and corpus
# --------------------------------------------------------------------------------------


def _slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")


def _rel(path: Path, corpus_dir: Path) -> str:
    return path.relative_to(corpus_dir).as_posix()


def doc_id_for(path: Path, corpus_dir: Path) -> str:
    """Stable document id: the path relative to the corpus, without suffix, slugified."""
    rel = path.relative_to(corpus_dir).with_suffix("").as_posix()
    return _slugify(rel) or "document"


def document_ids(paths: Iterable[Path], corpus_dir: Path,
                 previous: Mapping[str, str] | None = None) -> dict[Path, str]:
    """A distinct, stable id for every file in ``paths``.

    Normally :func:`doc_id_for`. Files whose ids would be equal (``dubbel.txt`` next to
    ``dubbel.md``, or two names that differ only in non-Latin characters, ``документ.txt`` and
    ``文件.txt``) keep their suffix in the id (``dubbel-txt``, ``dubbel-md``); when that is still
    not enough, 8 hex digits of the sha1 of the relative path are added (``document-txt-1a2b3c4d``).
    The id depends only on the file's own path and on which files share its plain id, except that
    a file that had the plain id in the previous build (``previous``: relative path → id) keeps it
    when a new file with the same plain id arrives: its links and filters stay valid."""
    paths = list(paths)
    base = {p: doc_id_for(p, corpus_dir) for p in paths}
    counts = Counter(base.values())
    had = {p for p in paths if previous and previous.get(_rel(p, corpus_dir)) == base[p]}
    holders = Counter(base[p] for p in had)
    ids: dict[Path, str] = {}
    for p in paths:
        keeps = counts[base[p]] == 1 or (p in had and holders[base[p]] == 1)
        ids[p] = base[p] if keeps else f"{base[p]}-{_slugify(p.suffix) or 'bestand'}"
    counts = Counter(ids.values())
    for p in paths:
        if counts[ids[p]] > 1:
            rel = p.relative_to(corpus_dir).as_posix()
            ids[p] = f"{ids[p]}-{hashlib.sha1(rel.encode('utf-8', 'surrogateescape')).hexdigest()[:8]}"
    return ids


def load_document(path: Path, corpus_dir: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES,
                  doc_id: str | None = None) -> Document:
    """Load one file into a :class:`Document`; raises CorpusFileError with a Dutch reason.
    ``doc_id`` overrides :func:`doc_id_for` (see :func:`document_ids`)."""
    name = path.relative_to(corpus_dir).as_posix()
    raw = read_file(path, name, max_bytes)
    try:
        content_hash = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise CorpusFileError(name, "bestand verdwenen tijdens het inlezen") from exc
    blocks = list(raw.blocks) if raw.mode == "blocks" else text_blocks(raw.body, pdf_text=raw.mode == "pdf-text")
    blocks = [b if isinstance(b, TableBlock) else type(b)(strip_link_notes(b)) for b in blocks]
    title = normalize(raw.header.get("title") or raw.title_hint or "")
    if not title:
        first = next((b for b in blocks if b.strip()), "")
        # the file name is untrusted text too: normalise it (no control/ANSI characters in titles)
        title = (first.split("\n")[0][:_MAX_TITLE_CHARS] if first and len(first) <= _MAX_TITLE_CHARS
                 else normalize(path.stem.replace("-", " ")) or doc_id_for(path, corpus_dir))
    doc_id = doc_id or doc_id_for(path, corpus_dir)
    sections, paragraphs = structure(doc_id, title, blocks)
    if not paragraphs:
        raise CorpusFileError(name, "geen alinea's gevonden")
    status = raw.header.get("status", "")
    return Document(
        id=doc_id,
        title=title,
        date=normalize(raw.header["date"]) if raw.header.get("date") else title_date(title),
        source=normalize(raw.header["source"]).split(" ")[0] if raw.header.get("source") else None,
        fragment="fragment" in status.lower(),
        path=name,
        content_hash=content_hash,
        kind=document_kind(raw.header.get("kind"), title),
        sections=sections,
        paragraphs=paragraphs,
        pages=raw.pages,
        unreadable_pages=raw.unreadable_pages,
    )


def title_date(title: str) -> str | None:
    """The date a title states in its closing parenthesis ("Beleidsplan … goedgekeurd (15 juni 2020)"
    → "2020-06-15"), the convention of news and press pages; None otherwise. A date elsewhere in
    the title is what the document is about, not when it was written, and gives None."""
    m = re.search(r"\(([^()]*)\)\s*$", title)
    return stated_date(m.group(1)) if m else None


#: kinds of document recognised in a title, most specific first (a "persbericht over een verdrag"
#: is a persbericht): the fallback when a file has no ``Soort:`` header, e.g. an uploaded file
KIND_CUES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("kamerbrief", ("kamerbrief", "kamerstuk", "brief van")),
    ("parlementaire vraag", ("parlement", "commissieverslag")),
    ("persbericht", ("persbericht", "perstekst")),
    ("nieuwsbericht", ("nieuwsbericht", "nieuws")),
    ("aankondiging", ("aankondiging",)),
    ("slotverklaring", ("slotverklaring",)),
    ("gezamenlijke verklaring", ("gezamenlijke verklaring",)),
    ("communiqué", ("communiqué", "communique")),
    ("intentieverklaring", ("intentieverklaring",)),
    ("verdrag", ("verdrag",)),
)


def document_kind(header: str | None, title: str) -> str | None:
    """The document's kind, lower case: the ``Soort:`` header up to any parenthesis
    ("slotverklaring (tekst uit pdf …)" → "slotverklaring"), else the first :data:`KIND_CUES`
    kind whose cue opens a word of the title, else None."""
    if header and normalize(header).split("(")[0].strip():
        return normalize(header).split("(")[0].strip().lower()
    low = fold(title)
    for kind, cues in KIND_CUES:
        if any(re.search(r"\b" + re.escape(fold(c)), low) for c in cues):
            return kind
    return None


def load_corpus(corpus_dir: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES,
                files: Iterable[Path] | None = None, previous_ids: Mapping[str, str] | None = None) -> CorpusLoad:
    """Load every supported file under ``corpus_dir``; ``previous_ids`` (relative path → document
    id of the previous build) keeps ids stable when a colliding file is added (:func:`document_ids`).

    Returns documents sorted by id plus the skipped files with Dutch reasons. Raises
    CorpusError only when the folder is missing; an empty or fully broken corpus gives an
    empty ``documents`` tuple (the index stage decides what to do with that).
    """
    docs: list[Document] = []
    skipped: list[SkippedFile] = []
    seen: set[str] = set()
    paths = list(files) if files is not None else list_corpus_files(corpus_dir)
    ids = document_ids(paths, corpus_dir, previous_ids)
    for path in paths:
        name = path.relative_to(corpus_dir).as_posix()
        try:
            doc = load_document(path, corpus_dir, max_bytes, doc_id=ids[path])
        except CorpusFileError as exc:
            skipped.append(SkippedFile(exc.path, exc.reason))
            continue
        except Exception as exc:  # any other failure of one file skips that file only (issue 14)
            detail = " ".join(str(exc).split())[:200]
            why = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
            skipped.append(SkippedFile(name, f"onleesbaar bestand ({why})"))
            continue
        if doc.id in seen:
            skipped.append(SkippedFile(name, f"zelfde document-id als een ander bestand ({doc.id})"))
            continue
        seen.add(doc.id)
        docs.append(doc)
    plain: dict[str, list[str]] = {}
    for path in paths:
        plain.setdefault(doc_id_for(path, corpus_dir), []).append(path.relative_to(corpus_dir).as_posix())
    renamed = []
    for doc in docs:
        base = doc_id_for(corpus_dir / doc.path, corpus_dir)
        if doc.id != base:
            others = ", ".join(shown_name(o) for o in plain[base] if o != doc.path)
            renamed.append(RenamedFile(doc.path, doc.id, f"eigen document-id {doc.id}: {base} hoort ook bij {others}"))
    return CorpusLoad(tuple(sorted(docs, key=lambda d: d.id)), tuple(skipped),
                      tuple(sorted(renamed, key=lambda r: r.path)))


# --------------------------------------------------------------------------------------
# Command line: python -m rag.corpus
# --------------------------------------------------------------------------------------


def document_to_json(doc: Document) -> dict[str, object]:
    """A document's metadata, sections and paragraphs (with ids and locators) as a JSON-ready dict."""
    return {
        "id": doc.id, "title": doc.title, "date": doc.date, "source": doc.source, "path": doc.path,
        "kind": doc.kind, "fragment": doc.fragment, "pages": doc.pages,
        "unreadable_pages": list(doc.unreadable_pages), "tables": doc.tables,
        "sections": [{"key": s.key, "kind": s.kind, "number": s.number, "title": s.title, "label": s.label,
                      "subtitle": s.subtitle, "parent_key": s.parent_key} for s in doc.sections],
        "paragraphs": [{"id": p.id, "section_key": p.section_key, "locator": p.locator, "kind": p.kind,
                        "caption": p.caption, "article": p.article, "text": p.text} for p in doc.paragraphs],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m rag.corpus [--corpus DIR] [--show DOC [--json]]``: print the structure for checking."""
    parser = argparse.ArgumentParser(prog="python -m rag.corpus",
                                     description="Toon documenten, secties en alinea's van het corpus.")
    parser.add_argument("--corpus", type=Path, default=Path("corpus"), help="corpusmap (standaard: corpus)")
    parser.add_argument("--show", metavar="DOC", help="toon de alinea's van dit document (id of deel ervan)")
    parser.add_argument("--full", action="store_true", help="met --show: volledige alineatekst")
    parser.add_argument("--json", action="store_true", help="met --show: secties, alinea's en locators als JSON")
    args = parser.parse_args(argv)
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    try:
        load = load_corpus(args.corpus)
    except CorpusError as exc:
        print(f"fout: {exc}", file=sys.stderr)
        return 2
    if args.show:
        matches = [d for d in load.documents if args.show in d.id]
        if not matches:
            print(f"fout: geen document met '{args.show}' in de id", file=sys.stderr)
            return 2
        doc = matches[0]
        if args.json:
            import json

            print(json.dumps(document_to_json(doc), ensure_ascii=False, indent=1))
            return 0
        console.print(f"[bold]{escape(doc.title)}[/bold] ({doc.id}, {doc.date or 'geen datum'})")
        for s in doc.sections:
            if s.subtitle:
                console.print(f"  [dim]sectie {escape(s.label)} — ondertitel: {escape(s.subtitle)}[/dim]")
        for p in doc.paragraphs:
            text = p.text if args.full else (p.text[:_SHOWN_CHARS] + (" …" if len(p.text) > _SHOWN_CHARS else ""))
            console.print(f"[cyan]{escape(p.locator)}[/cyan] [dim]{escape(p.id)}[/dim]\n  {escape(text)}")
        return 0
    table = Table(title=f"Corpus {args.corpus}: {len(load.documents)} documenten")
    for col in ("document", "secties", "alinea's", "datum", "fragment"):
        table.add_column(col)
    for d in load.documents:
        table.add_row(escape(d.id), str(len(d.sections)), str(len(d.paragraphs)), d.date or "-",
                      "ja" if d.fragment else "")
    console.print(table)
    for sk in load.skipped:
        console.print(f"[red]overgeslagen[/red] {escape(shown_name(sk.path))}: {escape(sk.reason)}")
    return 0


if __name__ == "__main__":
    # run the package module, not this __main__ copy: rag.readers' TableBlock is rag.corpus.TableBlock
    from rag.corpus import main as _main

    raise SystemExit(_main())
