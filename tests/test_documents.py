"""Documents tab, passage links, official sources, fragment labels and the chat's filter row (no
server: the pure functions of app.py over the real index of the real corpus)."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from app import (
    DOCUMENT_COLUMNS,
    ChatService,
    DocumentLibrary,
    answer_html,
    document_choices,
    document_html,
    document_rows,
    form_filters,
    kind_choices,
    passage_anchor,
    passage_from_link,
    passage_link,
    safe_url,
)
from rag.filters import FilterError, Filters
from rag.pipeline import Pipeline
from tests.helpers import Q_INWONERS

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SEED_ID = "2023-slotverklaring-nederlands-vlaamse-top-den-bosch"
TREATIES = {
    "1980-verdrag-nederlandse-taalunie": "BWBV0002947",
    "1995-cultureel-verdrag-nederland-vlaamse-gemeenschap": "BWBV0001274",
    "2005-verdrag-samenwerking-beleid-beheer-schelde-estuarium": "BWBV0003047",
    "2015-verdrag-nieuwe-sluis-terneuzen": "BWBV0006449",
}
Q_SCHELDE = "Wat zeggen Nederland en Vlaanderen over de Schelde?"


class Tags(HTMLParser):
    """(tag, attrs) of every start tag and the visible text of an HTML fragment."""

    def __init__(self, fragment: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(fragment)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


# --- sources ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("doc_id", "bwbv"), sorted(TREATIES.items()))
def test_treaties_link_to_wetten_overheid(pipeline: Pipeline, doc_id: str, bwbv: str) -> None:
    info = DocumentLibrary(pipeline).info(doc_id)
    assert info is not None and info.kind == "verdrag"
    assert info.source == f"https://wetten.overheid.nl/{bwbv}"


def test_every_treaty_in_the_index_has_its_official_source(pipeline: Pipeline) -> None:
    treaties = [d for d in pipeline.documents() if d.kind == "verdrag"]
    assert {d.id for d in treaties} == set(TREATIES)
    assert all((d.source or "").startswith("https://wetten.overheid.nl/BWBV") for d in treaties)


def test_declaration_links_to_the_dutch_government(pipeline: Pipeline) -> None:
    info = DocumentLibrary(pipeline).info(SEED_ID)
    assert info is not None and info.source is not None
    assert info.source.startswith("https://www.rijksoverheid.nl/") and safe_url(info.source) == info.source


def test_only_the_bron_line_changed_in_the_corpus_headers() -> None:
    """Line 1 of the declaration and the treaties is the official source; the header lines after it
    (title, date, kind) are the ones the corpus had."""
    for doc_id in [SEED_ID, *TREATIES]:
        lines = (CORPUS / f"{doc_id}.txt").read_text(encoding="utf-8").split("\n")
        assert lines[0].startswith(("Bron: https://wetten.overheid.nl/BWBV", "Bron: https://www.rijksoverheid.nl/"))
        assert [line.split(":")[0] for line in lines[1:4]] == ["Titel", "Datum", "Soort"]


def test_every_document_source_is_a_link(pipeline: Pipeline) -> None:
    """Every document of the real corpus has a source, and it is an http(s) URL the chat links."""
    docs = pipeline.documents()
    assert len(docs) == len(list(CORPUS.glob("*.txt")))
    missing = [d.id for d in docs if not d.source or safe_url(d.source) != d.source]
    assert not missing, missing


# --- citations in the chat -------------------------------------------------------------------------

def test_citations_link_to_their_paragraph_and_source(pipeline: Pipeline) -> None:
    ans = pipeline.answer(Q_INWONERS)
    assert ans.citations
    out = answer_html(ans)
    hrefs = [a.get("href") for tag, a in Tags(out).tags if tag == "a"]
    for c in ans.citations:
        assert passage_link(c.passage.id) in hrefs
        assert c.passage.source in hrefs
    assert "fragment" not in "".join(Tags(out).text).lower()  # the declaration is complete


def test_fragment_citation_carries_label_and_note(pipeline: Pipeline) -> None:
    ans = pipeline.answer("Wat doet de euregionale taskforce voor de Einstein Telescope?")
    frags = [c for c in ans.citations if c.passage.fragment]
    assert frags, [c.passage.doc_id for c in ans.citations]
    out = answer_html(ans)
    labels = out.count('<span class="rag-fragment-label">fragment</span>')
    assert labels == len(frags)
    assert "het corpus bevat maar een deel van dit document" in html.unescape("".join(Tags(out).text))


# --- passage links ---------------------------------------------------------------------------------

def test_passage_link_format_and_round_trip(pipeline: Pipeline) -> None:
    passages = pipeline.retriever.index.passages
    links = [passage_link(p.id) for p in passages]
    assert len(set(links)) == len(passages)
    for p, link in zip(passages, links, strict=True):
        assert re.fullmatch(r"#passage-[A-Za-z0-9%._~-]+", link), link
        assert link == "#" + passage_anchor(p.id)
        assert passage_from_link(link) == p.id
        assert passage_from_link(f"http://127.0.0.1:7860/{link}") == p.id
    assert passage_link(f"{SEED_ID}#2.b/p1") == f"#passage-{SEED_ID}%232.b%2Fp1"
    assert passage_from_link("#api") is None and passage_from_link("") is None
    assert passage_from_link("#passage-") is None


# --- document list and view ------------------------------------------------------------------------

def test_document_rows_list_every_document(pipeline: Pipeline) -> None:
    docs = pipeline.documents()
    rows = document_rows(docs)
    assert len(rows) == len(docs) and all(len(r) == len(DOCUMENT_COLUMNS) for r in rows)
    by_id = {r[-1]: r for r in rows}
    seed = by_id[SEED_ID]
    assert seed[:4] == ["Slotverklaring Nederlands-Vlaamse Top, ’s-Hertogenbosch, 31 januari 2023", "2023-01-31",
                        "slotverklaring", ""]
    assert seed[4] == 66 and seed[5].startswith("https://www.rijksoverheid.nl/")
    assert by_id["2022-einstein-telescope-euregionale-taskforce-limburg-fragment"][3] == "fragment"
    assert sum(r[3] == "fragment" for r in rows) == sum(d.fragment for d in docs)
    dated = [r[1] for r in rows if r[1]]
    assert dated == sorted(dated) and rows[0][1] == "1980-09-09"  # by date, undated last
    assert all(r[1] == "" for r in rows[len(dated):])
    assert all(isinstance(r[4], int) and r[4] > 0 for r in rows)
    assert [c[1] for c in document_choices(docs)] == [r[-1] for r in rows]
    kinds = kind_choices(docs)
    assert kinds == sorted(kinds) and {"verdrag", "slotverklaring", "persbericht", "aankondiging"} <= set(kinds)


def test_document_view_by_section_with_locators_and_target(pipeline: Pipeline) -> None:
    library = DocumentLibrary(pipeline)
    passages = library.passages(SEED_ID)
    target = next(p for p in passages if p.locator.startswith("2.b Lokale besturen"))
    out = library.view(SEED_ID, target.id)
    tags = Tags(out)
    ids = [a["id"] for _, a in tags.tags if a.get("id")]
    assert sorted(ids) == sorted(passage_anchor(p.id) for p in passages)  # every passage lands somewhere, once
    targets = [a for tag, a in tags.tags if "rag-target" in (a.get("class") or "").split()]
    assert len(targets) == 1 and targets[0]["id"] == passage_anchor(target.id)
    headings = [i for i, (tag, _) in enumerate(tags.tags) if tag == "h3"]
    sections = list(dict.fromkeys(p.section_label for p in passages))
    assert len(headings) == len(sections)
    text = "".join(tags.text)
    assert all(p.locator in text for p in passages)
    assert text.index(sections[0]) < text.index(sections[-1])
    assert "66 alinea's" in text and "31 januari 2023" in text
    assert not any(tag in {"script", "img", "iframe", "svg"} for tag, _ in tags.tags)
    assert all(not name.startswith("on") for _, a in tags.tags for name in a)


def test_document_view_of_a_fragment_says_so(pipeline: Pipeline) -> None:
    out = DocumentLibrary(pipeline).view("2022-einstein-telescope-euregionale-taskforce-limburg-fragment")
    assert '<span class="rag-fragment-label">fragment</span>' in out
    assert "https://www.limburg.nl/" in out and "rag-target" not in out


def test_document_view_of_unknown_document() -> None:
    assert "Kies een document" in document_html(None, [])


# --- the filter row ---------------------------------------------------------------------------------

def test_form_filters_reads_the_row_like_json() -> None:
    assert form_filters([], "", "", []) == Filters()
    assert form_filters(["verdrag"], " 2000 ", "2010", [SEED_ID]) == Filters(
        documents=(SEED_ID,), kinds=("verdrag",), year_from=2000, year_to=2010)
    with pytest.raises(FilterError, match="'Vanaf jaar' moet een jaartal zijn"):
        form_filters([], "twintig", "", [])
    with pytest.raises(FilterError, match="'Tot en met jaar' moet een jaartal zijn"):
        form_filters([], "", "2020.5", [])
    with pytest.raises(FilterError, match="eindigt voor ze begint"):
        form_filters([], "2023", "2020", [])


def test_filtered_chat_turn_cites_only_allowed_documents(pipeline: Pipeline) -> None:
    service = ChatService(pipeline)
    _, free = list(service.respond(Q_SCHELDE, []))[-1]
    _, treaties = list(service.respond(Q_SCHELDE, [], Filters(kinds=("verdrag",))))[-1]

    def cited(chat: list[dict[str, str]]) -> set[str]:
        links = [a.get("href") or "" for tag, a in Tags(chat[-1]["content"]).tags if tag == "a"]
        return {(passage_from_link(h) or "").split("#")[0] for h in links if h.startswith("#passage-")}

    assert cited(free) - set(TREATIES), "zonder filter citeert het antwoord ook andere documenten"
    assert cited(treaties) and cited(treaties) <= set(TREATIES)
    assert "Gezocht met filters: soort: verdrag" in html.unescape("".join(Tags(treaties[-1]["content"]).text))


def test_filter_that_leaves_nothing_or_cannot_apply_is_a_dutch_message(pipeline: Pipeline) -> None:
    service = ChatService(pipeline)
    _, empty = list(service.respond(Q_INWONERS, [], Filters(year_from=1800, year_to=1801)))[-1]
    assert "Geen enkel document voldoet aan de filters (periode 1800-1801)" in html.unescape(empty[-1]["content"])
    box, unknown = list(service.respond(Q_INWONERS, [], Filters(kinds=("roman",))))[-1]
    assert box == Q_INWONERS  # the question stays to ask again
    assert "Onbekende soort document: roman" in html.unescape(unknown[-1]["content"])
    box, refused = list(service.refuse(Q_INWONERS, [], "De periode 2023-2020 eindigt voor ze begint."))[-1]
    assert box == Q_INWONERS and [m["role"] for m in refused] == ["user", "assistant"]
    assert "eindigt voor ze begint" in refused[-1]["content"]
