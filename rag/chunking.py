"""Chunking stage: paragraphs → passages (one per paragraph, split only when too long).

Paragraphs of fewer than three words (web clutter such as "Nieuws") and breadcrumb trails are not indexed.
A table (``Paragraph.kind == "table"``, rows as "cel | cel | cel" lines) is one passage: its
caption joins the context and each row is one "sentence" (a table beyond the model's limit is
split between rows).
A passage keeps its paragraph's id, locator and full text; ``context`` (document title and
section, and the introducing line of a list: "Deelnemers aan de top zijn:") is added for
embedding only, never shown. A paragraph longer than the
embedding model's limit is split with langchain-text-splitters at line, sentence, clause or
word boundaries, and every piece is an exact substring of the paragraph; its sentences are the
paragraph's own whole sentences, never a piece of one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass

from rag.corpus import Document
from rag.text import ends_sentence, introduces_list, is_navigation, is_page_chrome, split_sentences

#: Bump when chunking rules change (recorded in the manifest).
CHUNKING_VERSION = "chunk-13"
#: a web page's chrome (breadcrumb, "U bevindt zich op: …") sits in its first paragraphs, above the heading
CHROME_PARAGRAPHS = 3
#: a list intro longer than this is a paragraph of its own, not context for the list after it
MAX_LIST_INTRO_CHARS = 300
#: a quotable sentence has at least this many words of two letters or more (a caught heading has fewer)
MIN_SENTENCE_WORDS = 2


@dataclass(frozen=True)
class Passage:
    """A retrievable unit: a paragraph or a piece of a long paragraph.

    ``text`` is display text (an exact substring of ``paragraph_text``); ``context`` is
    "document title — section label", used only to embed and index; ``sentences`` are exact
    substrings of ``paragraph_text`` in order: the sentences of ``text``, and for a piece of a split
    paragraph the paragraph's whole sentences that the piece holds part of (one may reach past
    ``text``; see :func:`sentences_overlapping`). A fragment's cut-off last sentence is left out, so
    the last passage of a fragment may have no sentences: it is retrieved and shown, never quoted.
    """

    id: str
    paragraph_id: str
    doc_id: str
    title: str
    date: str | None
    source: str | None
    fragment: bool
    locator: str
    section_label: str
    article: str | None
    text: str
    paragraph_text: str
    context: str
    sentences: tuple[str, ...]
    part: int = 1
    parts: int = 1
    kind: str | None = None  # the document's kind ("verdrag", "persbericht", …), for filters

    @property
    def heading_date(self) -> str | None:
        """The date to show beside the title in a source heading: None when there is none or the
        title already gives it ("Comité van Ministers Taalunie in Den Haag (13 juni 2022)")."""
        return self.date if self.date and self.date[:4] not in self.title else None

    def index_text(self, with_context: bool = True) -> str:
        """Text given to the embedder and to BM25: context line plus passage text."""
        return f"{self.context}\n{self.text}" if with_context and self.context else self.text

    def bm25_text(self, with_context: bool = True) -> str:
        """Text given to BM25: section label plus passage text. The document title is left out:
        repeated on every passage it lets tiny passages of a matching document outrank real ones."""
        return f"{self.section_label}\n{self.text}" if with_context else self.text

    def to_json(self) -> dict[str, object]:
        """JSON-serialisable dict (sentences as a list)."""
        d = asdict(self)
        d["sentences"] = list(self.sentences)
        return d

    @classmethod
    def from_json(cls, d: dict[str, object]) -> Passage:
        """Inverse of :meth:`to_json`; raises KeyError/TypeError on malformed input."""
        data = dict(d)
        data["sentences"] = tuple(data["sentences"])  # type: ignore[arg-type]
        return cls(**data)  # type: ignore[arg-type]


def sentences_overlapping(piece: str, paragraph: str, sentences: Sequence[str]) -> tuple[str, ...]:
    """The ``sentences`` of ``paragraph`` (in text order, each an exact substring of it) that
    ``piece``, a substring of ``paragraph`` (its first occurrence), holds all or part of, whole:
    a sentence the splitter cut is quoted as the paragraph writes it, never as a fragment. () when
    ``sentences`` is empty or ``piece`` is not in ``paragraph``."""
    start = paragraph.find(piece)
    if start < 0 or not sentences:
        return ()
    end = start + len(piece)
    out, cursor = [], 0
    for sent in sentences:
        at = paragraph.find(sent, cursor)
        if at < 0:
            continue
        cursor = at + len(sent)
        if at < end and cursor > start:
            out.append(sent)
    return tuple(out)


class Chunker:
    """Split documents into passages that fit ``max_tokens`` (context and prefix included).

    ``count_tokens`` is the embedder's own tokenizer count (passage side), so the limit is
    exact, not estimated. Call the instance with documents; returns passages in document order.
    """

    def __init__(self, count_tokens: Callable[[str], int], max_tokens: int = 500,
                 with_context: bool = True, min_words: int = 3) -> None:
        self.count_tokens = count_tokens
        self.max_tokens = max_tokens
        self.with_context = with_context
        self.min_words = min_words

    def __call__(self, documents: Iterable[Document]) -> list[Passage]:
        out: list[Passage] = []
        for doc in documents:
            for k, para in enumerate(doc.paragraphs):
                if (len(re.findall(r"[^\W\d_]{2,}", para.text)) < self.min_words or is_navigation(para.text)
                        or (k < CHROME_PARAGRAPHS and is_page_chrome(para.text, doc.title))):
                    continue  # web clutter ("Nieuws", "Filter items", a breadcrumb above the heading) answers nothing
                context = f"{doc.title} — {para.section_label}" if self.with_context else ""
                before = doc.paragraphs[k - 1] if k else None
                if (context and before is not None and before.section_key == para.section_key
                        and introduces_list(before.text) and len(before.text) <= MAX_LIST_INTRO_CHARS):
                    # "Deelnemers aan de top zijn:" introduces the list that follows
                    context = f"{context} — {before.text}"
                table = para.kind == "table"
                if table and para.caption:
                    context = f"{context} — {para.caption}" if context else ""
                # a table is one passage (split between rows only beyond the model's limit)
                pieces = self._split(para.text, context)
                # a long paragraph is cut into pieces wherever the splitter finds room, often inside a
                # sentence ("… (Stcrt." | "23 maart 2012, …)"): a piece's sentences are the paragraph's
                # own whole sentences that it holds part of, not the piece split on its own
                whole = split_sentences(para.text) if len(pieces) > 1 and not table else ()
                # a fragment stops where the copy stopped, often inside a sentence ("… in het leven ger"):
                # that last sentence is shown with its paragraph but never quoted as an answer, also
                # when it is the paragraph's only one ("Methode aanpak grensbelemme"): such a passage
                # can be retrieved and read, and has no sentence to quote
                cut_off = doc.fragment and k == len(doc.paragraphs) - 1 and not table
                for i, piece in enumerate(pieces, start=1):
                    sentences = (tuple(r for r in piece.split("\n") if re.search(r"[^\W_]", r)) if table
                                 else sentences_overlapping(piece, para.text, whole) or split_sentences(piece))
                    if cut_off and i == len(pieces) and sentences and not ends_sentence(sentences[-1]):
                        sentences = sentences[:-1]
                    # a heading caught inside a paragraph ("Bijlage", "Algemeen") states nothing to quote
                    sentences = tuple(x for x in sentences
                                      if len(re.findall(r"[^\W_]{2,}", x)) >= MIN_SENTENCE_WORDS) or sentences
                    out.append(Passage(
                        id=para.id if len(pieces) == 1 else f"{para.id}~{i}",
                        paragraph_id=para.id, doc_id=doc.id, title=doc.title, date=doc.date,
                        source=doc.source, fragment=doc.fragment, locator=para.locator,
                        section_label=para.section_label, article=para.article, text=piece,
                        paragraph_text=para.text, context=context,
                        sentences=sentences, part=i, parts=len(pieces), kind=doc.kind,
                    ))
        return out

    def _split(self, text: str, context: str) -> list[str]:
        full = f"{context}\n{text}" if context else text
        if self.count_tokens(full) <= self.max_tokens:
            return [text]
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        budget = max(64, self.max_tokens - (self.count_tokens(context) if context else 0) - 8)
        splitter = RecursiveCharacterTextSplitter(
            chunk_size=budget, chunk_overlap=min(48, budget // 8), length_function=self.count_tokens,
            separators=["\n", ". ", "; ", ", ", " ", ""], keep_separator="end", strip_whitespace=True,
        )
        pieces = [p for p in splitter.split_text(text) if p.strip()]
        # every piece must be verbatim paragraph text (quotes are checked against it)
        return [p for p in pieces if p in text] or [text]
