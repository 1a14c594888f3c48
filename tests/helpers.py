"""Small helpers shared by several test files: hand-written PDFs, subprocess environment, questions."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

from rag.bench import stop_process

ROOT = Path(__file__).resolve().parent.parent
Q_INWONERS = "Hoeveel inwoners telt een gemiddelde gemeente in Vlaanderen?"
Q_EINSTEIN = "Wat zeggen Nederland en Vlaanderen over de Einstein Telescoop?"
Q_KANDIDATUUR = "Wanneer wordt de kandidatuur voorbereid?"
Q_STOOFVLEES = "Wat is het recept voor stoofvlees?"
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
MD_LINK = "[klik](javascript:alert(1))"
#: a corpus document full of markup that must stay text (script, img onerror, javascript: links)
HOSTILE_DOC = f"""Bron: javascript:alert(1)
Titel: Testdocument {IMG} kokkelvisserij
Datum: 2024-05-01

Kokkelvisserij in de Westerschelde {SCRIPT}

De kokkelvisserij in de Westerschelde levert jaarlijks 4.321 ton kokkels op {SCRIPT} volgens het gezamenlijke \
kokkelrapport. Meer informatie: {MD_LINK} en {IMG} bij de visserijdienst.
"""


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def visible_text(fragment: str) -> str:
    """Text a browser would show for an HTML fragment (tags dropped, entities decoded)."""
    p = _Text()
    p.feed(fragment)
    p.close()
    return "".join(p.parts)


def write_pdf(path: Path, content: str, resources: str = "<< >>") -> Path:
    """A valid one-page PDF with the given content stream, written by hand (no PDF library)."""
    objs = ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources {resources} >>",
            f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, obj in enumerate(objs, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{obj}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(out)
    return path


def text_pdf(path: Path, lines: list[str]) -> Path:
    """A one-page PDF with a real text layer (Helvetica), one line per item."""
    content = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({ln}) Tj T*" for ln in lines) + " ET"
    return write_pdf(path, content, "<< /Font << /F1 5 0 R >> >>")


def scan_pdf(path: Path) -> Path:
    """A valid one-page PDF whose content stream only paints (no text operators): a 'scanned' page."""
    return write_pdf(path, "0.9 g 72 72 468 648 re f 0 G 2 w 72 720 m 540 72 l S")


def cli_env() -> dict[str, str]:
    """Environment for CLI subprocesses: offline, no RAG_* overrides from the caller, no forced colour."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("RAG_") and k not in ("FORCE_COLOR", "CLICOLOR_FORCE")}
    env.update(PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", COLUMNS="200",
               PYTHONIOENCODING="utf-8")
    return env


def run_module(module: str, *args: str | Path, stdin: bytes | None = None,
               timeout: float = 300) -> subprocess.CompletedProcess[bytes]:
    """Run ``python -m module args`` with stdout a pipe; the timeout only guards against hangs."""
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], input=stdin, capture_output=True,
                          timeout=timeout, env=cli_env(), cwd=ROOT, check=False)


def stop(proc: subprocess.Popen[str]) -> None:
    """Terminate a server subprocess; kill it if it does not exit within 30 s."""
    stop_process(proc, timeout=30)
