"""Adding a document to a running chat: check, parse, store in the corpus, index incrementally, swap.

Used by the web chat's upload button (``python app.py --upload``, only on 127.0.0.1 or with login).
:func:`ingest` yields :class:`IngestStep` messages (Dutch) for the interface to show:

1. **check** (:func:`check_upload`): the suffix is one of :data:`UPLOAD_SUFFIXES`, the size is at most
   ``settings.max_file_mb``, and the bytes are what the suffix says (``%PDF-`` for a PDF, a Word
   document inside a ZIP for DOCX, text without NUL bytes for HTML/MD/TXT); the name becomes a safe
   slug and must not collide with a corpus file or document id;
2. **parse** in a private staging folder with the reader the corpus uses (:func:`rag.corpus.load_document`):
   the sections and paragraphs found are shown; a file without paragraphs is refused;
3. **store**: the file is linked into ``<corpus>/uploads/`` under its checked name (never
   overwriting: ``os.link`` fails on an existing name);
4. **index**: :class:`rag.index.IndexBuilder` builds incrementally (only the new passages are
   embedded; the ``current`` symlink is swapped atomically) while :meth:`Pipeline.holding_index`
   keeps questions on the previous index; then the pipeline switches to the new build.

Any failure before the swap removes the stored file again and leaves corpus and index as they were.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rag.corpus import Document, doc_id_for, list_corpus_files, load_document
from rag.errors import RagError
from rag.pipeline import Pipeline
from rag.text import fold

UPLOAD_SUFFIXES = (".pdf", ".docx", ".html", ".htm", ".md", ".txt")
UPLOAD_FOLDER = "uploads"
#: sections listed in the upload report (the rest as "…")
SHOWN_SECTIONS = 40


class UploadError(ValueError):
    """The uploaded file is refused; the message is Dutch and says why. Nothing was changed."""


@dataclass(frozen=True)
class IngestStep:
    """One step of :func:`ingest`: ``stage`` (``checked``, ``parsed``, ``stored``, ``indexed``,
    ``error``), a Dutch ``message``, and once parsed the :class:`~rag.corpus.Document`."""

    stage: str
    message: str
    document: Document | None = None


def safe_name(original: str) -> str:
    """A file name that is safe in the corpus: the base name folded to ``a-z0-9-`` (at most 80
    characters) plus the lower-cased suffix. Raises UploadError for a name without letters/digits."""
    base = Path(original.replace("\\", "/")).name
    suffix = Path(base).suffix.lower()
    stem = re.sub(r"[^a-z0-9]+", "-", fold(Path(base).stem)).strip("-")[:80].strip("-")
    if not stem:
        raise UploadError("De bestandsnaam bevat geen letters of cijfers; geef het bestand een naam.")
    return stem + suffix


def check_upload(data: bytes, original: str, max_bytes: int) -> str:
    """Check type and size of an upload; return its safe name. Raises UploadError (Dutch)."""
    suffix = Path(original).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        allowed = ", ".join(s.lstrip(".").upper() for s in UPLOAD_SUFFIXES if s != ".htm")
        raise UploadError(f"Bestandstype {suffix or '(geen extensie)'} wordt niet aangenomen; "
                          f"toegestaan zijn {allowed}.")
    if not data:
        raise UploadError("Het bestand is leeg.")
    if len(data) > max_bytes:
        raise UploadError(f"Het bestand is te groot ({len(data) / 1024 / 1024:.1f} MB; de grens is "
                          f"{max_bytes / 1024 / 1024:.0f} MB, instelbaar met RAG_MAX_FILE_MB).".replace(".", ",", 1))
    if suffix == ".pdf" and not data.lstrip()[:5] == b"%PDF-":
        raise UploadError("Dit is geen PDF-bestand (de inhoud begint niet met %PDF-).")
    if suffix == ".docx":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                if "word/document.xml" not in z.namelist():
                    raise UploadError("Dit is geen Word-document (DOCX): word/document.xml ontbreekt.")
        except zipfile.BadZipFile:
            raise UploadError("Dit is geen Word-document (DOCX): het bestand is geen geldig ZIP-archief.") from None
    if suffix in (".html", ".htm", ".md", ".txt") and b"\x00" in data[:65536]:
        raise UploadError("Dit is geen tekstbestand: het bevat binaire gegevens.")
    return safe_name(original)


def parse_staged(data: bytes, name: str, max_bytes: int) -> Document:
    """Parse the upload in a private temporary corpus (same relative path as it will have), so the
    document id equals the stored one. Raises UploadError (Dutch) for a file that cannot be read or
    holds no paragraph."""
    with tempfile.TemporaryDirectory(prefix="rag-upload-") as tmp:
        staged = Path(tmp) / UPLOAD_FOLDER / name
        staged.parent.mkdir()
        staged.write_bytes(data)
        try:
            return load_document(staged, Path(tmp), max_bytes)
        except RagError as exc:
            reason = getattr(exc, "reason", str(exc))
            raise UploadError(f"Het bestand kon niet worden gelezen: {reason}.") from exc


def document_summary(doc: Document) -> str:
    """Dutch Markdown-free summary: title, date, then each section with its paragraph count."""
    counts: dict[str, int] = {}
    for p in doc.paragraphs:
        counts[p.section_label] = counts.get(p.section_label, 0) + 1
    head = (f"Gelezen: \u201e{doc.title}\u201d" + (f" ({doc.date})" if doc.date else "")
            + f" \u2014 {len(counts)} {'sectie' if len(counts) == 1 else 'secties'}, {len(doc.paragraphs)} "
            f"{'alinea' if len(doc.paragraphs) == 1 else 'alinea' + chr(39) + 's'}.")
    lines = [f"\u2022 {label}: {n} {'alinea' if n == 1 else 'alinea' + chr(39) + 's'}" for label, n in counts.items()]
    return "\n".join([head, *lines[:SHOWN_SECTIONS], *(["\u2022 \u2026"] if len(lines) > SHOWN_SECTIONS else [])])


def ingest(pipeline: Pipeline, upload: Path, original: str) -> Iterator[IngestStep]:
    """Add the uploaded file ``upload`` (named ``original`` by the user) to the pipeline's corpus and
    index; yields the steps (see the module docstring). A refused or failed upload ends with a step
    ``error`` and changes neither corpus nor index; it never raises for a bad file."""
    s = pipeline.settings
    try:
        data = upload.read_bytes()
    except OSError:
        yield IngestStep("error", "Het bestand kon niet worden ontvangen; probeer het opnieuw.")
        return
    try:
        name = check_upload(data, original, s.max_file_bytes)
        target = s.corpus_dir / UPLOAD_FOLDER / name
        existing = {doc_id_for(p, s.corpus_dir) for p in list_corpus_files(s.corpus_dir)}
        if target.exists() or doc_id_for(target, s.corpus_dir) in existing:
            raise UploadError(f"Er staat al een document {UPLOAD_FOLDER}/{name} in het corpus; "
                              "geef het bestand een andere naam.")
        yield IngestStep("checked", f"Bestand {name} aangenomen ({len(data) / 1024:.0f} kB); wordt gelezen\u2026")
        doc = parse_staged(data, name, s.max_file_bytes)
    except (UploadError, RagError) as exc:
        yield IngestStep("error", str(exc))
        return
    yield IngestStep("parsed", document_summary(doc), doc)
    from rag.index import IndexBuilder

    with pipeline.holding_index():
        try:
            _store(data, target)
        except OSError as exc:
            yield IngestStep("error", f"Het bestand kon niet in het corpus worden opgeslagen ({exc.strerror or exc}).")
            return
        yield IngestStep("stored", f"Opgeslagen als {UPLOAD_FOLDER}/{name}; de index wordt bijgewerkt (alleen de "
                                   "nieuwe alinea's); vragen worden intussen met de vorige index beantwoord\u2026", doc)
        try:
            report = IndexBuilder(s, pipeline.embedder).build(progress=False)
        except Exception as exc:  # the build failed: take the file out again, the old index stays current
            target.unlink(missing_ok=True)
            yield IngestStep("error", f"Het indexeren mislukte; het bestand is weer verwijderd en er is niets "
                                      f"veranderd ({exc.__class__.__name__}: {exc}).")
            return
    pipeline.maybe_refresh()
    passages = sum(1 for p in pipeline.load().passages if p.doc_id == doc.id)
    build = pipeline.load().directory.name
    yield IngestStep("indexed", f"Klaar: \u201e{doc.title}\u201d staat in de index ({passages} "
                                f"{'passage' if passages == 1 else 'passages'}; index {build}, gebouwd in "
                                f"{report.seconds:.0f} s). Je kunt er nu vragen over stellen.", doc)


def _store(data: bytes, target: Path) -> None:
    """Write ``data`` to ``target`` without ever overwriting: a hidden temporary file in the same
    folder (ignored by the corpus reader), fsynced, then ``os.link`` (fails if ``target`` exists)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.link(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
