"""Adding documents to a running pipeline (rag.upload), on a temporary copy of the real corpus and index."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.upload import UploadError, check_upload, ingest, safe_name
from tests.conftest import CORPUS, seed_cache

Q_SEAWEED = "Hoeveel budget krijgt de proef met zeewierteelt bij Vlissingen?"
TEXT = ("Titel: Proef met zeewierteelt\nDatum: 2026-03-14\n\nProef met zeewierteelt\n\nOp 14 maart 2026 startten "
        "Nederland en Vlaanderen een gezamenlijke proef met zeewierteelt bij Vlissingen. De proef krijgt een "
        "budget van 3,7 miljoen euro voor drie jaar.\n")


def files(corpus: Path) -> list[str]:
    return sorted(p.relative_to(corpus).as_posix() for p in corpus.rglob("*") if p.is_file())


@pytest.mark.parametrize(("name", "data", "message"), [
    ("virus.exe", b"MZ\x90\x00", "Bestandstype .exe wordt niet aangenomen; toegestaan zijn PDF, DOCX, HTML, MD, TXT."),
    ("leeg.txt", b"", "Het bestand is leeg."),
    ("nota.pdf", b"<html>geen pdf</html>", "Dit is geen PDF-bestand (de inhoud begint niet met %PDF-)."),
    ("nota.docx", b"PK\x03\x04 kapot", "Dit is geen Word-document (DOCX): het bestand is geen geldig ZIP-archief."),
    ("nota.txt", b"tekst\x00\x01\x02", "Dit is geen tekstbestand: het bevat binaire gegevens."),
    ("groot.txt", b"a" * 2_000_000,
     "Het bestand is te groot (1,9 MB; de grens is 1 MB, instelbaar met RAG_MAX_FILE_MB)."),
    ("....txt", b"tekst", "De bestandsnaam bevat geen letters of cijfers; geef het bestand een naam."),
])
def test_bad_files_are_refused_in_dutch(name: str, data: bytes, message: str) -> None:
    with pytest.raises(UploadError) as exc:
        check_upload(data, name, 1024 * 1024)
    assert str(exc.value) == message


def test_docx_without_word_part_and_safe_names(tmp_path: Path) -> None:
    z = tmp_path / "a.docx"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("iets.txt", "x")
    with pytest.raises(UploadError, match=r"word/document\.xml ontbreekt"):
        check_upload(z.read_bytes(), "a.docx", 10**6)
    assert safe_name("../../etc/Nota Über Zeewier (2026).TXT") == "nota-uber-zeewier-2026.txt"
    assert safe_name("C:\\Users\\x\\brief.md") == "brief.md"


@pytest.fixture
def live(tmp_path: Path, session_index_dir: Path) -> Pipeline:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    index = tmp_path / "index"
    shutil.copytree(session_index_dir, index, symlinks=True)
    seed_cache(index)
    p = Pipeline(Settings(corpus_dir=corpus, index_dir=index, auto_build=False))
    p.refresh_interval = 0.0  # check for a changed corpus before every question
    p.load()
    return p


def test_questions_meanwhile_use_the_previous_index(live: Pipeline, tmp_path: Path) -> None:
    upload = tmp_path / "zeewier.txt"
    upload.write_text(TEXT, encoding="utf-8")
    old = live.load().directory
    steps = ingest(live, upload, "Proef zeewierteelt.txt")
    assert next(steps).stage == "checked"
    parsed = next(steps)
    assert parsed.stage == "parsed" and parsed.document is not None
    assert parsed.message.startswith("Gelezen: „Proef met zeewierteelt” (2026-03-14) — 1 sectie, 1 alinea.")
    stored = next(steps)
    assert stored.stage == "stored" and (live.settings.corpus_dir / "uploads" / "proef-zeewierteelt.txt").is_file()
    # the file is in the corpus but not yet indexed: a question now is answered from the previous index at
    # once (with auto_build off, a refresh check would even refuse the stale index)
    meanwhile = live.answer(Q_SEAWEED)
    assert "3,7 miljoen" not in meanwhile.text and live.load().directory == old
    rest = list(steps)
    assert [s.stage for s in rest] == ["indexed"], rest
    assert live.load().directory != old
    after = live.answer(Q_SEAWEED)
    assert "3,7 miljoen euro" in after.text and after.citations[0].passage.doc_id == "uploads-proef-zeewierteelt"


def test_bad_or_duplicate_upload_changes_nothing(live: Pipeline, tmp_path: Path) -> None:
    corpus = live.settings.corpus_dir
    before = files(corpus)
    current = (live.settings.index_dir / "current").resolve()
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4\n%%EOF\n")
    steps = list(ingest(live, scan, "scan.pdf"))
    assert steps[-1].stage == "error" and steps[-1].message.startswith("Het bestand kon niet worden gelezen")
    assert files(corpus) == before
    dup = tmp_path / "dup.txt"
    dup.write_text(TEXT, encoding="utf-8")
    (corpus / "uploads").mkdir()
    (corpus / "uploads" / "dubbel.txt").write_text(TEXT, encoding="utf-8")
    before = files(corpus)
    steps = list(ingest(live, dup, "dubbel.txt"))
    assert [s.stage for s in steps] == ["error"]
    assert steps[0].message == ("Er staat al een document uploads/dubbel.txt in het corpus; geef het bestand een "
                                "andere naam.")
    assert files(corpus) == before and (live.settings.index_dir / "current").resolve() == current


def test_upload_flag_needs_localhost_or_login(capsys: pytest.CaptureFixture[str]) -> None:
    from app import main, upload_allowed

    assert upload_allowed("127.0.0.1", None) and upload_allowed("0.0.0.0", ("a", "b"))
    assert not upload_allowed("0.0.0.0", None)
    assert main(["--host", "0.0.0.0", "--upload"]) == 2
    assert "--upload kan alleen als de chat op 127.0.0.1 luistert" in capsys.readouterr().err
