"""Composition: chosen sentences → answer text with ``[n]`` markers and one citation per passage.

Three shapes, all verbatim quotes:

* a single answer — the most probable sentence first, then up to two more: from the same
  passage, or from another one when their probability of stating the answer reaches the
  inclusion threshold fitted on the training split;
* a multi-part answer — each part's best sentence, or a line saying that part is not in the
  documents;
* an overview digest — up to 8 sentences of the relevant paragraphs, the most probable first with a
  fitted discount per sentence already taken from the same paragraph, grouped by document and
  section, each cited.

A sentence that introduces a list ("De organen van de Taalunie zijn:") brings its items along;
every quote stays one exact span of its passage, so the quote check holds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from difflib import SequenceMatcher

import numpy as np

from rag.features import Coverage
from rag.retrieval import Retrieved
from rag.text import DUTCH_STOPWORDS, introduces_list, quote_span, refers_back, words

#: a quote of consecutive chosen sentences is at most this long (else the most probable sentence alone)
MAX_QUOTE_CHARS = 1200
_ITEM_NUMBER = re.compile(r"^\s*(?:\d{1,2}[.)°]|[a-z][.)]|[–•-])\s+")


@dataclass(frozen=True)
class Candidate:
    """A scored sentence of a retrieved passage: ``prob`` is the sentence model's P(answer);
    ``features`` its feature row; ``coverage`` the coverage of its passage's evidence."""

    retrieved: Retrieved
    sentence: str
    position: int
    features: np.ndarray
    prob: float
    coverage: Coverage


def with_list(c: Candidate, limit: int = 600) -> Candidate:
    """A sentence ending in ":" brings the list lines after it; one item of a short list
    (:func:`is_list`) brings the whole list, from its intro line ("Nederland:", also when it is too
    short to be quoted as a sentence) or first quotable sentence to its last quotable sentence (a
    fragment's cut-off end, "… op deze website raadp", is not one). The result is still one exact
    span of the passage text."""
    text = c.retrieved.passage.text
    lines = [ln for ln in text.split("\n") if ln.strip()]
    sents = c.retrieved.passage.sentences
    if (len(lines) >= 3 and c.sentence in lines and len(text) <= MAX_QUOTE_CHARS and sents
            and is_list(lines)):
        # the list's own label comes along even when it is too short to be a sentence of its own
        # ("Nederland:" above the Dutch ministers says whose list it is)
        first = lines[0].strip() if introduces_list(lines[0]) else sents[0]
        return replace(c, sentence=quote_span(text, first, sents[-1], MAX_QUOTE_CHARS)
                       or quote_span(text, sents[0], sents[-1], MAX_QUOTE_CHARS) or c.sentence)
    if not introduces_list(c.sentence):
        return c
    sents = c.retrieved.passage.sentences
    start = text.find(c.sentence)
    end = start + len(c.sentence)
    for nxt in sents[c.position + 1: c.position + 8]:
        at = text.find(nxt, end)
        if at < 0 or at + len(nxt) - start > limit:
            break
        end = at + len(nxt)
    if start < 0 or end <= start + len(c.sentence):
        return c
    return replace(c, sentence=text[start:end])


def is_list(lines: Sequence[str]) -> bool:
    """Are the lines of a paragraph a list: the first introduces it ("Nederland:", "De organen van
    de Taalunie zijn:") or every other line starts with an item marker ("a)", "•", "1.")? Not a title
    block ("32 851 Grensoverschrijdende samenwerking" / "Nr. 72 BRIEF …" / "Den Haag, 30 april 2021"),
    nor a name left over from a list above a heading and its paragraph ("Folkert de Vriend
    (secretaris)" / "Vergaderingen" / "De Raad vergadert vier keer per jaar."), nor a table, whose
    row that holds the answer is quoted on its own."""
    return bool(lines) and (introduces_list(lines[0]) or all(_ITEM_NUMBER.match(ln) for ln in lines[1:]))


def repeats(sentence: str, chosen: Sequence[str]) -> bool:
    """Does ``sentence`` say what one of ``chosen`` already says: all words of the shorter one
    (folded, punctuation and hyphens aside) occur in the other in the same order, up to how words
    are split or joined (difflib's opcodes: only runs the other adds, and runs that are the same
    letters)? The same sentence in two documents is shown once, also when one writes "Benelux-NRW
    regio", "hebbende" or "Fiets Roadmap" where the other writes "Benelux-NRW-regio", "hebben de" or
    "FietsRoadmap", or leaves out a clause; or when both hold the same content words (Dutch stop
    words aside) in another order ("… per jaar genereren (want ze zijn minder ziek …)" and "… per
    jaar (ze zijn minder ziek …) genereren" in two press releases). A word of its own ("zesde"
    against "zevende", "28" against "29") makes it news, not a repeat."""
    own = words(sentence)
    own_content = _content_words(own)
    for other in (words(x) for x in chosen):
        short, long_ = (own, other) if len(own) <= len(other) else (other, own)
        if short and (_contained(short, long_) or (own_content and own_content == _content_words(other))):
            return True
    return False


def _content_words(ws: Sequence[str]) -> frozenset[str]:
    return frozenset(w for w in ws if w not in DUTCH_STOPWORDS)


def _contained(short: list[str], long_: list[str]) -> bool:
    """Are the words ``short`` a subsequence of ``long_``, runs that differ only in spacing aside?"""
    for op, i1, i2, j1, j2 in SequenceMatcher(None, short, long_, autojunk=False).get_opcodes():
        if op == "delete" or (op == "replace" and "".join(short[i1:i2]) != "".join(long_[j1:j2])):
            return False
    return True


def pick_single(cands: Sequence[Candidate], max_sentences: int, threshold: float) -> list[Candidate]:
    """The best candidate first, then, best first, the other sentences of its passage
    (context at no cost: the same citation) and sentences of other passages whose P(answer)
    reaches ``threshold`` (fitted on the training split, see :mod:`rag.train`); no sentence twice,
    at most ``max_sentences`` (one more when the best one needs the sentence before it). After the
    best one, the others follow in the order of the text (by passage, then position), so "Deze
    transitie …" comes after the sentence it refers to; a best sentence that points back
    (:func:`~rag.text.refers_back`) is preceded by the one before it."""
    ordered = sorted(cands, key=lambda c: -c.prob)
    best_passage = ordered[0].retrieved.passage.id
    chosen = [ordered[0]]
    for c in ordered[1:]:
        if len(chosen) >= max_sentences:
            break
        if c.retrieved.passage.id != best_passage and c.prob < threshold:
            continue
        if repeats(c.sentence, [x.sentence for x in chosen]):
            continue
        chosen.append(c)
    passage_order = {pid: n for n, pid in enumerate(dict.fromkeys(c.retrieved.passage.id for c in chosen))}
    rest = sorted(chosen[1:], key=lambda c: (passage_order[c.retrieved.passage.id], c.position))
    first = [chosen[0]]
    before = referent(chosen[0], cands)
    if before is not None:
        # "Deze studie moet …" needs the sentence it refers to, quoted before it
        first = [before, chosen[0]]
        rest = [c for c in rest if c is not before]
    return _without_repeats(with_headers([with_list(c) for c in (*first, *rest)]))


def table_header(c: Candidate) -> Candidate | None:
    """The header row of the table whose row ``c`` quotes ("| Jaar | Nederlandse bijdrage |" above
    "| 2021 | 77,099 miljoen euro |"), as a candidate of the same passage; None when ``c`` is no table
    row or is the header itself. A row alone does not say what its figures are: the header says
    they are the Dutch contribution, not the EU's."""
    sents = c.retrieved.passage.sentences
    if c.position <= 0 or not sents or not (_is_row(c.sentence) and _is_row(sents[0])):
        return None
    return replace(c, sentence=sents[0], position=0)


def _is_row(line: str) -> bool:
    return line.lstrip().startswith("|")


def with_headers(chosen: Sequence[Candidate]) -> list[Candidate]:
    """``chosen`` with the header row of each table (:func:`table_header`) right before that table's
    first quoted row, once."""
    out: list[Candidate] = []
    headed = {c.retrieved.passage.id for c in chosen if c.position == 0 and _is_row(c.sentence)}
    for c in chosen:
        header = table_header(c)
        if header is not None and c.retrieved.passage.id not in headed:
            out.append(header)
            headed.add(c.retrieved.passage.id)
        out.append(c)
    return out


def referent(c: Candidate, cands: Sequence[Candidate]) -> Candidate | None:
    """The sentence before ``c`` in its passage, among ``cands``, when ``c`` points back to it
    (:func:`~rag.text.refers_back`: "Dat wordt de ontsluiting van de haven genoemd."); else None."""
    if not refers_back(c.sentence):
        return None
    return next((x for x in cands if x.retrieved.passage.id == c.retrieved.passage.id
                 and x.position == c.position - 1), None)


def _without_repeats(chosen: Sequence[Candidate]) -> list[Candidate]:
    """Drop a candidate whose text another chosen one already contains (two items of one list both
    bring the whole list along)."""
    out: list[Candidate] = []
    for c in chosen:
        if any(c.retrieved.passage.id == x.retrieved.passage.id and c.sentence in x.sentence for x in out):
            continue
        out = [x for x in out if not (x.retrieved.passage.id == c.retrieved.passage.id and x.sentence in c.sentence)]
        out.append(c)
    return out


def pick_overview(cands: Sequence[Candidate], relevant: set[str], *, discount: float,
                  k: int = 8) -> list[Candidate]:
    """Up to ``k`` sentences of the passages in ``relevant`` (passage ids), chosen greedily for
    relevance and spread over paragraphs: each turn takes the sentence with the highest
    ``prob * discount ** n``, n the sentences already taken from its paragraph. ``discount`` in
    [0, 1] (fitted on the train split's overview questions, :mod:`rag.train`) sets the spread: 0
    takes one sentence of each paragraph before any paragraph's second, 1 takes the most probable
    sentences wherever they are. A sentence already taken from another document (the same text in a
    press release and a declaration, :func:`repeats`) is not taken twice.

    The discount replaced a round robin that gave every relevant paragraph the same share: a
    digest on "onderwijs" then quoted one sentence of the paragraph about education and one of each
    paragraph that merely shares its section ("Onderwijs, cultuur en wetenschap": heritage,
    telescope). Maximal marginal relevance over sentence embeddings was tried before and took the
    sentence least like the others, often off the topic ("Ook is gesproken over … Mol-Weert" in a
    digest about the brexit); this discount compares paragraphs, not wordings.

    As in a single answer, a chosen sentence that introduces a list brings its items along
    (:func:`with_list`: "De organen van de Taalunie zijn:" alone quotes nothing), and one that points
    back brings the sentence before it (:func:`referent`), so a digest may hold a few more than ``k``.
    Raises ValueError for a ``discount`` outside [0, 1]."""
    if not 0.0 <= discount <= 1.0:
        raise ValueError(f"digest discount {discount} outside [0, 1]")
    left = sorted((c for c in cands if c.retrieved.passage.id in relevant), key=lambda c: -c.prob)
    taken: dict[str, int] = {}
    chosen: list[Candidate] = []
    while left and len(chosen) < k:
        best = max(left, key=lambda c: c.prob * discount ** taken.get(c.retrieved.passage.paragraph_id, 0))
        left = [c for c in left if c is not best]
        if repeats(best.sentence, [x.sentence for x in chosen]):
            continue
        chosen.append(best)
        pid = best.retrieved.passage.paragraph_id
        taken[pid] = taken.get(pid, 0) + 1
    # a sentence that points back brings the one it points to (the digest is shown in text order)
    with_referents: list[Candidate] = []
    for c in chosen:
        before = referent(c, cands)
        # by identity: a Candidate holds numpy arrays, so == between two of them is not a bool
        if before is not None and not any(before is x for x in (*chosen, *with_referents)):
            with_referents.append(before)
        with_referents.append(c)
    return _without_repeats(with_headers([with_list(c) for c in with_referents]))


def grouped(chosen: Sequence[Candidate]) -> list[Candidate]:
    """Overview order: by document, then by section, each in the order of its first (most probable)
    sentence in ``chosen``, then paragraph and position in the text. A digest on stikstof opens with
    the stikstof section, not with the water section before it that mentions nitrogen once."""
    doc_order: dict[str, int] = {}
    section_order: dict[tuple[str, str], int] = {}
    for c in chosen:
        p = c.retrieved.passage
        doc_order.setdefault(p.doc_id, len(doc_order))
        section_order.setdefault((p.doc_id, p.section_label), len(section_order))
    return sorted(chosen, key=lambda c: (doc_order[c.retrieved.passage.doc_id],
                                         section_order[(c.retrieved.passage.doc_id, c.retrieved.passage.section_label)],
                                         _natural(c.retrieved.passage.id), c.position))


def _natural(key: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that reads the numbers in a passage id as numbers ("…/p2" before "…/p10")."""
    return tuple((0, int(x)) if x.isdigit() else (1, x) for x in re.findall(r"\d+|\D+", key))


def shown(sentence: str) -> str:
    """Display form of a quoted sentence: "3. Nederland levert…" reads "Nederland levert…"."""
    return _ITEM_NUMBER.sub("", sentence, count=1) or sentence


def _adjacent(text: str, first: str, second: str) -> bool:
    """Does ``second`` follow ``first`` in ``text`` with only white space between them? A line that is
    no sentence (a heading such as "Vergaderingen" between two sentences) keeps them two quotes."""
    start = text.find(first)
    end = start + len(first)
    nxt = text.find(second, end) if start >= 0 else -1
    return nxt >= 0 and not text[end:nxt].strip()


def citation_spans(chosen: Sequence[Candidate]) -> dict[str, tuple[int, Candidate, str, float, tuple[str, ...]]]:
    """Per passage id: (citation number in order of first use, first candidate, quote, best prob,
    quotes). ``quotes`` are all the passage's chosen sentences in text order, consecutive ones
    joined into one span of at most 1200 characters (a span never holds a sentence that was not
    chosen, nor a line between them that is no sentence, such as a heading). ``quote`` is that one
    span when there is just one, else the most probable sentence."""
    groups: dict[str, list[Candidate]] = {}
    for c in chosen:
        groups.setdefault(c.retrieved.passage.id, []).append(c)
    out = {}
    for n, (pid, group) in enumerate(groups.items(), start=1):
        group = sorted(group, key=lambda c: c.position)
        text = group[0].retrieved.passage.text
        runs: list[list[Candidate]] = []
        for c in group:
            if runs and c.position == runs[-1][-1].position + 1 and _adjacent(text, runs[-1][-1].sentence, c.sentence):
                runs[-1].append(c)
            else:
                runs.append([c])
        quotes = []
        for run in runs:
            span = quote_span(text, run[0].sentence, run[-1].sentence, MAX_QUOTE_CHARS) if len(run) > 1 else ""
            quotes.extend([span] if span else [c.sentence for c in run])
        quote = quotes[0] if len(quotes) == 1 else max(group, key=lambda c: c.prob).sentence
        out[pid] = (n, group[0], quote, max(c.prob for c in group), tuple(dict.fromkeys(quotes)))
    return out
