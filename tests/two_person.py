"""Talking-head videos with who speaks when known from how they were made: the test material of active speaker
detection (issue #36). The people are the shared GRID and CREMA-D clips (../shared/data/video, see its README),
side by side, taking turns: in a turn one person's clip plays, picture and sound, from its first to its last
spoken sound, while everyone else listens. A listener's picture is the lead-in of their own clip before they start
to speak (a few tenths of a second, played back and forth): a real face that blinks and shifts a little but does not
talk. The sound is the speaker's own; the labels are the turns as they were laid down.

Only the making of these files opens media; the files are written into a folder the caller gives (the tests' and
the benchmark's temporary folders), never into the repository.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from backend import media
from backend.people.active_speaker import SpeakerTurn

SAMPLE_RATE = 16_000
FPS = 25
PANEL_HEIGHT = 288  # GRID's own height; CREMA-D's 480x360 becomes 384x288
SPEECH_ABOVE_FLOOR_DB = 10.0  # a 20 ms piece is speech when this much louder than the clip's quietest tenth...
SPEECH_RUN = 5  # ...and one of a run of at least this many (100 ms), so clicks and breaths are not speech
LISTEN_MARGIN = 0.25  # seconds before the first spoken sound that the lips may already move
MIN_LISTEN_FRAMES = 3


@dataclass(frozen=True)
class Clip:
    """One person's source clip, decoded: its frames at the panel height, its sound and where the speech is."""

    frames: list[np.ndarray]
    fps: float
    sound: np.ndarray  # mono float32 at SAMPLE_RATE
    speech: tuple[float, float]  # first and last spoken sound, seconds

    @property
    def listening(self) -> list[np.ndarray]:
        """The frames before the person starts to speak: their listening face."""
        count = max(MIN_LISTEN_FRAMES, int((self.speech[0] - LISTEN_MARGIN) * self.fps))
        return self.frames[:count]


@dataclass(frozen=True)
class Person:
    """Someone in the video: a name (their speaker id) and the clips they say, one per turn, in a cycle."""

    speaker_id: str
    clips: tuple[Clip, ...]


@dataclass(frozen=True)
class TalkingHeads:
    """A made video and its truth: who is where (left to right, pixel columns) and who spoke when."""

    path: Path
    speakers: tuple[str, ...]  # left to right
    columns: tuple[tuple[int, int], ...]  # each person's panel: first and last pixel column + 1
    turns: tuple[SpeakerTurn, ...]
    duration: float

    def speaker_at(self, x: float) -> str:
        """Whose panel holds pixel column ``x`` (a face's centre, say)."""
        return next(s for s, (left, right) in zip(self.speakers, self.columns) if left <= x < right)


def speech_span(sound: np.ndarray) -> tuple[float, float]:
    """First and last spoken sound of a clean recording: 20 ms pieces SPEECH_ABOVE_FLOOR_DB over its background (the
    level of its quietest tenth), in runs of at least SPEECH_RUN."""
    size = SAMPLE_RATE // 50
    pieces = sound[: len(sound) // size * size].reshape(-1, size)
    level = 10 * np.log10(np.mean(pieces.astype(np.float64) ** 2, axis=1) + 1e-12)
    loud = level >= np.percentile(level, 10) + SPEECH_ABOVE_FLOOR_DB
    starts = np.flatnonzero(np.convolve(loud, np.ones(SPEECH_RUN), "valid") >= SPEECH_RUN)
    return float(starts[0] * 0.02), float((starts[-1] + SPEECH_RUN) * 0.02)


def load_clip(path: Path, height: int = PANEL_HEIGHT) -> Clip:
    frames, fps = [], media.probe(path).fps or FPS
    for frame in media.iter_frames(path, sample_fps=None):
        width = round(frame.image.shape[1] * height / frame.image.shape[0] / 2) * 2
        frames.append(cv2.resize(frame.image, (width, height), interpolation=cv2.INTER_AREA))
    sound = media.read_audio(path, SAMPLE_RATE)
    return Clip(frames, fps, sound, speech_span(sound))


def person(speaker_id: str, paths: Sequence[Path], height: int = PANEL_HEIGHT) -> Person:
    return Person(speaker_id, tuple(load_clip(path, height) for path in paths))


def make_talking_heads(path: Path, people: Sequence[Person], script: Sequence[int], pause: float = 0.4,
                       lead: float = 0.5) -> TalkingHeads:  # fmt: skip
    """People side by side taking turns: ``script`` lists who speaks each turn (an index into ``people``); turns
    are ``pause`` seconds apart, after ``lead`` seconds of everyone listening. Someone never in the script only
    listens. H.264 + AAC through PyAV, at 25 fps."""
    said = [0] * len(people)
    turns: list[tuple[float, int, Clip]] = []
    t = lead
    for index in script:
        clip = people[index].clips[said[index] % len(people[index].clips)]
        said[index] += 1
        turns.append((t, index, clip))
        t += clip.speech[1] - clip.speech[0] + pause
    duration = t - pause + lead
    widths = [p.clips[0].frames[0].shape[1] for p in people]
    edges = np.concatenate([[0], np.cumsum(widths)]).astype(int)
    sound = np.zeros(round(duration * SAMPLE_RATE), dtype=np.float32)
    for start, _, clip in turns:
        first = round(clip.speech[0] * SAMPLE_RATE)
        part = clip.sound[first : first + round((clip.speech[1] - clip.speech[0]) * SAMPLE_RATE)]
        at = round(start * SAMPLE_RATE)
        sound[at : at + len(part)] = part[: len(sound) - at]

    def picture(k: int) -> np.ndarray:
        now = k / FPS
        panels = [_listening(p.clips[0].listening, k) for p in people]
        for start, index, clip in turns:
            if start <= now < start + clip.speech[1] - clip.speech[0]:
                frame = round((clip.speech[0] + now - start) * clip.fps)
                panels[index] = clip.frames[min(frame, len(clip.frames) - 1)]
        return np.concatenate(panels, axis=1)

    _encode(path, (picture(k) for k in range(round(duration * FPS))), sound)
    labels = tuple(SpeakerTurn(round(start, 3), round(start + clip.speech[1] - clip.speech[0], 3), people[index].speaker_id)
                   for start, index, clip in turns)  # fmt: skip
    columns = tuple((int(edges[i]), int(edges[i + 1])) for i in range(len(people)))
    return TalkingHeads(path, tuple(p.speaker_id for p in people), columns, labels, duration)


def _listening(frames: list[np.ndarray], k: int) -> np.ndarray:
    """Frame ``k`` of the listening frames played forwards and backwards, over and over."""
    period = max(1, 2 * len(frames) - 2)
    step = k % period
    return frames[step if step < len(frames) else period - step]


def _encode(path: Path, pictures, sound: np.ndarray) -> None:
    with av.open(str(path), mode="w") as container:
        video = container.add_stream("libx264", rate=FPS, options={"preset": "veryfast", "crf": "20"})
        audio = container.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
        for k, picture in enumerate(pictures):
            if k == 0:
                video.height, video.width = picture.shape[:2]
                video.pix_fmt = "yuv420p"
            container.mux(video.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24")))
        container.mux(video.encode(None))
        block = 1024
        for at in range(0, len(sound), block):
            frame = av.AudioFrame.from_ndarray(sound[None, at : at + block], format="flt", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = SAMPLE_RATE, at, Fraction(1, SAMPLE_RATE)
            container.mux(audio.encode(frame))
        container.mux(audio.encode(None))
