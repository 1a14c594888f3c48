"""Search filters: limit a question to some documents, kinds of document or a period.

A :class:`Filters` object is built once per question (from the chat's filter row, ``rag.ask``'s
``--doc/--kind/--from/--to`` or the JSON ``filters`` object) and handed to retrieval, which
restricts both retrievers to the allowed passages *before* ranking (FAISS ID selector, BM25
weight mask), so a filter never costs recall. Pure data and pure functions: no index access.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from rag.errors import RagError

#: the earliest and latest year a filter may name (the corpus runs from 1980 to 2025)
MIN_YEAR, MAX_YEAR = 1800, 2100


class FilterError(RagError, ValueError):
    """A filter that cannot be applied: unknown document or kind, a year that is no year, or a
    range that ends before it starts. ``str(err)`` is a Dutch message for end users."""


class Filterable(Protocol):
    """What a filter looks at: a passage or a document (``rag.chunking.Passage`` has these)."""

    @property
    def doc_id(self) -> str: ...
    @property
    def kind(self) -> str | None: ...
    @property
    def date(self) -> str | None: ...


@dataclass(frozen=True)
class Filters:
    """Which documents a question may be answered from. Empty fields do not restrict.

    ``documents``: document ids (``Document.id``); ``kinds``: document kinds (``Document.kind``,
    lower case, e.g. "verdrag", "slotverklaring"); ``year_from``/``year_to``: inclusive years of
    the document date. A document without a date is excluded by any year bound.
    """

    documents: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None

    def __post_init__(self) -> None:
        for year in (self.year_from, self.year_to):
            if year is not None and not MIN_YEAR <= year <= MAX_YEAR:
                raise FilterError(f"Het jaar {year} ligt buiten {MIN_YEAR}-{MAX_YEAR}.")
        if self.year_from is not None and self.year_to is not None and self.year_from > self.year_to:
            raise FilterError(f"De periode {self.year_from}-{self.year_to} eindigt voor ze begint.")

    @property
    def empty(self) -> bool:
        """True when nothing is restricted."""
        return not (self.documents or self.kinds or self.year_from is not None or self.year_to is not None)

    def allows(self, item: Filterable) -> bool:
        """Whether a passage (or document) of this kind, id and date passes the filter."""
        if self.documents and item.doc_id not in self.documents:
            return False
        if self.kinds and (item.kind or "") not in self.kinds:
            return False
        if self.year_from is None and self.year_to is None:
            return True
        year = year_of(item.date)
        if year is None:
            return False
        return (self.year_from is None or year >= self.year_from) and (self.year_to is None or year <= self.year_to)

    def check(self, documents: Iterable[str], kinds: Iterable[str]) -> None:
        """Raise :class:`FilterError` naming every document id or kind the index does not have."""
        known_docs, known_kinds = set(documents), set(kinds)
        bad_docs = [d for d in self.documents if d not in known_docs]
        if bad_docs:
            raise FilterError("Onbekend document: " + ", ".join(bad_docs)
                              + ". Zie de lijst van documenten (tab Documenten, GET /api/documents).")
        bad_kinds = [k for k in self.kinds if k not in known_kinds]
        if bad_kinds:
            raise FilterError("Onbekende soort document: " + ", ".join(bad_kinds)
                              + ". Bekende soorten: " + ", ".join(sorted(known_kinds)) + ".")

    def describe(self) -> str:
        """Dutch one-line description ("soort: verdrag; 2000-2010"), "" when empty."""
        parts = []
        if self.documents:
            parts.append("documenten: " + ", ".join(self.documents))
        if self.kinds:
            parts.append("soort: " + ", ".join(self.kinds))
        if self.year_from is not None or self.year_to is not None:
            lo = str(self.year_from) if self.year_from is not None else "…"
            hi = str(self.year_to) if self.year_to is not None else "…"
            parts.append(f"periode {lo}-{hi}")
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        """The JSON form (``{"documents": [...], "kinds": [...], "from": 2019, "to": 2023}``)."""
        return {"documents": list(self.documents), "kinds": list(self.kinds),
                "from": self.year_from, "to": self.year_to}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Filters:
        """Inverse of :meth:`to_json`; missing keys do not restrict. Raises FilterError (Dutch) on
        unknown keys or values of the wrong type."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise FilterError("'filters' moet een object zijn, bv. {\"kinds\": [\"verdrag\"], \"from\": 2000}.")
        unknown = set(data) - {"documents", "kinds", "from", "to"}
        if unknown:
            raise FilterError("Onbekend filterveld: " + ", ".join(sorted(unknown))
                              + " (bekend: documents, kinds, from, to).")
        return cls(documents=_strings(data.get("documents"), "documents"),
                   kinds=tuple(k.lower() for k in _strings(data.get("kinds"), "kinds")),
                   year_from=parse_year(data.get("from"), "from"), year_to=parse_year(data.get("to"), "to"))


def _strings(value: Any, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise FilterError(f"'{name}' moet een lijst van teksten zijn.")
    return tuple(dict.fromkeys(v.strip() for v in value if v.strip()))


def parse_year(value: Any, name: str = "jaar") -> int | None:
    """A year from an int or a string ("2019", " 2019 "); None for None or "". Raises FilterError."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise FilterError(f"'{name}' moet een jaartal zijn, zoals 2019.")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*\d{4}\s*", value):
        return int(value)
    raise FilterError(f"'{name}' moet een jaartal zijn, zoals 2019 (gekregen: {value!r}).")


def year_of(date: str | None) -> int | None:
    """The year of an ISO date ("2023-01-31", "2023-01", "2023"), None when absent or malformed."""
    if not date:
        return None
    m = re.match(r"(\d{4})(?:-|$)", date)
    if not m:
        return None
    year = int(m.group(1))
    return year if 1 <= year <= datetime.MAXYEAR else None
