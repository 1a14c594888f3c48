"""The terminal interface as a user runs it: real subprocesses, a pipe and a pseudo-terminal."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time

import pytest

from tests.conftest import CORPUS, ROOT

pytestmark = pytest.mark.slow


def run_ask(args, settings, stdin=None, timeout=120):
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="100")
    cmd = [sys.executable, "-m", "rag.ask", "--corpus", str(CORPUS), "--index", str(settings.index_dir), "--no-build",
           *args]
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT,
                          check=False)


def test_question_prints_answer_and_cited_paragraphs(settings):
    r = run_ask(["Hoeveel inwoners telt een gemiddelde gemeente in Vlaanderen?"], settings)
    assert r.returncode == 0, r.stderr
    assert "22.000" in r.stdout
    assert "2.b Lokale besturen, alinea 1" in r.stdout
    assert "Slotverklaring Nederlands-Vlaamse Top" in r.stdout
    assert "Nederland is voor Vlaanderen een gidsland" in r.stdout  # the full cited paragraph


def test_a_source_heading_gives_its_date_once(settings):
    """Found by a new-user trial: "… in Den Haag (13 juni 2022) (2022-06-13)"."""
    r = run_ask(["Wanneer kwam het Comité van Ministers van de Taalunie bijeen in Den Haag?"], settings)
    assert r.returncode == 0, r.stderr
    assert "(13 juni 2022)" in r.stdout and "(2022-06-13)" not in r.stdout


def test_a_refusal_reason_quotes_no_word_of_a_thousand_letters(settings):
    r = run_ask(["--json", "x" * 3000], settings)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["abstained"] and "…" in out["reason"] and len(out["reason"]) < 120


def test_json_output_is_one_object(settings):
    r = run_ask(["--json", "--top-k", "5", "Wat is het recept voor stoofvlees?"], settings)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["abstained"] is True and data["citations"] == []
    assert len(data["retrieved"]) == 5


@pytest.mark.parametrize(("args", "stdin"), [([""], None), (["   "], None), (["?!"], None), ([], "  \n")])
def test_empty_question_exits_2_with_one_dutch_line(settings, args, stdin):
    r = run_ask(args, settings, stdin=stdin)
    assert r.returncode == 2
    assert r.stderr.strip().startswith("fout: Stel een vraag")
    assert len(r.stderr.strip().splitlines()) == 1
    assert r.stdout == ""


@pytest.mark.parametrize("question", ["", "?!?! 🤔🤔 ... ???"])
def test_json_error_is_a_json_object_on_stdout(settings, question):
    """With --json a program reading stdout gets an error object, not nothing; the Dutch line stays on stderr."""
    r = run_ask(["--json", question], settings)
    assert r.returncode == 2
    assert json.loads(r.stdout) == {"id": None, "question": question, "error": r.stderr.strip().removeprefix("fout: ")}
    assert r.stderr.strip().startswith("fout: Stel een vraag")


def test_staff_mistakes_get_a_dutch_error_not_silence(settings, tmp_path):
    """Found by a robustness trial: a batch plus a question dropped the batch and exited 0; with
    --json a bad option printed nothing on stdout; a JSON array line was asked as a question; a
    missing batch file said "No such file or directory"."""
    batch = tmp_path / "vragen.jsonl"
    batch.write_text('["lijst"]\n[1] Wat is estuaire vaart?\n', encoding="utf-8")
    both = run_ask(["--batch", str(batch), "--json", "extra vraag"], settings)
    assert both.returncode == 2 and json.loads(both.stdout)["error"].startswith("geef een vraag óf --batch")
    rows = [json.loads(x) for x in run_ask(["--batch", str(batch), "--json"], settings).stdout.splitlines()]
    assert rows[0] == {"id": 1, "question": None,
                       "error": "regel 1: een JSON-regel moet een object met 'question' zijn"}
    assert rows[1]["question"] == "[1] Wat is estuaire vaart?" and not rows[1]["abstained"]
    bad = run_ask(["--json", "--top-k", "0", "Wat is estuaire vaart?"], settings)
    assert bad.returncode == 2 and json.loads(bad.stdout)["error"] == "top-k moet tussen 1 en 100 liggen"
    missing = run_ask(["--batch", str(tmp_path / "weg.jsonl")], settings)
    assert missing.returncode == 2 and missing.stderr.strip().endswith("weg.jsonl: bestand of map bestaat niet")


def test_source_link_is_one_unbroken_line(settings):
    """A document's address longer than the terminal (100 columns here) is printed whole on one line,
    so it can be clicked and copied (a new-user trial found it cut in two)."""
    url = "https://www.rijksoverheid.nl/documenten/publicaties/2016/11/07/communique-vlaams-nederlandse-topontmoeting-in-gent"
    r = run_ask(["Welke havens willen samen één havenbedrijf worden?"], settings)
    assert r.returncode == 0, r.stderr
    assert len(url) > 100 and url in [line.strip() for line in r.stdout.splitlines()], r.stdout


def test_bad_usage_exits_2(settings):
    r = run_ask(["--top-k", "0", "Wat is estuaire vaart?"], settings)
    assert r.returncode == 2 and "top-k" in r.stderr


def test_internal_error_exits_1_with_reason(settings, tmp_path):
    broken = tmp_path / "index"
    (broken / "builds" / "x").mkdir(parents=True)
    (broken / "builds" / "x" / "manifest.json").write_text("{niet json", encoding="utf-8")
    os.symlink("builds/x", broken / "current")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-m", "rag.ask", "--corpus", str(CORPUS), "--index", str(broken), "--no-build",
                        "Wat is estuaire vaart?"], capture_output=True, text=True, timeout=120, env=env, cwd=ROOT,
                       check=False)
    assert r.returncode == 1
    assert "manifest" in r.stderr.lower() and r.stderr.startswith("fout:")


def test_question_from_stdin(settings):
    r = run_ask(["--json"], settings, stdin="Wanneer werd de intentieverklaring over estuaire vaart ondertekend?\n")
    assert r.returncode == 0, r.stderr
    assert "5 december 2022" in json.loads(r.stdout)["answer"]


def test_batch_jsonl_echoes_ids_in_one_process(settings, tmp_path):
    batch = tmp_path / "vragen.jsonl"
    batch.write_text("\n".join([
        json.dumps({"id": "a1", "question": "Hoeveel inwoners telt een gemiddelde gemeente in Vlaanderen?"}),
        json.dumps({"id": 7, "question": "Wat is het recept voor stoofvlees?"}),
        json.dumps({"question": "Wat is estuaire vaart?"}),
        json.dumps({"id": "f", "question": "En in Nederland?"}),
    ]) + "\n", encoding="utf-8")
    r = run_ask(["--batch", str(batch), "--json"], settings)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["id"] for row in rows] == ["a1", 7, 3, "f"]  # without an id: the line number
    assert "22.000" in rows[0]["answer"] and rows[1]["abstained"] is True
    # batch lines are separate questions: a follow-up line has nothing to follow (before: a Taalunie quote)
    assert rows[3]["abstained"] is True and rows[3]["citations"] == [] and "eerdere vraag" in rows[3]["reason"]


def test_batch_plain_lines_and_whole_eval_set(settings, tmp_path):
    plain = tmp_path / "vragen.txt"
    plain.write_text("Wat is estuaire vaart?\n\nWat is de Einstein Telescoop?\n", encoding="utf-8")
    r = run_ask(["--batch", str(plain), "--json"], settings)
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 2
    r = run_ask(["--batch", str(ROOT / "eval" / "questions.jsonl"), "--json"], settings, timeout=600)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    ids = [json.loads(line)["id"] for line in (ROOT / "eval" / "questions.jsonl").read_text().splitlines() if line]
    assert [row["id"] for row in rows] == ids


def test_interactive_prompt_through_a_pty(settings):
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="100", TERM="dumb")
    pid, fd = pty.fork()
    if pid == 0:  # child: the real command on a terminal
        os.chdir(ROOT)
        os.execvpe(sys.executable, [sys.executable, "-m", "rag.ask", "--corpus", str(CORPUS), "--index",
                                    str(settings.index_dir), "--no-build"], env)
    out = b""

    def read_until(marker: bytes, timeout: float = 90.0) -> bytes:
        nonlocal out
        end = time.time() + timeout
        while marker not in out and time.time() < end:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                try:
                    out += os.read(fd, 65536)
                except OSError:
                    break
        return out

    try:
        assert b"vraag> " in read_until(b"vraag> ")
        out = b""
        os.write(fd, b"Wat zeggen Nederland en Vlaanderen over de Einstein Telescoop?\n")
        read_until(b"vraag> ", timeout=90)
        out_first = out
        out = b""
        os.write(fd, b"Wanneer wordt de kandidatuur voorbereid?\n")  # follow-up uses the first question
        read_until(b"vraag> ", timeout=90)
        os.write(fd, b"stop\n")
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    assert b"Einstein Telescoop" in out_first
    assert b"2023-2024" in out
    assert os.waitstatus_to_exitcode(status) == 0


def test_plain_text_batch_lines_are_numbered_so_answers_match_questions(settings, tmp_path):
    # a blank line is no question; the line numbers still tell which answer belongs to which line
    batch = tmp_path / "vragen.txt"
    batch.write_text("Wat is de FietsRoadmap?\n\nHoeveel inwoners telt een gemiddelde gemeente in Vlaanderen?\n",
                     encoding="utf-8")
    r = run_ask(["--batch", str(batch), "--json"], settings)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["id"] for x in lines] == [1, 3]
    assert "22.000" in lines[1]["answer"]


def test_a_reader_that_stops_early_is_no_error(settings):
    """Found by a new-user trial: `rag.ask "…" | head -1` exited 1 with nothing on stderr (rich ends
    a broken pipe with status 1). A reader that stops early is a finished answer: exit 0, no error."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="100")
    cmd = [sys.executable, "-m", "rag.ask", "--corpus", str(CORPUS), "--index", str(settings.index_dir), "--no-build",
           "Wat is de Taalunie?"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # as `head -1` does once it has its line; here before the answer is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert "fout" not in err
