"""Answers and conversations as Markdown and JSON, ready to paste into an article ("Kopieer met bronnen").

Pure functions over the JSON contract of an answer (:func:`rag.answer.answer_to_json`, the object
``rag.ask --json`` prints), so every interface exports the same text:

* :func:`answer_markdown`: the question, the answer with its ``[n]`` markers, the quoted sentences
  and a numbered source list (title, date, locator, link; "fragment" when only part of the document
  is in the corpus). An abstention gives the Dutch message and no sources.
* :func:`conversation_markdown` / :func:`conversation_json`: a whole chat, turn by turn.

Corpus text is pasted as text: Markdown's inline specials (``\\ ` * _ < >``, a ``](`` that would
make a link, a list, heading or quote marker opening a line) are backslash-escaped; ``[n]`` markers
stay readable.
Links are only written for http(s) addresses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from rag.text import dutch_date

FRAGMENT_MD = "fragment: het corpus bevat maar een deel van dit document"
_INLINE = re.compile(r"([\\`*_<>])")
_LINE_START = re.compile(r"^(\s*)(>|[#+*\-](?=\s)|\d+[.)](?=\s))")


def md_text(text: str | None, *, line_start: bool = False) -> str:
    """``text`` on one line with Markdown's inline specials escaped (see the module docstring); with
    ``line_start`` (the text opens a line) also a leading list, heading or quote marker."""
    one = " ".join(str(text or "").split())
    one = _INLINE.sub(r"\\\1", one).replace("](", "]\\(")
    if not line_start:
        return one
    return _LINE_START.sub(lambda m: m.group(1) + (m.group(2)[:-1] + "\\" + m.group(2)[-1] if m.group(2)[0].isdigit()
                                                   else "\\" + m.group(2)), one)


def md_link(url: str | None) -> str:
    """``<url>`` for an absolute http(s) address without spaces or brackets, else ""."""
    if not url:
        return ""
    url = url.strip()
    if any(ch.isspace() or ch in "<>\"'`\\" for ch in url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return f"<{url}>" if parts.scheme.lower() in ("http", "https") and parts.netloc else ""


def source_line(c: Mapping[str, Any]) -> str:
    """One numbered source: ``1. *Title* (31 januari 2023), locator. <link> (fragment: …)``; the date is
    left out when the title already holds it."""
    title = md_text(c.get("title"))
    date = dutch_date(c.get("date"))
    parts = [f"*{title}*" + (f" ({date})" if date and date not in str(c.get("title") or "") else "")]
    if c.get("locator"):
        parts.append(md_text(c.get("locator")))
    line = f"{int(c.get('n', 0))}. " + ", ".join(parts) + "."
    link = md_link(c.get("source"))
    if link:
        line += f" {link}"
    if c.get("fragment"):
        line += f" ({FRAGMENT_MD})"
    return line


def _quotes(citation: Mapping[str, Any]) -> list[str]:
    """Every quoted span of a citation (``quotes``, in text order), else its one ``quote``."""
    spans = [q for q in citation.get("quotes") or [] if isinstance(q, str) and q.strip()]
    quote = citation.get("quote")
    return spans or ([quote] if isinstance(quote, str) and quote.strip() else [])


def answer_markdown(record: Mapping[str, Any], *, with_question: bool = True) -> str:
    """Markdown of one answer (the JSON contract: ``question``, ``answer``, ``abstained``,
    ``citations`` with ``n``, ``title``, ``date``, ``locator``, ``source``, ``fragment``, ``quote``,
    ``quotes``): every quoted span is a ``>`` line with its citation number.
    Ends with a newline. Never raises on missing fields (they are left out)."""
    out = []
    if with_question and record.get("question"):
        out.append(f"**Vraag:** {md_text(record.get('question'))}")
    out.append(md_text(record.get("answer"), line_start=True))
    cites = sorted((c for c in record.get("citations") or [] if isinstance(c, Mapping)),
                   key=lambda c: int(c.get("n", 0)))
    if record.get("abstained") or not cites:
        out.append("*Geen bronnen: de documenten beantwoorden deze vraag niet.*" if record.get("abstained")
                   else "*Geen bronnen.*")
        return "\n\n".join(out) + "\n"
    out.append("\n".join(f"> „{md_text(q)}” [{int(c.get('n', 0))}]" for c in cites for q in _quotes(c)))
    out.append("**Bronnen**\n\n" + "\n".join(source_line(c) for c in cites))
    return "\n\n".join(x for x in out if x) + "\n"


def conversation_markdown(records: Sequence[Mapping[str, Any]], exported: datetime | None = None) -> str:
    """Markdown of a whole conversation: a heading with the export time, then per turn
    ``## n. question`` and :func:`answer_markdown` without the question line."""
    when = (exported or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    out = [f"# Gesprek met de topdocumenten\n\nGeëxporteerd op {when}; {len(records)} "
           f"{'vraag' if len(records) == 1 else 'vragen'}. Antwoorden zijn letterlijke zinnen uit de documenten."]
    for i, r in enumerate(records, start=1):
        out.append(f"## {i}. {md_text(r.get('question'))}\n\n" + answer_markdown(r, with_question=False).rstrip())
    return "\n\n".join(out) + "\n"


def conversation_json(records: Sequence[Mapping[str, Any]], exported: datetime | None = None) -> str:
    """JSON of a whole conversation: ``{"exported": ISO time, "turns": [answer records]}``, indented."""
    when = (exported or datetime.now(UTC)).isoformat(timespec="seconds")
    return json.dumps({"exported": when, "turns": list(records)}, ensure_ascii=False, indent=1) + "\n"
