"""Corpus terms and their embeddings, for matching a question's words to the evidence.

:class:`Lexicon` holds every word form of the corpus (folded, three letters or more, no stop
words) with an embedding computed at index time ("query: <word>" through the same embedder),
centred on the vocabulary's mean vector and L2-normalised again. Raw e5 word vectors all lie
within 0.8–0.95 cosine of each other; after centring, unrelated words score near 0
("duitse"–"nederlandse" 0.13) and translations or synonyms stay high ("gouverneur"–"governor"
0.73, "werkingskosten"–"kantoorkosten" 0.56). Mu & Viswanath (2018), "All-but-the-Top".

:meth:`Lexicon.match` gives, per question term, how well a text covers it: 1.0 for the same
stem, or a compound that contains the word ("gemeente" in "gemeentebesturen", "Taalunie" in
"Taalunieverdrag"), else the best centred cosine with a word of the text (soft match), never
below 0. Words the corpus does not contain are embedded on first use and kept in memory.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import numpy.typing as npt

from rag.text import DUTCH_STOPWORDS, bm25_tokens, fold

Vectors = npt.NDArray[np.float32]

_WORD = re.compile(r"[^\W\d_]{3,}")
#: a word written with a capital, hyphens included ("Noordrijn-Westfalen")
_CAPITALISED = re.compile(r"\b[A-ZÀ-Ý][\w-]+")
#: shortest word part that counts as a compound match ("gemeente" in "gemeentebesturen")
MIN_COMPOUND_PART = 5
_MATRIX = 2  # ndim of a stack of vectors
#: each half of a compound that :meth:`Lexicon.holds` splits has at least this many letters
_MIN_COMPOUND_HALF = 4
#: the linking sounds of Dutch compounds, "" first ("regering-s-delegaties", "pannen-koek")
_LINKS = ("", "s", "e", "en")
#: text profiles kept in memory at most (the cache is emptied past this)
_MAX_PROFILES = 20_000


def lexicon_words(texts: Iterable[str]) -> list[str]:
    """Distinct folded word forms (3+ letters, no stop words) of ``texts``, sorted."""
    vocab: set[str] = set()
    for t in texts:
        vocab.update(w for w in _WORD.findall(fold(t)) if w not in DUTCH_STOPWORDS)
    return sorted(vocab)


@functools.lru_cache(maxsize=65_536)
def _parts(word: str) -> frozenset[str]:
    """Every substring of ``word`` of at least ``MIN_COMPOUND_PART`` letters except ``word`` itself."""
    n = len(word)
    return frozenset(word[i:j] for i in range(n - MIN_COMPOUND_PART + 1)
                     for j in range(i + MIN_COMPOUND_PART, n + 1) if j - i < n)


def _has_part(word: str, words: frozenset[str]) -> bool:
    """Is some word of ``words`` (5+ letters) a part of ``word`` other than ``word`` itself?"""
    return not _parts(word).isdisjoint(words)


def centre(vectors: Vectors, mean: Vectors) -> Vectors:
    """Subtract ``mean`` (dim,) from each row of ``vectors`` (n, dim) and L2-normalise the rows."""
    v = np.asarray(vectors, dtype=np.float32) - mean[None, :]
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(v / norms, dtype=np.float32)


def heads_a_name(word: str, text: str) -> bool:
    """Is folded ``word`` the head of a longer name that ``text`` writes with a capital: "rijn" of
    "Noordrijn-Westfalen"? For names too short for the compound rule of :meth:`Lexicon.match`."""
    return any(len(part) > len(word) and part.endswith(word) for part in _capitalised_parts(text))


@functools.lru_cache(maxsize=64)
def _capitalised_parts(text: str) -> frozenset[str]:
    """The folded hyphen parts of the words ``text`` writes with a capital (memoised: the same
    documents are cited question after question)."""
    return frozenset(part for token in _CAPITALISED.findall(text) for part in fold(token).split("-"))


class Lexicon:
    """Word forms of the corpus with centred embeddings, float32 (n, dim), and a mean (dim,).

    ``embed_words`` embeds unknown words the same way ("query: " side, then centred); it is the
    embedder's ``embed_queries``. Thread-safe.
    """

    def __init__(self, words: Sequence[str], vectors: Vectors, mean: Vectors,
                 embed_words: Callable[[Sequence[str]], Vectors] | None = None) -> None:
        self.words = list(words)
        self.vectors = vectors
        self.mean = mean
        self._row = {w: i for i, w in enumerate(self.words)}
        self._embed = embed_words
        self._extra: dict[str, Vectors] = {}
        self._profiles: dict[str, tuple[str, list[str], frozenset[str], Vectors]] = {}
        self._word_sets: dict[str, frozenset[str]] = {}
        self._lock = threading.Lock()

    def __contains__(self, word: str) -> bool:
        return word in self._row

    def holds(self, word: str) -> bool:
        """Does the corpus hold the folded ``word``: as a word form, or as a compound of two corpus
        words of 4+ letters, with or without a linking "s", "e" or "en" ("regeringsdelegaties" =
        "regering" + s + "delegaties", "onderwijsministers")? "treinkaartje" is not held when the
        corpus has no "kaartje", though it has "kaart"."""
        return word in self._row or bool(self.compound_parts(word))

    def compound_parts(self, word: str) -> tuple[str, str] | None:
        """The two corpus words (4+ letters each) that the folded ``word`` is a compound of, linking
        "s", "e" or "en" left out: "regeringsdelegaties" → ("regering", "delegaties"), "bijeenkomen" →
        ("bijeen", "komen"); the first split from the left; None when there is none."""
        for i in range(_MIN_COMPOUND_HALF, len(word) - _MIN_COMPOUND_HALF + 1):
            head, rest = word[:i], word[i:]
            if head not in self._row:
                continue
            for link in _LINKS:
                tail = rest[len(link):]
                if rest.startswith(link) and tail in self._row and len(tail) >= _MIN_COMPOUND_HALF:
                    return head, tail
        return None

    def vectors_of(self, words: Sequence[str]) -> Vectors:
        """Centred vectors (len(words), dim) of folded ``words``; unknown words are embedded once.
        Without an embedder an unknown word gets a zero vector (it then soft-matches nothing)."""
        missing = [w for w in dict.fromkeys(words) if w not in self._row and w not in self._extra]
        if missing and self._embed is not None:
            vecs = centre(self._embed(missing), self.mean)
            with self._lock:
                for w, v in zip(missing, vecs, strict=True):
                    self._extra[w] = v
        dim = self.vectors.shape[1] if self.vectors.ndim == _MATRIX else len(self.mean)
        out = np.zeros((len(words), dim), dtype=np.float32)
        for i, w in enumerate(words):
            row = self._row.get(w)
            if row is not None:
                out[i] = self.vectors[row]
            elif w in self._extra:
                out[i] = self._extra[w]
        return out

    def match(self, terms: Sequence[tuple[str, str]], text: str, exact: bool = False) -> np.ndarray:
        """Per question term (stem, folded word): how well ``text`` covers it, float (n,) in [0, 1].

        1.0 when the stem is one of the text's BM25 stems or the word is part of a compound in the
        text (or a text word of 5+ letters is part of the question word); otherwise the best
        centred cosine with any word of the text, clipped at 0. With ``exact``, only the same stem
        (or number) counts, 1.0 or 0.0: for other word forms of a name, where "duits" (of "Duitse")
        must not be found in "Duitsland".
        """
        if not terms:
            return np.zeros(0, dtype=np.float32)
        folded, text_words, stems, vecs = self._profile(text)
        word_set = self._word_sets.get(text)
        if word_set is None:
            word_set = self._word_sets.setdefault(text, frozenset(text_words))
        out = np.zeros(len(terms), dtype=np.float32)
        soft_needed = []
        for i, (stem, word) in enumerate(terms):
            if stem in stems or (word[:1].isdigit() and word in folded):
                out[i] = 1.0
            elif exact:
                continue
            elif len(word) >= MIN_COMPOUND_PART and (word in folded or _has_part(word, word_set)):
                out[i] = 1.0  # part of a compound in the text, or a text word is part of it
            elif not word[:1].isdigit():
                soft_needed.append(i)
        if soft_needed and text_words:
            q = self.vectors_of([terms[i][1] for i in soft_needed])
            sims = np.clip((q @ vecs.T).max(axis=1), 0.0, 1.0)
            out[soft_needed] = sims
        return out

    def _profile(self, text: str) -> tuple[str, list[str], frozenset[str], Vectors]:
        """(folded text, its word forms, its BM25 stems, their centred vectors); memoised per text,
        as the same paragraphs come back question after question."""
        hit = self._profiles.get(text)
        if hit is not None:
            return hit
        folded = fold(text)
        text_words = [w for w in dict.fromkeys(_WORD.findall(folded)) if w not in DUTCH_STOPWORDS]
        prof = (folded, text_words, frozenset(bm25_tokens(text)), self.vectors_of(text_words))
        with self._lock:
            if len(self._profiles) > _MAX_PROFILES:
                self._profiles.clear()
                self._word_sets.clear()
            self._profiles[text] = prof
        return prof
