"""Issue 14, items 10 and 11 (batch, argparse): bad bytes and bad lines in questions.

Every user-caused error ends as a Dutch message (exit 2), never ``interne fout``; a bad line in
``--batch`` is reported on its own line and the batch goes on. Real ``python -m rag.ask``
subprocesses over the session index.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rag.settings import Settings
from tests.helpers import ROOT, cli_env, run_module

FC03_STDIN = b"Hoeveel \xff inwoners telt Vlaanderen?\n"
GOOD = "Hoeveel inwoners telt een gemiddelde gemeente in Vlaanderen?"


def _ask(settings: Settings, *args: str | Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return run_module("rag.ask", "--no-build", "--corpus", settings.corpus_dir, "--index", settings.index_dir,
                      *args, stdin=stdin)


@pytest.mark.slow
@pytest.mark.parametrize("encoding", ["utf-8", "ascii:surrogateescape"])
def test_fc03_invalid_utf8_on_stdin_is_answered(settings: Settings, encoding: str) -> None:
    """fc03: stdin bytes 'Hoeveel \\xff inwoners telt Vlaanderen?' → the bad byte is replaced by U+FFFD
    and the question answered (exit 0), with strict UTF-8 stdin and with a C-locale-like stdin."""
    env = {**cli_env(), "PYTHONIOENCODING": encoding}
    cmd = [sys.executable, "-m", "rag.ask", "--json", "--no-build", "--corpus", str(settings.corpus_dir),
           "--index", str(settings.index_dir)]
    res = subprocess.run(cmd, input=FC03_STDIN, capture_output=True, env=env, cwd=ROOT, timeout=300, check=False)
    err = res.stderr.decode("utf-8", "replace")
    assert res.returncode == 0, err
    assert "interne fout" not in err and "Error" not in err
    out = json.loads(res.stdout)
    assert "inwoners telt Vlaanderen" in out["question"] and "\udcff" not in out["question"]
    assert not out["abstained"] and "22.000" in out["answer"]


@pytest.mark.slow
def test_fc03_invalid_utf8_in_an_argument_is_answered(settings: Settings) -> None:
    """The same bytes as a command-line argument (decoded by Python with surrogateescape)."""
    cmd = [sys.executable.encode(), b"-m", b"rag.ask", b"--json", b"--no-build", b"--corpus",
           str(settings.corpus_dir).encode(), b"--index", str(settings.index_dir).encode(), FC03_STDIN.strip()]
    res = subprocess.run(cmd, capture_output=True, env=cli_env(), cwd=ROOT, timeout=300, check=False)
    err = res.stderr.decode("utf-8", "replace")
    assert res.returncode == 0, err
    assert "interne fout" not in err
    out = json.loads(res.stdout)
    assert "\ufffd" in out["question"] and "22.000" in out["answer"]


@pytest.mark.slow
def test_fc03_batch_with_bad_lines_reports_them_and_answers_the_rest(settings: Settings, tmp_path: Path) -> None:
    """A batch with a non-UTF-8 line, cut-off JSON, ``{"question": null}``, a number as question, a
    JSON string escape of a lone surrogate, and an object without 'question': every line gets one JSON
    object, the good lines are answered, the bad ones carry a Dutch 'error'; exit 0."""
    batch = tmp_path / "vragen.jsonl"
    lines = [
        json.dumps({"id": "goed1", "question": GOOD}).encode(),
        FC03_STDIN.strip(),                                      # plain line with a bad byte
        b'{"id": "kapot", "question": "Hoeveel inw',             # cut-off JSON
        json.dumps({"id": "null", "question": None}).encode(),
        json.dumps({"id": "getal", "question": 42}).encode(),
        b'{"id": "surrogaat", "question": "Hoeveel \\udcff inwoners telt Vlaanderen?"}',
        b'{"id": "zonder"}',
        json.dumps({"id": "goed2", "question": GOOD}).encode(),
    ]
    batch.write_bytes(b"\n".join(lines) + b"\n")
    res = _ask(settings, "--json", "--batch", batch)
    err = res.stderr.decode("utf-8", "replace")
    assert res.returncode == 0, err
    assert "interne fout" not in err
    rows = [json.loads(x) for x in res.stdout.decode("utf-8").splitlines()]
    assert len(rows) == len(lines)
    by_id = {r["id"]: r for r in rows if r["id"] is not None}
    assert "22.000" in by_id["goed1"]["answer"] and "22.000" in by_id["goed2"]["answer"]
    assert "22.000" in rows[1]["answer"] and "\ufffd" in rows[1]["question"]
    assert rows[2]["error"] == "regel 3: ongeldige JSON: een tekst zonder afsluitend aanhalingsteken (bij teken 29)"
    assert by_id["null"]["error"] == "regel 4: 'question' is leeg (null)"
    assert by_id["getal"]["error"] == "regel 5: 'question' is geen tekst maar int"
    assert "answer" in by_id["surrogaat"] and "\udcff" not in by_id["surrogaat"]["question"]
    # found by a robustness trial: the replaced characters were kept without a word
    replaced = "Je vraag bevatte tekens die geen geldige tekst waren; ze zijn vervangen door \ufffd."
    assert replaced in by_id["surrogaat"]["notices"] and replaced in rows[1]["notices"]
    assert replaced not in by_id["goed1"]["notices"]
    assert rows[6]["error"] == "regel 7: JSON-object zonder 'question'"
    assert rows[6]["id"] == "zonder"  # the line's own id, not its number


@pytest.mark.parametrize(("args", "dutch"), [
    (["--top-k", "x"], "fout: argument --top-k: geen geheel getal: 'x'"),
    (["--mode", "snel", "vraag"], "fout: argument --mode: ongeldige keuze: 'snel' (kies uit"),
    (["--onbekend", "vraag"], "fout: onbekende argumenten: --onbekend"),
    (["--batch"], "fout: argument --batch: verwacht één waarde"),
])
def test_usage_errors_are_dutch_with_exit_2(args: list[str], dutch: str) -> None:
    res = run_module("rag.ask", *args, timeout=60)
    err = res.stderr.decode()
    assert res.returncode == 2
    assert dutch in err and err.endswith("(zie python -m rag.ask --help)\n")
    assert len(err.strip().splitlines()) == 1  # one line, as the README says (before: the usage first)
    assert "error:" not in err and "usage:" not in err and "invalid" not in err


def test_index_and_app_usage_errors_are_dutch() -> None:
    res = run_module("rag.index", "--bestaat-niet", timeout=60)
    assert res.returncode == 2 and "fout: onbekende argumenten" in res.stderr.decode()
    res = run_module("app", "--port", "x", timeout=120)
    assert res.returncode == 2 and "fout: argument --port: geen geheel getal" in res.stderr.decode()
