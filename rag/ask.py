"""Terminal interface: ``python -m rag.ask "vraag"`` (also ``rag-ask``).

* ``python -m rag.ask "vraag"`` prints the answer, then the cited paragraphs with locators and sources.
* No question: an interactive prompt on a terminal (follow-up questions use the previous one),
  or one question read from stdin when it is piped.
* ``--json`` prints one JSON object (the contract in the README); ``--batch FILE --json`` reads one
  question per line or JSONL objects with ``question`` and optional ``id`` and writes one JSON
  object per line, loading the model and index once.
* Exit status: 0 answered or abstained; 2 bad usage or input (one line on stderr); 1 internal error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from rag.answer import FRAGMENT_NOTE, Answer, answer_to_json, with_meta
from rag.errors import CorpusError, EmptyQuestionError, RagError, fail, json_exception_message
from rag.filters import FilterError, Filters
from rag.settings import DutchArgumentParser, add_settings_arguments, settings_from_args

#: the message for an empty question (the one of :class:`~rag.errors.EmptyQuestionError`)
EMPTY_INPUT = str(EmptyQuestionError())


def build_parser() -> argparse.ArgumentParser:
    """Argument parser of ``rag.ask`` (shared flag names with ``app.py``)."""
    p = DutchArgumentParser(
        prog="python -m rag.ask",
        description="Beantwoord een vraag over de Nederlands-Vlaamse topdocumenten, met bronvermelding.")
    p.add_argument("question", nargs="*", help="de vraag (zonder vraag: interactief, of lees van stdin)")
    p.add_argument("--json", action="store_true", help="één JSON-object per vraag")
    p.add_argument("--batch", type=Path, metavar="FILE",
                   help="vragen uit FILE: één per regel, of JSONL met 'question' en optioneel 'id'")
    f = p.add_argument_group("filters", "beperk de vraag tot sommige documenten (herhaalbaar; alle moeten gelden)")
    f.add_argument("--doc", action="append", default=[], metavar="ID", help="alleen dit document (id, zie rag.corpus)")
    f.add_argument("--kind", action="append", default=[], metavar="SOORT",
                   help="alleen documenten van deze soort (verdrag, slotverklaring, persbericht, ...)")
    f.add_argument("--from", dest="year_from", metavar="JAAR", help="alleen documenten van dit jaar of later")
    f.add_argument("--to", dest="year_to", metavar="JAAR", help="alleen documenten van dit jaar of eerder")
    add_settings_arguments(p)
    return p


def filters_from_args(args: argparse.Namespace) -> Filters:
    """The :class:`~rag.filters.Filters` of ``--doc/--kind/--from/--to``; raises FilterError (Dutch)."""
    return Filters.from_json({"documents": args.doc, "kinds": args.kind, "from": args.year_from, "to": args.year_to})


def render(answer: Answer, out: IO[str]) -> None:
    """Readable terminal rendering. Document text is printed as plain text (no markup, no escapes)."""
    from rich.console import Console
    from rich.padding import Padding
    from rich.panel import Panel
    from rich.text import Text

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            # rich exits with status 1 here; the reader only stopped early (`| head -1`), so hand
            # the BrokenPipeError to main, which ends with 0
            self.quiet = True
            raise BrokenPipeError

    console = _Console(file=out, highlight=False, soft_wrap=False, emoji=False)
    for notice in answer.notices:
        console.print(Text(f"Let op: {notice}", style="yellow"))
    title = "Geen antwoord" if answer.abstained else f"Antwoord ({answer.mode})"
    console.print(Panel(Text(answer.text), title=title, border_style="red" if answer.abstained else "green"))
    for c in answer.citations:
        p = c.passage
        head = Text(f"[{c.n}] ", style="bold")
        head.append(f"{p.title}", style="bold")
        head.append(f" ({p.heading_date})" if p.heading_date else "")
        head.append(f"\n    {p.locator}", style="cyan")
        if p.fragment:
            head.append(f"\n    {FRAGMENT_NOTE}", style="yellow")
        console.print(head)
        if p.source:  # on one line, never wrapped or cut, so it can be clicked and copied whole
            console.print(Text(f"    {p.source}", style=f"dim link {p.source}"), no_wrap=True, crop=False,
                          overflow="ignore")
        body = Text(p.paragraph_text)
        for q in c.spans:  # every quoted span, marked where it stands in the paragraph
            start = p.paragraph_text.find(q)
            if start >= 0:
                body.stylize("bold reverse", start, start + len(q))
        console.print(Padding(body, (0, 0, 1, 4)))
    if answer.abstained and answer.related:
        console.print(Text("Mogelijk verwante passages (geen antwoord, alleen om zelf na te lezen):", style="dim"))
        for r in answer.related:  # a wrapped line keeps its indent
            console.print(Padding(Text(f"- {r.passage.title}, {r.passage.locator}", style="dim"), (0, 0, 0, 2)))


def _emit(answer: Answer, args: argparse.Namespace, out: IO[str]) -> None:
    if args.json:
        out.write(json.dumps(answer_to_json(answer), ensure_ascii=False) + "\n")
        out.flush()
    else:
        render(answer, out)


BatchItem = tuple[Any, str | None, str | None, Filters | None]


def _read_batch(path: Path) -> list[BatchItem]:
    """(id, question, error, filters) per non-empty line of a batch file; the id is the JSONL object's
    ``id``, else the line number (so every output line can be matched to its input). A bad line (invalid JSON,
    no ``question``, a question that is not text, bad ``filters``) gets a Dutch ``error`` instead of
    stopping the batch; bytes that are not UTF-8 are replaced by U+FFFD, so such a line is still
    asked. ``filters`` is None unless the JSONL object has a ``filters`` object."""
    items: list[BatchItem] = []
    data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
    for n, raw in enumerate(data.split(b"\n"), start=1):  # not splitlines(): U+2028 may sit inside JSON
        line = raw.decode("utf-8", errors="replace").rstrip("\r")
        if not line.strip():
            continue
        stripped = line.strip()
        if stripped.startswith("["):  # JSON, but not the object a JSONL line must be
            with contextlib.suppress(ValueError, RecursionError):
                json.loads(stripped)
                items.append((n, None, f"regel {n}: een JSON-regel moet een object met 'question' zijn", None))
                continue
        if stripped.startswith("{"):
            try:
                obj = json.loads(stripped)
            except (ValueError, RecursionError) as exc:
                items.append((n, None, f"regel {n}: ongeldige JSON: {json_exception_message(exc)}", None))
                continue
            if not isinstance(obj, dict) or "question" not in obj:
                items.append((obj.get("id", n) if isinstance(obj, dict) else n, None,
                              f"regel {n}: JSON-object zonder 'question'", None))
                continue
            qid, question = obj.get("id", n), obj["question"]
            if not isinstance(question, str):
                kind = "leeg (null)" if question is None else f"geen tekst maar {type(question).__name__}"
                items.append((qid, None, f"regel {n}: 'question' is {kind}", None))
                continue
            try:
                filters = Filters.from_json(obj["filters"]) if obj.get("filters") is not None else None
            except FilterError as exc:
                items.append((qid, question, f"regel {n}: {exc}", None))
                continue
            items.append((qid, question, None, filters))
        else:
            items.append((n, stripped, None, None))
    return items


def _batch_error(qid: Any, question: str | None, message: str, args: argparse.Namespace, out: IO[str]) -> None:
    if args.json:
        out.write(json.dumps({"id": qid, "question": question, "error": message}, ensure_ascii=False) + "\n")
        out.flush()
    else:  # the line's id says which question failed ("regel 8: …" already does)
        where = "" if qid is None or message.startswith("regel ") else f"vraag {qid}: "
        print(f"fout: {where}{message}", file=sys.stderr)


def _batch(pipeline: Any, args: argparse.Namespace, out: IO[str]) -> int:
    try:
        items = _read_batch(args.batch)
    except OSError as exc:
        return fail(exc, 2)
    for qid, question, error, filters in items:
        if error is not None or question is None:
            _batch_error(qid, question, error or "geen vraag", args, out)
            continue
        try:
            _emit(with_meta(pipeline.answer(question, filters=filters or args.filters), id=qid), args, out)
        except (EmptyQuestionError, FilterError) as exc:
            _batch_error(qid, question, str(exc), args, out)
    return 0


def _interactive(pipeline: Any, args: argparse.Namespace, out: IO[str]) -> int:
    history: list[str] = []
    print("Stel je vraag over de Nederlands-Vlaamse topdocumenten (leeg of 'stop' om te stoppen).", file=out)
    while True:
        try:
            out.write("vraag> ")
            out.flush()
            line = sys.stdin.readline()
        except KeyboardInterrupt:
            print(file=out)
            return 0
        if not line or line.strip().lower() in ("", "stop", "exit", "quit"):
            return 0
        try:
            ans = pipeline.answer(line, history, filters=args.filters)
        except (EmptyQuestionError, FilterError) as exc:
            print(f"fout: {exc}", file=sys.stderr)
            continue
        _emit(ans, args, out)
        history.append(line.strip())


def _failed(message: str, status: int, args: argparse.Namespace, question: str | None) -> int:
    """A question that cannot be answered: the Dutch ``fout:`` line on stderr and, with ``--json``, an
    error object on stdout (``{"id": null, "question": …, "error": …}``, as a batch line gets), so a
    program reading stdout always gets one JSON object. Returns ``status``."""
    if args.json:
        _batch_error(None, question, message, args, sys.stdout)
    print(f"fout: {message}", file=sys.stderr)
    return status


def _tolerant_streams() -> None:
    """Undecodable input bytes become U+FFFD and unencodable output characters ``?``, so bad bytes
    in a question can never end the program with a UnicodeError."""
    for stream, errors in ((sys.stdin, "replace"), (sys.stdout, "replace"), (sys.stderr, "backslashreplace")):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors=errors)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m rag.ask`` / ``rag-ask``; returns the exit status."""
    _tolerant_streams()
    args = build_parser().parse_args(argv)
    out = sys.stdout
    try:
        settings = settings_from_args(args)
        args.filters = filters_from_args(args)
    except ValueError as exc:  # FilterError is a ValueError too
        return _failed(str(exc), 2, args, " ".join(args.question).strip() or None)
    question = " ".join(args.question).strip()
    if args.batch is not None and args.question:
        return _failed("geef een vraag óf --batch BESTAND, niet allebei", 2, args, question or None)
    from_stdin = not question and args.batch is None and not sys.stdin.isatty()
    if from_stdin:
        question = sys.stdin.read().strip()
        if not question:
            return _failed(EMPTY_INPUT, 2, args, question)
        if sum(1 for line in question.splitlines() if line.strip()) > 1:
            print("let op: de invoer heeft meerdere regels en is als één vraag gesteld; gebruik --batch BESTAND "
                  "(of --batch /dev/stdin) voor één vraag per regel.", file=sys.stderr)
    if args.question and not question:
        return _failed(EMPTY_INPUT, 2, args, question)
    from rag.pipeline import Pipeline

    pipeline = Pipeline(settings, progress=lambda msg: print(msg, file=sys.stderr))
    try:
        if question:
            pipeline.prepare_question(question)  # empty input fails before any model is loaded
            _emit(pipeline.answer(question, filters=args.filters), args, out)
            return 0
        if args.batch is not None:
            return _batch(pipeline, args, out)
        return _interactive(pipeline, args, out)
    except (EmptyQuestionError, FilterError, CorpusError) as exc:
        return _failed(str(exc), 2, args, question or None) if question else fail(exc, 2)
    except RagError as exc:
        return _failed(str(exc), 1, args, question or None) if question else fail(exc, 1)
    except BrokenPipeError:
        # the reader stopped early (`| head -1`): stdout goes to /dev/null, so the flush at exit
        # cannot fail again and turn a finished answer into exit 1 (Python's documented remedy)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:
        print(f"interne fout: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
