"""Documents as a newsroom receives them (issue 15), made here, read by rag.readers.

The 2023 declaration is typeset from its own text version (tests/typeset.py): a justified PDF
hyphenated with pyphen's Dutch dictionary, with a running header and page numbers; a two-column
variant; a Word file. Each must give exactly the text version's paragraphs and locators, word
for word. A PDF and a Word file with a captioned table must give one table passage that answers
a question about a value in it. Shared case fc01: an AES-encrypted PDF with an empty user
password is read, and the rest of the corpus still answers.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import zipfile
from pathlib import Path

import pytest

from rag.corpus import (
    Document,
    TableBlock,
    hyphen_evidence,
    join_line_end_hyphen,
    join_lines,
    load_corpus,
    load_document,
)
from rag.corpus import main as corpus_main
from tests.conftest import CORPUS, SEED_ID, seed_cache
from tests.helpers import Q_INWONERS, run_module
from tests.typeset import (
    RUNNING_HEADER,
    TABLE_CAPTION,
    TABLE_ROWS,
    declaration_docx,
    declaration_pdf,
    table_docx,
    table_pdf,
)

Q_TABLE = "Hoeveel kost de fietssnelweg Hamont-Weert?"
FORMATS = ("declaration.pdf", "declaration-2kol.pdf", "declaration.docx")


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    """The generated documents, made once for this module."""
    d = tmp_path_factory.mktemp("made")
    declaration_pdf(d / "declaration.pdf")
    declaration_pdf(d / "declaration-2kol.pdf", columns=2)
    declaration_docx(d / "declaration.docx")
    table_pdf(d / "grensprojecten-tabel.pdf")
    table_docx(d / "grensprojecten-tabel-word.docx")
    return d


@pytest.fixture(scope="module")
def reference() -> Document:
    """The text version of the declaration, as the corpus reads it."""
    return load_document(CORPUS / f"{SEED_ID}.txt", CORPUS)


@pytest.fixture(scope="module")
def read_docs(made) -> dict[str, tuple[Document, float]]:
    """Each generated declaration read once, with its parse time in seconds."""
    out = {}
    for name in FORMATS:
        start = time.perf_counter()
        doc = load_document(made / name, made)
        out[name] = (doc, time.perf_counter() - start)
    return out


def _words(text: str) -> set[str]:
    return set(re.findall(r"[^\W\d_]+(?:-[^\W\d_]+)*-?", text))


@pytest.mark.parametrize("name", FORMATS)
def test_typeset_declaration_gives_the_text_versions_paragraphs_and_locators(name, read_docs, reference):
    doc, seconds = read_docs[name]
    want = [(p.locator, p.text) for p in reference.paragraphs]
    got = [(p.locator, p.text) for p in doc.paragraphs]
    assert len(want) >= 60
    matched = sum(1 for x in got if x in want)
    # a compact diff when it fails: which locators differ and the first differing words
    diffs = [(a[0], sorted(_words(b[1]) ^ _words(a[1]))[:6]) for a, b in zip(want, got, strict=False) if a != b]
    assert got == want, f"{matched}/{len(want)} alinea's gelijk; verschillen: {diffs[:5]}"
    assert [s.label for s in doc.sections] == [s.label for s in reference.sections]
    assert doc.title == reference.title
    assert seconds < 30  # parse time: see the report in the issue note (about 0.1 s per page)


@pytest.mark.parametrize("name", FORMATS)
def test_no_word_is_left_broken_and_no_running_header_or_page_number_remains(name, read_docs, reference):
    doc, _ = read_docs[name]
    ref_words = _words(" ".join(p.text for p in reference.paragraphs))
    text = "\n".join(p.text for p in doc.paragraphs)
    broken = sorted(w for w in _words(text) if w not in ref_words)
    assert broken == []
    assert RUNNING_HEADER not in text and not re.search(r"Pagina \d", text)


def test_generated_pdfs_really_are_hyphenated_with_header_page_numbers_and_two_columns(made):
    """Guards the test documents themselves: otherwise the tests above would prove little."""
    import pdfplumber

    with pdfplumber.open(made / "declaration.pdf") as pdf:
        pages = [p.extract_text() or "" for p in pdf.pages]
    lines = [ln for page in pages for ln in page.split("\n")]
    assert len(pages) >= 10
    assert sum(1 for ln in lines if re.search(r"[a-zë]-$", ln)) >= 50  # hyphenated line ends
    assert all(RUNNING_HEADER in p for p in pages) and "Pagina 3" in pages[2]
    with pdfplumber.open(made / "declaration-2kol.pdf") as pdf:
        page = pdf.pages[1]
        lefts = {round(c["x0"]) for c in page.chars if c["x0"] > page.width / 2 + 5}
    assert lefts, "the two-column variant has text in the right half"


def test_table_in_pdf_and_docx_is_one_table_paragraph_with_its_caption(made):
    want = "\n".join(" | ".join(row) for row in TABLE_ROWS)
    for name in ("grensprojecten-tabel.pdf", "grensprojecten-tabel-word.docx"):
        doc = load_document(made / name, made)
        tables = [p for p in doc.paragraphs if p.kind == "table"]
        assert len(tables) == 1 and doc.tables == 1, name
        assert tables[0].text == want, name
        assert tables[0].caption == TABLE_CAPTION, name
        assert tables[0].locator == "1. Grensprojecten, alinea 2", name
        # the caption is not also a heading or paragraph, and no prose is glued to the cells
        assert not any(TABLE_CAPTION in p.text for p in doc.paragraphs if p.kind == "text"), name
        assert [s.label for s in doc.sections] == ["1. Grensprojecten"], name


def test_table_passage_has_caption_context_and_rows_as_sentences(made):
    from rag.chunking import Chunker

    doc = load_document(made / "grensprojecten-tabel.pdf", made)
    passages = Chunker(lambda t: len(t.split()))([doc])
    table = next(p for p in passages if "Hamont-Weert" in p.text)
    assert TABLE_CAPTION in table.context
    assert table.sentences == tuple(" | ".join(row) for row in TABLE_ROWS)
    assert table.id == table.paragraph_id


def test_corpus_show_json_prints_sections_paragraphs_and_locators(made, capsys):
    assert corpus_main(["--corpus", str(made), "--show", "grensprojecten-tabel-word", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["tables"] == 1
    assert [s["label"] for s in data["sections"]] == ["1. Grensprojecten"]
    assert [p["locator"] for p in data["paragraphs"]] == [f"1. Grensprojecten, alinea {n}" for n in (1, 2, 3)]
    assert data["paragraphs"][1]["kind"] == "table" and data["paragraphs"][1]["caption"] == TABLE_CAPTION


def test_odt_headings_lists_and_tables(tmp_path):
    ns = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"')
    cell = '<table:table-cell><text:p>{}</text:p></table:table-cell>'
    rows = "".join("<table:table-row>" + "".join(cell.format(c) for c in row) + "</table:table-row>"
                   for row in TABLE_ROWS)
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns}><office:body><office:text>'
               '<text:h text:outline-level="1">1. Grensprojecten</text:h>'
               '<text:p>De regeringen spreken de volgende projecten af:</text:p>'
               '<text:list><text:list-item><text:p>een fietssnelweg tussen Hamont en Weert;</text:p></text:list-item>'
               '<text:list-item><text:p>onderhoud aan de sluis van Terneuzen.</text:p></text:list-item></text:list>'
               f'<text:p>{TABLE_CAPTION}</text:p><table:table>{rows}</table:table>'
               '</office:text></office:body></office:document-content>')
    with zipfile.ZipFile(tmp_path / "afspraken.odt", "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        z.writestr("content.xml", content)
    doc = load_document(tmp_path / "afspraken.odt", tmp_path)
    assert doc.paragraphs[0].text.startswith("De regeringen spreken de volgende projecten af:\n• een fietssnelweg")
    assert doc.paragraphs[0].locator == "1. Grensprojecten, alinea 1"
    assert doc.paragraphs[1].kind == "table" and doc.paragraphs[1].caption == TABLE_CAPTION


def test_line_end_hyphen_rule_is_the_same_for_every_format():
    # soft hyphens always join; real compounds, names and ellipses keep their hyphen
    assert join_lines(["de grensbe\u00ad", "lemmeringen weg"]) == "de grensbelemmeringen weg"
    assert join_line_end_hyphen("minister-", "presidenten") == "minister-presidenten"
    assert join_line_end_hyphen("Hamont-", "Weert") == "Hamont-Weert"
    assert join_line_end_hyphen("industrie-", "en grondstoffenbeleid") == "industrie- en grondstoffenbeleid"
    assert join_line_end_hyphen("partij-", "en die") == "partijen die"
    # the hyphen falls inside "stikstof": a hyphenation point, not a compound hyphen
    assert join_line_end_hyphen("stik-", "stofreductie") == "stikstofreductie"
    # the document's own forms decide; in typeset (hyphenated) text two words joined at a line end join
    typeset = ["de po-", "litieke agenda, de stra-", "tegische autonomie, de presi-", "denten en de bilatera-",
               "le relatie"]
    with hyphen_evidence([*typeset, "de grensbelemmeringen", "het klimaat-", "regelgeving"]):
        assert join_line_end_hyphen("grens-", "belemmeringen") == "grensbelemmeringen"
        assert join_line_end_hyphen("klimaat-", "regelgeving") == "klimaatregelgeving"
        assert join_line_end_hyphen("zee-", "egel") == "zee-egel"
    with hyphen_evidence(["het minister-", "presidentschap"]):  # not hyphenated: real compounds stay
        assert join_line_end_hyphen("klimaat-", "regelgeving") == "klimaat-regelgeving"


def test_table_block_is_never_a_heading_or_list():
    from rag.corpus import structure

    _, paras = structure("t", "T", ["1. Kop", TableBlock("1. Eerste | twee", "Tabel 2. X"), "Een zin hier."])
    assert [(p.kind, p.text) for p in paras] == [("table", "1. Eerste | twee"), ("text", "Een zin hier.")]


def _encrypted_copy(src: Path, dst: Path) -> Path:
    """fc01: the same PDF encrypted with AES-128 and an empty user password (pypdf + cryptography)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(str(src)))
    writer.encrypt(user_password="", owner_password="eigenaar", algorithm="AES-128")
    with dst.open("wb") as fh:
        writer.write(fh)
    assert PdfReader(str(dst)).is_encrypted
    return dst


def _half_scanned_pdf(path: Path) -> Path:
    """Two pages: one with text, one that only paints (a scanned page without text layer)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    c.setFont("Helvetica", 11)
    c.drawString(72, 760, "Verslag van het grensoverleg over de Schelde en de havens van Terneuzen.")
    c.drawString(72, 744, "De werkgroep komt in het voorjaar opnieuw samen om de afspraken te bespreken.")
    c.showPage()
    c.setFillGray(0.8)
    c.rect(72, 72, 450, 650, fill=1)
    c.showPage()
    c.save()
    return path


@pytest.mark.slow
def test_fc01_encrypted_pdf_is_read_and_tables_answer_in_a_real_index(tmp_path, made):
    """fc01 (shared case) and issue 15: an AES-128 PDF with an empty user password is read; its
    table answers a question about a value in it; every other document still answers; the
    index report names what it found in each new file, and a page without text layer; exit 0."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    index = tmp_path / "index"
    seed_cache(index)
    first = run_module("rag.index", "--corpus", corpus, "--index", index, "--quiet")
    assert first.returncode == 0, first.stderr.decode()
    _encrypted_copy(made / "grensprojecten-tabel.pdf", corpus / "grensprojecten-versleuteld.pdf")
    shutil.copy(made / "grensprojecten-tabel-word.docx", corpus / "grensprojecten-tabel-word.docx")
    _half_scanned_pdf(corpus / "verslag-half-gescand.pdf")

    built = run_module("rag.index", "--corpus", corpus, "--index", index, "--quiet")
    out = built.stdout.decode()
    assert built.returncode == 0, built.stderr.decode()
    assert "nieuw: grensprojecten-versleuteld.pdf: 1 secties, 3 alinea's, 1 tabellen, 1 pagina's" in out
    assert "nieuw: grensprojecten-tabel-word.docx: 1 secties, 3 alinea's, 1 tabellen" in out
    assert "verslag-half-gescand.pdf: " in out and "pagina zonder tekstlaag (gescand?): 2" in out
    assert "overgeslagen" not in out

    batch = tmp_path / "vragen.jsonl"
    batch.write_text("\n".join(json.dumps({"id": i, "question": q}) for i, q in
                               (("tabel", Q_TABLE), ("seed", Q_INWONERS))), encoding="utf-8")
    asked = run_module("rag.ask", "--corpus", corpus, "--index", index, "--no-build", "--batch", batch, "--json")
    assert asked.returncode == 0, asked.stderr.decode()
    answers = {a["id"]: a for a in map(json.loads, asked.stdout.decode().splitlines())}
    table = answers["tabel"]
    assert not table["abstained"] and "4,2 miljoen euro" in table["answer"]
    assert table["citations"][0]["doc_id"] in ("grensprojecten-versleuteld", "grensprojecten-tabel-word")
    assert "Fietssnelweg Hamont-Weert | Provincie Limburg | 4,2 miljoen euro | 2024" in table["citations"][0]["text"]
    assert {r["doc_id"] for r in table["retrieved"][:3]} >= {"grensprojecten-versleuteld",
                                                             "grensprojecten-tabel-word"}
    seed = answers["seed"]
    assert not seed["abstained"] and "22.000" in seed["answer"]
    assert seed["citations"][0]["doc_id"] == SEED_ID


def test_fc01_encrypted_pdf_loads_next_to_the_corpus_in_process(tmp_path, made):
    """fc01 without subprocesses: load_corpus reads the encrypted PDF and skips nothing."""
    shutil.copy(CORPUS / f"{SEED_ID}.txt", tmp_path / "seed.txt")
    _encrypted_copy(made / "declaration.pdf", tmp_path / "versleuteld.pdf")
    load = load_corpus(tmp_path)
    assert load.skipped == ()
    enc = next(d for d in load.documents if d.id == "versleuteld")
    seed = next(d for d in load.documents if d.id == "seed")
    assert [p.text for p in enc.paragraphs] == [p.text for p in seed.paragraphs]



def test_markdown_headings_are_sections_without_their_marks(tmp_path: Path) -> None:
    """Found by a robustness trial: "## Beheer" became the locator "## Beheer, alinea 1", and a
    heading right under the title ended up on the title page. A Markdown heading is a section."""
    (tmp_path / "grens.md").write_text(
        "# Grensoverleg Zeeland\n\n## Beheer\nDe commissie beheert het grensoverleg sinds 2020. Zij vergadert "
        "twee keer per jaar.\n\n### Deelnemers ###\n\nAan het overleg nemen de gouverneur en de commissaris deel.\n",
        encoding="utf-8")
    doc = load_document(tmp_path / "grens.md", tmp_path)
    assert doc.title == "Grensoverleg Zeeland"
    assert [(p.locator, p.text[:25]) for p in doc.paragraphs] == [
        ("Beheer, alinea 1", "De commissie beheert het "), ("Deelnemers, alinea 1", "Aan het overleg nemen de ")]
    assert not any("#" in p.text or "#" in p.locator for p in doc.paragraphs)
