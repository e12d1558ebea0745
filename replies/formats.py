"""A frozen letter's HTML turned into DOCX (what staff edit, print and seal) and PDF.

Both are made from the exact HTML that was issued, so the three formats say the same words.
PDF: WeasyPrint with the system's pango and a CJK font from Debian (fonts-noto-cjk).
"""

from __future__ import annotations

import io
from html.parser import HTMLParser

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}
FORMATS = tuple(MEDIA_TYPES)
BODY_FONT, TITLE_FONT = "仿宋", "宋体"


class _Blocks(HTMLParser):
    """Collects the letter's blocks: (tag, css class, text). Our letters have no inline markup."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, str, str]] = []
        self._open: tuple[str, str] | None = None
        self._text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "title", "script"):
            self._skip += 1
        elif tag in ("p", "h1", "h2", "li"):
            self._open, self._text = (tag, dict(attrs).get("class") or ""), []

    def handle_endtag(self, tag):
        if tag in ("style", "title", "script"):
            self._skip -= 1
        elif self._open and tag == self._open[0]:
            self.blocks.append((*self._open, "".join(self._text).strip()))
            self._open = None

    def handle_data(self, data):
        if self._open and not self._skip:
            self._text.append(data)


def blocks_of(html: str) -> list[tuple[str, str, str]]:
    parser = _Blocks()
    parser.feed(html)
    return parser.blocks


def _font(run, name: str, size: float, bold: bool = False, red: bool = False) -> None:
    run.font.name, run.font.size, run.font.bold = name, Pt(size), bold
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)
    if red:
        run.font.color.rgb = RGBColor(0xCC, 0, 0)


def to_docx(html: str, *, title: str) -> bytes:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    doc.core_properties.title = title
    for tag, css, text in blocks_of(html):
        para = doc.add_paragraph()
        run = para.add_run(text)
        fmt = para.paragraph_format
        fmt.line_spacing = Pt(28)
        if tag == "h1":
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER
            _font(run, TITLE_FONT, 22, bold=True)
        elif css == "letterhead":
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER
            _font(run, TITLE_FONT, 22, bold=True, red=True)
        elif css == "doc-number":
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER
            _font(run, BODY_FONT, 16)
        elif css in ("signature", "date"):
            para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            fmt.right_indent = Pt(32)
            if css == "signature":
                fmt.space_before = Pt(36)
            _font(run, BODY_FONT, 16)
        else:
            if css not in ("salutation", "attachments-title"):
                fmt.first_line_indent = Pt(32)  # 首行缩进两字
            para.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
            _font(run, BODY_FONT, 16)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def to_pdf(html: str) -> bytes:
    from weasyprint import HTML  # imported late: loading pango costs ~0.5 s, only the renderer needs it
    return HTML(string=html).write_pdf()


_SEAL_STYLE = ("display:block;width:4.2cm;height:4.2cm;margin:0 1.2cm -3.6cm auto;"
               "opacity:0.85;position:relative")


def with_seal(html: str, seal_png: bytes) -> str:
    """The electronic seal (电子印章) over the 落款, for a PDF sent electronically; the frozen HTML
    itself is never changed."""
    import base64

    import re

    img = (f'<img class="seal" alt="电子印章" style="{_SEAL_STYLE}" '
           f'src="data:image/png;base64,{base64.b64encode(seal_png).decode()}">')
    # Over the 落款 where the layout marks it; an agency layout that does not still gets the seal,
    # at the end of the letter, so a PDF recorded as sealed always bears it.
    signature = re.search(r'<p\b[^>]*class="[^"]*\bsignature\b', html)
    if signature:
        return html[:signature.start()] + img + "\n" + html[signature.start():]
    end = html.rfind("</article>")
    end = end if end >= 0 else max(html.rfind("</body>"), len(html))
    return html[:end] + img + "\n" + html[end:]


def convert(html: str, fmt: str, *, title: str, seal: bytes | None = None) -> bytes:
    """`seal`: the agency's electronic seal image, stamped on the PDF only (DOCX is printed and
    sealed by hand)."""
    if fmt == "html":
        return html.encode("utf-8")
    if fmt == "docx":
        return to_docx(html, title=title)
    if fmt == "pdf":
        return to_pdf(with_seal(html, seal) if seal else html)
    raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
