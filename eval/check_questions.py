"""Validate eval/questions.jsonl against the corpus as the loader produces it.

Checks: JSON per line, required keys and types (including ``kind``, ``split``,
``gold_sentences``, ``doc_id``, ``section``, ``sections``, ``missing``), unique ids, every gold
quote (20-600 characters) occurs folded and whitespace-normalised in some paragraph, every
answer fact and gold sentence occurs folded in a paragraph that contains one of the question's
gold quotes, unanswerable questions carry no gold quotes or facts. Prints counts per tag and per
section of the 2023 declaration (from the answering paragraphs), and warns about gold
quotes that occur in more than one paragraph.

Usage: python eval/check_questions.py [questions.jsonl] [--corpus corpus]
Exit code 1 when something is wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.corpus import load_corpus  # noqa: E402
from rag.text import fold  # noqa: E402

REQUIRED = {"id": str, "question": str, "answerable": bool, "gold_passages": list,
            "answer_facts": list, "tags": list, "kind": str, "split": str, "gold_sentences": list,
            "doc_id": str, "section": str, "sections": list, "missing": str}
KINDS = {"fact", "paraphrase", "english", "typo", "multi-part", "overview", "near-miss", "multi-doc"}
SPLITS = {"train", "dev", "test", "fresh"}
#: a one-line description of the correct answer, for graders (eval/fresh.jsonl)
OPTIONAL = {"expected"}
#: the labelled set's own fields, which a held-out file (eval/fresh2.jsonl …, checked with
#: --no-section-check) may leave out, as rag.evaluate does: it is in no split, carries no tags, and an
#: older one names no gold sentence, section or missing thing
HELD_OUT_OPTIONAL = {"tags", "split", "sections", "gold_sentences", "doc_id", "section", "missing"}
KNOWN_TAGS = {"paraphrase", "journalist", "typo", "no-diacritics", "english", "numbers",
              "dates", "multi-paragraph", "treaty", "fragment-doc", "near-miss", "off-topic",
              "injection", "name"}
MAIN_DOC = "2023-slotverklaring-nederlands-vlaamse-top-den-bosch"
REQUIRED_SECTIONS = ["inleiding", "1.a", "1.b", "2.a", "2.b", "2.c", "2.d", "2.e", "2.f", "2.g",
                     "2.h", "2.i", "2.j", "3.a", "3.b", "3.c", "3.d", "3.e", "3.f", "3.g"]


def norm(s: str) -> str:
    return " ".join(fold(s).split())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("questions", nargs="?", default=str(ROOT / "eval" / "questions.jsonl"))
    ap.add_argument("--corpus", default=str(ROOT / "corpus"))
    ap.add_argument("--no-section-check", dest="all_sections", action="store_false",
                    help="do not require every section of the declaration (for small files such as eval/fresh.jsonl)")
    args = ap.parse_args()

    load = load_corpus(Path(args.corpus))
    paras = [(p.id, p.doc_id, p.section_key, norm(p.text))
             for d in load.documents for p in d.paragraphs]

    errors: list[str] = []
    warnings: list[str] = []
    ids: set[str] = set()
    tag_counts: Counter[str] = Counter()
    kind_counts: Counter[str] = Counter()
    section_counts: Counter[str] = Counter()
    doc_counts: Counter[str] = Counter()
    n = n_answerable = 0

    for lineno, line in enumerate(Path(args.questions).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            q = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"line {lineno}: invalid JSON ({exc})")
            continue
        n += 1
        qid = q.get("id", f"line{lineno}")
        for key, typ in REQUIRED.items():
            if not args.all_sections and key in HELD_OUT_OPTIONAL and key not in q:
                continue
            if not isinstance(q.get(key), typ):
                errors.append(f"{qid}: key {key!r} missing or not {typ.__name__}")
        if set(q) - set(REQUIRED) - OPTIONAL:
            errors.append(f"{qid}: unexpected keys {sorted(set(q) - set(REQUIRED) - OPTIONAL)}")
        if qid in ids:
            errors.append(f"{qid}: duplicate id")
        ids.add(qid)
        if not str(q.get("question", "")).strip():
            errors.append(f"{qid}: empty question")
        if q.get("kind") not in KINDS:
            errors.append(f"{qid}: kind {q.get('kind')!r} not one of {sorted(KINDS)}")
        held_out_split = not args.all_sections and str(q.get("split", "fresh")).startswith("fresh")
        if q.get("split") not in SPLITS and not held_out_split:
            errors.append(f"{qid}: split {q.get('split')!r} not one of {sorted(SPLITS)}")
        kind_counts[str(q.get("kind"))] += 1
        tags = q.get("tags") or []
        for t in tags:
            if t not in KNOWN_TAGS and not t.startswith("section-"):
                errors.append(f"{qid}: unknown tag {t!r}")
        tag_counts.update(tags)
        gold = q.get("gold_passages") or []
        facts = q.get("answer_facts") or []

        if not q.get("answerable"):
            if gold or facts:
                errors.append(f"{qid}: unanswerable question with gold passages or facts")
            if not q.get("missing"):
                warnings.append(f"{qid}: unanswerable question without 'missing'")
            continue
        n_answerable += 1
        if not gold:
            errors.append(f"{qid}: answerable question without gold passages")
        hit_paras: list[tuple[str, str, str, str]] = []
        for quote in gold:
            if not 20 <= len(quote) <= 600:
                errors.append(f"{qid}: gold quote length {len(quote)} outside 20-600: {quote[:60]!r}")
            fq = norm(quote)
            hits = [p for p in paras if fq in p[3]]
            if not hits:
                errors.append(f"{qid}: gold quote not found: {quote[:80]!r}")
            elif len(hits) > 1 and len({h[1] for h in hits}) == 1:
                warnings.append(f"{qid}: gold quote occurs in {len(hits)} paragraphs of one document: "
                                f"{[h[0].split('#')[1] for h in hits]}")
            hit_paras.extend(hits)
        for fact in facts:
            if not any(norm(fact) in p[3] for p in hit_paras):
                errors.append(f"{qid}: fact {fact!r} not in any gold paragraph")
        for sent in q.get("gold_sentences") or []:
            if not any(norm(sent) in p[3] for p in hit_paras):
                errors.append(f"{qid}: gold sentence not in a gold paragraph: {sent[:60]!r}")
        docs = {p[1] for p in hit_paras}
        doc_counts.update(docs)
        secs = {p[2] for p in hit_paras if p[1] == MAIN_DOC}
        section_counts.update(secs)
        for t in tags:
            if t.startswith("section-") and t[len("section-"):] not in secs:
                errors.append(f"{qid}: tag {t} but no gold paragraph in that section")

    print(f"{n} questions: {n_answerable} answerable, {n - n_answerable} unanswerable")
    print("\nPer kind:")
    for k, c in sorted(kind_counts.items(), key=lambda x: (-x[1], x[0])):
        print(f"  {k:20s} {c}")
    print("\nPer tag:")
    for t, c in sorted(tag_counts.items(), key=lambda x: (-x[1], x[0])):
        print(f"  {t:20s} {c}")
    print("\nPer section of the 2023 declaration (answerable questions with a gold paragraph there):")
    for s in REQUIRED_SECTIONS:
        c = section_counts.get(s, 0)
        print(f"  {s:10s} {c}{'   <-- MISSING' if c == 0 else ''}")
        if c == 0 and args.all_sections:
            errors.append(f"section {s} not covered")
    other = sum(c for d, c in doc_counts.items() if d != MAIN_DOC)
    print(f"\nAnswerable questions citing other documents: {other} "
          f"({len([d for d in doc_counts if d != MAIN_DOC])} documents)")
    for w in warnings:
        print("WARNING:", w)
    for e in errors:
        print("ERROR:", e)
    print("\nOK" if not errors else f"\n{len(errors)} error(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
