"""Index stage: build, verify and load the FAISS + BM25 index with its manifest.

Layout under ``index_dir``::

    current -> builds/<build id>      (symlink, swapped atomically)
    builds/<build id>/manifest.json   embedder, dimension, prefixes, versions, settings, corpus hash,
                                      file checksums, build report (skipped files with reasons)
                      passages.jsonl  passage metadata and display text
                      dense.faiss     normalised passage vectors (inner product)
                      sentences.npy   normalised sentence vectors, float32 (m, dim)
                      sentence_offsets.npy  int64 (n + 1): sentences of passage i are [o[i], o[i+1])
                      terms.npy       centred query-side vectors of the corpus word forms (rag.lexicon)
                      terms.json      those word forms and the mean vector they were centred on
                      bm25/           bm25s index over Dutch-stemmed, folded passage text
    cache/embeddings-*.npz            passage/sentence embeddings by content hash

A build writes a new ``builds/<id>.partial`` directory, renames it, then swaps the
``current`` symlink: a crash or SIGKILL mid-build leaves the previous index in use. Loading
checks every file against the manifest checksums and the manifest against the current corpus
and settings; a missing, corrupt, stale or foreign index raises a typed error that names
what differs, and is never queried.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import math
import os
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from rag.chunking import CHUNKING_VERSION, Chunker, Passage
from rag.corpus import (
    PARSER_VERSION,
    SkippedFile,
    corpus_fingerprint,
    doc_id_for,
    list_corpus_files,
    load_corpus,
)
from rag.embedding import Embedder, EmbeddingCache
from rag.errors import CorpusError, IndexCorruptError, IndexError_, IndexMissingError, IndexStaleError
from rag.lexicon import Lexicon, centre, lexicon_words
from rag.settings import DutchArgumentParser, Settings, add_source_arguments
from rag.text import NORMALISATION_VERSION, bm25_tokens, shown_name

FORMAT_VERSION = 4
#: above this many passages the dense index is HNSW (approximate) instead of exact flat IP
ANN_THRESHOLD = 100_000
#: BM25 parameters (bm25s; the usual Robertson defaults), recorded in the manifest
BM25_K1 = 1.2
BM25_B = 0.75
#: SearchIndex.load reads "current" again when a build was swapped under it, this many times at most
_LOAD_ATTEMPTS = 3
#: the build report names new files one by one up to this many
_MAX_LISTED_FILES = 20
_FILES = ("passages.jsonl", "dense.faiss", "sentences.npy", "sentence_offsets.npy", "terms.npy", "terms.json",
          "bm25/data.csc.index.npy", "bm25/indices.csc.index.npy", "bm25/indptr.csc.index.npy",
          "bm25/vocab.index.json", "bm25/params.index.json")
_EMPTY_TOKEN = "__leeg__"


@dataclass(frozen=True)
class BuildReport:
    """What a build did: counts, seconds, cache hits, skipped files, and whether it was a no-op."""

    documents: int
    passages: int
    sentences: int
    seconds: float
    embedded: int
    cache_hits: int
    skipped: tuple[SkippedFile, ...]
    reused: bool
    manifest: dict[str, Any] = field(default_factory=dict)
    new_files: tuple[FileReport, ...] = ()  # files new or changed since the previous build


@dataclass(frozen=True)
class FileReport:
    """What was read from one new or changed corpus file."""

    path: str
    sections: int
    paragraphs: int
    tables: int
    pages: int = 0
    unreadable_pages: tuple[int, ...] = ()


def _previous_files(index_dir: Path) -> dict[str, str]:
    """``corpus_files`` of the current build's manifest ({} when there is none or it is unreadable)."""
    try:
        manifest = json.loads((_current_dir(index_dir) / "manifest.json").read_text(encoding="utf-8"))
        files = manifest.get("corpus_files", {})
        return dict(files) if isinstance(files, dict) else {}
    except (OSError, ValueError):
        return {}


def manifest_document_ids(manifest: dict[str, Any]) -> dict[str, str]:
    """Relative path → document id of the build ``manifest`` describes: its ``document_ids``; for a
    manifest of an older build, the plain id of each corpus file unless it was ``renamed``."""
    ids = manifest.get("document_ids")
    if isinstance(ids, dict):
        return {str(k): str(v) for k, v in ids.items()}
    files = manifest.get("corpus_files")
    if not isinstance(files, dict):
        return {}
    renamed = {r.get("path"): r.get("id") for r in manifest.get("renamed", []) if isinstance(r, dict)}
    here = Path(".")
    return {rel: str(renamed.get(rel) or doc_id_for(here / rel, here)) for rel in files}


def previous_document_ids(index_dir: Path) -> dict[str, str]:
    """:func:`manifest_document_ids` of the current build in ``index_dir``; {} without one."""
    try:
        manifest = json.loads((_current_dir(index_dir) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return manifest_document_ids(manifest) if isinstance(manifest, dict) else {}


def expected_manifest(settings: Settings, embedder: Embedder, corpus_hash: str | None = None) -> dict[str, Any]:
    """The manifest fields an index must match to be used with ``settings`` and ``embedder``.

    ``corpus_dir`` is informational (an index may be used with a moved or copied corpus); it
    tells :meth:`SearchIndex.load` which folder to compare file by file when the corpus differs.
    """
    return {
        "format_version": FORMAT_VERSION,
        "embedder": {"backend": embedder.backend, "model_id": embedder.model_id, "dim": embedder.dim,
                     "prefix_scheme": embedder.prefix_scheme},
        "normalisation_version": NORMALISATION_VERSION,
        "parser_version": PARSER_VERSION,
        "chunking": {"version": CHUNKING_VERSION, "max_passage_tokens": settings.max_passage_tokens,
                     "passage_context": settings.passage_context},
        "bm25": {"stemmer": settings.stemmer, "k1": BM25_K1, "b": BM25_B},
        "max_file_mb": settings.max_file_mb,
        "corpus_hash": corpus_hash,
        "corpus_dir": str(settings.corpus_dir),
    }


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _current_dir(index_dir: Path) -> Path:
    return index_dir / "current"


@contextlib.contextmanager
def _build_lock(index_dir: Path) -> Iterator[None]:
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        fh = (index_dir / ".build.lock").open("w")
    except OSError as exc:
        raise IndexBuildError(_build_failure(index_dir, exc)) from exc
    with fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def make_dense_index(vectors: np.ndarray, ann_threshold: int = ANN_THRESHOLD) -> Any:
    """FAISS inner-product index over L2-normalised float32 vectors (n, dim).

    Exact ``IndexFlatIP`` up to ``ann_threshold`` vectors, HNSW (M=32, efSearch=128) above.
    """
    import faiss

    n, dim = vectors.shape
    index: Any
    if n > ann_threshold:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 128
    else:
        index = faiss.IndexFlatIP(dim)
    if n:
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


class IndexBuilder:
    """Builds the index for one corpus folder with one embedder (call :meth:`build`)."""

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder

    def build(self, *, force: bool = False, progress: bool = True) -> BuildReport:
        """Build ``settings.index_dir`` from ``settings.corpus_dir`` unless it is already current.

        Returns a :class:`BuildReport`; ``reused`` is True when nothing changed. Raises
        CorpusError when the corpus folder is missing or no document could be read.
        """
        s = self.settings
        start = time.perf_counter()
        with _build_lock(s.index_dir):
            corpus_hash, files = corpus_fingerprint(s.corpus_dir)
            want = expected_manifest(s, self.embedder, corpus_hash)
            if not force:
                try:
                    idx = SearchIndex.load(s.index_dir, want, verify_files=True)
                    return BuildReport(len({p.doc_id for p in idx.passages}), len(idx.passages),
                                       int(idx.sentence_offsets[-1]), time.perf_counter() - start, 0, 0,
                                       tuple(SkippedFile(**x) for x in idx.manifest.get("skipped", [])),
                                       True, idx.manifest)
                except (IndexMissingError, IndexStaleError, IndexCorruptError):
                    pass
            return self._build(corpus_hash, files, want, start, progress)

    def _write_build(self, tmp: Path, build_id: str, passages: list[Passage], dense: np.ndarray,
                     sent_vecs: np.ndarray, offsets: np.ndarray, terms: list[str], term_vecs: np.ndarray,
                     term_mean: np.ndarray, files: dict[str, str], want: dict[str, Any],
                     load: Any) -> dict[str, Any]:
        """Write every file of one build into ``tmp`` and fsync them; return the manifest."""
        s = self.settings
        tmp.mkdir()
        with (tmp / "passages.jsonl").open("w", encoding="utf-8") as fh:
            for p in passages:
                fh.write(json.dumps(p.to_json(), ensure_ascii=False) + "\n")
        import faiss

        faiss.write_index(make_dense_index(dense), str(tmp / "dense.faiss"))
        np.save(tmp / "sentences.npy", sent_vecs)
        np.save(tmp / "sentence_offsets.npy", offsets)
        np.save(tmp / "terms.npy", centre(term_vecs, term_mean) if len(terms)
                else np.zeros((0, self.embedder.dim), np.float32))
        (tmp / "terms.json").write_text(json.dumps({"words": terms, "mean": [float(x) for x in term_mean]},
                                                   ensure_ascii=False), encoding="utf-8")
        _build_bm25([p.bm25_text(s.passage_context) for p in passages], s.stemmer).save(
            str(tmp / "bm25"), show_progress=False)
        manifest = dict(want)
        manifest.update({
            "build_id": build_id,
            "build_time": datetime.now(UTC).isoformat(timespec="seconds"),
            "corpus_dir": str(s.corpus_dir),
            "corpus_files": files,
            "counts": {"documents": len(load.documents), "passages": len(passages),
                       "sentences": int(offsets[-1])},
            "dense_index": "hnsw" if len(passages) > ANN_THRESHOLD else "flat-ip",
            "skipped": [{"path": x.path, "reason": x.reason} for x in load.skipped],
            "renamed": [{"path": x.path, "id": x.id, "reason": x.reason} for x in load.renamed],
            "document_ids": {d.path: d.id for d in load.documents},
            "files": {name: _sha256(tmp / name) for name in _FILES},
        })
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        for name in (*_FILES, "manifest.json"):
            _fsync_file(tmp / name)
        _fsync_dir(tmp / "bm25")
        _fsync_dir(tmp)
        return manifest

    def _build(self, corpus_hash: str, files: dict[str, str], want: dict[str, Any], start: float,
               progress: bool) -> BuildReport:
        s = self.settings
        paths = list_corpus_files(s.corpus_dir)
        previous_files = _previous_files(s.index_dir)
        load = load_corpus(s.corpus_dir, s.max_file_bytes, files=paths,
                           previous_ids=previous_document_ids(s.index_dir))
        new_files = tuple(FileReport(d.path, len(d.sections), len(d.paragraphs), d.tables, d.pages,
                                     d.unreadable_pages)
                          for d in load.documents if previous_files.get(d.path) != files.get(d.path))
        if not load.documents:
            reasons = "; ".join(f"{x.path}: {x.reason}" for x in load.skipped) or "geen bestanden"
            raise CorpusError(f"Geen leesbaar document in {s.corpus_dir} ({reasons}).")
        chunker = Chunker(self.embedder.count_tokens, s.max_passage_tokens, s.passage_context)
        passages = chunker(load.documents)
        if progress:  # what the slow steps before the first progress bar did
            print(f"Corpus gelezen: {len(load.documents)} documenten, {len(passages)} passages; "
                  "nu inbedden (wat al in de cache staat, gaat snel).", file=sys.stderr, flush=True)
        builds = s.index_dir / "builds"
        try:
            builds.mkdir(parents=True, exist_ok=True)
            _adopt_copied_current(s.index_dir, builds)
            # delete what no reader needs *before* writing: leftovers of failed or killed builds, and
            # every build but the current one (it stays until the build after this one is current)
            _remove_unreferenced(builds, keep={_current_build_name(s.index_dir)})
            EmbeddingCache.remove_stale_temporaries(s.index_dir / "cache")
        except OSError as exc:
            raise IndexBuildError(_build_failure(s.index_dir, exc)) from exc
        cache = EmbeddingCache(s.index_dir / "cache", self.embedder)
        texts = [p.index_text(s.passage_context) for p in passages]
        dense = cache.embed_passages(texts, progress=progress, desc="alinea's inbedden")
        sentences = [sent for p in passages for sent in p.sentences]
        sent_vecs = cache.embed_passages(sentences, progress=progress, desc="zinnen inbedden")
        offsets = np.zeros(len(passages) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(p.sentences) for p in passages])
        terms = lexicon_words([*(p.text for p in passages), *{p.title for p in passages},
                               *{p.section_label for p in passages}])
        term_vecs = cache.embed_queries(terms, progress=progress, desc="termen inbedden")
        term_mean = term_vecs.mean(axis=0) if len(terms) else np.zeros(self.embedder.dim, np.float32)
        build_id = f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}-{os.getpid()}"
        tmp = builds / f"{build_id}.partial"
        try:
            cache.save(keep=[*texts, *sentences], keep_queries=terms)
            manifest = self._write_build(tmp, build_id, passages, dense, sent_vecs, offsets, terms, term_vecs,
                                         term_mean, files, want, load)
            final = builds / build_id
            os.rename(tmp, final)
            _fsync_dir(builds)
            previous = _current_build_name(s.index_dir)
            link_tmp = s.index_dir / f".current-{os.getpid()}"
            with contextlib.suppress(FileNotFoundError):
                link_tmp.unlink()
            os.symlink(Path("builds") / build_id, link_tmp)
            os.replace(link_tmp, _current_dir(s.index_dir))  # atomic swap
            _fsync_dir(s.index_dir)
        except (OSError, RuntimeError) as exc:  # RuntimeError: faiss' write errors
            message = _build_failure(s.index_dir, exc)  # before the clean-up frees the space again
            shutil.rmtree(tmp, ignore_errors=True)
            raise IndexBuildError(message) from exc
        # the previous build stays for readers that opened it before the swap
        _remove_unreferenced(builds, keep={build_id, previous})
        return BuildReport(len(load.documents), len(passages), len(sentences), time.perf_counter() - start,
                           cache.misses, cache.hits, load.skipped, False, manifest, new_files)


class IndexBuildError(IndexError_):
    """A build could not be written (disk full, read-only folder …); the previous index is untouched."""


def _build_failure(index_dir: Path, exc: Exception) -> str:
    """Dutch description of a failed build (disk full, read-only, no permission …)."""
    import errno

    code = getattr(exc, "errno", None) or 0
    if not code:  # faiss (RuntimeError) and numpy (OSError without errno) hide the cause of a failed write
        with contextlib.suppress(OSError):
            code = errno.ENOSPC if shutil.disk_usage(index_dir).free < 1024 * 1024 else errno.EIO
    why = {errno.ENOSPC: "de schijf is vol", errno.EDQUOT: "het schijfquotum is op",
           errno.EROFS: "de map is alleen-lezen", errno.EACCES: "geen schrijfrechten",
           errno.EPERM: "geen schrijfrechten", errno.EIO: "schrijffout"}.get(
               code, getattr(exc, "strerror", None) or type(exc).__name__)
    filename = getattr(exc, "filename", None)
    where = f" ({shown_name(str(filename))})" if filename else ""
    return (f"De index in {index_dir} kon niet worden gebouwd: {why}{where}. Half geschreven bestanden zijn "
            "opgeruimd; de vorige index is ongewijzigd.")


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _current_build_name(index_dir: Path) -> str | None:
    """Name of the build folder ``current`` points to (None when there is none)."""
    cur = _current_dir(index_dir)
    if not cur.is_symlink():
        return None
    with contextlib.suppress(OSError):
        return Path(os.readlink(cur)).name
    return None


def _remove_unreferenced(builds: Path, keep: set[str | None]) -> None:
    """Delete every build folder (finished or ``.partial``) whose name is not in ``keep``."""
    for old in builds.iterdir():
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)


def _adopt_copied_current(index_dir: Path, builds: Path) -> None:
    """A ``current`` that is a real folder (an index copied with ``cp -rL``) becomes a build folder,
    so the atomic symlink swap can replace it."""
    cur = _current_dir(index_dir)
    if cur.is_dir() and not cur.is_symlink():
        name = f"overgenomen-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}"
        os.rename(cur, builds / name)
        os.symlink(Path("builds") / name, cur)


def _build_bm25(texts: Sequence[str], stemmer: str) -> Any:
    import bm25s

    corpus_tokens = [bm25_tokens(t, stemmer=stemmer) or [_EMPTY_TOKEN] for t in texts]
    retriever = bm25s.BM25(k1=BM25_K1, b=BM25_B)
    retriever.index(corpus_tokens, show_progress=False)
    return retriever


_NOT_COMPARED = ("corpus_dir",)  # where the corpus lives is not what it holds


def _diff_manifest(have: dict[str, Any], want: dict[str, Any], prefix: str = "") -> list[str]:
    """Differences as Dutch lines naming the field, e.g. ``"embedder.model_id: index heeft 'a', verwacht 'b'"``."""
    diffs = []
    for key, value in want.items():
        if (key == "corpus_hash" and value is None) or (not prefix and key in _NOT_COMPARED):
            continue
        got = have.get(key)
        if isinstance(value, dict) and isinstance(got, dict):
            diffs.extend(_diff_manifest(got, value, f"{prefix}{key}."))
            diffs.extend(f"{prefix}{key}.{k}: index heeft {got[k]!r}, verwacht niets"
                         for k in sorted(got.keys() - value.keys()))
        elif got != value:
            diffs.append(f"{prefix}{key}: index heeft {got!r}, verwacht {value!r}")
    return diffs


@dataclass(frozen=True)
class DocumentInfo:
    """One indexed document as lists and filters show it: metadata plus its number of paragraphs
    and passages (from the index's passages, so it is what answers can cite)."""

    id: str
    title: str
    date: str | None
    kind: str | None
    fragment: bool
    source: str | None
    paragraphs: int
    passages: int

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict of the fields."""
        return asdict(self)


class SearchIndex:
    """A loaded, verified index: passages, FAISS dense index, sentence vectors and BM25."""

    def __init__(self, directory: Path, manifest: dict[str, Any], passages: list[Passage], dense: Any,
                 sentence_vectors: np.ndarray, sentence_offsets: np.ndarray, bm25: Any,
                 lexicon: Lexicon | None = None) -> None:
        self.directory = directory
        self.manifest = manifest
        self.passages = passages
        self.dense = dense
        self.sentence_vectors = sentence_vectors
        self.sentence_offsets = sentence_offsets
        self.bm25 = bm25
        #: corpus word forms with centred embeddings, for soft term matching (see rag.lexicon)
        self.lexicon = lexicon or Lexicon([], np.zeros((0, sentence_vectors.shape[1]), np.float32),
                                          np.zeros(sentence_vectors.shape[1], np.float32))
        self.vocabulary: frozenset[str] = frozenset(
            str(k) for k in getattr(bm25, "vocab_dict", {}) if k != _EMPTY_TOKEN)

    @functools.cached_property
    def documents(self) -> tuple[DocumentInfo, ...]:
        """The indexed documents in index order (corpus order: by document id)."""
        first: dict[str, Passage] = {}
        paragraphs: dict[str, set[str]] = {}
        count: dict[str, int] = {}
        for p in self.passages:
            first.setdefault(p.doc_id, p)
            paragraphs.setdefault(p.doc_id, set()).add(p.paragraph_id)
            count[p.doc_id] = count.get(p.doc_id, 0) + 1
        return tuple(DocumentInfo(d, p.title, p.date, p.kind, p.fragment, p.source, len(paragraphs[d]), count[d])
                     for d, p in first.items())

    @classmethod
    def load(cls, index_dir: Path, want: dict[str, Any], *, verify_files: bool = True) -> SearchIndex:
        """Load ``index_dir/current`` after checking it.

        Raises IndexMissingError (no index), IndexCorruptError (missing/truncated/altered
        file, unreadable manifest), IndexStaleError (other corpus, model or settings; the
        ``differences`` list says what). Never returns an index that failed a check.
        """
        for attempt in range(_LOAD_ATTEMPTS):
            cur = _current_dir(index_dir)
            if not cur.exists():
                raise IndexMissingError(f"Er is nog geen index in {index_dir}.")
            cur = cur.resolve()  # read every file from one build, even if a new build swaps "current" meanwhile
            try:
                return cls._load_build(cur, want, verify_files=verify_files)
            except IndexCorruptError:
                # a build that was removed under us while a new one took its place is not corrupt:
                # read the new "current" (builds are kept until the one after next, see IndexBuilder)
                if attempt == _LOAD_ATTEMPTS - 1 or _current_dir(index_dir).resolve() == cur:
                    raise
        raise AssertionError("unreachable")

    @classmethod
    def _load_build(cls, cur: Path, want: dict[str, Any], *, verify_files: bool) -> SearchIndex:
        """Load and check one build directory (see :meth:`load`)."""
        try:
            manifest = json.loads((cur / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexCorruptError(f"Index-manifest onleesbaar in {cur}: {exc}") from exc
        if not isinstance(manifest, dict):
            raise IndexCorruptError(f"Index-manifest heeft een ongeldige vorm in {cur}.")
        diffs = _diff_manifest(manifest, want)
        if diffs:
            have_files = manifest.get("corpus_files", {})
            if any(d.startswith("corpus_hash") for d in diffs) and isinstance(have_files, dict):
                diffs = [d for d in diffs if not d.startswith("corpus_hash")] + _corpus_changes(
                    have_files, Path(want.get("corpus_dir") or manifest.get("corpus_dir", "corpus")))
            raise IndexStaleError("De index past niet bij het huidige corpus of de instellingen: "
                                  + "; ".join(diffs), diffs)
        files = manifest.get("files", {})
        if not isinstance(files, dict):
            raise IndexCorruptError(f"Index-manifest heeft een ongeldige vorm in {cur} (files).")
        for name in _FILES:
            path = cur / name
            if not path.is_file():
                raise IndexCorruptError(f"Indexbestand ontbreekt: {name}")
            if verify_files and files.get(name) != _sha256(path):
                raise IndexCorruptError(f"Indexbestand beschadigd of gewijzigd (checksum klopt niet): {name}")
        try:
            import bm25s
            import faiss

            passages = [Passage.from_json(json.loads(line))
                        for line in (cur / "passages.jsonl").read_text(encoding="utf-8").splitlines() if line]
            dense = faiss.read_index(str(cur / "dense.faiss"))
            # a plain ndarray view of the memory map: slicing a np.memmap costs a Python call per slice
            sent = np.load(cur / "sentences.npy", allow_pickle=False, mmap_mode="r").view(np.ndarray)
            offsets = np.load(cur / "sentence_offsets.npy", allow_pickle=False)
            bm25 = bm25s.BM25.load(str(cur / "bm25"), show_progress=False, verbosity=0)
            term_data = json.loads((cur / "terms.json").read_text(encoding="utf-8"))
            lexicon = Lexicon(term_data["words"], np.load(cur / "terms.npy", allow_pickle=False),
                              np.asarray(term_data["mean"], dtype=np.float32))
        except Exception as exc:  # any reader failure means a corrupt index
            raise IndexCorruptError(f"Index kon niet gelezen worden: {type(exc).__name__}: {exc}") from exc
        dim = manifest["embedder"]["dim"]
        if (dense.ntotal != len(passages) or dense.d != dim or len(offsets) != len(passages) + 1
                or sent.shape != (int(offsets[-1]), dim)
                or lexicon.vectors.shape != (len(lexicon.words), dim) or lexicon.mean.shape != (dim,)):
            raise IndexCorruptError("Indexbestanden zijn onderling inconsistent (aantallen of dimensie).")
        return cls(cur, manifest, passages, dense, sent, offsets, bm25, lexicon)

    def idf(self, term: str) -> float:
        """BM25-style IDF (natural log) of a stemmed, folded term over the passages; a term unknown
        to the corpus counts as maximally specific, log(1 + n)."""
        n = len(self.passages)
        df = self.document_frequency(term)
        if df == 0:
            return math.log(1 + n)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def document_frequency(self, term: str) -> int:
        """Number of passages whose BM25 terms include ``term`` (a stemmed, folded term); 0 if unknown."""
        tid = getattr(self.bm25, "vocab_dict", {}).get(term)
        if tid is None:
            return 0
        indptr = self.bm25.scores["indptr"]
        return int(indptr[tid + 1] - indptr[tid]) if tid + 1 < len(indptr) else 1

    def sentences_of(self, i: int) -> tuple[tuple[str, ...], np.ndarray]:
        """Sentences of passage ``i`` and their vectors, float32 (k, dim)."""
        a, b = int(self.sentence_offsets[i]), int(self.sentence_offsets[i + 1])
        return self.passages[i].sentences, self.sentence_vectors[a:b]


def _corpus_changes(have_files: dict[str, str], corpus_dir: Path) -> list[str]:
    try:
        _, now = corpus_fingerprint(corpus_dir)
    except CorpusError:
        return ["corpusmap ontbreekt"]
    changed = sorted(shown_name(k) for k in have_files.keys() & now.keys() if have_files[k] != now[k])
    added = sorted(shown_name(k) for k in now.keys() - have_files.keys())
    removed = sorted(shown_name(k) for k in have_files.keys() - now.keys())
    out = []
    if changed:
        out.append("gewijzigd: " + ", ".join(changed))
    if added:
        out.append("nieuw: " + ", ".join(added))
    if removed:
        out.append("verwijderd: " + ", ".join(removed))
    return out or ["corpus of parserversie gewijzigd"]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m rag.index [--corpus DIR] [--index DIR] [--rebuild] [--embedder NAME]``."""
    from rag.embedding import load_embedder
    from rag.errors import RagError

    parser = DutchArgumentParser(prog="python -m rag.index", description="Bouw de zoekindex van het corpus.")
    add_source_arguments(parser)
    parser.add_argument("--rebuild", action="store_true", help="opnieuw bouwen, ook als de index actueel is")
    parser.add_argument("--quiet", action="store_true", help="geen voortgangsbalk")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env(corpus_dir=args.corpus, index_dir=args.index, embedder=args.embedder)
        report = IndexBuilder(settings, load_embedder(settings)).build(force=args.rebuild, progress=not args.quiet)
    except (RagError, ValueError) as exc:
        print(f"fout: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ValueError | CorpusError) else 1
    try:
        _print_report(report, settings)
    except BrokenPipeError:  # e.g. piped into `head`: the index is built, the rest is only output
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _print_report(report: BuildReport, settings: Settings) -> None:
    m = report.manifest
    status = "ongewijzigd, niets te doen" if report.reused else "gebouwd"
    print(f"Index {status}: {report.documents} documenten, {report.passages} passages, "
          f"{report.sentences} zinnen in {report.seconds:.2f} s "
          f"(ingebed: {report.embedded}, uit cache: {report.cache_hits}).")
    print(f"  model: {m['embedder']['model_id']} ({m['embedder']['backend']}, dim {m['embedder']['dim']}, "
          f"prefixen {m['embedder']['prefix_scheme']})")
    print(f"  corpus-hash: {m['corpus_hash'][:16]}…  gebouwd: {m.get('build_time')}  "
          f"dense: {m.get('dense_index')}  map: {settings.index_dir / 'current'}")
    if len(report.new_files) <= _MAX_LISTED_FILES:  # a first build of a whole corpus is summarised above
        for f in report.new_files:
            pages = f", {f.pages} pagina's" if f.pages else ""
            bad = (f"; pagina zonder tekstlaag (gescand?): {', '.join(map(str, f.unreadable_pages))}"
                   if f.unreadable_pages else "")
            print(f"  nieuw: {shown_name(f.path)}: {f.sections} secties, {f.paragraphs} alinea's, "
                  f"{f.tables} tabellen{pages}{bad}")
    else:
        print(f"  nieuw of gewijzigd: {len(report.new_files)} bestanden")
        for f in report.new_files:
            if f.unreadable_pages:
                print(f"  {shown_name(f.path)}: pagina zonder tekstlaag (gescand?): "
                      f"{', '.join(map(str, f.unreadable_pages))}")
    for sk in report.skipped:
        print(f"  overgeslagen: {shown_name(sk.path)}: {sk.reason}")
    for rn in m.get("renamed", []):
        print(f"  {shown_name(rn['path'])}: {rn['reason']}")
    sys.stdout.flush()


if __name__ == "__main__":
    raise SystemExit(main())
