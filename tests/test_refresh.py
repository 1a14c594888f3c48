"""Issue 14, item 8: a running chat notices a changed corpus or a new index build between questions.

A real ``ChatService`` over a real index of a copy of the corpus; the corpus file is edited or
deleted and ``rag.index`` is run (or not) while the chat keeps running.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rag.errors import IndexStaleError
from rag.index import IndexBuilder
from rag.settings import Settings
from tests.conftest import SEED_ID, seed_cache
from tests.helpers import run_module, visible_text

Q_2B = "Hoeveel inwoners telt een gemiddelde gemeente in Vlaanderen?"


def _chat(service: Any, question: str) -> str:
    return visible_text(list(service.respond(question, []))[-1][1][-1]["content"])


@pytest.mark.slow
def test_running_chat_serves_the_new_corpus_after_a_change(corpus_copy: Path, tmp_path: Path, pipeline: Any) -> None:
    from app import ChatService
    from rag.pipeline import Pipeline

    index_dir = tmp_path / "index"
    seed_cache(index_dir)
    seed = corpus_copy / f"{SEED_ID}.txt"
    settings = Settings(corpus_dir=corpus_copy, index_dir=index_dir, auto_build=False)
    IndexBuilder(settings, pipeline.embedder).build(progress=False)
    p = Pipeline(settings, embedder=pipeline.embedder)
    p.refresh_interval = 0.0
    chat = ChatService(p)
    assert "22.000" in _chat(chat, Q_2B)

    # 1. the corpus changes and `python -m rag.index` runs next to the running chat
    seed.write_text(seed.read_text(encoding="utf-8").replace("22.000", "23.456"), encoding="utf-8")
    res = run_module("rag.index", "--corpus", corpus_copy, "--index", index_dir, "--quiet")
    assert res.returncode == 0, res.stderr.decode()
    # a health check shows the new build at once, not only after the next question
    new_build = (index_dir / "current").resolve().name
    status = p.status()["index"]
    assert status["build_id"] == new_build and status["up_to_date"] is True
    shown = _chat(chat, Q_2B)
    assert "23.456" in shown and "22.000" not in shown

    # 2. the corpus changes again, nobody rebuilds, automatic builds off: refused, never the old text
    seed.write_text(seed.read_text(encoding="utf-8").replace("23.456", "24.680"), encoding="utf-8")
    status = p.status()["index"]  # a health check neither builds nor fails; it tells
    assert status["build_id"] == new_build and status["up_to_date"] is False
    shown = _chat(chat, Q_2B)
    assert "23.456" not in shown and "De index past niet bij het huidige corpus" in shown
    with pytest.raises(IndexStaleError):
        p.answer(Q_2B)

    # 3. with automatic builds on, the chat rebuilds between questions and answers from the new text
    auto = Pipeline(settings.with_(auto_build=True), embedder=pipeline.embedder)
    auto.refresh_interval = 0.0
    auto_chat = ChatService(auto)
    auto.load()
    assert "24.680" in _chat(auto_chat, Q_2B)
    seed.unlink()  # the file is deleted: its paragraphs are never quoted again
    shown = _chat(auto_chat, Q_2B)
    assert "24.680" not in shown
