"""Annotated video: the original video at its own size and frame rate, every frame, each face boxed in its
emotion's colour with its id, label and confidence and a small probability-bar panel, a voice-emotion strip at the
bottom when the voice was analysed, and the original audio kept. Where the result has several people, the face of
whoever speaks is marked "speaking" (framed in white) and the strip shows that speaker's voice.

Faces are only observed in sampled frames; in between, each face's box is interpolated between its two nearest
observations and its label is the nearest one's, as long as an observation lies within a small gap of the frame
(no box when the face was not seen). Per-face observation times are precomputed, so drawing a frame costs
O(faces). Drawing is OpenCV on numpy frames; encoding is PyAV, streaming (H.264 yuv420p + AAC in mp4 with
``faststart``, playable in browsers); the video is never held in memory.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from backend import media
from backend.captions import several_voices, voice_lane_name
from backend.emotions import EMOTIONS, colour_rgb
from backend.intervals import SpanIndex
from backend.results import FaceObservation, Result, TimelineEntry, voice_timeline

ProgressCallback = Callable[[float], None]  # percent of the video written

MAX_GAP = 1.0  # seconds: never carry a box further than this from an observation
VIDEO_CODEC = "libx264"
X264_OPTIONS = {"preset": "veryfast", "crf": "21"}
_SHORT = {"angry": "ang", "disgust": "dis", "fear": "fea", "happy": "hap", "neutral": "neu", "sad": "sad",
          "surprise": "sur"}  # fmt: skip
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_WHITE = (255, 255, 255)
_DARK = (20, 20, 20)


@dataclass(frozen=True)
class FaceAt:
    """A face as drawn on one frame: the box (interpolated) and the nearest observation's emotion."""

    face_id: int
    box: tuple[int, int, int, int]
    observation: FaceObservation


class FaceLookup:
    """Per face id, the sorted observation times, to find what to draw at any time in O(log n)."""

    def __init__(self, observations: list[FaceObservation], gap: float):
        by_face: dict[int, list[FaceObservation]] = defaultdict(list)
        for o in sorted(observations, key=lambda o: o.t):
            by_face[o.face_id].append(o)
        self._faces = {face_id: ([o.t for o in obs], obs) for face_id, obs in sorted(by_face.items())}
        self.gap = gap

    def at(self, t: float) -> list[FaceAt]:
        found = []
        for face_id, (times, obs) in self._faces.items():
            i = bisect.bisect_left(times, t)
            before = obs[i - 1] if i > 0 and t - times[i - 1] <= self.gap else None
            after = obs[i] if i < len(obs) and times[i] - t <= self.gap else None
            if before is None and after is None:
                continue
            if before is not None and after is not None and after.t > before.t:
                w = (t - before.t) / (after.t - before.t)
                box = tuple(round(b + w * (a - b)) for b, a in zip(before.box, after.box))
                nearest = before if w < 0.5 else after
            else:
                nearest = before or after
                box = tuple(nearest.box)
            found.append(FaceAt(face_id, box, nearest))  # type: ignore[arg-type]
        return found


def carry_gap(result: Result) -> float:
    """How far (s) a face's box is carried from an observation: 1.5 sampling intervals, at most MAX_GAP."""
    options = result.options or {}
    interval = None
    if options.get("sample_fps"):
        interval = 1.0 / options["sample_fps"]
    elif options.get("frame_step") and result.input.get("fps"):
        interval = options["frame_step"] / result.input["fps"]
    if interval is None and result.input.get("fps"):
        interval = 1.0 / result.input["fps"]
    return min(MAX_GAP, 1.5 * (interval or MAX_GAP))


class VoiceLookup:
    """The voice emotion per second (the same per-second means as the timeline and the graph): of the one voice, or
    where the voices were told apart, of whoever speaks then (the speaker of the speech window centred nearest)."""

    def __init__(self, result: Result):
        self.analysed = bool(result.voice)
        lanes = voice_timeline(result.voice, 1.0, by_speaker=True)
        self.named = several_voices(lanes)
        entries = lanes if self.named else voice_timeline(result.voice, 1.0)
        self._by_second = {(round(e.start), e.speaker_id if self.named else None): e for e in entries}
        self._speech = [r for r in result.voice if r.speech]
        self._index = SpanIndex([r.start for r in self._speech], [r.end for r in self._speech])

    def speaker_at(self, t: float) -> str | None:
        positions, _ = self._index.overlap(t, t)
        windows = [self._speech[i] for i in positions]
        nearest = min(windows, key=lambda r: abs((r.start + r.end) / 2 - t), default=None)
        return None if nearest is None else nearest.speaker_id

    def at(self, t: float) -> TimelineEntry | None:
        return self._by_second.get((math.floor(t), self.speaker_at(t) if self.named else None))


def speaking_faces(result: Result) -> dict[str, int]:
    """Each speaker's face, where the result has more than one person (with one, there is nobody else to tell the
    speaker from)."""
    if len(result.people) < 2:
        return {}
    return {p.speaker_id: p.face_ids[0] for p in result.people if p.speaker_id and p.face_ids}


class Painter:
    """Draws faces and the voice strip on RGB frames of one size; sizes scale with the frame."""

    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self.scale = max(0.3, min(width, height) / 720)
        self.font = 0.9 * self.scale + 0.1
        self.thick = max(1, round(2 * self.scale))
        self.box_line = max(2, round(4 * self.scale))
        self.line = max(8, round(22 * self.scale))  # text line height, px
        self.bar = max(4, round(11 * self.scale))  # probability bar height, px
        self.panel_w = max(60, round(180 * self.scale))
        (label_w, _), _ = cv2.getTextSize("sur", _FONT, self.font * 0.7, max(1, self.thick - 1))
        self.label_w = label_w + 6

    def _text(self, image: np.ndarray, text: str, x: int, y: int, colour=_WHITE, scale: float | None = None) -> None:
        cv2.putText(image, text, (x, y), _FONT, scale or self.font, colour, max(1, self.thick - 1), cv2.LINE_AA)

    def _bars(self, image: np.ndarray, probabilities: dict[str, float], x: int, y: int, width: int) -> None:
        """Seven labelled bars from (x, y) down, one line each, on a dark background."""
        label_w = self.label_w
        step = self.bar + 2
        x2, y2 = min(self.width, x + width), min(self.height, y + step * len(EMOTIONS) + 2)
        if x2 <= x or y2 <= y:
            return
        region = image[y:y2, x:x2]
        region[:] = (region * 0.35).astype(np.uint8)  # darken under the panel, so bars read on any picture
        for i, name in enumerate(EMOTIONS):
            top = y + 1 + i * step
            self._text(image, _SHORT[name], x + 2, top + self.bar - 1, scale=self.font * 0.7)
            length = round(probabilities[name] * (width - label_w - 4))
            if length > 0:
                cv2.rectangle(image, (x + label_w, top), (x + label_w + length, top + self.bar - 1), colour_rgb(name),
                              cv2.FILLED)  # fmt: skip

    def face(self, image: np.ndarray, face: FaceAt, speaking: bool = False) -> None:
        obs = face.observation
        colour = colour_rgb(obs.label)
        x1, y1, x2, y2 = face.box
        if speaking:  # a white frame around the emotion's box
            gap = self.box_line
            cv2.rectangle(image, (x1 - gap, y1 - gap), (x2 + gap, y2 + gap), _WHITE, self.box_line)
        cv2.rectangle(image, (x1, y1), (x2, y2), colour, self.box_line)
        caption = f"#{face.face_id} {obs.label} {obs.confidence:.0%}" + (" ?" if obs.low_confidence else "")
        caption += " speaking" if speaking else ""
        (tw, th), base = cv2.getTextSize(caption, _FONT, self.font, max(1, self.thick - 1))
        top = y1 - th - base - 4 if y1 - th - base - 4 >= 0 else y2
        cv2.rectangle(image, (x1, top), (x1 + tw + 6, top + th + base + 4), colour, cv2.FILLED)
        self._text(image, caption, x1 + 3, top + th + 2, colour=_DARK)
        panel_h = (self.bar + 2) * len(EMOTIONS) + 2
        px = x2 + 4 if x2 + 4 + self.panel_w <= self.width else max(0, x1 - 4 - self.panel_w)
        py = min(max(0, y1), max(0, self.height - panel_h))
        self._bars(image, obs.probabilities, px, py, self.panel_w)

    def voice(self, image: np.ndarray, entry: TimelineEntry | None) -> None:
        strip_h = self.line + 6
        top = self.height - strip_h
        region = image[top:]
        region[:] = (region * 0.3).astype(np.uint8)
        if entry is None:
            self._text(image, "voice: no speech", 6, self.height - 8)
            return
        caption = f"{voice_lane_name(entry.speaker_id)}: {entry.label} {entry.confidence:.0%}"
        self._text(image, caption, 6, self.height - 8, colour=colour_rgb(entry.label))
        (tw, _), _ = cv2.getTextSize(caption, _FONT, self.font, max(1, self.thick - 1))
        x, width = 12 + tw + 6, self.width - (12 + tw + 6) - 6
        if width < 20:
            return
        left = x
        for name in EMOTIONS:  # one stacked bar of the voice probabilities
            length = round(entry.probabilities[name] * width)
            if length:
                cv2.rectangle(image, (left, top + 4), (left + length, self.height - 5), colour_rgb(name), cv2.FILLED)
            left += length


def _even(value: int) -> int:
    return max(2, value - value % 2)


def _time_base(rate: Fraction) -> Fraction:
    """A time base in which every frame of a constant ``rate`` falls on a whole tick, at least 1 ms fine."""
    ticks = rate.numerator * max(1, math.ceil(1000 / rate.numerator))
    return Fraction(1, ticks)


class _AudioCopy:
    """The source's first audio stream written into the output as its packets arrive with the pictures' (the
    muxer interleaves them): remuxed when it is AAC already, else decoded and re-encoded to AAC."""

    def __init__(self, source: av.AudioStream, output: av.container.OutputContainer, origin: float):
        self._in = source
        self._origin = origin  # the video's start in source time: output time 0
        self.remux = self._in.codec_context.name == "aac"
        if self.remux:
            self.stream = output.add_stream_from_template(self._in)
        else:
            ctx = self._in.codec_context
            layout = "mono" if ctx.channels == 1 else "stereo"
            self.stream = output.add_stream("aac", rate=ctx.sample_rate, layout=layout)
            self._resampler = av.AudioResampler(format="fltp", layout=layout, rate=ctx.sample_rate)
            self.stream.time_base = Fraction(1, ctx.sample_rate)
            self._next_pts = 0
        self._output = output

    def write(self, packets: list[av.Packet]) -> None:
        for packet in packets:
            self._write(packet)

    def _write(self, packet: av.Packet) -> None:
        if self.remux:
            if packet.dts is None or packet.size == 0:
                return
            shift = round(self._origin / packet.time_base)
            packet.pts, packet.dts = packet.pts - shift, packet.dts - shift
            if packet.pts is not None and float((packet.pts + (packet.duration or 0)) * packet.time_base) < 0:
                return  # wholly before the video's start (AAC's own priming packet, at -1024 samples, is kept)
            packet.stream = self.stream
            self._output.mux(packet)
            return
        try:
            frames = packet.decode()
        except av.error.FFmpegError:
            return
        for frame in frames:
            if frame.time is not None and frame.time + frame.samples / frame.sample_rate <= self._origin:
                continue
            for out in self._resampler.resample(frame):
                self._encode(out)

    def _encode(self, frame: av.AudioFrame | None) -> None:
        if frame is not None:
            frame.pts, frame.time_base = self._next_pts, self.stream.time_base
            self._next_pts += frame.samples
        self._output.mux(self.stream.encode(frame))

    def finish(self) -> None:
        """Drain the resampler and the encoder (a remuxed stream has nothing held back)."""
        if not self.remux:
            for out in self._resampler.resample(None):
                self._encode(out)
            self._encode(None)


def encode_video(source: Path, target: Path, draw: Callable[[np.ndarray, float], None] | None = None,
                 on_progress: ProgressCallback | None = None) -> Path:  # fmt: skip
    """Decode every frame of ``source`` upright, let ``draw(image, t)`` paint on it, and stream the frames into an
    H.264 + AAC mp4 at ``target`` (with the source's audio). Without ``draw``: a plain transcode (the benchmark's
    baseline). The source is opened once: its sound's packets are copied as they are read with the pictures."""
    with media.MediaSource(source, carry_sound=True) as opened:
        info = opened.info
        if not info.has_video:
            raise ValueError(f"{source.name} has no video stream to annotate")
        rate = Fraction(info.fps or 25).limit_denominator(1001)
        time_base = _time_base(rate)
        width, height = _even(info.width), _even(info.height)
        target.parent.mkdir(parents=True, exist_ok=True)
        with av.open(str(target), mode="w", format="mp4", options={"movflags": "+faststart"}) as output:
            video = output.add_stream(VIDEO_CODEC, rate=rate, options=X264_OPTIONS)
            video.width, video.height, video.pix_fmt = width, height, "yuv420p"
            video.time_base = video.codec_context.time_base = time_base
            audio = _AudioCopy(opened.sound_stream, output, opened.video_start) if info.has_audio else None
            last_pts = -1
            for frame in opened.frames(sample_fps=None):
                image = frame.image[:height, :width]
                if draw is not None:
                    image = np.ascontiguousarray(image)
                    draw(image, frame.t)
                out = av.VideoFrame.from_ndarray(image, format="rgb24")
                out.pts = last_pts = max(last_pts + 1, round(frame.t / time_base))
                out.time_base = time_base
                output.mux(video.encode(out))
                if audio is not None:
                    audio.write(opened.take_sound_packets())
                if on_progress is not None and info.duration > 0 and frame.index % 25 == 0:
                    on_progress(min(100.0, 100 * frame.t / info.duration))
            output.mux(video.encode(None))
            if audio is not None:
                audio.write(opened.take_sound_packets())
                audio.finish()
    return target


def write_annotated_video(source: Path, result: Result, target: Path,
                          on_progress: ProgressCallback | None = None) -> Path:  # fmt: skip
    """Write ``source`` annotated with ``result`` to ``target`` (mp4); returns ``target``."""
    faces = FaceLookup(result.faces, carry_gap(result))
    voice = VoiceLookup(result)
    face_of = speaking_faces(result)
    painter: list[Painter] = []

    def draw(image: np.ndarray, t: float) -> None:
        if not painter:
            painter.append(Painter(image.shape[1], image.shape[0]))
        speaking = face_of.get(voice.speaker_at(t)) if face_of else None  # type: ignore[arg-type]
        for face in faces.at(t):
            painter[0].face(image, face, speaking=face.face_id == speaking)
        if voice.analysed:
            painter[0].voice(image, voice.at(t))

    return encode_video(Path(source), Path(target), draw, on_progress)
