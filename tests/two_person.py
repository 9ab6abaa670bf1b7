"""Talking-head videos with who speaks when known from how they were made: the test material of active speaker
detection (issue #36). The people are the shared GRID and CREMA-D clips (../shared/data/video, see its README),
side by side, taking turns: in a turn one person's clip plays, picture and sound, from its first to its last
spoken sound, while everyone else listens. A listener's picture is the lead-in of their own clip before any sound
(a few tenths of a second), its frames visited in a seeded random walk: a real face that blinks and shifts a little
but does not talk. A random walk and not a loop: a loop's turning points came back at a steady beat, which turns
of steady length could match. The sound is the speaker's own; the labels are the turns as they were laid down.

:func:`watch` runs a face pass over such a file as the analysis does (MTCNN followed between full detections, the
tracker's face ids) and feeds the mouth motion, the way a pipeline would hand it frames. Only it and the making of
these files open media; the files are written into a folder the caller gives (the tests' and
the benchmark's temporary folders), never into the repository.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from backend import media
from backend.config import get_settings
from backend.faces.detector import get_detector
from backend.faces.following import FollowingDetector
from backend.faces.mouth import MouthMotion, MouthSignal, TrackedFace
from backend.faces.tracking import FaceTracker
from backend.speakers.turns import SpeakerTurn
from backend.voice.speech_detection import VAD_MIN_FRACTION, speech_shares

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
    first_sound: float  # the first 20 ms louder than the background, breath and clicks included

    @property
    def listening(self) -> list[np.ndarray]:
        """The frames before the person makes a sound: their listening face."""
        count = max(MIN_LISTEN_FRAMES, int((self.first_sound - LISTEN_MARGIN) * self.fps))
        return self.frames[:count]


@dataclass(frozen=True)
class Person:
    """Someone in the video: a name (their speaker id) and the clips they say, one per turn, in a cycle. Someone
    not on screen is only heard (a narrator)."""

    speaker_id: str
    clips: tuple[Clip, ...]
    on_screen: bool = True


@dataclass(frozen=True)
class TalkingHeads:
    """A made video and its truth: who is where (left to right, pixel columns) and who spoke when."""

    path: Path
    speakers: tuple[str, ...]  # the people on screen, left to right
    columns: tuple[tuple[int, int], ...]  # each person's panel: first and last pixel column + 1
    turns: tuple[SpeakerTurn, ...]
    duration: float

    def speaker_at(self, x: float) -> str:
        """Whose panel holds pixel column ``x`` (a face's centre, say)."""
        return next(s for s, (left, right) in zip(self.speakers, self.columns) if left <= x < right)


def _loud(sound: np.ndarray) -> np.ndarray:
    """Which 20 ms pieces of a clean recording are SPEECH_ABOVE_FLOOR_DB over its background (the level of its
    quietest tenth)."""
    size = SAMPLE_RATE // 50
    pieces = sound[: len(sound) // size * size].reshape(-1, size)
    level = 10 * np.log10(np.mean(pieces.astype(np.float64) ** 2, axis=1) + 1e-12)
    return level >= np.percentile(level, 10) + SPEECH_ABOVE_FLOOR_DB


def speech_span(sound: np.ndarray) -> tuple[float, float]:
    """First and last spoken sound: loud pieces in runs of at least SPEECH_RUN."""
    starts = np.flatnonzero(np.convolve(_loud(sound), np.ones(SPEECH_RUN), "valid") >= SPEECH_RUN)
    return float(starts[0] * 0.02), float((starts[-1] + SPEECH_RUN) * 0.02)


def load_clip(path: Path, height: int = PANEL_HEIGHT) -> Clip:
    frames, fps = [], media.probe(path).fps or FPS
    for frame in media.iter_frames(path, sample_fps=None):
        width = round(frame.image.shape[1] * height / frame.image.shape[0] / 2) * 2
        frames.append(cv2.resize(frame.image, (width, height), interpolation=cv2.INTER_AREA))
    sound = media.read_audio(path, SAMPLE_RATE)
    return Clip(frames, fps, sound, speech_span(sound), float(np.argmax(_loud(sound)) * 0.02))


def person(speaker_id: str, paths: Sequence[Path], on_screen: bool = True, height: int = PANEL_HEIGHT) -> Person:
    return Person(speaker_id, tuple(load_clip(path, height) for path in paths), on_screen)


def make_talking_heads(path: Path, people: Sequence[Person], script: Sequence[int], pause: float = 0.4,
                       lead: float = 0.5) -> TalkingHeads:  # fmt: skip
    """People side by side taking turns: ``script`` lists who speaks each turn (an index into ``people``); turns
    are ``pause`` seconds apart, after ``lead`` seconds of everyone listening. Someone never in the script only
    listens. H.264 + AAC through PyAV, at 25 fps, as wide as the panels of the people on screen together."""
    said = [0] * len(people)
    turns: list[tuple[float, int, Clip]] = []
    t = lead
    for index in script:
        clip = people[index].clips[said[index] % len(people[index].clips)]
        said[index] += 1
        turns.append((t, index, clip))
        t += clip.speech[1] - clip.speech[0] + pause
    duration = t - pause + lead
    shown = [i for i, p in enumerate(people) if p.on_screen]
    widths = [people[i].clips[0].frames[0].shape[1] for i in shown]
    edges = np.concatenate([[0], np.cumsum(widths)]).astype(int)
    sound = np.zeros(round(duration * SAMPLE_RATE), dtype=np.float32)
    for start, _, clip in turns:
        first = round(clip.speech[0] * SAMPLE_RATE)
        part = clip.sound[first : first + round((clip.speech[1] - clip.speech[0]) * SAMPLE_RATE)]
        at = round(start * SAMPLE_RATE)
        sound[at : at + len(part)] = part[: len(sound) - at]

    count = round(duration * FPS)
    walks = {i: _random_walk(len(people[i].clips[0].listening), count, seed=i) for i in shown}

    def picture(k: int) -> np.ndarray:
        now = k / FPS
        panels = {i: people[i].clips[0].listening[walks[i][k]] for i in shown}
        for start, index, clip in turns:
            if index in panels and start <= now < start + clip.speech[1] - clip.speech[0]:
                frame = round((clip.speech[0] + now - start) * clip.fps)
                panels[index] = clip.frames[min(frame, len(clip.frames) - 1)]
        return np.concatenate([panels[i] for i in shown], axis=1)

    _encode(path, (picture(k) for k in range(count)), sound)
    labels = tuple(SpeakerTurn(round(start, 3), round(start + clip.speech[1] - clip.speech[0], 3),
                               people[index].speaker_id) for start, index, clip in turns)  # fmt: skip
    columns = tuple((int(edges[k]), int(edges[k + 1])) for k in range(len(shown)))
    return TalkingHeads(path, tuple(people[i].speaker_id for i in shown), columns, labels, round(duration, 3))


def _random_walk(size: int, count: int, seed: int) -> list[int]:
    """``count`` indexes into ``size`` frames, each one step from the last (or the same), turning at the ends."""
    steps = np.random.default_rng(seed).integers(-1, 2, count)
    walk, at = [], 0
    for step in steps:
        at = min(size - 1, max(0, at + int(step)))
        walk.append(at)
    return walk


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


@dataclass
class Watched:
    """What a face pass saw: each face's mouth signal and where the face was (the centre of its last box)."""

    signals: list[MouthSignal]
    centres: dict[int, float] = field(default_factory=dict)


FaceHook = Callable[[media.Frame, list[TrackedFace]], None]


def watch(path: Path, face_fps: float = 5.0, mouth_fps: float | None = 12.5, mouths: bool = True,
          on_faces: FaceHook | None = None) -> Watched:  # fmt: skip
    """A face pass over ``path`` at ``face_fps`` (detection and tracking, as the analysis's face stage does), with
    the mouth motion read at ``mouth_fps`` (None: on the face pass's frames only; the frames between reuse the
    last boxes). ``on_faces`` sees each face-pass frame and its faces (the benchmark classifies them there)."""
    detector = FollowingDetector(get_detector(get_settings()), redetect_seconds=1.0)
    tracker, motion, watched = FaceTracker(), MouthMotion(), Watched([])
    step, next_face = 1.0 / face_fps, 0.0
    for frame in media.iter_frames(path, sample_fps=max(face_fps, mouth_fps or face_fps)):
        if frame.t + 1e-3 < next_face:
            if mouths:
                motion.add(frame.t, frame.image)
            continue
        next_face = (int((frame.t + 1e-3) / step) + 1) * step
        (boxes,) = detector.detect([frame])
        faces = [TrackedFace(face_id, box) for face_id, box in zip(tracker.assign(frame.t, boxes), boxes)]
        watched.centres |= {face.face_id: (face.box.x1 + face.box.x2) / 2 for face in faces}
        if mouths:
            motion.add(frame.t, frame.image, faces)
        if on_faces is not None:
            on_faces(frame, faces)
    watched.signals = motion.signals()
    return watched


def voice_activity_turns(path: Path, speaker_id: str, resolution: float = 0.1) -> list[SpeakerTurn]:
    """One speaker's turns from the analysis's own speech detector (``backend.voice.speech_detection``) over
    pieces of ``resolution`` seconds: runs of speech pieces, for a file known to hold one voice."""
    shares = speech_shares(media.read_audio(path, SAMPLE_RATE), SAMPLE_RATE, window=2 * resolution, hop=resolution)
    turns: list[SpeakerTurn] = []
    for k, share in enumerate(shares):
        if share < VAD_MIN_FRACTION:
            continue
        start, end = k * resolution, k * resolution + 2 * resolution
        if turns and start <= turns[-1].end:
            turns[-1] = SpeakerTurn(turns[-1].start, end, speaker_id)
        else:
            turns.append(SpeakerTurn(start, end, speaker_id))
    return turns
