"""Documents as a newsroom receives them, made here from the corpus's own text version.

* :func:`declaration_pdf`: the 2023 declaration typeset with reportlab, justified and hyphenated
  with pyphen's Dutch dictionary, with a running header and page numbers; ``columns=2`` gives the
  two-column variant.
* :func:`declaration_docx`: the same text as a Word file (python-docx) with heading styles.
* :func:`table_pdf` / :func:`table_docx`: a short document with a ruled table and its caption.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from rag.corpus import _heading_kind, _is_candidate, _parse_header, read_file, text_blocks

ROOT = Path(__file__).resolve().parent.parent
SEED_TXT = ROOT / "corpus" / "2023-slotverklaring-nederlands-vlaamse-top-den-bosch.txt"
RUNNING_HEADER = "Slotverklaring Nederlands-Vlaamse Top – ’s-Hertogenbosch, 31 januari 2023"


@dataclass(frozen=True)
class Piece:
    """One block of the text version with the role it is typeset in."""

    kind: str  # "title", "heading", "subheading", "subtitle", "paragraph"
    text: str


def declaration_pieces() -> tuple[str, list[Piece]]:
    """Title and blocks of the text version, each with its typographic role."""
    raw = read_file(SEED_TXT, SEED_TXT.name)
    header, _ = _parse_header(SEED_TXT.read_text(encoding="utf-8"))
    blocks = text_blocks(raw.body)
    pieces = []
    for k, b in enumerate(blocks):
        kind = _heading_kind(b)
        if k < 4:
            pieces.append(Piece("title", b))
        elif kind == "numbered":
            pieces.append(Piece("heading", b))
        elif kind == "lettered":
            pieces.append(Piece("subheading", b))
        elif _is_candidate(b):
            pieces.append(Piece("subtitle", b))
        else:
            pieces.append(Piece("paragraph", b))
    return header["title"], pieces


def _styles(columns: int) -> dict[str, object]:
    from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY
    from reportlab.lib.styles import ParagraphStyle

    size = 10 if columns == 2 else 11
    body = ParagraphStyle("body", fontName="Helvetica", fontSize=size, leading=size * 1.35, alignment=TA_JUSTIFY,
                          spaceAfter=size * 0.8, hyphenationLang="nl_NL", embeddedHyphenation=1,
                          uriWasteReduce=0.3)
    return {
        "paragraph": body,
        "title": ParagraphStyle("title", fontName="Helvetica-Bold", fontSize=18, leading=24, alignment=TA_CENTER,
                                spaceAfter=10),
        "heading": ParagraphStyle("heading", fontName="Helvetica-Bold", fontSize=14, leading=18, spaceBefore=10,
                                  spaceAfter=6),
        "subheading": ParagraphStyle("subheading", fontName="Helvetica-Bold", fontSize=size + 1,
                                     leading=(size + 1) * 1.3, spaceBefore=6, spaceAfter=4),
        "subtitle": ParagraphStyle("subtitle", fontName="Helvetica-Oblique", fontSize=size, leading=size * 1.35,
                                   spaceAfter=6),
    }


def _fonts() -> None:
    """Register DejaVu Sans when the system has it (for ’ and ë); Helvetica covers Latin-1 + ’ too."""


def _page_decor(title: str):  # type: ignore[no-untyped-def]
    def draw(canvas, doc):  # type: ignore[no-untyped-def]
        from reportlab.lib.pagesizes import A4

        w, h = A4
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.drawCentredString(w / 2, h - 36, RUNNING_HEADER)
        canvas.drawCentredString(w / 2, 30, f"Pagina {doc.page}")
        canvas.restoreState()

    return draw


def declaration_pdf(path: Path, columns: int = 1) -> Path:
    """The declaration typeset as a PDF (justified, hyphenated nl, header and page numbers)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Paragraph

    title, pieces = declaration_pieces()
    styles = _styles(columns)
    w, h = A4
    margin = 64
    if columns == 1:
        frames = [Frame(margin, margin, w - 2 * margin, h - 2 * margin, id="body")]
    else:
        gap = 20
        cw = (w - 2 * margin - gap) / 2
        frames = [Frame(margin, margin, cw, h - 2 * margin, id="left"),
                  Frame(margin + cw + gap, margin, cw, h - 2 * margin, id="right")]
    doc = BaseDocTemplate(str(path), pagesize=A4, title=title, author="Test", subject="typeset test")
    doc.addPageTemplates([PageTemplate(id="page", frames=frames, onPage=_page_decor(title))])
    story = [Paragraph(escape(p.text), styles[p.kind]) for p in pieces]  # type: ignore[arg-type]
    doc.build(story)
    return path


def declaration_docx(path: Path) -> Path:
    """The declaration as a Word file: Title style for the title page, Heading 1/2 for sections."""
    import docx

    title, pieces = declaration_pieces()
    d = docx.Document()
    d.core_properties.title = title
    for p in pieces:
        if p.kind == "title":
            d.add_paragraph(p.text, style="Title")
        elif p.kind == "heading":
            d.add_heading(p.text, level=1)
        elif p.kind == "subheading":
            d.add_heading(p.text, level=2)
        elif p.kind == "subtitle":
            d.add_paragraph(p.text, style="Subtitle")
        else:
            d.add_paragraph(p.text)
    d.save(str(path))
    return path


TABLE_TITLE = "Kosten van de Vlaams-Nederlandse grensprojecten"
TABLE_CAPTION = "Tabel 1. Begroting van de grensprojecten per partner"
TABLE_ROWS = [
    ["Project", "Partner", "Bedrag", "Jaar"],
    ["Fietssnelweg Hamont-Weert", "Provincie Limburg", "4,2 miljoen euro", "2024"],
    ["Sluis Terneuzen onderhoud", "Rijkswaterstaat", "12,7 miljoen euro", "2025"],
    ["Einstein Telescope verkenning", "Vlaamse overheid", "8,9 miljoen euro", "2026"],
]
TABLE_INTRO = ("De Nederlandse en Vlaamse regering maken jaarlijks een overzicht van de kosten van hun "
               "gezamenlijke grensprojecten. Het overzicht hieronder geeft per project de verantwoordelijke "
               "partner, het begrote bedrag en het jaar van uitvoering.")
TABLE_OUTRO = ("De bedragen zijn indicatief en worden jaarlijks herzien in het bestuurlijk overleg van de "
               "grensregio's, waarbij ook de Europese bijdragen worden meegeteld.")


def table_pdf(path: Path) -> Path:
    """A one-page PDF: a heading, an introduction, a captioned ruled table, a closing paragraph."""
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = _styles(1)
    doc = SimpleDocTemplate(str(path), pagesize=A4, title=TABLE_TITLE)
    grid = Table(TABLE_ROWS)
    grid.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, (0, 0, 0)),
                              ("FONTNAME", (0, 0), (-1, -1), "Helvetica"), ("FONTSIZE", (0, 0), (-1, -1), 10)]))
    doc.build([Paragraph(escape(TABLE_TITLE), styles["title"]),  # type: ignore[arg-type]
               Paragraph("1. Grensprojecten", styles["heading"]),  # type: ignore[arg-type]
               Paragraph(escape(TABLE_INTRO), styles["paragraph"]),  # type: ignore[arg-type]
               Paragraph(escape(TABLE_CAPTION), styles["subtitle"]),  # type: ignore[arg-type]
               grid, Spacer(1, 12),
               Paragraph(escape(TABLE_OUTRO), styles["paragraph"])])  # type: ignore[arg-type]
    return path


def table_docx(path: Path) -> Path:
    """The same document as :func:`table_pdf`, as a Word file with a real table and a Caption paragraph."""
    import docx

    d = docx.Document()
    d.core_properties.title = TABLE_TITLE
    d.add_paragraph(TABLE_TITLE, style="Title")
    d.add_heading("1. Grensprojecten", level=1)
    d.add_paragraph(TABLE_INTRO)
    d.add_paragraph(TABLE_CAPTION, style="Caption")
    t = d.add_table(rows=len(TABLE_ROWS), cols=len(TABLE_ROWS[0]))
    for r, row in enumerate(TABLE_ROWS):
        for c, cell in enumerate(row):
            t.cell(r, c).text = cell
    d.add_paragraph(TABLE_OUTRO)
    d.save(str(path))
    return path
