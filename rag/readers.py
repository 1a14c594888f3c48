"""Readers for documents as a newsroom receives them: typeset PDF (by layout), Word and OpenDocument.

Each reader returns the document's *blocks* in reading order, the same unit
:func:`rag.corpus.text_blocks` gives for plain text: a heading line, a paragraph, a list item
(attached to its introduction later by :func:`rag.corpus.structure`) or a
:class:`rag.corpus.TableBlock`. Words broken at a line end are joined with the same rule as
every other format (:func:`rag.corpus.join_lines`, with the document's own word forms as
evidence, :func:`rag.corpus.hyphen_evidence`).

* **PDF** (pdfplumber / pdfminer.six, MIT): characters with positions and fonts are grouped into
  printed lines; running headers, footers and page numbers (lines repeated at the same place on
  many pages) are dropped; two-column pages are read column by column; a paragraph ends at a
  larger vertical gap, a first-line indent, a change of font size or weight, a list marker, or a
  line that ends early (the next line's first word would have fitted). Footnotes (small print at
  the foot of a page) are kept out of the paragraph they interrupt. Ruled tables become one
  table block each. AES-encrypted PDFs with an empty user password are read (``cryptography``).
* **DOCX** (python-docx, MIT): heading styles (and Word's automatic numbering) give headings,
  list paragraphs get their marker, tables stay tables, a "Caption"/"Tabel N" paragraph next to
  a table becomes its caption.
* **ODT**: the OpenDocument XML (``content.xml``) read with the standard library, since no
  well-kept ODT library exists; ``text:h`` headings, ``text:list`` items, ``table:table``.
"""

from __future__ import annotations

import itertools
import re
import statistics
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from rag.corpus import (
    _LIST_ITEM,
    CorpusFileError,
    TableBlock,
    _parse_header,
    _Raw,
    hyphen_evidence,
    join_lines,
)
from rag.text import normalize

_CAPTION = re.compile(r"^(?:Tabel|Table|Tab\.)\s*\d+[a-z]?\b", re.IGNORECASE)
_PAGE_NUMBER = re.compile(
    r"^(?:(?:pagina|page|blz\.?|p\.)\s*)?[-–—]?\s*\d{1,4}\s*[-–—]?(?:\s*(?:van|of|/)\s*\d{1,4})?$", re.IGNORECASE)
_BOLD = re.compile(r"bold|black|heavy|semibold|demi", re.IGNORECASE)
_ITALIC = re.compile(r"italic|oblique", re.IGNORECASE)
#: layout thresholds in PDF points: one glyph drawn twice (fake bold), body-size text, a column gutter
_SAME_GLYPH_PT = 0.3
_SAME_SIZE_PT = 0.6
_MIN_GUTTER_PT = 8
#: a page is read as two columns only with this many lines, and this many on each side of the gutter
_MIN_COLUMN_LINES = 6
_MIN_COLUMN_LINES_EACH = 3
#: a ruled table has at least a header and one row; a caption ("Tabel 2. …") is at most this long
_MIN_TABLE_ROWS = 2
_MAX_CAPTION_CHARS = 200


def read(path: Path, name: str) -> _Raw:
    """Read a ``.pdf``, ``.docx`` or ``.odt`` file into blocks; raise CorpusFileError with a Dutch reason."""
    if path.stat().st_size == 0:
        raise CorpusFileError(name, "leeg bestand (0 bytes)")
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return read_pdf(path, name)
    if suffix == ".docx":
        return read_docx(path, name)
    return read_odt(path, name)


def table_text(rows: Iterable[Sequence[str | None]]) -> str:
    """Rows as ``"cel | cel | cel"`` lines; empty rows dropped, each cell's text on one line."""
    lines = []
    for row in rows:
        cells = [normalize(join_lines((c or "").split("\n"))) for c in row]
        if any(cells):
            lines.append(" | ".join(cells))
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# PDF by layout
# --------------------------------------------------------------------------------------


@dataclass
class _Line:
    """One printed line (or the part of it in one column)."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    bold: bool
    italic: bool
    page: int
    first_word_width: float
    col: int = 0  # 0 = full width, 1 = left column, 2 = right column
    table: TableBlock | None = None
    chars: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def style(self) -> tuple[float, bool, bool]:
        """Font size (rounded) and weight/slant: a change of style ends a block."""
        return round(self.size * 2) / 2, self.bold, self.italic


def _chars_to_line(chars: list[dict[str, Any]], page: int) -> _Line | None:
    chars = sorted(chars, key=lambda c: c["x0"])
    visible = [c for c in chars if c["text"].strip()]
    if not visible:
        return None
    sizes = Counter(round(c["size"], 1) for c in visible)
    size = sizes.most_common(1)[0][0]
    main = [c for c in visible if c["size"] >= 0.8 * size]
    base = statistics.median(c["bottom"] for c in main) if main else visible[0]["bottom"]
    parts: list[str] = []
    prev: dict[str, Any] | None = None
    first_word_end: float | None = None
    for c in chars:
        t = c["text"]
        if not t.strip():
            if prev is not None:
                parts.append(" ")
                if first_word_end is None:
                    first_word_end = prev["x1"]
            continue
        if c["size"] < 0.8 * size and c["bottom"] < base - 0.25 * size and re.fullmatch(r"[\d*†)]", t):
            continue  # a raised footnote marker: kept out of the sentence
        if prev is not None and parts and parts[-1] != " " and c["x0"] - prev["x1"] > 0.18 * size:
            parts.append(" ")
            if first_word_end is None:
                first_word_end = prev["x1"]
        if prev is not None and t == prev["text"] and abs(c["x0"] - prev["x0"]) < _SAME_GLYPH_PT and parts[-1] != " ":
            continue  # the same glyph drawn twice (fake bold)
        parts.append(t)
        prev = c
    text = re.sub(r" {2,}", " ", "".join(parts)).strip()
    text = re.sub(r"[\u2010\u2011]$", "-", text)
    if not text:
        return None
    x0, x1 = visible[0]["x0"], max(c["x1"] for c in visible)
    fonts = Counter(c["fontname"] for c in main or visible)
    font = fonts.most_common(1)[0][0]
    return _Line(text, x0, x1, min(c["top"] for c in main or visible), base, size, bool(_BOLD.search(font)),
                 bool(_ITALIC.search(font)), page, (first_word_end or x1) - x0, chars=chars)


def _physical_lines(chars: list[dict[str, Any]], page: int) -> list[_Line]:
    """Group a page's characters into printed lines by vertical overlap (small raised or
    lowered characters join the line they sit on)."""
    chars = [c for c in chars if c.get("upright", True) and c["text"]]
    if not chars:
        return []
    sizes = Counter(round(c["size"]) for c in chars if c["text"].strip())
    common = sizes.most_common(1)[0][0] if sizes else 10
    big = sorted((c for c in chars if c["size"] >= 0.8 * common or not c["text"].strip()),
                 key=lambda c: ((c["top"] + c["bottom"]) / 2, c["x0"]))
    small = [c for c in chars if c["size"] < 0.8 * common and c["text"].strip()]
    groups: list[list[dict[str, Any]]] = []
    bands: list[list[float]] = []
    for c in big:
        mid = (c["top"] + c["bottom"]) / 2
        if bands and bands[-1][0] - 0.5 <= mid <= bands[-1][1] + 0.5:
            groups[-1].append(c)
            if c["text"].strip():
                bands[-1][0] = min(bands[-1][0], c["top"])
                bands[-1][1] = max(bands[-1][1], c["bottom"])
        else:
            groups.append([c])
            bands.append([c["top"], c["bottom"]])
    loose: list[dict[str, Any]] = []
    for c in small:
        mid = (c["top"] + c["bottom"]) / 2
        for g, (top, bottom) in zip(groups, bands, strict=True):
            if top - 0.5 <= mid <= bottom + 0.5:
                g.append(c)
                break
        else:
            loose.append(c)
    loose.sort(key=lambda c: ((c["top"] + c["bottom"]) / 2, c["x0"]))
    for c in loose:  # footnotes and other small print: lines of their own
        mid = (c["top"] + c["bottom"]) / 2
        for g, band in zip(groups, bands, strict=True):
            if g and g[0]["size"] < 0.8 * common and band[0] - 0.5 <= mid <= band[1] + 0.5:
                g.append(c)
                band[0], band[1] = min(band[0], c["top"]), max(band[1], c["bottom"])
                break
        else:
            groups.append([c])
            bands.append([c["top"], c["bottom"]])
    lines = [ln for g in groups if (ln := _chars_to_line(g, page)) is not None]
    return sorted(lines, key=lambda ln: (ln.top, ln.x0))


def _gutter(lines: list[_Line], width: float) -> tuple[float, float] | None:
    """The empty vertical strip between two columns, if the page has two columns."""
    if len(lines) < _MIN_COLUMN_LINES:
        return None
    lo, hi = int(width * 0.3), int(width * 0.7)
    cover = [0] * (hi - lo + 1)
    for ln in lines:
        for c in ln.chars:
            if not c["text"].strip():
                continue
            for x in range(max(lo, int(c["x0"])), min(hi, int(c["x1"])) + 1):
                cover[x - lo] += 1
    limit = max(2, len(lines) // 12)
    best: tuple[int, int] | None = None
    start = None
    for i, n in enumerate([*cover, limit + 1]):
        if n <= limit and start is None:
            start = i
        elif n > limit and start is not None:
            if best is None or i - start > best[1] - best[0]:
                best = (start, i)
            start = None
    if best is None or best[1] - best[0] < _MIN_GUTTER_PT:
        return None
    g0, g1 = lo + best[0], lo + best[1]
    left = sum(1 for ln in lines if ln.x1 <= g0 + 1)
    right = sum(1 for ln in lines if ln.x0 >= g1 - 1)
    split = sum(1 for ln in lines if ln.x0 < g0 and ln.x1 > g1
                and not any(c["text"].strip() and c["x1"] > g0 and c["x0"] < g1 for c in ln.chars))
    if min(left, right) + split < _MIN_COLUMN_LINES_EACH:
        return None
    return float(g0), float(g1)


def _split_columns(lines: list[_Line], gutter: tuple[float, float], page: int) -> list[_Line]:
    """Reading order of a two-column page: full-width lines stay in place; between them, the
    left column is read before the right one."""
    g0, g1 = gutter
    out: list[_Line] = []
    left: list[_Line] = []
    right: list[_Line] = []

    def flush() -> None:
        out.extend(left)
        out.extend(right)
        left.clear()
        right.clear()

    for ln in lines:
        crossing = any(c["text"].strip() and c["x1"] > g0 + 0.5 and c["x0"] < g1 - 0.5 for c in ln.chars)
        if crossing:
            flush()
            out.append(ln)
            continue
        lchars = [c for c in ln.chars if (c["x0"] + c["x1"]) / 2 < (g0 + g1) / 2]
        rchars = [c for c in ln.chars if (c["x0"] + c["x1"]) / 2 >= (g0 + g1) / 2]
        for chars, bucket, col in ((lchars, left, 1), (rchars, right, 2)):
            part = _chars_to_line(chars, page) if chars else None
            if part is not None:
                part.col = col
                bucket.append(part)
    flush()
    return out


def _drop_running_lines(pages: list[list[_Line]], heights: list[float]) -> list[list[_Line]]:
    """Remove running headers/footers (same text, digits aside, at the same height on many pages)
    and bare page numbers in the top or bottom margin."""
    n = len(pages)
    seen: Counter[tuple[str, int]] = Counter()
    for lines, h in zip(pages, heights, strict=True):
        keys = set()
        for ln in lines:
            if ln.top < 0.15 * h or ln.bottom > 0.85 * h:
                keys.add((re.sub(r"\d+", "#", ln.text.lower()), round(ln.top / 6)))
        seen.update(keys)
    need = max(2, (n + 1) // 2) if n > 1 else 10**9
    out = []
    for lines, h in zip(pages, heights, strict=True):
        kept = []
        for ln in lines:
            margin = ln.top < 0.15 * h or ln.bottom > 0.85 * h
            key = (re.sub(r"\d+", "#", ln.text.lower()), round(ln.top / 6))
            near = sum(seen[(key[0], key[1] + d)] for d in (-1, 0, 1))
            if margin and (near >= need or _PAGE_NUMBER.match(ln.text)):
                continue
            kept.append(ln)
        out.append(kept)
    return out


def _page_tables(page: Any, page_no: int) -> tuple[list[_Line], list[tuple[float, float, float, float]]]:
    """Ruled tables of a page as pseudo-lines holding a TableBlock, and their bounding boxes."""
    if not (page.lines or page.rects or page.curves):
        return [], []
    items = []
    boxes = []
    for t in page.find_tables():
        rows = t.extract()
        text = table_text(rows)
        if not text or len(rows) < _MIN_TABLE_ROWS:
            continue
        x0, top, x1, bottom = t.bbox
        boxes.append((x0, top, x1, bottom))
        items.append(_Line(text, x0, x1, top, bottom, 0.0, False, False, page_no, 0.0, table=TableBlock(text)))
    return items, boxes


@dataclass
class _Metrics:
    body_size: float
    body_style: tuple[float, bool, bool]
    leading: float
    left: dict[tuple[int, int], float]
    right: dict[tuple[int, int], float]


def _metrics(lines: list[_Line]) -> _Metrics:
    text_lines = [ln for ln in lines if ln.table is None]
    sizes: Counter[float] = Counter()
    styles: Counter[tuple[float, bool, bool]] = Counter()
    for ln in text_lines:
        sizes[round(ln.size * 2) / 2] += len(ln.text)
        styles[ln.style] += len(ln.text)
    body = sizes.most_common(1)[0][0] if sizes else 10.0
    body_style = styles.most_common(1)[0][0] if styles else (body, False, False)
    deltas: Counter[float] = Counter()
    for a, b in itertools.pairwise(text_lines):
        if (a.page == b.page and a.col == b.col and abs(a.size - body) < _SAME_SIZE_PT
                and abs(b.size - body) < _SAME_SIZE_PT):
            d = b.top - a.top
            if 0 < d < 3 * body:
                deltas[round(d * 2) / 2] += 1
    leading = deltas.most_common(1)[0][0] if deltas else 1.2 * body
    by_flow: defaultdict[tuple[int, int], list[_Line]] = defaultdict(list)
    for ln in text_lines:
        by_flow[(ln.page, ln.col)].append(ln)
    left, right = {}, {}
    for key, group in by_flow.items():
        body_lines = [ln for ln in group if abs(ln.size - body) < _SAME_SIZE_PT] or group
        starts = Counter(round(ln.x0) for ln in body_lines)
        left[key] = float(min(x for x, k in starts.items() if k == max(starts.values())))
        right[key] = max(ln.x1 for ln in body_lines)
    return _Metrics(body, body_style, leading, left, right)


def _blocks_from_lines(  # noqa: C901 - one pass over printed lines; each block-ending layout signal is a branch
        lines: list[_Line], footnotes: dict[int, list[_Line]]) -> list[str]:
    """Rebuild blocks (headings, paragraphs, list items, tables) from lines in reading order."""
    m = _metrics(lines)
    blocks: list[str] = []
    cur: list[_Line] = []
    pending_notes: list[str] = []

    def flush() -> None:
        if cur:
            text = join_lines([ln.text for ln in cur])
            if text:
                blocks.append(text)
            cur.clear()
        if pending_notes:
            blocks.extend(pending_notes)
            pending_notes.clear()

    def is_list_start(ln: _Line) -> bool:
        return (bool(_LIST_ITEM.match(ln.text)) and not re.match(r"^\d{1,2}\.\s+[A-Z]", ln.text)) or bool(
            re.match(r"^[•▪◦·–-]\s", ln.text))

    last_page = -1
    for ln in lines:
        if ln.page != last_page:
            for page in range(last_page + 1 if last_page >= 0 else ln.page, ln.page):
                pending_notes.extend(_footnote_blocks(footnotes.get(page, [])))
            last_page = ln.page
        if ln.table is not None:
            flush()
            caption = ""
            if blocks and _CAPTION.match(blocks[-1]) and len(blocks[-1]) <= _MAX_CAPTION_CHARS:
                caption = blocks.pop()
            blocks.append(TableBlock(str(ln.table), caption))
            continue
        if not cur:
            cur.append(ln)
            continue
        a = cur[-1]
        flow = (a.page, a.col) == (ln.page, ln.col)
        left = m.left.get((ln.page, ln.col), ln.x0)
        right_a = m.right.get((a.page, a.col), a.x1)
        fits = a.x1 + 0.3 * a.size + ln.first_word_width < right_a - 0.5
        listy = is_list_start(cur[0])
        body_text = a.style == m.body_style  # headings and titles may be centred or ragged: gaps decide
        brk = False
        if a.style != ln.style or is_list_start(ln) or (flow and ln.top - a.top > 1.3 * max(m.leading, 1.1 * a.size)):
            brk = True
        elif not body_text:
            pass
        elif not listy and ln.x0 > left + 0.8 * ln.size and not (flow and abs(ln.x0 - a.x0) < 1.0 and len(cur) > 1):
            brk = True  # a first-line indent
        elif fits:
            brk = True  # the line before ended early: the next word would have fitted
        if brk:
            flush()
        cur.append(ln)
    flush()
    for page in sorted(p for p in footnotes if p >= last_page):
        blocks.extend(_footnote_blocks(footnotes[page]))
    return blocks


def _footnote_blocks(lines: list[_Line]) -> list[str]:
    out: list[list[str]] = []
    for ln in lines:
        if re.match(r"^[\d*†]{1,3}[\s.)]", ln.text) or not out:
            out.append([ln.text])
        else:
            out[-1].append(ln.text)
    return [join_lines(g) for g in out]


def _split_footnotes(lines: list[_Line], height: float, body_size: float) -> tuple[list[_Line], list[_Line]]:
    """Small print at the foot of the page (under the body text) is footnotes."""
    notes: list[_Line] = []
    k = len(lines)
    while k > 0 and lines[k - 1].table is None and lines[k - 1].size < 0.85 * body_size \
            and lines[k - 1].top > 0.6 * height:
        k -= 1
    if k < len(lines) and re.match(r"^[\d*†]{1,3}", lines[k].text):
        notes = lines[k:]
        return lines[:k], notes
    return lines, []


def read_pdf(path: Path, name: str) -> _Raw:
    """Read a PDF by its layout (see the module docstring); pages without text are reported."""
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFSyntaxError

    try:
        pdf = pdfplumber.open(str(path), password="")
    except PDFPasswordIncorrect as exc:
        raise CorpusFileError(name, "versleutelde PDF met een wachtwoord; niet te lezen") from exc
    except (PDFSyntaxError, ValueError, KeyError, TypeError, OSError, AssertionError) as exc:
        raise CorpusFileError(name, f"kapotte of onleesbare PDF ({type(exc).__name__}: {exc})") from exc
    except Exception as exc:  # pdfminer raises many private error types on damaged files
        raise CorpusFileError(name, f"kapotte of onleesbare PDF ({type(exc).__name__}: {exc})") from exc
    with pdf:
        try:
            meta = pdf.metadata or {}
            pages: list[list[_Line]] = []
            heights: list[float] = []
            widths: list[float] = []
            unreadable: list[int] = []
            tables: dict[int, tuple[list[_Line], list[tuple[float, float, float, float]]]] = {}
            for i, page in enumerate(pdf.pages):
                items, boxes = _page_tables(page, i)
                tables[i] = (items, boxes)
                chars = [c for c in page.chars if not any(
                    b[0] - 1 <= c["x0"] and c["x1"] <= b[2] + 1 and b[1] - 1 <= c["top"] and c["bottom"] <= b[3] + 1
                    for b in boxes)]
                lines = _physical_lines(chars, i)
                if not lines and not items:
                    unreadable.append(i + 1)
                pages.append(lines)
                heights.append(float(page.height))
                widths.append(float(page.width))
        except Exception as exc:  # a damaged page stream: report the file, never stop the corpus
            raise CorpusFileError(name, f"kapotte of onleesbare PDF ({type(exc).__name__}: {exc})") from exc
    if not any(pages) and not any(t[0] for t in tables.values()):
        raise CorpusFileError(name, "PDF zonder tekstlaag (gescand beeld?); geen tekst om te indexeren")
    pages = _drop_running_lines(pages, heights)
    all_sizes: Counter[float] = Counter()
    for lines in pages:
        for ln in lines:
            all_sizes[round(ln.size * 2) / 2] += len(ln.text)
    body_size = all_sizes.most_common(1)[0][0] if all_sizes else 10.0
    ordered: list[_Line] = []
    footnotes: dict[int, list[_Line]] = {}
    for i, page_lines in enumerate(pages):
        lines, notes = _split_footnotes(page_lines, heights[i], body_size)
        if notes:
            footnotes[i] = notes
        gutter = _gutter(lines, widths[i])
        if gutter:
            lines = _split_columns(lines, gutter, i)
            for t in tables[i][0]:
                t.col = 1 if t.x1 <= gutter[0] + 1 else (2 if t.x0 >= gutter[1] - 1 else 0)
        ordered.extend(_merge_in_order(lines, tables[i][0], gutter))
    text_lines = [ln.text for ln in ordered if ln.table is None]
    with hyphen_evidence(text_lines):
        blocks = _blocks_from_lines(ordered, footnotes)
    header, _ = _parse_header("\n".join(blocks[:6]))
    if header:  # "Titel: …" / "Datum: …" lines printed at the top, as in the .txt corpus
        blocks = blocks[len(header):]
    title = str(meta.get("Title") or "").strip() or None
    return _Raw(header, "", "blocks", title, tuple(blocks), len(pages), tuple(unreadable))


def _merge_in_order(lines: list[_Line], tables: list[_Line], gutter: tuple[float, float] | None) -> list[_Line]:
    """Insert table pseudo-lines into the reading order (by column, then by top)."""
    if not tables:
        return lines
    out = list(lines)
    for t in sorted(tables, key=lambda t: t.top):
        pos = len(out)
        for k, ln in enumerate(out):
            same_col = ln.col in (t.col, 0) or t.col == 0
            if same_col and ln.top > t.top:
                pos = k
                break
        out.insert(pos, t)
    return out


# --------------------------------------------------------------------------------------
# DOCX (python-docx)
# --------------------------------------------------------------------------------------

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _roman(n: int) -> str:
    out = ""
    for value, sym in ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"),
                       (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):
        while n >= value:
            out += sym
            n -= value
    return out


def _format_number(n: int, fmt: str) -> str:
    if fmt == "lowerLetter":
        return chr(ord("a") + (n - 1) % 26)
    if fmt == "upperLetter":
        return chr(ord("A") + (n - 1) % 26)
    if fmt == "lowerRoman":
        return _roman(n)
    if fmt == "upperRoman":
        return _roman(n).upper()
    if fmt == "bullet":
        return ""
    return str(n)


class _Numbering:
    """Word's automatic numbering: the marker ("2.", "b.", "•") each numbered paragraph shows."""

    def __init__(self, document: Any) -> None:
        self.levels: dict[str, dict[int, tuple[str, str, int]]] = {}
        self.counters: dict[str, list[int]] = {}
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            return
        abstract: dict[str, dict[int, tuple[str, str, int]]] = {}
        for an in root.findall(f"{_W}abstractNum"):
            lvls = {}
            for lvl in an.findall(f"{_W}lvl"):
                ilvl = int(lvl.get(f"{_W}ilvl", "0"))
                fmt = lvl.find(f"{_W}numFmt")
                txt = lvl.find(f"{_W}lvlText")
                start = lvl.find(f"{_W}start")
                lvls[ilvl] = (fmt.get(f"{_W}val", "decimal") if fmt is not None else "decimal",
                              txt.get(f"{_W}val", "") if txt is not None else "",
                              int(start.get(f"{_W}val", "1")) if start is not None else 1)
            abstract[an.get(f"{_W}abstractNumId", "")] = lvls
        for num in root.findall(f"{_W}num"):
            ref = num.find(f"{_W}abstractNumId")
            if ref is not None:
                self.levels[num.get(f"{_W}numId", "")] = abstract.get(ref.get(f"{_W}val", ""), {})

    def marker(self, num_id: str, ilvl: int) -> str:
        """Advance the counter of (num_id, ilvl) and return the marker text, "" when unknown."""
        levels = self.levels.get(num_id)
        if not levels or ilvl not in levels:
            return ""
        counters = self.counters.setdefault(num_id, [levels.get(k, ("", "", 1))[2] - 1 for k in range(9)])
        counters[ilvl] += 1
        for deeper in range(ilvl + 1, 9):
            counters[deeper] = levels.get(deeper, ("", "", 1))[2] - 1
        fmt, text, _ = levels[ilvl]
        if fmt == "bullet":
            return "•"
        if fmt == "none":
            return ""

        def sub(mt: re.Match[str]) -> str:
            k = int(mt.group(1)) - 1
            return _format_number(max(counters[k], 1), levels.get(k, ("decimal", "", 1))[0])

        return re.sub(r"%(\d)", sub, text)


def _docx_num(paragraph: Any, styles_num: dict[str, tuple[str, int]]) -> tuple[str, int] | None:
    ppr = paragraph._p.pPr
    num_pr = ppr.numPr if ppr is not None else None
    if num_pr is not None and num_pr.numId is not None:
        ilvl = num_pr.ilvl.val if num_pr.ilvl is not None else 0
        return str(num_pr.numId.val), int(ilvl)
    style = paragraph.style
    while style is not None:
        if style.style_id in styles_num:
            return styles_num[style.style_id]
        style = style.base_style
    return None


def _style_numbering(document: Any) -> dict[str, tuple[str, int]]:
    out = {}
    for st in document.styles.element.findall(f"{_W}style"):
        ppr = st.find(f"{_W}pPr")
        npr = ppr.find(f"{_W}numPr") if ppr is not None else None
        if npr is not None:
            nid = npr.find(f"{_W}numId")
            ilvl = npr.find(f"{_W}ilvl")
            if nid is not None:
                out[st.get(f"{_W}styleId", "")] = (nid.get(f"{_W}val", ""),
                                                   int(ilvl.get(f"{_W}val", "0")) if ilvl is not None else 0)
    return out


def _heading_level(style_name: str) -> int | None:
    m = re.match(r"^(?:heading|kop)\s*(\d)$", style_name.strip(), re.IGNORECASE)
    if m:
        return int(m.group(1))
    if style_name.lower() in ("title", "titel", "subtitle", "ondertitel"):
        return 0
    return None


def read_docx(path: Path, name: str) -> _Raw:  # noqa: C901 - one walk over the body: a branch per element kind
    """Read a Word file: headings from heading styles and numbering, lists with their markers,
    tables as table blocks with their caption."""
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(str(path))
        items = list(document.iter_inner_content())
    except Exception as exc:  # python-docx raises zipfile, lxml and KeyError variants on damaged files
        raise CorpusFileError(name, f"kapot of onleesbaar Word-bestand ({type(exc).__name__}: {exc})") from exc
    numbering = _Numbering(document)
    styles_num = _style_numbering(document)
    texts: list[str] = []
    blocks: list[str] = []
    title_style: str | None = None
    pending_caption = False
    raw_blocks: list[tuple[str, Any]] = []  # ("p", (lines, style)) or ("t", rows)
    for item in items:
        if isinstance(item, Paragraph):
            style = item.style.name if item.style is not None else ""
            lines = item.text.replace("\t", " ").split("\n")
            if not "".join(lines).strip():
                continue
            num = _docx_num(item, styles_num)
            marker = numbering.marker(*num) if num else ""
            level = _heading_level(style)
            if level == 0 and style.lower() in ("title", "titel") and title_style is None:
                title_style = normalize(" ".join(lines))
            if marker and not lines[0].lstrip().startswith(marker):
                lines[0] = f"{marker} {lines[0].lstrip()}"
            elif not marker and level is None and "list" in style.lower() and "bullet" in style.lower():
                lines[0] = f"• {lines[0].lstrip()}"
            texts.extend(lines)
            raw_blocks.append(("p", (lines, style.lower())))
        elif isinstance(item, Table):
            rows = []
            for row in item.rows:
                cells: list[str] = []
                seen: set[int] = set()
                for cell in row.cells:
                    if id(cell._tc) in seen:
                        continue  # a merged cell is returned once per grid column
                    seen.add(id(cell._tc))
                    cells.append("\n".join(p.text for p in cell.paragraphs))
                rows.append(cells)
            raw_blocks.append(("t", rows))
    with hyphen_evidence(texts):
        for k, (kind, data) in enumerate(raw_blocks):
            if kind == "t":
                caption = ""
                if pending_caption and blocks:
                    caption = blocks.pop()
                else:
                    nxt = raw_blocks[k + 1] if k + 1 < len(raw_blocks) else None
                    if nxt is not None and nxt[0] == "p" and _is_caption(*nxt[1]):
                        caption = join_lines(nxt[1][0])
                        raw_blocks[k + 1] = ("skip", None)
                blocks.append(TableBlock(table_text(data), caption))
                pending_caption = False
            elif kind == "p":
                lines, style = data
                text = join_lines(lines)
                if text:
                    blocks.append(text)
                    pending_caption = _is_caption(lines, style)
                    nxt = raw_blocks[k + 1] if k + 1 < len(raw_blocks) else None
                    pending_caption = pending_caption and nxt is not None and nxt[0] == "t"
    core = document.core_properties
    title = (core.title or "").strip() or title_style
    header, _ = _parse_header("\n".join(blocks[:6]))
    if header:
        blocks = blocks[len(header):]
    if not blocks:
        raise CorpusFileError(name, "geen tekst in het Word-bestand")
    return _Raw(header, "", "blocks", title, tuple(blocks))


def _is_caption(lines: Sequence[str], style: str) -> bool:
    text = " ".join(lines).strip()
    return len(text) <= _MAX_CAPTION_CHARS and (style in ("caption", "bijschrift") or bool(_CAPTION.match(text)))


# --------------------------------------------------------------------------------------
# ODT (OpenDocument text, read with the standard library)
# --------------------------------------------------------------------------------------

_ODF_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_ODF_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_ODF_DC = "http://purl.org/dc/elements/1.1/"


def _odf_text(el: ElementTree.Element) -> str:
    """Visible text of an ODF element: spaces (text:s), tabs and line breaks included."""
    parts = [el.text or ""]
    for child in el:
        tag = child.tag.split("}")[-1]
        if tag == "s":
            parts.append(" " * int(child.get(f"{{{_ODF_TEXT}}}c", "1")))
        elif tag == "tab":
            parts.append(" ")
        elif tag == "line-break":
            parts.append("\n")
        elif tag in ("note", "annotation"):
            pass  # footnotes and comments stay out of the sentence
        else:
            parts.append(_odf_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def read_odt(path: Path, name: str) -> _Raw:  # noqa: C901 - one walk over content.xml: a branch per element kind
    """Read an OpenDocument text file: headings (text:h), paragraphs, list items, tables."""
    try:
        with zipfile.ZipFile(path) as z:
            content = ElementTree.fromstring(z.read("content.xml"))
            meta = ElementTree.fromstring(z.read("meta.xml")) if "meta.xml" in z.namelist() else None
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, OSError) as exc:
        raise CorpusFileError(name, f"kapot of onleesbaar ODT-bestand ({type(exc).__name__}: {exc})") from exc
    body = content.find(".//{urn:oasis:names:tc:opendocument:xmlns:office:1.0}text")
    if body is None:
        raise CorpusFileError(name, "geen tekst in het ODT-bestand")
    raw: list[tuple[str, Any]] = []

    def walk(el: ElementTree.Element, list_depth: int = 0) -> None:
        for child in el:
            tag = child.tag.split("}")[-1]
            if tag in ("p", "h"):
                text = _odf_text(child)
                if text.strip():
                    marker = "• " if list_depth else ""
                    raw.append(("p", [marker + ln if i == 0 else ln for i, ln in enumerate(text.split("\n"))]))
            elif tag == "list":
                walk(child, list_depth + 1)
            elif tag in ("list-item", "section"):
                walk(child, list_depth)
            elif tag == "table":
                table_rows = [["\n".join(_odf_text(p) for p in cell.iter(f"{{{_ODF_TEXT}}}p"))
                               for cell in row if cell.tag.split("}")[-1] == "table-cell"]
                              for row in child.iter(f"{{{_ODF_TABLE}}}table-row")]
                raw.append(("t", table_rows))

    walk(body)
    texts = [ln for kind, data in raw if kind == "p" for ln in data]
    blocks: list[str] = []
    with hyphen_evidence(texts):
        for kind, data in raw:
            if kind == "t":
                caption = blocks.pop() if blocks and _CAPTION.match(blocks[-1]) else ""
                blocks.append(TableBlock(table_text(data), caption))
            else:
                text = join_lines(data)
                if text:
                    blocks.append(text)
    title = None
    if meta is not None:
        t = meta.find(f".//{{{_ODF_DC}}}title")
        title = (t.text or "").strip() if t is not None else None
    if not blocks:
        raise CorpusFileError(name, "geen tekst in het ODT-bestand")
    header, _ = _parse_header("\n".join(blocks[:6]))
    if header:
        blocks = blocks[len(header):]
    return _Raw(header, "", "blocks", title or None, tuple(blocks))
