"""Typed errors that users can cause, each with a Dutch message for the interfaces.

Deep modules raise these; the interfaces (``rag.ask``, ``app.py``, ``rag.evaluate``) turn
them into exit codes or chat messages. ``str(error)`` is always the Dutch message.
"""

from __future__ import annotations

import errno
import json
import sys


class RagError(Exception):
    """Base class; ``str(err)`` is a Dutch message fit for an end user."""


class CorpusError(RagError):
    """The corpus as a whole cannot be used (missing folder, no readable document)."""


class CorpusFileError(RagError):
    """One corpus file cannot be read; ``path`` and ``reason`` say which and why."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class EmptyQuestionError(RagError, ValueError):
    """The question is empty, whitespace or holds no letter or digit."""

    def __init__(self, message: str = "Stel een vraag: de invoer is leeg.") -> None:
        super().__init__(message)


class EmptyTextError(RagError, ValueError):
    """Empty or whitespace-only text was about to be embedded (never sent to a model)."""


class TextTooLongError(RagError, ValueError):
    """A text exceeds the embedding model's token limit; chunking should have split it."""


class IndexError_(RagError):
    """Base class for index problems (named with a trailing underscore to avoid the builtin)."""


class IndexMissingError(IndexError_):
    """No index has been built yet at the configured path."""


class IndexStaleError(IndexError_):
    """The index was built from another corpus or other settings; ``differences`` lists what."""

    def __init__(self, message: str, differences: list[str]) -> None:
        super().__init__(message)
        self.differences = differences


class IndexCorruptError(IndexError_):
    """An index file is missing, truncated or does not match its manifest checksum."""


class EmbedderError(RagError):
    """The embedding model could not be loaded (unknown name, not in the offline cache)."""


class LLMError(RagError, RuntimeError):
    """The configured language-model endpoint failed: time-out, connection error, HTTP error, an
    empty, oversized or malformed reply. ``str(exc)`` is a Dutch description for a notice.
    (A RuntimeError too, as it was when :mod:`rag.generate` defined it.)"""


class BusyError(RagError):
    """Too many questions are waiting for an answer slot (see :class:`rag.pipeline.AnswerSlots`)."""

    def __init__(self, message: str = ("De server is op dit moment te druk: de wachtrij met vragen is vol. "
                                       "Probeer het over een minuut opnieuw.")) -> None:
        super().__init__(message)


class AnswerCancelled(RagError):
    """The caller gave up on a question (e.g. an API client disconnected) before it was answered."""

    def __init__(self, message: str = "De vraag is afgebroken: de client wacht niet meer op het antwoord.") -> None:
        super().__init__(message)


#: Dutch for the operating-system errors a user meets when naming a file
_OS_ERRORS = {errno.ENOENT: "bestand of map bestaat niet", errno.EACCES: "geen toegang",
              errno.EPERM: "geen toestemming", errno.EISDIR: "is een map, geen bestand",
              errno.ENOTDIR: "een deel van het pad is geen map", errno.ENOSPC: "de schijf is vol"}


def os_error_message(exc: OSError) -> str:
    """Dutch message for an ``OSError`` on a named file: ``"<path>: bestand of map bestaat niet"``
    (the system's own text for an errno this table lacks)."""
    what = _OS_ERRORS.get(exc.errno or -1) or exc.strerror or type(exc).__name__
    return f"{exc.filename}: {what}" if exc.filename else what


#: Dutch for the messages of Python's JSON parser (``json.JSONDecodeError.msg``), by their start
_JSON_ERRORS = (
    ("Expecting value", "hier hoort een waarde"),
    ("Expecting property name enclosed in double quotes", "hier hoort een veldnaam tussen dubbele aanhalingstekens"),
    ("Expecting ':' delimiter", "hier hoort een dubbele punt"),
    ("Expecting ',' delimiter", "hier hoort een komma"),
    ("Unterminated string", "een tekst zonder afsluitend aanhalingsteken"),
    ("Invalid control character", "een stuurteken (zoals een regeleinde) binnen een tekst"),
    ("Invalid \\uXXXX escape", "een ongeldige \\u-code"),
    ("Invalid \\escape", "een ongeldige \\-code"),
    ("Extra data", "tekst na het einde van de JSON"),
    ("Illegal trailing comma", "een komma voor het sluithaakje"),
)


def json_error_message(msg: str, position: int | None = None) -> str:
    """Dutch for a JSON parser message (``json.JSONDecodeError.msg``, or pydantic's ``json_invalid``
    text, which is the same), with the character position when known: "een tekst zonder afsluitend
    aanhalingsteken (bij teken 13)". A message this table lacks is kept as it is."""
    dutch = next((nl for en, nl in _JSON_ERRORS if msg.startswith(en)), msg)
    return f"{dutch} (bij teken {position})" if position is not None else dutch


def json_exception_message(exc: Exception) -> str:
    """Dutch for why ``json.loads`` failed: :func:`json_error_message` of a ``JSONDecodeError``
    (position 1-based), else the exception's own text (e.g. nesting too deep)."""
    if isinstance(exc, json.JSONDecodeError):
        return json_error_message(exc.msg, exc.pos + 1)
    return str(exc)


def fail(exc: BaseException, status: int) -> int:
    """Print ``fout: <Dutch message>`` of ``exc`` on stderr (an ``OSError`` as
    :func:`os_error_message`) and return ``status`` (an interface's exit code)."""
    print(f"fout: {os_error_message(exc) if isinstance(exc, OSError) else exc}", file=sys.stderr)
    return status
