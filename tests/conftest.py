"""Shared fixtures: the real corpus, one real index built once per test session, a pipeline.

The whole suite runs offline: HF_HUB_OFFLINE=1 and GRADIO_ANALYTICS_ENABLED=False are set
here, before anything imports huggingface_hub or gradio.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import shutil
from pathlib import Path

import pytest

from rag.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SEED_ID = "2023-slotverklaring-nederlands-vlaamse-top-den-bosch"
SHARED_CASES = ROOT.parent / "shared" / "cases"


def seed_cache(index_dir: Path) -> None:
    """Copy the repository's embedding cache (index/cache) into ``index_dir`` to save embedding time."""
    src = ROOT / "index" / "cache"
    if src.is_dir():
        shutil.copytree(src, index_dir / "cache", dirs_exist_ok=True)


@pytest.fixture(scope="session")
def corpus_load():
    """The real corpus, loaded once."""
    from rag.corpus import load_corpus

    return load_corpus(CORPUS)


@pytest.fixture(scope="session")
def seed(corpus_load):
    """The 2023 final declaration as a Document."""
    return next(d for d in corpus_load.documents if d.id == SEED_ID)


@pytest.fixture(scope="session")
def session_index_dir(tmp_path_factory) -> Path:
    """A real index of the real corpus, built once per session (embedding cache seeded)."""
    from rag.embedding import load_embedder
    from rag.index import IndexBuilder

    index_dir = tmp_path_factory.mktemp("index")
    seed_cache(index_dir)
    settings = Settings(corpus_dir=CORPUS, index_dir=index_dir)
    IndexBuilder(settings, load_embedder(settings)).build(progress=False)
    return index_dir


@pytest.fixture(scope="session")
def settings(session_index_dir) -> Settings:
    """Default settings over the real corpus and the session index (no auto-build surprises)."""
    return Settings(corpus_dir=CORPUS, index_dir=session_index_dir, auto_build=False)


@pytest.fixture(scope="session")
def pipeline(settings):
    """A loaded Pipeline over the real corpus (extractive mode)."""
    from rag.pipeline import Pipeline

    p = Pipeline(settings)
    p.load()
    return p


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    """A writable copy of the real corpus in a temporary folder."""
    dst = tmp_path / "corpus"
    shutil.copytree(CORPUS, dst)
    return dst


@pytest.fixture
def index_copy(tmp_path, session_index_dir) -> Path:
    """A writable copy of the session index (symlink and build folder preserved)."""
    dst = tmp_path / "index"
    shutil.copytree(session_index_dir, dst, symlinks=True)
    return dst
