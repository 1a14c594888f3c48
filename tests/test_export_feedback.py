"""Copy with sources (rag.export), the feedback log (rag.feedback) and its commands, on real answers."""

from __future__ import annotations

import json
import multiprocessing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from rag.answer import answer_to_json
from rag.evaluate import load_questions
from rag.export import answer_markdown, conversation_json, conversation_markdown, md_text
from rag.feedback import append_feedback, negatives, read_feedback
from rag.pipeline import Pipeline
from rag.settings import Settings
from tests.helpers import run_module

Q_3RX = "Wanneer is de bijeenkomst van de vakministers over 3RX gepland?"
QUOTE_3RX = ("Met betrekking tot 3RX roepen Vlaanderen en Nederland op om de lopende constructieve gesprekken met "
             "België (federaal), NRW en Duitsland verder voort te zetten zowel aangaande de actualisatie van de MKBA "
             "als in de “the dialogue on a broader mobility approach in the context of 3RX” met het oog op de "
             "geplande bijeenkomst van de vakministers op 6 juni 2023.")


@pytest.fixture(scope="module")
def record_3rx(pipeline: Pipeline) -> dict[str, Any]:
    return answer_to_json(pipeline.answer(Q_3RX))


def test_answer_markdown_of_a_real_answer(record_3rx: dict[str, Any]) -> None:
    assert record_3rx["citations"][0]["passage_id"] == "2023-slotverklaring-nederlands-vlaamse-top-den-bosch#2.f/p3"
    expected = (f"**Vraag:** {Q_3RX}\n\n{QUOTE_3RX} [1]\n\n> „{QUOTE_3RX}” [1]\n\n**Bronnen**\n\n"
                "1. *Slotverklaring Nederlands-Vlaamse Top, ’s-Hertogenbosch, 31 januari 2023*, "
                "2.f Infrastructurele verbondenheid, alinea 3.")
    md = answer_markdown(record_3rx)
    # the declaration may get its official source link (other work on issue 17): then it ends the line
    assert md.startswith(expected) and md.endswith("\n") and md.count("\n1. ") == 1
    assert md.rstrip("\n") == expected or md[len(expected):].startswith(" <https://")


def test_every_quoted_span_is_copied(pipeline: Pipeline) -> None:
    """A citation with two separate spans of one paragraph copies both, in text order: a journalist
    pastes every sentence the answer quotes (a new-user trial found only one per source)."""
    rec = answer_to_json(pipeline.answer("Wie waren de minister-presidenten bij de top in Gent in 2016 en welke "
                                         "havens willen samen één havenbedrijf worden?"))
    spans = [(c["n"], q) for c in rec["citations"] for q in c["quotes"]]
    assert any(len(c["quotes"]) > 1 for c in rec["citations"]), rec["citations"]
    md = answer_markdown(rec)
    quoted = [line for line in md.splitlines() if line.startswith("> ")]
    assert quoted == [f"> „{md_text(q)}” [{n}]" for n, q in spans]
    assert "> „De haven van Gent en Zeeland Seaports zetten zich in om één havenbedrijf te worden.” [1]" in quoted


def test_fragment_link_and_escaping(pipeline: Pipeline) -> None:
    rec = answer_to_json(pipeline.answer("Hoe werd de Vlaams-Nederlandse top in november 2020 georganiseerd?"))
    frag = [c for c in rec["citations"] if c["fragment"]]
    assert frag, rec["citations"]
    md = answer_markdown(rec)
    line = next(x for x in md.splitlines() if x.startswith(f"{frag[0]['n']}. "))
    assert "(fragment: het corpus bevat maar een deel van dit document)" in line
    assert f"<{frag[0]['source']}>" in line
    hostile = {"question": "<b>vet</b>?", "answer": "- *niet* vet [1] [klik](javascript:alert(1))",
               "citations": [{"n": 1, "title": "T_1", "date": "2024-05-01", "locator": "Inleiding, alinea 1",
                              "source": "javascript:alert(1)", "quote": "a*b", "fragment": False}]}
    md = answer_markdown(hostile)
    assert md.splitlines()[0] == r"**Vraag:** \<b\>vet\</b\>?"
    assert md.splitlines()[2] == r"\- \*niet\* vet [1] [klik]\(javascript:alert(1))"
    assert "1. *T\\_1* (1 mei 2024), Inleiding, alinea 1.\n" in md and "javascript" not in md.split("**Bronnen**")[1]
    assert md_text("13. juni", line_start=True) == r"13\. juni"


def test_abstention_markdown(pipeline: Pipeline) -> None:
    rec = answer_to_json(pipeline.answer("Wat is het recept voor stoofvlees?"))
    assert rec["abstained"]
    md = answer_markdown(rec)
    assert "Dat staat niet in de documenten" in md and "Geen bronnen" in md and "**Bronnen**" not in md


def test_conversation_exports(record_3rx: dict[str, Any]) -> None:
    when = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    md = conversation_markdown([record_3rx, record_3rx], when)
    assert md.startswith("# Gesprek met de topdocumenten\n\nGeëxporteerd op 2026-12-01 12:00 UTC; 2 vragen.")
    assert md.count(f"## 1. {Q_3RX}") == 1 and md.count(f"## 2. {Q_3RX}") == 1
    assert "**Vraag:**" not in md
    data = json.loads(conversation_json([record_3rx], when))
    assert data["exported"] == "2026-12-01T12:00:00+00:00" and data["turns"][0]["citations"] == record_3rx["citations"]


def _writer(path: str, worker: int, lines: int) -> None:
    for i in range(lines):
        append_feedback(Path(path), {"worker": worker, "i": i, "rating": "down" if i % 2 else "up",
                                     "pad": "x" * 20_000})  # well beyond PIPE_BUF (4 KiB)


def test_feedback_lines_never_interleave(tmp_path: Path) -> None:
    log = tmp_path / "sub" / "feedback.jsonl"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(log), w, 40)) for w in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    lines, warnings = read_feedback(log)
    assert not warnings and len(lines) == 240
    assert {(f.entry["worker"], f.entry["i"]) for f in lines} == {(w, i) for w in range(6) for i in range(40)}
    assert len(negatives(lines)) == 120 and oct(log.stat().st_mode & 0o777) == "0o600"


def test_chat_feedback_lands_in_the_log(settings: Settings, tmp_path: Path) -> None:
    from app import ChatService

    log = tmp_path / "fb.jsonl"
    pipeline = Pipeline(settings.with_(feedback_log=log))
    service = ChatService(pipeline)
    history = list(service.respond(Q_3RX, []))[-1][1]
    assert "Kopieer met bronnen" in history[-1]["content"]
    refused = list(service.respond("Wat is het recept voor stoofvlees?", []))[-1][1][-1]["content"]
    assert "Dat staat niet in de documenten" in refused  # a refusal has no sources to copy
    assert '<button class="rag-copy">Kopieer</button>' in refused and "met bronnen" not in refused
    assert service.feedback(history, 1, False, "  datum klopt, maar bron ontbreekt ") == \
        "Dank je: je beoordeling (duim omlaag) is opgeslagen met je opmerking."
    assert service.feedback(history, 0, True, "").startswith("Dit bericht is geen antwoord")
    assert service.feedback([{"role": "assistant", "content": "<div>oud</div>"}], 0, True, "").startswith("Dit bericht")
    (line,), _ = read_feedback(log)
    e = line.entry
    assert (e["rating"], e["comment"], e["question"]) == ("down", "datum klopt, maar bron ontbreekt", Q_3RX)
    assert e["answer"] == f"{QUOTE_3RX} [1]" and e["citations"][0]["passage_id"].endswith("#2.f/p3")
    assert e["citations"][0]["quote"] == QUOTE_3RX and e["filters"] == {}
    assert e["settings"]["top_k"] == "10" and "llm_api_key" not in e["settings"]
    index = pipeline.load()
    assert e["index"] == {"build": index.directory.name, "corpus_hash": index.manifest["corpus_hash"]}


def test_feedback_commands(tmp_path: Path, record_3rx: dict[str, Any]) -> None:
    log = tmp_path / "fb.jsonl"
    base = {"time": "2026-12-01T12:00:00Z", "comment": "", "question": record_3rx["question"],
            "answer": record_3rx["answer"], "citations": record_3rx["citations"], "filters": {},
            "index": {"build": "b1"}}
    append_feedback(log, {**base, "rating": "up"})
    append_feedback(log, {**base, "rating": "down", "comment": "te lang"})
    review = {"answerable": True, "answer_facts": ["6 juni 2023"],
              "gold_passages": ["geplande bijeenkomst van de vakministers op 6 juni 2023"]}
    reviewed = {**base, "rating": "down", "review": review}
    append_feedback(log, reviewed)
    r = run_module("rag.evaluate", "--feedback", log)
    out = r.stdout.decode()
    assert r.returncode == 0 and out.startswith(f"2 negatieve van de 3 beoordelingen in {log}")
    assert "regel 2 " in out and "opmerking: te lang" in out and "regel 3 " in out and "regel 1 " not in out
    assert "[1] 2023-slotverklaring-nederlands-vlaamse-top-den-bosch#2.f/p3" in out

    questions = tmp_path / "nieuw.jsonl"
    r = run_module("rag.evaluate", "--feedback", log, "--to-question", "3", "--out", questions)
    assert r.returncode == 0, r.stderr.decode()
    (q,) = load_questions(questions)
    assert (q.id, q.question, q.answerable, q.split) == ("fb-3", Q_3RX, True, "feedback")
    obj = json.loads(questions.read_text(encoding="utf-8"))
    assert obj["doc_id"] == "2023-slotverklaring-nederlands-vlaamse-top-den-bosch" and obj["section"] == "2.f"
    assert obj["sections"] == ["2023-slotverklaring-nederlands-vlaamse-top-den-bosch#2.f"]
    assert obj["answer_facts"] == ["6 juni 2023"]

    again = run_module("rag.evaluate", "--feedback", log, "--to-question", "3", "--out", questions)
    assert again.returncode == 2 and "al een vraag met id 'fb-3'" in again.stderr.decode()
    unreviewed = run_module("rag.evaluate", "--feedback", log, "--to-question", "2", "--out", questions)
    assert unreviewed.returncode == 2 and "nog niet beoordeeld" in unreviewed.stderr.decode()
    protected = tmp_path / "eval" / "questions.jsonl"
    refused = run_module("rag.evaluate", "--feedback", log, "--to-question", "3", "--out", protected)
    assert refused.returncode == 2 and "niet door dit commando gewijzigd" in refused.stderr.decode()
    assert not protected.exists() and len(questions.read_text(encoding="utf-8").splitlines()) == 1
