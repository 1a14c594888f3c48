"""Evaluation runner: ``python -m rag.evaluate [--questions FILE] [--mode bm25|dense|hybrid|all] [--top-k N] [--json]``.

``python -m rag.evaluate --feedback FILE`` lists the negative ratings of the web chat's feedback log;
``--feedback FILE --to-question N --out PATH`` turns a reviewed line into an eval question
(see :mod:`rag.feedback`).

Runs every question of ``eval/questions.jsonl`` through the same :class:`~rag.pipeline.Pipeline`
as the chat and the terminal, in one process, and reports:

* retrieval (answerable questions): hit@1, recall@5, recall@10, MRR@10, nDCG@10;
* answers: fact recall, citation precision, citation recall, quote-check pass rate;
* abstention: precision and recall of abstaining (unanswerable = positive class);
* latency: p50 and p95 per question (ms).

Relevance is defined by gold *quotes*, not ids: a retrieved passage is relevant when its
paragraph contains one of the question's ``gold_passages`` after normalisation (whitespace,
case, Unicode, diacritics). Results go to ``eval/results/``: ``results.json`` (all metrics and
each question's outcome, with what was retrieved and expected for failures), ``results.md`` and
``comparison.png``.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from rag.answer import Answer, check_quotes
from rag.errors import json_exception_message
from rag.settings import DutchArgumentParser, Mode, add_source_arguments
from rag.text import fold

MODES: tuple[Mode, ...] = ("bm25", "dense", "hybrid")  # the order of the columns
DEFAULT_QUESTIONS = Path("eval/questions.jsonl")
DEFAULT_RESULTS = Path("eval/results")


@dataclass(frozen=True)
class Question:
    """One evaluation question (see the README for the file format)."""

    id: str
    question: str
    answerable: bool
    gold_passages: tuple[str, ...]
    """verbatim quotes of the paragraphs that answer the question (any one of them counts)"""
    answer_facts: tuple[str, ...]
    """short strings a complete answer holds (folded match)"""
    tags: tuple[str, ...] = ()
    kind: str = ""
    split: str = ""
    gold_sentences: tuple[str, ...] = ()


def _norm(text: str) -> str:
    return " ".join(fold(text).split())


def _texts(obj: dict[str, Any], key: str, where: str, qid: str) -> tuple[str, ...]:
    """The list of texts under ``key`` (absent or null: empty); ValueError (Dutch) for anything else:
    a single string would otherwise be read letter by letter."""
    value = obj.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise ValueError(f"{where}: '{key}' van {qid!r} moet een lijst van teksten zijn "
                         f"(bijvoorbeeld [\"…\"]), niet {type(value).__name__}")
    return tuple(value)


def load_questions(path: Path) -> list[Question]:
    """Read a JSONL question file; raise ValueError (Dutch) on malformed lines or duplicate ids."""
    out: list[Question] = []
    seen: set[str] = set()
    # split("\n"), not splitlines(): JSON strings may hold U+2028 or U+0085 raw
    for n, raw in enumerate(path.read_text(encoding="utf-8-sig").split("\n"), start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"{path}:{n}: ongeldige JSON: {json_exception_message(exc)}") from exc
        if not isinstance(obj, dict) or not isinstance(obj.get("question"), str):
            raise ValueError(f"{path}:{n}: object met 'question' verwacht")
        qid = str(obj.get("id", f"regel{n}"))
        if qid in seen:
            raise ValueError(f"{path}:{n}: dubbele id {qid!r}")
        seen.add(qid)
        answerable = obj.get("answerable", True)
        if not isinstance(answerable, bool):
            raise ValueError(f"{path}:{n}: 'answerable' van {qid!r} moet true of false zijn, niet {answerable!r}")
        gold, facts, sentences, tags = (_texts(obj, key, f"{path}:{n}", qid)
                                        for key in ("gold_passages", "answer_facts", "gold_sentences", "tags"))
        if answerable and not gold:
            raise ValueError(f"{path}:{n}: beantwoordbare vraag {qid!r} zonder gold_passages")
        out.append(Question(qid, obj["question"], answerable, gold, facts, tags,
                            str(obj.get("kind", "") or ""), str(obj.get("split", "") or ""), sentences))
    return out


def validate_gold(questions: Sequence[Question], paragraphs: Sequence[str]) -> list[str]:
    """Problems: gold quotes that occur in no corpus paragraph (after normalisation)."""
    normed = [_norm(p) for p in paragraphs]
    problems = []
    for q in questions:
        for quote in q.gold_passages:
            nq = _norm(quote)
            if not nq or not any(nq in p for p in normed):
                problems.append(f"{q.id}: gold-citaat niet in het corpus: {quote[:80]!r}")
    return problems


def usable_gold(questions: Sequence[Question], paragraphs: Sequence[str]) -> tuple[list[Question], list[str]]:
    """Keep each question's gold quotes that occur in the corpus; return (questions, warnings).

    An evaluator's file may list alternative gold strings of which only some are in this corpus:
    a question is scored with the alternatives that are found, with a warning per missing one; a
    question none of whose gold quotes is found is left out, with a warning.
    """
    normed = [_norm(p) for p in paragraphs]
    kept: list[Question] = []
    warnings: list[str] = []
    for q in questions:
        found = tuple(g for g in q.gold_passages if _norm(g) and any(_norm(g) in p for p in normed))
        warnings.extend(f"{q.id}: gold-citaat niet in het corpus, overgeslagen: {g[:80]!r}"
                        for g in q.gold_passages if g not in found)
        if q.answerable and not found:
            warnings.append(f"{q.id}: geen enkel gold-citaat in het corpus; vraag niet meegeteld")
            continue
        kept.append(replace(q, gold_passages=found) if found != q.gold_passages else q)
    return kept, warnings


# --- metrics (pure functions, tested on hand-made cases) ------------------------------------

def is_relevant(paragraph_text: str, gold: Sequence[str]) -> bool:
    """True when the paragraph contains one of the gold quotes (normalised)."""
    p = _norm(paragraph_text)
    return any(_norm(g) and _norm(g) in p for g in gold)


def retrieval_scores(ranked_paragraphs: Sequence[str], gold: Sequence[str], n_relevant: int) -> dict[str, float]:
    """hit@1, recall@5, recall@10, MRR@10 and nDCG@10 for one question.

    ``ranked_paragraphs``: texts of the retrieved passages' paragraphs, best first.
    recall@k is the share of gold quotes found in some top-k paragraph; MRR@10 is 1/rank of the
    first relevant paragraph (0 if none in the top 10); nDCG@10 uses binary relevance with the
    ideal ranking of ``n_relevant`` relevant paragraphs (those containing a gold quote).
    """
    rel = [is_relevant(p, gold) for p in ranked_paragraphs[:10]]
    found_at: list[int | None] = []
    for g in gold:
        ng = _norm(g)
        found_at.append(next((i + 1 for i, p in enumerate(ranked_paragraphs) if ng in _norm(p)), None))

    def recall(k: int) -> float:
        return sum(1 for r in found_at if r is not None and r <= k) / len(found_at) if found_at else 0.0

    first = next((i + 1 for i, r in enumerate(rel) if r), None)
    dcg = sum(1.0 / math.log2(i + 2) for i, r in enumerate(rel) if r)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(max(n_relevant, 1), 10)))
    return {
        "hit@1": 1.0 if rel and rel[0] else 0.0,
        "recall@5": recall(5),
        "recall@10": recall(10),
        "mrr@10": 1.0 / first if first else 0.0,
        "ndcg@10": dcg / ideal if ideal else 0.0,
    }


def fact_hits(answer_text: str, facts: Sequence[str]) -> int:
    """Number of facts that occur in the answer (normalised)."""
    a = _norm(answer_text)
    return sum(1 for f in facts if _norm(f) in a)


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (p in 0..100) of ``values``; 0.0 for no values."""
    if not values:
        return 0.0
    xs = sorted(values)
    k = (len(xs) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


@dataclass
class Outcome:
    """What happened to one question in one mode."""

    id: str
    question: str
    answerable: bool
    abstained: bool
    answer: str
    kind: str = ""
    scores: dict[str, float] = field(default_factory=dict)
    facts_found: int = 0
    facts_total: int = 0
    citations: int = 0
    citations_correct: int = 0
    quote_problems: list[str] = field(default_factory=list)
    latency_ms: float = 0.0
    retrieved: list[dict[str, Any]] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)
    reason: str = ""


def score_answer(q: Question, ans: Answer, n_relevant: int) -> Outcome:
    """Turn one answered question into an :class:`Outcome`."""
    paragraphs = [r.passage.paragraph_text for r in ans.retrieved]
    out = Outcome(q.id, q.question, q.answerable, ans.abstained, ans.text, q.kind,
                  latency_ms=float(ans.timings_ms.get("total", 0.0)), reason=ans.reason)
    if q.answerable:
        out.scores = retrieval_scores(paragraphs, q.gold_passages, n_relevant)
        out.facts_total = len(q.answer_facts)
        out.facts_found = 0 if ans.abstained else fact_hits(ans.text, q.answer_facts)
        out.citations = len(ans.citations)
        out.citations_correct = sum(1 for c in ans.citations if is_relevant(c.passage.paragraph_text, q.gold_passages))
    out.quote_problems = check_quotes(ans)
    out.retrieved = [{"rank": r.rank, "passage_id": r.passage.id,
                      "locator": f"{r.passage.title[:50]} — {r.passage.locator}",
                      "relevant": q.answerable and is_relevant(r.passage.paragraph_text, q.gold_passages)}
                     for r in ans.retrieved[:5]]
    out.expected = list(q.gold_passages)
    return out


def aggregate(outcomes: Sequence[Outcome]) -> dict[str, float]:
    """All metrics over one mode's outcomes (definitions in the module docstring)."""
    ans = [o for o in outcomes if o.answerable]
    unans = [o for o in outcomes if not o.answerable]
    m: dict[str, float] = {}
    for key in ("hit@1", "recall@5", "recall@10", "mrr@10", "ndcg@10"):
        m[key] = sum(o.scores.get(key, 0.0) for o in ans) / len(ans) if ans else _UNDEFINED
    facts_total = sum(o.facts_total for o in ans)
    m["fact_recall"] = sum(o.facts_found for o in ans) / facts_total if facts_total else _UNDEFINED
    # a question without answer facts cannot be complete or incomplete: it is not counted
    with_facts = [o for o in ans if o.facts_total]
    m["complete_answers"] = (sum(1 for o in with_facts if not o.abstained and o.facts_found == o.facts_total)
                             / len(with_facts) if with_facts else _UNDEFINED)
    cits = sum(o.citations for o in ans)
    m["citation_precision"] = sum(o.citations_correct for o in ans) / cits if cits else _UNDEFINED
    m["citation_recall"] = sum(1 for o in ans if o.citations_correct > 0) / len(ans) if ans else _UNDEFINED
    answered = [o for o in outcomes if not o.abstained]
    m["quote_check_pass"] = sum(1 for o in answered if not o.quote_problems) / len(answered) if answered else 1.0
    abstained = [o for o in outcomes if o.abstained]
    m["abstain_precision"] = (sum(1 for o in abstained if not o.answerable) / len(abstained) if abstained
                              else _UNDEFINED)
    m["abstain_recall"] = sum(1 for o in unans if o.abstained) / len(unans) if unans else _UNDEFINED
    m["false_abstain_rate"] = sum(1 for o in ans if o.abstained) / len(ans) if ans else _UNDEFINED
    lat = [o.latency_ms for o in outcomes]
    m["latency_p50_ms"] = percentile(lat, 50)
    m["latency_p95_ms"] = percentile(lat, 95)
    m["questions"] = float(len(outcomes))
    m["answerable"] = float(len(ans))
    m["unanswerable"] = float(len(unans))
    return m


def run_mode(pipeline: Any, questions: Sequence[Question], mode: Mode, top_k: int,
             n_relevant: dict[str, int]) -> list[Outcome]:
    """Answer every question with one retrieval mode; returns outcomes in question order."""
    outcomes = []
    for q in questions:
        t0 = time.perf_counter()
        ans = pipeline.answer(q.question, top_k=top_k, mode=mode)
        o = score_answer(q, ans, n_relevant.get(q.id, 1))
        o.latency_ms = (time.perf_counter() - t0) * 1000
        outcomes.append(o)
    return outcomes


_TABLE_ROWS = [("hit@1", "hit@1"), ("recall@5", "recall@5"), ("recall@10", "recall@10"), ("mrr@10", "MRR@10"),
               ("ndcg@10", "nDCG@10"), ("fact_recall", "fact recall"), ("complete_answers", "complete answers"),
               ("citation_precision", "citation precision"),
               ("citation_recall", "citation recall"), ("quote_check_pass", "quote check pass"),
               ("abstain_precision", "abstention precision"), ("abstain_recall", "abstention recall"),
               ("false_abstain_rate", "false abstention rate"), ("latency_p50_ms", "latency p50 (ms)"),
               ("latency_p95_ms", "latency p95 (ms)")]


def per_kind(outcomes: Sequence[Outcome]) -> dict[str, dict[str, float]]:
    """Per question kind: number of questions, share answered correctly and completely (every
    fact found; for an unanswerable question: abstained), fact recall and abstention rate."""
    out: dict[str, dict[str, float]] = {}
    for kind in sorted({o.kind or "?" for o in outcomes}):
        os_ = [o for o in outcomes if (o.kind or "?") == kind]
        correct = [(o.abstained if not o.answerable else (not o.abstained and o.facts_found == o.facts_total))
                   for o in os_]
        facts = sum(o.facts_total for o in os_)
        out[kind] = {"questions": float(len(os_)), "correct": sum(correct) / len(os_),
                     "fact_recall": sum(o.facts_found for o in os_) / facts if facts else float("nan"),
                     "abstained": sum(o.abstained for o in os_) / len(os_)}
    return out


def kind_table(by_kind: dict[str, dict[str, float]]) -> str:
    """Markdown table of :func:`per_kind`."""
    lines = ["| kind | questions | correct and complete | fact recall | abstained |", "|---|---:|---:|---:|---:|"]
    for kind, m in by_kind.items():
        fr = "–" if math.isnan(m["fact_recall"]) else f"{m['fact_recall']:.3f}"
        lines.append(f"| {kind} | {int(m['questions'])} | {m['correct']:.3f} | {fr} | {m['abstained']:.3f} |")
    return "\n".join(lines)


#: a metric with nothing to measure (abstention recall without unanswerable questions): NaN in the
#: metrics, "–" in the tables, null in the JSON (:func:`json_safe`)
_UNDEFINED = math.nan


def json_safe(obj: Any) -> Any:
    """``obj`` with every NaN float replaced by None, so the JSON written is standard JSON (an
    undefined metric is ``null``, not ``NaN``)."""
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    return obj


def markdown_table(results: dict[str, dict[str, float]]) -> str:
    """Side-by-side Markdown table, one column per mode."""
    modes = list(results)
    lines = ["| metric | " + " | ".join(modes) + " |", "|---|" + "---:|" * len(modes)]
    for key, label in _TABLE_ROWS:
        cells = []
        for mode in modes:
            v = results[mode].get(key, 0.0)
            cells.append("–" if math.isnan(v) else f"{v:.1f}" if key.endswith("_ms") else f"{v:.3f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(results: dict[str, dict[str, float]], path: Path) -> None:
    """Bar chart comparing the modes on the main metrics (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = ["hit@1", "recall@5", "mrr@10", "ndcg@10", "fact_recall", "citation_recall", "abstain_recall"]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / max(1, len(results))
    for i, (mode, m) in enumerate(results.items()):
        xs = [k + i * width for k in range(len(keys))]
        ax.bar(xs, [0.0 if math.isnan(v) else v for v in (m.get(k, 0.0) for k in keys)], width, label=mode)
    ax.set_xticks([k + width * (len(results) - 1) / 2 for k in range(len(keys))])
    ax.set_xticklabels(keys, rotation=20)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score")
    ax.set_title("Evaluatie per zoekmethode")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m rag.evaluate`` / ``rag-evaluate``; returns the exit status."""
    parser = DutchArgumentParser(prog="python -m rag.evaluate",
                                 description="Evalueer retrieval, antwoorden en onthouding.")
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS, help="JSONL-vragenbestand")
    parser.add_argument("--split", default="test",
                        help="alleen vragen van deze split (train, dev, test; 'all' = alle). Standaard test: "
                             "de enige cijfers die tellen, want op train en dev is gefit. Een bestand zonder "
                             "splits wordt helemaal gebruikt.")
    parser.add_argument("--mode", choices=[*MODES, "all"], default="hybrid",
                        help="zoekmethode: bm25, dense, hybrid (standaard) of all (alle drie naast elkaar)")
    parser.add_argument("--top-k", type=int, default=10, help="passages per vraag (standaard 10)")
    parser.add_argument("--json", action="store_true", help="alle metrieken als JSON op stdout")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="map voor de resultaten")
    add_source_arguments(parser)
    parser.add_argument("--feedback", type=Path, metavar="BESTAND",
                        help="toon de negatieve beoordelingen (👎) uit dit feedbacklog van de webchat en stop")
    parser.add_argument("--to-question", type=int, metavar="REGEL",
                        help="met --feedback en --out: maak van deze (beoordeelde) regel een evaluatievraag")
    parser.add_argument("--out", type=Path, metavar="BESTAND",
                        help="JSONL-bestand waaraan --to-question de vraag toevoegt (nooit eval/questions.jsonl)")
    parser.add_argument("--id", dest="question_id", help="id van de nieuwe vraag (standaard fb-<regel>)")
    args = parser.parse_args(argv)
    if args.feedback is not None:
        return feedback_command(args.feedback, args.to_question, args.out, args.question_id)
    if args.to_question is not None or args.out is not None:
        parser.error("--to-question en --out horen bij --feedback BESTAND")

    from rag.errors import RagError, fail
    from rag.pipeline import Pipeline
    from rag.settings import Settings

    try:
        questions = load_questions(args.questions)
        settings = Settings.from_env(corpus_dir=args.corpus, index_dir=args.index, embedder=args.embedder,
                                     top_k=args.top_k)
        pipeline = Pipeline(settings, progress=lambda m: print(m, file=sys.stderr))
        index = pipeline.load()
    except (OSError, ValueError) as exc:
        return fail(exc, 2)
    except RagError as exc:
        return fail(exc, 1)
    paragraphs = sorted({p.paragraph_text for p in index.passages})
    if args.split != "all" and any(q.split for q in questions):
        questions = [q for q in questions if q.split == args.split]
        if not questions:
            print(f"fout: geen vragen met split {args.split!r} in {args.questions}", file=sys.stderr)
            return 2
    questions, warnings = usable_gold(questions, paragraphs)
    for w in warnings:
        print(f"waarschuwing: {w}", file=sys.stderr)
    if not questions:
        print("fout: geen bruikbare vragen over (geen gold-citaat komt in het corpus voor)", file=sys.stderr)
        return 2
    n_relevant = {q.id: sum(1 for p in paragraphs if is_relevant(p, q.gold_passages)) for q in questions}
    modes = list(MODES) if args.mode == "all" else [args.mode]
    results: dict[str, dict[str, float]] = {}
    per_question: dict[str, list[dict[str, Any]]] = {}
    by_kind: dict[str, dict[str, float]] = {}
    for mode in modes:
        outcomes = run_mode(pipeline, questions, mode, args.top_k, n_relevant)
        results[mode] = aggregate(outcomes)
        per_question[mode] = [asdict(o) for o in outcomes]
        if mode == "hybrid":
            by_kind = per_kind(outcomes)
    failures = {
        mode: [o for o in rows if (o["answerable"] and (o["abstained"] or o["scores"].get("hit@1", 0) < 1
                                                         or o["facts_found"] < o["facts_total"]))
               or (not o["answerable"] and not o["abstained"]) or o["quote_problems"]]
        for mode, rows in per_question.items()
    }
    report = {
        "questions_file": str(args.questions),
        "settings": {k: str(v) for k, v in asdict(settings).items() if not k.startswith("llm_api")},
        "index": {k: index.manifest.get(k) for k in ("build_time", "corpus_hash", "embedder", "counts")},
        "split": args.split,
        "metrics": results,
        "hybrid_by_kind": by_kind,
        "warnings": warnings,
        "questions": per_question,
        "failures": failures,
    }
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "results.json").write_text(json.dumps(json_safe(report), ensure_ascii=False, indent=1),
                                               encoding="utf-8")
    table = markdown_table(results)
    kinds = kind_table(by_kind) if by_kind else ""
    (args.results / "results.md").write_text(
        f"# Evaluatieresultaten\n\n{len(questions)} vragen uit `{args.questions}`, split `{args.split}` "
        f"({int(results[modes[0]]['answerable'])} beantwoordbaar, {int(results[modes[0]]['unanswerable'])} niet), "
        f"top-k {args.top_k}. Opnieuw te maken met `python -m rag.evaluate --mode {args.mode} "
        f"--split {args.split}`.\n\n{table}\n"
        + (f"\n## Hybrid per soort vraag\n\n{kinds}\n" if kinds else ""), encoding="utf-8")
    try:
        plot(results, args.results / "comparison.png")
    except Exception as exc:
        print(f"waarschuwing: geen grafiek ({exc})", file=sys.stderr)
    if args.json:
        print(json.dumps(json_safe({"split": args.split, "metrics": results, "hybrid_by_kind": by_kind,
                                    "failures": {m: [f["id"] for f in fs] for m, fs in failures.items()}}),
                         ensure_ascii=False, indent=1))
    else:
        print(table)
        if kinds:
            print("\nHybrid per soort vraag:\n" + kinds)
        print(f"\nResultaten: {args.results / 'results.json'}, {args.results / 'results.md'}, "
              f"{args.results / 'comparison.png'}")
    return 0


def feedback_command(path: Path, line: int | None, out: Path | None, question_id: str | None) -> int:
    """``--feedback FILE``: list the 👎 lines; with ``--to-question N --out PATH``: append line N
    (reviewed, see :mod:`rag.feedback`) to PATH as an eval question. Returns the exit status
    (2 for a bad file, line or review, with one Dutch ``fout:`` line on stderr)."""
    from rag import feedback as fb

    try:
        lines, warnings = fb.read_feedback(path)
        for w in warnings:
            print(f"waarschuwing: {path}: {w}", file=sys.stderr)
        if line is None:
            if out is not None:
                raise fb.FeedbackError("--out hoort bij --to-question REGEL")
            bad = fb.negatives(lines)
            print(f"{len(bad)} negatieve van de {len(lines)} beoordelingen in {path}")
            for f in bad:
                print()
                print(fb.describe(f))
            return 0
        if out is None:
            raise fb.FeedbackError("--to-question heeft --out BESTAND nodig (het bestand waaraan de vraag "
                                   "wordt toegevoegd)")
        found = next((f for f in lines if f.line == line), None)
        if found is None:
            raise fb.FeedbackError(f"{path}: geen leesbare beoordeling op regel {line}")
        question = fb.to_eval_question(found, question_id or f"fb-{line}")
        fb.write_question(out, question)
    except (fb.FeedbackError, OSError) as exc:
        print(f"fout: {exc}", file=sys.stderr)
        return 2
    print(f"vraag {question['id']} toegevoegd aan {out} (split {fb.FEEDBACK_SPLIT}; evalueer met "
          f"python -m rag.evaluate --questions {out} --split {fb.FEEDBACK_SPLIT})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
