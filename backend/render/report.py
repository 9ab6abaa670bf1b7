"""The report of an analysis as PDF (fpdf2) or DOCX (python-docx): one builder (``report_model``, laid out by
``report_blocks``), two writers that render the same blocks, so both formats hold the same figures.

``write_report(result, source, target, graph_png, fmt, thumbnails)``; the key frames are the thumbnails the face pass
kept (none for audio, or when none are given); the source file is not read again.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

from backend.render.report_blocks import (
    Block,
    Bullets,
    ColouredLines,
    Heading,
    Paragraph,
    Picture,
    Table,
    ThumbGrid,
    layout,
)
from backend.render.report_model import ReportContent, build_report
from backend.render.thumbnails import FaceThumbnails
from backend.results import Result

FORMATS = ("pdf", "docx")
_FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"  # DejaVu: Unicode text (°, ≠, names) in the PDF
_INK = (33, 33, 33)
_MUTED = (110, 110, 110)
_RULE = (200, 200, 200)
_HEAD_FILL = (236, 236, 236)


def write_report(result: Result, source: Path | None, target: Path, graph_png: Path | None = None, fmt: str = "pdf",
                 thumbnails: FaceThumbnails | None = None) -> Path:  # fmt: skip
    """Write the report of ``result`` to ``target`` as ``fmt`` (pdf | docx); returns ``target``."""
    if fmt not in FORMATS:
        raise ValueError(f"report format must be one of {', '.join(FORMATS)}, got '{fmt}'")
    content = build_report(result, Path(source) if source is not None else None, graph_png, thumbnails)
    writer = _write_pdf if fmt == "pdf" else _write_docx
    writer(content, layout(content), Path(target))
    return Path(target)


# ---------------------------------------------------------------------------------------------------------------
# PDF


def _new_pdf(title: str):
    from fpdf import FPDF

    class _Pdf(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("DejaVu", size=7)
            self.set_text_color(*_MUTED)
            self.cell(0, 6, f"{title}  ·  page {self.page_no()}/{{nb}}", align="C")

    pdf = _Pdf(format="A4", unit="mm")
    pdf.add_font("DejaVu", "", str(_FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(_FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=16)
    return pdf


def _write_pdf(content: ReportContent, blocks: list[Block], target: Path) -> None:
    from fpdf.enums import XPos, YPos

    pdf, trial = _new_pdf(content.title), _new_pdf(content.title)
    pdf.set_title(content.title)
    pdf.set_creator("EmoClassify")
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 16)
    pdf.set_text_color(*_INK)
    pdf.multi_cell(0, 8, content.title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_draw_color(*_RULE)

    for i, block in enumerate(blocks):
        if isinstance(block, Heading):
            _keep_with_next(pdf, trial, blocks[i:])
        _pdf_block(pdf, block)
    pdf.output(str(target))


def _pdf_block(pdf, block: Block) -> None:
    """One block at the current position (of the report, or of the trial document of :func:`_keep_with_next`)."""
    from fpdf.enums import XPos, YPos

    if isinstance(block, Heading):
        pdf.ln(3 if block.level > 1 else 5)
        pdf.set_font("DejaVu", "B", 13 if block.level == 1 else 11)
        pdf.set_text_color(*_INK)
        pdf.multi_cell(0, 7, block.text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)
    elif isinstance(block, Paragraph):
        pdf.set_font("DejaVu", "", 8 if block.small else 10)
        pdf.set_text_color(*(_MUTED if block.small else _INK))
        pdf.multi_cell(0, 4.5 if block.small else 5.5, block.text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    elif isinstance(block, Bullets):
        pdf.set_font("DejaVu", "", 9.5)
        pdf.set_text_color(*_INK)
        for item in block.items:
            pdf.set_x(pdf.l_margin)
            pdf.cell(5, 5.2, "•")
            pdf.multi_cell(0, 5.2, item, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.ln(0.8)
    elif isinstance(block, Table):
        _pdf_table(pdf, block)
    elif isinstance(block, Picture):
        width = pdf.epw * block.width_fraction
        with _image_size(block.png) as (w_px, h_px):
            height = width * h_px / w_px
        if pdf.get_y() + height > pdf.h - 20:
            pdf.add_page()
        pdf.image(io.BytesIO(block.png), x=pdf.l_margin, w=width)
        pdf.set_font("DejaVu", "", 8)
        pdf.set_text_color(*_MUTED)
        pdf.multi_cell(0, 4.5, block.caption, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    elif isinstance(block, ThumbGrid):
        _pdf_thumbs(pdf, block)
    elif isinstance(block, ColouredLines):
        _pdf_lines(pdf, block)


def _opening(blocks: list[Block]) -> list[Block]:
    """A heading and what must stand on its page with it: the headings and small notes right after it, and the start
    of what they introduce (a table's header and first two rows, a list's first item, a row of thumbnails, two lines
    of text; a picture or a paragraph whole, as neither is split)."""
    opening: list[Block] = []
    for block in blocks:
        if isinstance(block, Heading) or (isinstance(block, Paragraph) and block.small):
            opening.append(block)
            continue
        if isinstance(block, Table):
            block = Table(block.header, block.rows[:2], block.widths)
        elif isinstance(block, Bullets):
            block = Bullets(block.items[:1])
        elif isinstance(block, ThumbGrid):
            block = ThumbGrid(block.thumbs[:1])
        elif isinstance(block, ColouredLines):
            block = ColouredLines(block.lines[:2])
        return opening + [block]
    return opening


def _keep_with_next(pdf, trial, blocks: list[Block]) -> None:
    """No page ends with a heading: the heading's opening (:func:`_opening`) is first drawn at the same height of a
    page of ``trial``, a document never written, and where it runs onto another page the heading starts a new one.
    (fpdf2's own ``offset_rendering`` does the same by deep copies of the document: 0.4 s each, fonts included.)"""
    if pdf.get_y() <= pdf.t_margin + 1:  # already at the top of a page: a new one would not help
        return
    trial.add_page()
    trial.set_y(pdf.get_y())
    page = trial.page
    for block in _opening(blocks):
        _pdf_block(trial, block)
    if trial.page > page:
        pdf.add_page()


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]


def _pdf_lines(pdf, block: ColouredLines) -> None:
    for line in block.lines:
        pdf.set_x(pdf.l_margin)
        for run in line:
            pdf.set_font("DejaVu", "", 8 if run.muted else 9.5)
            pdf.set_text_color(*(_MUTED if run.muted else _rgb(run.colour) if run.colour else _INK))
            pdf.write(5.2, run.text)
        pdf.ln(6)
    pdf.set_text_color(*_INK)


def _pdf_table(pdf, table: Table) -> None:
    widths = table.widths or [1.0] * len(table.header)
    headings = any(table.header)
    rows = ([table.header] if headings else []) + table.rows
    pdf.set_text_color(*_INK)
    pdf.set_font("DejaVu", "", 8.5)
    with pdf.table(col_widths=tuple(widths), text_align="LEFT", first_row_as_headings=headings, line_height=5,
                   headings_style=_heading_style(), borders_layout="HORIZONTAL_LINES",
                   padding=1.2) as pdf_table:  # fmt: skip
        for row in rows:
            cells = pdf_table.row()
            for value in row:
                cells.cell(str(value))
    pdf.ln(2)


def _heading_style():
    from fpdf.fonts import FontFace

    return FontFace(family="DejaVu", emphasis="BOLD", fill_color=_HEAD_FILL)


def _pdf_thumbs(pdf, grid: ThumbGrid) -> None:
    height, gap, caption_h = 28.0, 4.0, 8.0  # mm
    x, y = pdf.l_margin, pdf.get_y() + 1
    for thumb in grid.thumbs:
        with _image_size(thumb.png) as (w_px, h_px):
            width = max(height * w_px / h_px, 30.0)  # cells at least 30 mm wide so captions fit
            image_w = height * w_px / h_px
        if x + width > pdf.l_margin + pdf.epw:
            x, y = pdf.l_margin, y + height + caption_h + gap
        if y + height + caption_h > pdf.h - 18:
            pdf.add_page()
            x, y = pdf.l_margin, pdf.get_y()
        pdf.image(io.BytesIO(thumb.png), x=x + (width - image_w) / 2, y=y, h=height)
        pdf.set_xy(x, y + height + 0.5)
        pdf.set_font("DejaVu", "", 7)
        pdf.set_text_color(*_INK)
        pdf.multi_cell(width, 3.4, thumb.caption, align="C")
        x += width + gap
    pdf.set_xy(pdf.l_margin, y + height + caption_h + gap)


class _image_size:  # noqa: N801 - used as a context manager that yields (width, height)
    def __init__(self, png: bytes):
        from PIL import Image

        self._image = Image.open(io.BytesIO(png))

    def __enter__(self) -> tuple[int, int]:
        return self._image.size

    def __exit__(self, *exc) -> None:
        self._image.close()


# ---------------------------------------------------------------------------------------------------------------
# DOCX


def _write_docx(content: ReportContent, blocks: list[Block], target: Path) -> None:
    from docx import Document
    from docx.shared import Inches, Pt, RGBColor

    doc = Document()
    doc.core_properties.title = content.title
    doc.core_properties.author = "EmoClassify"
    style = doc.styles["Normal"]
    style.font.name = "Calibri"
    style.font.size = Pt(10)
    doc.add_heading(content.title, level=0)
    text_width = doc.sections[0].page_width - doc.sections[0].left_margin - doc.sections[0].right_margin

    for block in blocks:
        if isinstance(block, Heading):
            doc.add_heading(block.text, level=block.level)
        elif isinstance(block, Paragraph):
            run = doc.add_paragraph().add_run(block.text)
            if block.small:
                run.font.size = Pt(8)
                run.font.color.rgb = RGBColor(*_MUTED)
        elif isinstance(block, Bullets):
            for item in block.items:
                doc.add_paragraph(item, style="List Bullet")
        elif isinstance(block, Table):
            headings = any(block.header)
            rows = ([block.header] if headings else []) + block.rows
            table = doc.add_table(rows=len(rows), cols=len(block.header))
            table.style = "Light Grid Accent 1" if headings else "Table Grid"
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    cell = table.cell(r, c)
                    cell.text = str(value)
                    for paragraph in cell.paragraphs:
                        for run in paragraph.runs:
                            run.font.size = Pt(8.5)
            doc.add_paragraph()
        elif isinstance(block, Picture):
            doc.add_picture(io.BytesIO(block.png), width=int(text_width * block.width_fraction))
            run = doc.add_paragraph().add_run(block.caption)
            run.font.size = Pt(8)
        elif isinstance(block, ThumbGrid):
            columns = 5
            table = doc.add_table(rows=(len(block.thumbs) + columns - 1) // columns, cols=columns)
            for i, thumb in enumerate(block.thumbs):
                cell = table.cell(i // columns, i % columns)
                run = cell.paragraphs[0].add_run()
                run.add_picture(io.BytesIO(thumb.png), height=Inches(1.0))
                caption = cell.add_paragraph().add_run(thumb.caption)
                caption.font.size = Pt(7)
            doc.add_paragraph()
        elif isinstance(block, ColouredLines):
            for line in block.lines:
                paragraph = doc.add_paragraph()
                for item in line:
                    run = paragraph.add_run(item.text)
                    run.font.size = Pt(8 if item.muted else 10)
                    colour = _MUTED if item.muted else _rgb(item.colour) if item.colour else None
                    if colour is not None:
                        run.font.color.rgb = RGBColor(*colour)
    doc.save(str(target))
