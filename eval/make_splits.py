"""Merge question files and assign each question a train/dev/test split by document section.

Usage: python eval/make_splits.py OUT.jsonl IN.jsonl [IN.jsonl ...] [--seed 13] [--keep splits.json]
       python eval/make_splits.py eval/questions.jsonl eval/questions.jsonl --keep eval/splits.json
           (reproduces the committed files byte for byte; without --keep every section is shuffled
           anew, which gives other splits once questions were added with --keep)
       python eval/make_splits.py eval/questions.jsonl eval/questions.jsonl NEW.jsonl --keep eval/splits.json
           (adds NEW.jsonl: questions on known sections take that section's split, so no test or dev
           section ever moves into fitting; only new sections and off-topic questions are shuffled)

Writes OUT.jsonl and, beside it, splits.json (document section → split).

Every question gets ``kind``, ``doc_id``, ``section`` and ``gold_sentences`` (derived from its gold
paragraphs when missing: the sentences that hold an answer fact or the gold quote) and a ``split``.
Sections (document id + section key) are shuffled into groups with scikit-learn's
``GroupShuffleSplit`` (60/20/20 of questions, approximately); a question whose gold paragraphs
lie in several sections goes to the most held-out split among them (test over dev over train),
so no test section is ever seen in fitting, and no dev section in training.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sklearn.model_selection import GroupShuffleSplit  # noqa: E402

from rag.corpus import load_corpus  # noqa: E402
from rag.text import fold, split_sentences  # noqa: E402

ORDER = {"train": 0, "dev": 1, "test": 2}
TAG_KINDS = (("near-miss", "near-miss"), ("off-topic", "near-miss"), ("injection", "near-miss"),
             ("english", "english"), ("typo", "typo"), ("no-diacritics", "typo"), ("paraphrase", "paraphrase"),
             ("multi-paragraph", "multi-doc"))


def norm(s: str) -> str:
    return " ".join(fold(s).split())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--corpus", default=str(ROOT / "corpus"))
    ap.add_argument("--keep", help="splits.json of an earlier run: its sections keep their split, only new "
                                   "sections (and new off-topic questions) are shuffled into train/dev/test")
    args = ap.parse_args()
    paras = [p for d in load_corpus(Path(args.corpus)).documents for p in d.paragraphs]
    normed = [norm(p.text) for p in paras]
    qs = []
    for f in args.inputs:
        qs += [json.loads(line) for line in Path(f).read_text(encoding="utf-8").splitlines() if line.strip()]
    for q in qs:
        holders = [i for i, p in enumerate(normed) if any(norm(g) in p for g in q.get("gold_passages", []))]
        q["sections"] = sorted({f"{paras[i].doc_id}#{paras[i].section_key}" for i in holders})
        if not q.get("kind"):
            tags = set(q.get("tags", []))
            q["kind"] = next((k for t, k in TAG_KINDS if t in tags), "fact" if q["answerable"] else "near-miss")
        if not q.get("doc_id") and holders:
            q["doc_id"], q["section"] = paras[holders[0]].doc_id, paras[holders[0]].section_key
        if q["answerable"] and not q.get("gold_sentences"):
            gold = []
            for i in holders:
                for s in split_sentences(paras[i].text):
                    ns = norm(s)
                    if any(norm(f) in ns for f in q["answer_facts"]) or any(
                            norm(g) in ns or ns in norm(g) for g in q["gold_passages"]):
                        gold.append(s)
            q["gold_sentences"] = gold
        q.setdefault("gold_sentences", [])
        q.setdefault("missing", "")
        if q.get("doc_id") and q.get("section"):
            q["sections"] = sorted(set(q["sections"]) | {f"{q['doc_id']}#{q['section']}"})
        if not q["sections"]:
            q["sections"] = [f"question#{q['id']}"]  # an off-topic question is a group of its own
    kept: dict[str, str] = json.loads(Path(args.keep).read_text(encoding="utf-8")) if args.keep else {}
    fixed = [q for q in qs if q["sections"] and all(s in kept for s in q["sections"])]
    qs_all, qs = qs, [q for q in qs if not (q["sections"] and all(s in kept for s in q["sections"]))]
    groups = [q["sections"][0] for q in qs]
    idx = list(range(len(qs)))
    outer = GroupShuffleSplit(n_splits=1, test_size=0.2, random_state=args.seed)
    rest, test = next(outer.split(idx, groups=groups))
    inner = GroupShuffleSplit(n_splits=1, test_size=0.25, random_state=args.seed)
    rest_groups = [groups[i] for i in rest]
    tr, dv = next(inner.split(rest, groups=rest_groups))
    section_split = dict(kept)
    for name, members in (("test", [idx[i] for i in test]), ("dev", [rest[i] for i in dv]),
                          ("train", [rest[i] for i in tr])):
        for i in members:
            section_split.setdefault(groups[i], name)
    qs = qs_all
    print(f"{len(fixed)} questions on sections of --keep, {len(qs) - len(fixed)} shuffled", file=sys.stderr)
    for q in qs:
        splits = [section_split.get(s, "train") for s in q["sections"]]
        q["split"] = max(splits, key=lambda s: ORDER[s])
    splits_path = Path(args.out).with_name("splits.json")
    splits_path.write_text(json.dumps(dict(sorted(section_split.items())), ensure_ascii=False, indent=1) + "\n",
                           encoding="utf-8")
    keys = ["id", "question", "answerable", "kind", "split", "gold_passages", "gold_sentences", "answer_facts",
            "doc_id", "section", "sections", "missing", "tags"]
    with open(args.out, "w", encoding="utf-8") as fh:
        for q in qs:
            fh.write(json.dumps({k: q.get(k, [] if k == "tags" else "") for k in keys}, ensure_ascii=False) + "\n")
    from collections import Counter
    print(Counter(q["split"] for q in qs), Counter((q["split"], q["kind"]) for q in qs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
