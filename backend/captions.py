"""The words a result's parts are shown under, the same in the graph, the report and the web app. Like
:mod:`backend.emotions`, it imports nothing, so the web app can use it without the engine."""

from __future__ import annotations


def fused_lane_name(face_id: int | None, speaker_id: str | None = None) -> str:
    """How the graph and the web app name a fused lane; ``speaker_id`` where the result has several voices."""
    if face_id is not None:
        return f"fused: face {face_id} + voice"
    return f"fused: {voice_lane_name(speaker_id)} alone (no face in view)"


def voice_lane_name(speaker_id: str | None = None) -> str:
    """How the graph and the web app name a voice lane; ``speaker_id`` where the result has several voices."""
    return f"voice {speaker_id}" if speaker_id else "voice"


def several_voices(entries: list) -> bool:
    """Whether a timeline's voice lanes (``TimelineEntry`` objects or their JSON) are of more than one speaker: only
    then do the lanes name their speakers."""
    speakers = {_field(e, "speaker_id") for e in entries if _field(e, "source") == "voice"}
    return len(speakers) > 1


def _field(entry, name: str):
    return entry.get(name) if isinstance(entry, dict) else getattr(entry, name)


def describe_person(person: dict) -> str:
    """A person of a result (an entry of its ``people``) in a line: who (face, voice), how long seen and heard, and
    the dominant emotion of each modality with its mean probability."""
    seen = f"face {', '.join(map(str, person['face_ids']))}" if person["face_ids"] else "no face"
    heard = f"voice {person['speaker_id']}" if person["speaker_id"] else "never heard"
    means = [f"{name} {person[name]['dominant_emotion']} ({person[name]['confidence']:.0%})"
             for name in ("face", "voice", "fused") if person.get(name)]  # fmt: skip
    return (f"{seen}, {heard}; on screen {person['on_screen_seconds']:.1f} s, speaking "
            f"{person['speech_seconds']:.1f} s" + (f"; {', '.join(means)}" if means else ""))  # fmt: skip


def by_mean(summary: dict, bold: bool = False) -> str:
    """A summary's dominant emotion with the figure it was chosen by: the highest mean probability, which is not the
    share of frames or windows where it won (a face can be angry on average and neutral in most frames)."""
    dominant = summary["dominant_emotion"]
    name = f"**{dominant}**" if bold else dominant
    return f"{name} (highest mean probability, {summary['mean_probabilities'][dominant]:.0%})"


def describe_language(record: dict | None) -> str | None:
    """A result's ``transcript_language`` in words for the report and the web app, e.g. "pl (detected, probability
    0.98)"; None when there is no language to tell."""
    if not record or not record.get("code"):
        return None
    how = f"detected, probability {record['probability']:.2f}" if record.get("detected") else "given"
    return f"{record['code']} ({how})"
