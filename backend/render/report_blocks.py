"""The report as plain blocks that both writers (PDF, DOCX) render: the block types, and the layout that orders a
:class:`~backend.render.report_model.ReportContent` into them, so both formats say the same in the same order.

Blocks are deliberately few: headings, paragraphs, bullet lists, tables, one image, a grid of thumbnails and
coloured lines of text.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.emotions import EMOTION_COLOURS, EMOTIONS
from backend.render.report_model import CHECK_HEADER, ECHO_HEADER, FACE_HEADER, PEOPLE_HEADER, ReportContent

# ---------------------------------------------------------------------------------------------------------------
# Blocks


@dataclass
class Heading:
    text: str
    level: int = 1


@dataclass
class Paragraph:
    text: str
    small: bool = False


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    widths: list[float] | None = None  # relative column widths


@dataclass
class Picture:
    png: bytes
    caption: str
    width_fraction: float = 1.0  # of the text width


@dataclass
class Thumb:
    png: bytes
    caption: str


@dataclass
class ThumbGrid:
    thumbs: list[Thumb]


@dataclass
class Run:
    text: str
    colour: str | None = None  # "#RRGGBB"; None: the body ink
    muted: bool = False


@dataclass
class ColouredLines:
    """Lines of text runs, each run in its own colour (the transcript, coloured by emotion)."""

    lines: list[list[Run]]


Block = Heading | Paragraph | Bullets | Table | Picture | ThumbGrid | ColouredLines


# ---------------------------------------------------------------------------------------------------------------
# Layout


def _transcript_blocks(content: ReportContent) -> list[Block]:
    blocks: list[Block] = [Heading("Transcript")]
    if content.transcript_language:
        blocks.append(Paragraph(f"Language: {content.transcript_language}", small=True))
    if not content.transcript:
        return blocks + [Paragraph("No words were recognised.")]
    focus = any(line.voice or line.face or any(e for _, e in line.words) for line in content.transcript)
    if focus:
        blocks.append(Paragraph("Each word in the colour of the voice emotion of the windows overlapping it (ink: no "
                                "speech window); after each phrase, the voice and the dominant face's emotion then.",
                                small=True))  # fmt: skip
        blocks.append(ColouredLines([[Run(f"{name}  ", EMOTION_COLOURS[name]) for name in EMOTIONS]]))
    lines = []
    for line in content.transcript:
        runs = [Run(f"{line.start:.1f}-{line.end:.1f} s  ", muted=True)]
        runs += [Run(word + " ", EMOTION_COLOURS.get(emotion) if emotion else None) for word, emotion in line.words]
        notes = [f"voice {line.voice}" if line.voice else "", f"face {line.face}" if line.face else ""]
        if any(notes):
            runs.append(Run(" (" + ", ".join(n for n in notes if n) + ")", muted=True))
        lines.append(runs)
    blocks.append(ColouredLines(lines))
    if content.more_transcript:
        blocks.append(Paragraph(f"... and {content.more_transcript} more segment(s) (see transcript.csv).", small=True))
    return blocks


def layout(content: ReportContent) -> list[Block]:
    """The report as an ordered list of blocks; the writers only render blocks."""
    blocks: list[Block] = [Paragraph(content.subtitle, small=True), Heading("Input")]
    blocks.append(Table(["", ""], [list(row) for row in content.metadata], widths=[1, 3]))
    if content.warnings:
        blocks.append(Bullets([f"Warning: {w}" for w in content.warnings]))
    blocks.append(Heading("Models"))
    if content.models:
        blocks.append(Table(["role", "model", "version", "measured accuracy"],
                            [[m.role, m.name, m.version, m.accuracy] for m in content.models],
                            widths=[1.1, 1.3, 1.5, 3.0]))  # fmt: skip
    blocks.append(Heading("Summary"))
    if content.people:
        blocks.append(Heading("People", level=2))
        blocks.append(Paragraph("Each face and each voice told apart, a face and a voice together where the lips "
                                "moved with that voice; each person's emotions over their own face and voice "
                                "alone.", small=True))  # fmt: skip
        blocks.append(Table(PEOPLE_HEADER, content.people, widths=[0.7, 0.6, 0.6, 0.9, 0.9, 1.2, 1.2, 1.2]))
    if content.fused_summary is not None:
        blocks.append(Heading("Face and voice fused", level=2))
        blocks.append(Paragraph("Per voice window, the face and the voice combined by a learned, calibrated rule; "
                                "each counts as far as it is sure there (its share of the evidence is the weight "
                                "below).", small=True))  # fmt: skip
        blocks.append(Table(["", ""], [list(row) for row in content.fused_summary], widths=[1, 2]))
    if content.face_summaries:
        blocks.append(Heading("Faces", level=2))
        blocks.append(Table(FACE_HEADER, content.face_summaries, widths=[0.5, 0.8, 1.1, 2.6, 1.2, 0.8]))
    elif any(row[0] == "face analysis" for row in content.metadata):
        blocks.append(Paragraph("No face was found in the analysed frames."))
    if content.voice_summary is not None:
        blocks.append(Heading("Voice", level=2))
        blocks.append(Table(["", ""], [list(row) for row in content.voice_summary], widths=[1, 2]))
    if content.echo_mean:
        blocks.append(Heading("Echo mean (whole file)", level=2))
        blocks.append(Table(ECHO_HEADER, content.echo_mean))
    if content.double_check is not None:
        blocks.append(Heading("Double check: face against voice"))
        blocks.append(Paragraph(content.double_check))
        if content.disagreements:
            blocks.append(Table(CHECK_HEADER, content.disagreements, widths=[1, 0.6, 1.2, 1.2, 0.6, 0.7, 1.0]))
        if content.more_disagreements:
            blocks.append(Paragraph(f"... and {content.more_disagreements} more (see result.json).", small=True))
    if content.graph_png is not None:
        blocks.append(Heading("Timeline"))
        blocks.append(Picture(content.graph_png, "Emotion probabilities over time: the fused view, then a lane "
                                                 "per face and one per voice; hatched: face and voice "
                                                 "disagree."))  # fmt: skip
    if content.key_frames:
        blocks.append(Heading("Key frames"))
        blocks.append(Paragraph("Each face at its most confident moment for each emotion it showed.", small=True))
        blocks.append(ThumbGrid([Thumb(k.png, f"#{k.face_id} {k.emotion} {k.confidence:.0%}\nat {k.t:.1f} s")
                                 for k in content.key_frames]))  # fmt: skip
    if content.transcript is not None:
        blocks += _transcript_blocks(content)
    blocks.append(Heading("What the models cannot know"))
    blocks.append(Bullets(content.caveats))
    return blocks
