"""People, not streams: whose voice each speech window is, whose face each voice is, and one entry per person.

With ``speakers`` 1 (the default) there is one voice, ``S1``: its turns are the speech windows of the voice, and it
is the face's when exactly one face track was seen (a single talking head, whose result is then what it was before
people existed); with several face tracks it is not known whose voice it is, so it is a person of its own and the
fused view and the double check pair it with every face in view, as before. With ``speakers`` 2-10 or ``auto`` the
turns come from the diarization (``backend.speakers``) and the faces are linked to the speakers by their mouth motion
(``backend.people.active_speaker``); a face is then fused and compared with its own voice only.

Each face track is a person; a linked speaker joins their face's person, and a speaker never linked (off screen, or
not told apart from the faces) is a person with no face. Each person's face, voice and fused emotion is the echo mean
(:func:`backend.fusion.echo_mean.echo_mean`) of their own evidence alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from backend.fusion.double_check import voice_segments
from backend.fusion.echo_mean import echo_mean
from backend.intervals import SpanIndex, sampling_interval
from backend.results import FaceObservation, FusedWindow, Person, VoiceRecord
from backend.speakers.turns import SpeakerTurn

if TYPE_CHECKING:
    from backend.faces.mouth import MouthSignal
    from backend.speakers.diarization import Diarization

ONE_VOICE = "S1"  # the speaker of every speech window when the voices are not told apart


@dataclass(frozen=True)
class Voices:
    """Who speaks when, and each speaker's face: ``face_of`` maps a speaker to their face track where it is known
    (a speaker missing from it has none in view), and is None where whose face is whose is not known at all."""

    turns: tuple[SpeakerTurn, ...]
    face_of: dict[str, int] | None


def one_voice_turns(records: Sequence[VoiceRecord]) -> list[SpeakerTurn]:
    """The one voice's turns: the stretches its speech windows cover, overlapping windows joined."""
    turns: list[SpeakerTurn] = []
    for record in sorted((r for r in records if r.speech), key=lambda r: r.start):
        if turns and record.start <= turns[-1].end:
            turns[-1] = SpeakerTurn(turns[-1].start, max(turns[-1].end, record.end), ONE_VOICE)
        else:
            turns.append(SpeakerTurn(record.start, record.end, ONE_VOICE))
    return turns


def label_speakers(items: Sequence, turns: Sequence[SpeakerTurn]) -> None:
    """Give each item (a speech window, a transcript segment: anything with ``start``, ``end`` and ``speaker_id``)
    the speaker with the most speech in it (by :mod:`backend.intervals`' rule; a tie goes to the one who spoke
    first), in place. An item no turn reaches (speech the diarization's own detector missed) goes to the speaker
    of the nearest turn, so that no speech is left without a person; None only where there are no turns."""
    index = SpanIndex([t.start for t in turns], [t.end for t in turns])
    for item in items:
        positions, weights = index.overlap(item.start, item.end)
        spoken: dict[str, float] = defaultdict(float)  # in the order of the turns' starts
        for position, weight in zip(positions, weights):
            spoken[turns[position].speaker_id] += float(weight)
        if spoken:
            item.speaker_id = max(spoken, key=spoken.__getitem__)
        else:  # the nearest turn is looked for only where no turn reaches the item
            nearest = min(turns, key=lambda t: max(t.start - item.end, item.start - t.end), default=None)
            item.speaker_id = nearest and nearest.speaker_id


def who_speaks(records: Sequence[VoiceRecord], diarization: Diarization | None, signals: Sequence[MouthSignal],
               face_ids: Sequence[int]) -> Voices:  # fmt: skip
    """The turns and each speaker's face (see the module), with each voice window given its speaker in place.
    ``diarization`` None: one voice; ``signals``: the mouth motion of the face tracks ``face_ids``."""
    if diarization is None:
        turns = one_voice_turns(records)
        face_of = None if len(face_ids) > 1 else {ONE_VOICE: face_ids[0]} if turns and face_ids else {}
    else:
        from .active_speaker import find_active_speakers  # scipy.optimize: a second of import, paid only here

        turns = list(diarization.turns)
        links = find_active_speakers(signals, turns).links if turns else ()
        face_of = {link.speaker_id: link.face_id for link in links}
    label_speakers([r for r in records if r.speech], turns)
    return Voices(tuple(turns), face_of)


def assemble_people(faces: Sequence[FaceObservation], voice: Sequence[VoiceRecord],
                    fused: Sequence[FusedWindow] | None, voices: Voices) -> list[Person]:  # fmt: skip
    """One entry per person: each face track (with its speaker where linked), then each speaker without a face."""
    face_ids = sorted({o.face_id for o in faces})
    face_of = voices.face_of or {}
    speaker_of = {face_id: speaker for speaker, face_id in face_of.items()}
    speakers = list(dict.fromkeys(turn.speaker_id for turn in sorted(voices.turns, key=lambda t: t.start)))
    cast = [([face_id], speaker_of.get(face_id)) for face_id in face_ids]
    cast += [([], speaker) for speaker in speakers if speaker not in face_of]
    frame_seconds = sampling_interval([o.t for o in faces])
    people = []
    for number, (own_faces, speaker) in enumerate(cast, start=1):
        seen = [o for o in faces if o.face_id in own_faces]
        heard = [r for r in voice if speaker is not None and r.speaker_id == speaker]
        own_fused = None if fused is None else [w for w in fused if w.face_id in own_faces
                                                or (w.face_id is None and speaker is not None
                                                    and w.speaker_id == speaker)]  # fmt: skip
        means = echo_mean(seen, voice_segments(heard), fused=own_fused)
        speech = sum(t.end - t.start for t in voices.turns if speaker is not None and t.speaker_id == speaker)
        people.append(Person(f"P{number}", own_faces, speaker, round(len(seen) * frame_seconds, 3), round(speech, 3),
                             means["face"], means["voice"], means.get("fused")))  # fmt: skip
    return people
