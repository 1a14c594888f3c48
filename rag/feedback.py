"""Reader feedback on answers: an append-only JSONL log, its negatives, and eval questions made from it.

One line per 👍/👎 click (written by the web chat, ``app.py``), a JSON object with:

============== ==========================================================================
``time``       UTC time of the click, ISO 8601
``rating``     ``"up"`` or ``"down"``
``comment``    the reader's optional comment ("" when none)
``question``   the question as answered
``answer``     the answer text with its ``[n]`` markers
``abstained``  whether the chat refused to answer; ``reason`` its Dutch reason
``citations``  the cited passages (``n``, ``passage_id``, ``doc_id``, ``title``, ``date``, ``locator``,
               ``source``, ``quote``), as in the JSON contract of ``rag.ask --json``
``filters``    the answer's filters when the pipeline returns them, else ``{}``
``settings``   the pipeline settings (API key left out)
``index``      ``build`` (the index build folder) and ``corpus_hash`` of the index that answered
``answer_id``  the chat's id of the answer
============== ==========================================================================

Appending is atomic per line: the whole line (ending in ``\\n``) is written with one ``write`` on a
descriptor opened with ``O_APPEND``, under an exclusive ``flock``, so concurrent clicks (several
server threads or processes) never interleave or tear a line.

A reviewer turns a line into an eval question (format of ``eval/questions.jsonl``) by adding a
``review`` object to it: ``{"answerable": true, "gold_passages": ["exact quote", ...],
"answer_facts": ["..."], "kind": "fact"}`` (for an unanswerable question: ``{"answerable": false,
"missing": "what is not in the documents"}``); then ``python -m rag.evaluate --feedback FILE
--to-question N --out PATH`` appends the question to ``PATH`` (see :func:`to_eval_question`).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.text import fold

#: files the feedback command never writes: the fitted and held-out eval sets
PROTECTED = ("eval/questions.jsonl", "eval/splits.json", "eval/fresh.jsonl")
#: split given to questions made from feedback (in no fitted split; evaluate with --split feedback)
FEEDBACK_SPLIT = "feedback"


class FeedbackError(ValueError):
    """Bad feedback file, line or review; the message is Dutch."""


def append_feedback(path: Path, entry: Mapping[str, Any]) -> None:
    """Append ``entry`` as one JSON line to ``path`` (folders created; file mode 0600).

    Atomic per line: one ``os.write`` of the full line on an ``O_APPEND`` descriptor under an
    exclusive ``fcntl.flock``. Raises OSError when the file cannot be written; nothing partial is
    left (a short write is completed under the same lock)."""
    line = (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            view = memoryview(line)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fsync(fd)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class FeedbackLine:
    """One parsed line of the log: its 1-based line number and the JSON object."""

    line: int
    entry: dict[str, Any]


def read_feedback(path: Path) -> tuple[list[FeedbackLine], list[str]]:
    """Parse the log; return (lines, Dutch warnings about unreadable lines, which are skipped).
    Raises FeedbackError when the file cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FeedbackError(f"{path}: onleesbaar ({exc.__class__.__name__})") from exc
    out, warnings = [], []
    for n, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            warnings.append(f"regel {n}: geen geldige JSON ({exc.msg})")
            continue
        if not isinstance(obj, dict):
            warnings.append(f"regel {n}: geen JSON-object")
            continue
        out.append(FeedbackLine(n, obj))
    return out, warnings


def negatives(lines: Sequence[FeedbackLine]) -> list[FeedbackLine]:
    """The 👎 lines, in file order."""
    return [f for f in lines if f.entry.get("rating") == "down"]


def describe(f: FeedbackLine, width: int = 160) -> str:
    """A few Dutch lines about one feedback line, for the terminal."""
    e = f.entry

    def cut(s: Any) -> str:
        text = " ".join(str(s or "").split())
        return text if len(text) <= width else text[: width - 1] + "…"

    cites = ", ".join(f"[{c.get('n')}] {c.get('passage_id')}" for c in e.get("citations") or [] if isinstance(c, dict))
    reviewed = " · beoordeeld" if isinstance(e.get("review"), dict) else ""
    rows = [f"regel {f.line} · {e.get('time', '?')} · 👎{reviewed}",
            f"  vraag:     {cut(e.get('question'))}",
            f"  antwoord:  {cut(e.get('answer'))}"]
    if e.get("comment"):
        rows.append(f"  opmerking: {cut(e.get('comment'))}")
    rows.append(f"  bronnen:   {cites or '(geen)'}")
    if e.get("filters"):
        rows.append(f"  filters:   {json.dumps(e['filters'], ensure_ascii=False)}")
    idx = e.get("index") or {}
    rows.append(f"  index:     {idx.get('build', '?')}")
    return "\n".join(rows)


def _str_list(value: Any, field: str, line: int) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise FeedbackError(f"regel {line}: review.{field} moet een lijst met teksten zijn")
    return [v.strip() for v in value]


def to_eval_question(f: FeedbackLine, question_id: str) -> dict[str, Any]:
    """The eval question (``eval/questions.jsonl`` format) of a reviewed feedback line.

    Needs ``review.answerable`` (bool). An answerable question needs ``review.gold_passages``
    (exact quotes); its ``doc_id``/``section``/``sections`` come from ``review.passage_ids`` or else
    from the cited passages whose paragraph holds a gold quote. ``answer_facts`` default to none,
    ``kind`` to ``"fact"`` (``"near-miss"`` when unanswerable), ``split`` is :data:`FEEDBACK_SPLIT`.
    Raises FeedbackError (Dutch) when the review is missing or incomplete."""
    e, n = f.entry, f.line
    review = e.get("review")
    if not isinstance(review, dict):
        raise FeedbackError(f"regel {n}: nog niet beoordeeld; voeg een object \"review\" toe met ten minste "
                            "\"answerable\" (en voor een beantwoordbare vraag \"gold_passages\")")
    question = str(e.get("question") or "").strip()
    if not question:
        raise FeedbackError(f"regel {n}: geen vraag in deze regel")
    answerable = review.get("answerable")
    if not isinstance(answerable, bool):
        raise FeedbackError(f"regel {n}: review.answerable moet true of false zijn")
    gold = _str_list(review.get("gold_passages"), "gold_passages", n)
    facts = _str_list(review.get("answer_facts"), "answer_facts", n)
    sentences = _str_list(review.get("gold_sentences"), "gold_sentences", n)
    ids = _str_list(review.get("passage_ids"), "passage_ids", n)
    if answerable and not gold:
        raise FeedbackError(f"regel {n}: een beantwoordbare vraag heeft review.gold_passages nodig "
                            "(letterlijke citaten)")
    if not ids and gold:
        ids = [str(c.get("passage_id")) for c in e.get("citations") or [] if isinstance(c, dict)
               and c.get("passage_id") and any(fold(q) in fold(str(c.get("text") or c.get("quote") or ""))
                                                for q in gold)]
    sections = list(dict.fromkeys(pid.rsplit("/", 1)[0] for pid in ids if "#" in pid))
    doc_id = sections[0].split("#", 1)[0] if sections else ""
    section = sections[0].split("#", 1)[1] if sections else ""
    if answerable and not sections:
        raise FeedbackError(f"regel {n}: geen alinea gevonden voor de gold-citaten; geef review.passage_ids "
                            "(bv. \"2023-slotverklaring-nederlands-vlaamse-top-den-bosch#2.f/p3\")")
    kind = str(review.get("kind") or ("fact" if answerable else "near-miss"))
    return {"id": question_id, "question": question, "answerable": answerable, "kind": kind,
            "split": FEEDBACK_SPLIT, "gold_passages": gold, "gold_sentences": sentences, "answer_facts": facts,
            "doc_id": doc_id, "section": section, "sections": sections,
            "missing": str(review.get("missing") or ""), "tags": ["feedback", f"feedback-line-{n}"]}


def is_protected(path: Path) -> bool:
    """True for the eval files this command must never write (:data:`PROTECTED`), wherever the repo is."""
    resolved = path.resolve()
    return any(resolved.parts[-2:] == tuple(p.split("/")) for p in PROTECTED)


def write_question(path: Path, question: Mapping[str, Any]) -> None:
    """Append ``question`` as one line to ``path`` (refused for :data:`PROTECTED` files and for an id
    already in the file). Raises FeedbackError (Dutch) or OSError."""
    if is_protected(path):
        raise FeedbackError(f"{path}: dit evaluatiebestand wordt niet door dit commando gewijzigd; "
                            "kies een eigen bestand, bv. eval/feedback-vragen.jsonl")
    if path.exists():
        for raw in path.read_text(encoding="utf-8").split("\n"):
            try:
                obj = json.loads(raw) if raw.strip() else None
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict) and obj.get("id") == question.get("id"):
                raise FeedbackError(f"{path}: er staat al een vraag met id {question.get('id')!r}")
    append_feedback(path, question)
