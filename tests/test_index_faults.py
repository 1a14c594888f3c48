"""Issue 14, items 6, 7, 9 and 11 (index): a damaged embedding cache, a full disk, readers during
rebuilds, a read-only index and a ``current`` that is a real folder.

Real builds of the real corpus (embedding cache seeded), a real tmpfs for the full disk and the
read-only folder (skipped when the machine does not allow ``mount``), real FAISS indexes.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rag.corpus import corpus_fingerprint
from rag.embedding import EmbeddingCache, load_embedder
from rag.index import IndexBuilder, IndexBuildError, SearchIndex, expected_manifest
from rag.settings import Settings
from tests.helpers import run_module

Q_2B = "Hoeveel inwoners telt een gemiddelde gemeente in Vlaanderen?"


@pytest.fixture(scope="module")
def embedder() -> Any:
    return load_embedder(Settings())


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A real tmpfs of ``size`` mounted at ``path`` (unmounted afterwards)."""
    path.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                         capture_output=True, text=True, check=False)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _answers(settings: Settings, embedder: Any) -> None:
    from rag.pipeline import Pipeline

    ans = Pipeline(settings.with_(auto_build=False), embedder=embedder).answer(Q_2B)
    assert "22.000" in ans.text and not ans.abstained


def _fill(disk: Path, leave: int) -> Path:
    """Fill ``disk`` until only ``leave`` bytes are free; return the filler file."""
    filler = disk / "vulling.bin"
    free = shutil.disk_usage(disk).free
    with filler.open("wb") as fh:
        fh.truncate(0)
        fh.write(b"\0" * max(0, free - leave))
    return filler


# --- item 6: a damaged embedding cache is a lost speed-up, not a failed build -------------------------

@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_damaged_embedding_cache_is_ignored_logged_and_rewritten(tmp_path: Path, embedder: Any,
                                                                 caplog: pytest.LogCaptureFixture,
                                                                 damage: str) -> None:
    """A truncated ``.npz`` used to raise BadZipFile and block every rebuild. A two-document corpus
    keeps the re-embedding short."""
    from tests.conftest import CORPUS

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("2023-slotverklaring-nederlands-vlaamse-top-den-bosch.txt", "kcbr-iak-7-6-grenseffecten-fragment.txt"):
        shutil.copy(CORPUS / name, corpus / name)
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", auto_build=False)
    IndexBuilder(settings, embedder).build(progress=False)
    cache_file = next((settings.index_dir / "cache").glob("embeddings-*.npz"))
    data = cache_file.read_bytes()
    cache_file.write_bytes({"truncated": data[: len(data) // 2], "garbage": b"PK\x03\x04" + os.urandom(4096),
                            "empty": b""}[damage])
    with caplog.at_level(logging.WARNING, logger="rag.embedding"):
        report = IndexBuilder(settings, embedder).build(force=True, progress=False)
    assert not report.reused and report.embedded > 0 and report.cache_hits == 0
    assert any("onleesbaar" in r.getMessage() for r in caplog.records)
    assert len(EmbeddingCache(settings.index_dir / "cache", embedder)._vectors) == report.embedded  # rewritten
    _answers(settings, embedder)


# --- item 7: a full disk fails cleanly and the next try succeeds ---------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("where", ["cache-save", "build-files"])
def test_full_disk_leaves_nothing_behind_and_recovers(tmp_path: Path, session_index_dir: Path, corpus_copy: Path,
                                                      embedder: Any, where: str) -> None:
    with tmpfs(tmp_path / "schijf", "64m") as disk:
        index_dir = disk / "index"
        shutil.copytree(session_index_dir, index_dir, symlinks=True)
        settings = Settings(corpus_dir=corpus_copy, index_dir=index_dir, auto_build=False)
        before = os.readlink(index_dir / "current")
        cache_size = next((index_dir / "cache").glob("embeddings-*.npz")).stat().st_size
        build_size = sum(f.stat().st_size for f in (index_dir / "current").resolve().rglob("*") if f.is_file())
        if where == "build-files" and build_size < cache_size + 512 * 1024:
            # the new cache replaces the old one, so the build gets the space the cache frees again
            pytest.skip(f"build ({build_size} B) not larger than the cache ({cache_size} B): cannot fail "
                        "between the cache save and the build files with a warm cache")
        # "cache-save": no room for the new cache file; "build-files": room for it, not for the build
        filler = _fill(disk, 64 * 1024 if where == "cache-save" else cache_size + 256 * 1024)
        with pytest.raises(IndexBuildError) as err:
            IndexBuilder(settings, embedder).build(force=True, progress=False)
        assert "de schijf is vol" in str(err.value) and "vorige index is ongewijzigd" in str(err.value)
        assert isinstance(err.value.__cause__, OSError | RuntimeError)
        if isinstance(err.value.__cause__, OSError) and err.value.__cause__.errno:  # numpy gives none
            assert err.value.__cause__.errno == errno.ENOSPC
        assert not list((index_dir / "builds").glob("*.partial"))
        assert not list((index_dir / "cache").glob("*.tmp-*"))
        assert os.readlink(index_dir / "current") == before
        _answers(settings, embedder)  # the previous index still loads (all checks) and answers

        filler.unlink()  # space freed: the next try succeeds
        report = IndexBuilder(settings, embedder).build(force=True, progress=False)
        assert not report.reused
        assert os.readlink(index_dir / "current") != before
        _answers(settings, embedder)


# --- item 9: readers never fail while builds swap "current" --------------------------------------------

@pytest.mark.slow
def test_concurrent_readers_never_see_a_deleted_build(index_copy: Path, embedder: Any) -> None:
    from tests.conftest import CORPUS

    settings = Settings(corpus_dir=CORPUS, index_dir=index_copy, auto_build=False)
    want = expected_manifest(settings, embedder, corpus_fingerprint(CORPUS)[0])
    stop = threading.Event()
    loads: list[int] = []
    errors: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            try:
                idx = SearchIndex.load(index_copy, want)
                assert len(idx.passages) > 400
                loads.append(1)
            except Exception as exc:  # counted, reported below
                errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=reader, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for _ in range(4):
            IndexBuilder(settings, embedder).build(force=True, progress=False)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    print(f"{len(loads)} loads during 4 rebuilds, {len(errors)} errors")
    assert len(loads) > 20
    assert errors == []


# --- item 11: read-only index over a changed corpus; "current" copied as a real folder -----------------

@pytest.mark.slow
def test_read_only_index_over_a_changed_corpus_is_a_dutch_message(tmp_path: Path, session_index_dir: Path,
                                                                  corpus_copy: Path, embedder: Any) -> None:
    from rag.pipeline import Pipeline

    with tmpfs(tmp_path / "ro", "32m") as disk:
        index_dir = disk / "index"
        shutil.copytree(session_index_dir, index_dir, symlinks=True)
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        (corpus_copy / "extra.txt").write_text("Titel: Extra\n\nEen nieuwe alinea over de Schelde.\n", encoding="utf-8")
        p = Pipeline(Settings(corpus_dir=corpus_copy, index_dir=index_dir), embedder=embedder)
        with pytest.raises(IndexBuildError, match="alleen-lezen"):
            p.load()
        res = run_module("rag.ask", "--corpus", corpus_copy, "--index", index_dir, Q_2B)
        err = res.stderr.decode()
        assert res.returncode == 1 and "Traceback" not in err and "interne fout" not in err
        assert "fout: De index in" in err and "alleen-lezen" in err


def test_current_copied_as_a_real_folder_is_rebuilt(tmp_path: Path, session_index_dir: Path, corpus_copy: Path,
                                                    embedder: Any) -> None:
    """``cp -rL index copy``: ``current`` is a directory, not a symlink; a rebuild adopts it."""
    index_dir = tmp_path / "kopie"
    shutil.copytree(session_index_dir, index_dir, symlinks=False)  # follows the symlink like cp -rL
    assert (index_dir / "current").is_dir() and not (index_dir / "current").is_symlink()
    (corpus_copy / "extra.txt").write_text("Titel: Extra\n\nEen nieuwe alinea over de Schelde.\n", encoding="utf-8")
    settings = Settings(corpus_dir=corpus_copy, index_dir=index_dir, auto_build=False)
    report = IndexBuilder(settings, embedder).build(progress=False)
    assert not report.reused and (index_dir / "current").is_symlink()
    _answers(settings, embedder)


def test_any_exception_of_one_corpus_file_skips_only_that_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-file catch of load_corpus isolates every exception, not only the expected ones."""
    import rag.corpus
    from tests.conftest import CORPUS

    real = rag.corpus.load_document

    def flaky(path: Path, *args: Any, **kwargs: Any) -> Any:
        if path.name.startswith("kcbr-iak-7-6"):
            raise LookupError("onverwacht")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(rag.corpus, "load_document", flaky)
    load = rag.corpus.load_corpus(CORPUS)
    assert any(x.path.startswith("kcbr-iak-7-6") and "onleesbaar bestand (LookupError" in x.reason
               for x in load.skipped)
    assert len(load.documents) >= 30
