"""Evaluation metrics on hand-made cases, the question-file check, and a real run of the runner."""

from __future__ import annotations

import json
import math

import pytest

from rag.evaluate import (
    Outcome,
    aggregate,
    fact_hits,
    is_relevant,
    load_questions,
    main,
    percentile,
    retrieval_scores,
    validate_gold,
)
from rag.text import fold
from tests.conftest import CORPUS, ROOT

GOLD = ["De gemiddelde Nederlandse gemeente telt"]
REL = "Intro. De gemiddelde  Nederlandse gemeente telt 51.000 inwoners."
OTHER = "Een alinea over de Schelde."


def test_relevance_normalises_whitespace_case_and_diacritics():
    assert is_relevant(REL, ["de GEMIDDELDE nederlandse gemeente telt"])
    assert is_relevant("De oorlog in Oekraïne", ["oorlog in Oekraine"])
    assert not is_relevant(OTHER, GOLD)


def test_retrieval_scores_hand_made():
    s = retrieval_scores([OTHER, REL, OTHER], GOLD, n_relevant=1)
    assert s["hit@1"] == 0.0
    assert s["mrr@10"] == 0.5
    assert s["recall@5"] == 1.0 and s["recall@10"] == 1.0
    assert math.isclose(s["ndcg@10"], 1 / math.log2(3))
    s = retrieval_scores([REL], GOLD, n_relevant=1)
    assert s == {"hit@1": 1.0, "recall@5": 1.0, "recall@10": 1.0, "mrr@10": 1.0, "ndcg@10": 1.0}
    # two gold quotes, only one found at rank 6: recall@5 0, recall@10 0.5
    s = retrieval_scores([OTHER] * 5 + [REL], [*GOLD, "bestaat nergens"], n_relevant=2)
    assert s["recall@5"] == 0.0 and s["recall@10"] == 0.5 and s["mrr@10"] == pytest.approx(1 / 6)
    assert retrieval_scores([OTHER] * 12, GOLD, 1)["mrr@10"] == 0.0


def test_fact_hits_and_percentile():
    assert fact_hits("telt 22.000 inwoners en 51.000", ["22.000", "51.000", "13%"]) == 2
    assert percentile([10, 20, 30, 40], 50) == 25
    assert percentile([5], 95) == 5 and percentile([], 50) == 0.0


def test_aggregate_definitions():
    outs = [
        Outcome("a", "q", True, False, "x", scores={"hit@1": 1.0, "mrr@10": 1.0}, facts_found=1, facts_total=2,
                citations=2, citations_correct=1, latency_ms=10),
        Outcome("b", "q", True, True, "niet", scores={"hit@1": 0.0, "mrr@10": 0.5}, facts_total=1, latency_ms=20),
        Outcome("c", "q", False, True, "niet", latency_ms=30),
        Outcome("d", "q", False, False, "oeps", quote_problems=["fout"], latency_ms=40),
    ]
    m = aggregate(outs)
    assert m["hit@1"] == 0.5 and m["mrr@10"] == 0.75
    assert m["fact_recall"] == pytest.approx(1 / 3)
    assert m["citation_precision"] == 0.5
    assert m["citation_recall"] == 0.5
    assert m["quote_check_pass"] == 0.5          # a ok, d failed (abstentions excluded)
    assert m["abstain_precision"] == 0.5         # b (answerable) and c (unanswerable) abstained
    assert m["abstain_recall"] == 0.5            # c of c, d
    assert m["false_abstain_rate"] == 0.5
    assert m["latency_p50_ms"] == 25


def test_question_file_checks(tmp_path):
    f = tmp_path / "q.jsonl"
    bad_files = [
        ('{"id": "x", "question": "a?", "answerable": true, "gold_passages": ["iets"]}\n'
         '{"id": "x", "question": "b?", "answerable": false}\n', "dubbele id"),
        ('{"id": "x", "question": "a?", "answerable": true, "gold_passages": []}\n', "zonder gold_passages"),
        # found by a robustness trial: a string was read letter by letter and scored 1.000, "ja" taken as true
        ('{"id": "x", "question": "a?", "gold_passages": "De Taalunie is"}\n',
         "'gold_passages' van 'x' moet een lijst van teksten zijn"),
        ('{"id": "x", "question": "a?", "answerable": "ja", "gold_passages": ["iets"]}\n',
         "'answerable' van 'x' moet true of false zijn"),
        ('{"id": "x", "question": "Wat', "ongeldige JSON: een tekst zonder afsluitend aanhalingsteken"),
    ]
    for text, message in bad_files:
        f.write_text(text, encoding="utf-8")
        with pytest.raises(ValueError, match=message):
            load_questions(f)
    qs = [q for q in load_questions(ROOT / "eval" / "questions.jsonl")]
    assert len(qs) >= 80 and sum(not q.answerable for q in qs) >= 15
    problems = validate_gold([*qs[:3], type(qs[0])("z", "?", True, ("dit citaat staat nergens",), ())],
                             [p.text for d in __import__("rag.corpus").corpus.load_corpus(CORPUS).documents
                              for p in d.paragraphs])
    assert problems == ["z: gold-citaat niet in het corpus: 'dit citaat staat nergens'"]


def test_every_committed_question_file_loads_and_its_gold_is_in_the_corpus() -> None:
    """Each eval file (the split set and the held-out fresh sets, one per stop) is read by the
    runner as it stands, and every gold quote and answer fact occurs in the corpus."""
    from rag.corpus import load_corpus
    paragraphs = [p.text for d in load_corpus(CORPUS).documents for p in d.paragraphs]
    folded = " ".join(" ".join(fold(p).split()) for p in paragraphs)
    files = sorted((ROOT / "eval").glob("*.jsonl"))
    assert len(files) >= 10
    for path in files:
        qs = load_questions(path)
        assert validate_gold(qs, paragraphs) == [], path.name
        missing = [(q.id, f) for q in qs for f in q.answer_facts if " ".join(fold(f).split()) not in folded]
        assert missing == [], path.name


@pytest.mark.slow
def test_runner_on_an_evaluators_own_file(tmp_path, settings, capsys):
    own = tmp_path / "mijn-vragen.jsonl"
    own.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in [
        {"id": "e1", "question": "Hoeveel inwoners telt een gemiddelde gemeente in Vlaanderen?", "answerable": True,
         "gold_passages": ["een gemeente in Vlaanderen telt gemiddeld iets meer dan 22.000 inwoners"],
         "answer_facts": ["22.000"]},
        {"id": "e2", "question": "Wat is het recept voor stoofvlees?", "answerable": False,
         "gold_passages": [], "answer_facts": []},
    ]) + "\n", encoding="utf-8")
    out = tmp_path / "res"
    code = main(["--questions", str(own), "--mode", "all", "--results", str(out), "--corpus", str(CORPUS),
                 "--index", str(settings.index_dir), "--json"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed["metrics"]) == {"bm25", "dense", "hybrid"}
    report = json.loads((out / "results.json").read_text(encoding="utf-8"))
    h = report["metrics"]["hybrid"]
    assert h["hit@1"] == 1.0 and h["fact_recall"] == 1.0 and h["abstain_recall"] == 1.0
    assert {q["id"] for q in report["questions"]["hybrid"]} == {"e1", "e2"}
    assert (out / "results.md").read_text(encoding="utf-8").startswith("# Evaluatieresultaten")
    assert (out / "comparison.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_metrics_without_anything_to_measure_are_undefined(tmp_path, settings, capsys):
    """A file without near misses has no abstention recall: "–" in the table and null in the JSON,
    not 0.000 (found by a tester with an own file of answerable questions only)."""
    own = tmp_path / "alleen-beantwoordbaar.jsonl"
    gold = "een gemeente in Vlaanderen telt gemiddeld iets meer dan 22.000 inwoners"
    own.write_text(json.dumps({"id": "e1", "question": "Hoeveel inwoners telt een gemiddelde gemeente in Vlaanderen?",
                               "answerable": True, "answer_facts": ["22.000"], "gold_passages": [gold]}) + "\n",
                   encoding="utf-8")
    out = tmp_path / "res"
    assert main(["--questions", str(own), "--results", str(out), "--corpus", str(CORPUS),
                 "--index", str(settings.index_dir)]) == 0
    h = json.loads((out / "results.json").read_text(encoding="utf-8"))["metrics"]["hybrid"]
    assert h["abstain_recall"] is None and h["abstain_precision"] is None and h["fact_recall"] == 1.0
    table = (out / "results.md").read_text(encoding="utf-8")
    assert "| abstention recall | – |" in table and "| false abstention rate | 0.000 |" in table
    assert aggregate([])["hit@1"] != aggregate([])["hit@1"]  # NaN: nothing to measure


def test_runner_refuses_a_file_with_unknown_gold(tmp_path, settings, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "b1", "question": "Wat?", "answerable": True,
                               "gold_passages": ["deze zin staat niet in het corpus"]}) + "\n", encoding="utf-8")
    code = main(["--questions", str(bad), "--results", str(tmp_path / "r"), "--corpus", str(CORPUS),
                 "--index", str(settings.index_dir)])
    assert code == 2
    assert "gold-citaat niet in het corpus" in capsys.readouterr().err
