"""Search filters (document, kind, year range): pure Filters on hand-made items, then retrieval,
the pipeline and the terminal on the real corpus and a real FAISS/BM25 index."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from rag.filters import FilterError, Filters, year_of
from tests.test_ask import run_ask

TREATY = "2015-verdrag-nieuwe-sluis-terneuzen"
DECLARATION = "2023-slotverklaring-nederlands-vlaamse-top-den-bosch"


@dataclass(frozen=True)
class Item:
    doc_id: str
    kind: str | None
    date: str | None


def test_empty_filter_allows_everything_even_without_date_or_kind():
    f = Filters()
    assert f.empty
    assert f.allows(Item("a", None, None))


def test_each_field_restricts_and_all_must_hold():
    f = Filters(documents=("a", "b"), kinds=("verdrag",), year_from=2000, year_to=2010)
    assert f.allows(Item("a", "verdrag", "2005-12-21"))
    assert not f.allows(Item("c", "verdrag", "2005-12-21"))  # other document
    assert not f.allows(Item("a", "persbericht", "2005-12-21"))  # other kind
    assert not f.allows(Item("a", "verdrag", "2015-02-05"))  # after the range
    assert not f.allows(Item("a", "verdrag", None))  # no date: excluded by a year bound
    assert Filters(year_from=2005).allows(Item("x", None, "2005-01-01"))  # bounds are inclusive
    assert Filters(year_to=2005).allows(Item("x", None, "2005-12-31"))


def test_json_round_trip_and_strings_for_years():
    f = Filters.from_json({"documents": [TREATY], "kinds": ["Verdrag"], "from": "2010", "to": 2020})
    assert f == Filters(documents=(TREATY,), kinds=("verdrag",), year_from=2010, year_to=2020)
    assert Filters.from_json(f.to_json()) == f
    assert Filters.from_json(None).empty and Filters.from_json({}).empty
    assert Filters.from_json({"kinds": "verdrag"}).kinds == ("verdrag",)  # one string is a list of one


@pytest.mark.parametrize("data,words", [
    ({"from": 2020, "to": 2010}, "eindigt voor ze begint"),
    ({"from": "twintig"}, "jaartal"),
    ({"from": True}, "jaartal"),
    ({"from": 99999}, "buiten"),
    ({"soort": ["verdrag"]}, "Onbekend filterveld: soort"),
    ({"kinds": [1, 2]}, "lijst van teksten"),
    ([1, 2], "moet een object zijn"),
])
def test_bad_filters_get_a_dutch_error(data, words):
    with pytest.raises(FilterError, match=words):
        Filters.from_json(data)


def test_check_names_unknown_documents_and_kinds():
    with pytest.raises(FilterError, match="Onbekend document: nope"):
        Filters(documents=("nope",)).check(["a"], ["verdrag"])
    with pytest.raises(FilterError, match="Bekende soorten: persbericht, verdrag"):
        Filters(kinds=("wet",)).check(["a"], ["verdrag", "persbericht"])


def test_year_of_iso_dates():
    assert year_of("2023-01-31") == 2023
    assert year_of("2023") == 2023
    assert year_of("januari 2023") is None
    assert year_of(None) is None


def test_every_document_of_the_corpus_has_a_kind(pipeline):
    docs = pipeline.documents()
    assert len(docs) == 32
    assert all(d.kind for d in docs)
    kinds = {d.id: d.kind for d in docs}
    assert kinds[DECLARATION] == "slotverklaring"
    assert kinds[TREATY] == "verdrag"
    assert sum(1 for k in kinds.values() if k == "verdrag") == 4


def test_a_date_in_the_title_s_closing_parenthesis_is_the_document_date(pipeline):
    dates = {d.id: d.date for d in pipeline.documents()}
    assert dates["2020-beleidsplan-nederlandse-taalunie-goedgekeurd"] == "2020-06-15"
    # "over de Vlaams-Nederlandse top van 5 november 2018": what the report is about, not its date
    assert dates["2018-vlaams-parlement-vraag-vlaams-nederlandse-top-middelburg-fragment"] is None


def test_retrieval_searches_only_allowed_passages_before_ranking(pipeline):
    retriever = pipeline.retriever
    question = "Hoeveel inwoners telt een gemiddelde gemeente in Vlaanderen?"
    unfiltered = retriever(question, top_k=10)
    assert unfiltered.passages[0].passage.doc_id == DECLARATION
    only_treaties = retriever(question, top_k=10, filters=Filters(kinds=("verdrag",)))
    assert len(only_treaties.passages) == 10  # a full list of the allowed passages, not a cut top-k
    assert {r.passage.kind for r in only_treaties.passages} == {"verdrag"}
    # the filtered ranking is the unfiltered ranking restricted to the allowed passages
    deep = retriever(question, top_k=len(retriever.index.passages), mode="dense")
    allowed_order = [r.passage.id for r in deep.passages if r.passage.kind == "verdrag"]
    filtered_dense = retriever(question, top_k=5, mode="dense", filters=Filters(kinds=("verdrag",)))
    assert [r.passage.id for r in filtered_dense.passages] == allowed_order[:5]


def test_filtered_question_cites_only_the_allowed_document(pipeline):
    question = "Wat is afgesproken over de Schelde?"
    ans = pipeline.answer(question, filters=Filters(documents=(TREATY,)))
    assert ans.filters == Filters(documents=(TREATY,))
    assert ans.retrieved and {r.passage.doc_id for r in ans.retrieved} == {TREATY}
    assert all(c.passage.doc_id == TREATY for c in ans.citations)


def test_filter_that_leaves_nothing_says_so(pipeline):
    ans = pipeline.answer("Wat is de Taalunie?", filters=Filters(kinds=("verdrag",), year_from=2024))
    assert ans.abstained and not ans.citations and not ans.retrieved
    assert "Geen enkel document voldoet aan de filters" in ans.text
    assert "soort: verdrag" in ans.text and "2024" in ans.text


def test_unknown_kind_is_refused_with_the_known_kinds(pipeline):
    with pytest.raises(FilterError, match=r"Onbekende soort document: wet.*slotverklaring"):
        pipeline.answer("Wat is de Taalunie?", filters=Filters(kinds=("wet",)))


def test_cli_filters_and_json(settings):
    r = run_ask(["--json", "--kind", "verdrag", "--from", "2010", "Wat is afgesproken over de Schelde?"], settings)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["filters"] == {"documents": [], "kinds": ["verdrag"], "from": 2010, "to": None}
    assert {x["doc_id"] for x in data["retrieved"]} == {TREATY}  # the only treaty from 2010 on
    bad = run_ask(["--from", "2024", "--to", "2020", "Wat is de Taalunie?"], settings)
    assert bad.returncode == 2
    assert bad.stderr.strip() == "fout: De periode 2024-2020 eindigt voor ze begint."
