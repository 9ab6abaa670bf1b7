"""Opening files with libav: which containers and codecs are read at all, the pixel cap on decoders, and decoding
that tolerates damaged packets. Every container an analysis reads is opened by :func:`open_av`."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import av
import av.error

from backend.config import get_settings
from backend.errors import MediaError

log = logging.getLogger(__name__)

# Demuxers and decoders on an allowlist: the containers and codecs the README lists and their usual relatives.
# libav itself reads far more than media users send — ANSI art and tty text, image sequences, playlists and
# concat lists that open other files or URLs, raw dumps it guesses by the file name (bintext) — and each parser is
# attack surface. A file only another demuxer reads, or whose stream needs another decoder, is not_media; and
# only local files may be opened (no network protocol, whatever a container names).
DEMUXERS = ("mov", "mp4", "matroska", "webm", "avi", "flv", "mpeg", "mpegts", "asf", "ogg", "wav", "w64", "mp3",
            "flac", "aac", "aiff", "caf", "amr", "h264", "hevc", "m4v")  # fmt: skip  # the last 3: raw streams
DECODERS = ("h264", "hevc", "vp8", "vp9", "libvpx", "libvpx-vp9", "av1", "libdav1d", "libaom-av1", "mpeg4",
            "mpeg1video", "mpeg2video", "mjpeg", "vp6", "vp6f", "vp6a", "flv", "h263", "theora", "wmv1", "wmv2",
            "wmv3", "vc1", "msmpeg4", "msmpeg4v1", "msmpeg4v2", "msmpeg4v3", "png", "rawvideo", "ffv1", "prores",
            "dnxhd", "aac", "aac_fixed", "aac_latm", "mp1", "mp1float", "mp2", "mp2float", "mp3", "mp3float",
            "opus", "libopus", "vorbis", "libvorbis", "flac", "alac", "ac3", "ac3_fixed", "eac3", "wmav1", "wmav2",
            "wmapro", "amrnb", "amrwb", "libopencore_amrnb", "libopencore_amrwb", "speex", "gsm_ms")  # fmt: skip
DECODER_FAMILIES = ("pcm_", "adpcm_")  # every PCM and ADPCM variant (WAV, AIFF, CAF)
_OPEN_OPTIONS = {"format_whitelist": ",".join(DEMUXERS), "protocol_whitelist": "file"}

# Leading bytes of containers we decode. Used only after libav refused a file, to tell a damaged media file
# (corrupt_media: e.g. an mp4 cut before its moov atom) from something that never was media (not_media): libav
# reports both as the same "Invalid data" error.
_SIGNATURES_AT_0 = (b"RIFF", b"\x1a\x45\xdf\xa3", b"FLV", b"OggS", b"fLaC", b"ID3")
_MP4_BOXES_AT_4 = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip")

# libav's largest max_pixels (an int option).
_INT_MAX = 2**31 - 1

StreamPair = tuple["av.VideoStream | None", "av.AudioStream | None"]


def max_pixels() -> int:
    """The cap on decoded picture size (a defence against decompression bombs), from the settings."""
    return get_settings().max_pixels


def checked_path(path: str | Path) -> Path:
    """The path as a readable, non-empty regular file, so later errors can only be about the content."""
    path = Path(path)
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "does not exist"
        raise MediaError(f"{path.name or str(path)} {what}", code="file_not_found")
    try:
        size = path.stat().st_size
        with path.open("rb"):
            pass
    except OSError as exc:
        raise MediaError(f"{path.name} cannot be read ({exc.strerror})", code="file_not_found") from None
    if size == 0:
        raise MediaError(f"{path.name} is empty (0 bytes)", code="empty_file")
    return path


def open_av(path: Path, options: dict[str, str] | None = None) -> av.container.InputContainer:
    """Open with libav, turning its refusal into not_media or corrupt_media (see _SIGNATURES_AT_0).

    Opening decodes a first frame of streams whose header leaves the pixel format open (PNG or MJPEG in AVI,
    MKV...), so the decoders get the pixel cap (``max_pixels``) from the start: without it a 6 KB AVI declaring
    16000x16000 16-bit RGBA frames makes libav allocate 2 GB before any check of ours can run. A decoder that
    refuses a frame size leaves the stream's size at 0x0; :func:`check_video_size` then reads the declared one."""
    try:
        return av.open(str(path), mode="r", options=_OPEN_OPTIONS | (options or _decoder_cap()))
    except av.error.FFmpegError as exc:
        if _looks_like_media(path):
            raise MediaError(f"{path.name} is a damaged media file that can't be opened ({exc.strerror})",
                             code="corrupt_media") from None  # fmt: skip
        raise MediaError(f"{path.name} is not a video, audio or image file", code="not_media") from None


def _looks_like_media(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(12)
    return head.startswith(_SIGNATURES_AT_0) or head[4:8] in _MP4_BOXES_AT_4


def streams(path: Path, container: av.container.InputContainer) -> StreamPair:
    """The first real video stream and the first audio stream. A file with neither (e.g. subtitles that libav
    reads) is not media, whichever stream the caller wanted. Cover art in mp3/m4a files is a one-picture "video"
    stream, not video."""
    videos = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    audios = list(container.streams.audio)
    if not videos and not audios:
        raise MediaError(f"{path.name} has no audio or video stream", code="not_media")
    return (videos[0] if videos else None), (audios[0] if audios else None)


def check_decoders(path: Path, *of_streams: av.stream.Stream | None) -> None:
    for stream in of_streams:
        name = stream.codec_context.codec.name if stream is not None else None
        if name is not None and name not in DECODERS and not name.startswith(DECODER_FAMILIES):
            raise MediaError(f"{path.name}: its {stream.type} is {codec_name(stream)}, a codec EmoClassify does "
                             "not decode", code="not_media")  # fmt: skip


def codec_name(stream: av.stream.Stream | None) -> str | None:
    """The codec's canonical name ("mp3"), not the decoder's ("mp3float"): it names the file's content."""
    return stream.codec_context.codec.canonical_name if stream is not None else None


def _decoder_cap() -> dict[str, str]:
    return {"max_pixels": str(min(max_pixels(), _INT_MAX))}


def check_video_size(path: Path, stream: av.VideoStream) -> None:
    """Refuse a video whose declared frame size is above the cap, and keep its decoder under the cap (a frame may
    declare a size of its own). A size of 0x0 after opening means libav did not learn it, often because the cap
    stopped its decoder: then the size the container's header declares is read by opening the file again with
    every decoder disabled (``codec_whitelist``), so nothing is decoded."""
    width, height = stream.codec_context.width, stream.codec_context.height
    if not width or not height:
        with open_av(path, {"codec_whitelist": "none"}) as undecoded:
            declared = undecoded.streams[stream.index]
            width, height = declared.codec_context.width, declared.codec_context.height
    check_pixels(path, width, height)
    stream.codec_context.options = {**(stream.codec_context.options or {}), **_decoder_cap()}


def check_pixels(path: Path, width: int, height: int) -> None:
    """Refuse a declared size above the cap before anything is decoded (defence against decompression bombs)."""
    limit = max_pixels()
    if width * height > limit:
        raise MediaError(f"{path.name} is {width}x{height} pixels, more than the limit of {limit}",
                         code="too_large")  # fmt: skip


class Decoder:
    """Decodes one stream, skipping packets the codec rejects (a damaged stretch in the middle of a file should
    cost those frames, not the file), and remembers enough to explain a stream that gave nothing. The packets of a
    ``carried`` stream, read in the same pass, are kept undecoded in :attr:`carried_packets` for the caller to
    take (the annotated video copies the sound while it re-encodes the pictures)."""

    def __init__(self, path: Path, container: av.container.InputContainer, stream: av.stream.Stream,
                 carried: av.stream.Stream | None = None):  # fmt: skip
        self.path = path
        self.container = container
        self.stream = stream
        self.carried = carried
        self.carried_packets: list[av.Packet] = []
        self.packets = 0
        self.skipped = 0
        self.decoded = 0

    def frames(self) -> Iterator[av.frame.Frame]:
        try:
            for packet in self.container.demux(*(s for s in (self.stream, self.carried) if s is not None)):
                if self.carried is not None and packet.stream.index == self.carried.index:
                    self.carried_packets.append(packet)
                    continue
                if packet.size:  # demux ends with empty flush packets, which are not data
                    self.packets += 1
                yield from self._decode(packet)
        except av.error.FFmpegError as exc:  # the demuxer itself gave up: keep what was decoded
            log.debug("%s: demuxing stopped early: %s", self.path.name, exc)
        if self.skipped:
            log.debug("%s: skipped %d undecodable packets", self.path.name, self.skipped)
        if not self.decoded:
            raise self._nothing_decoded()

    def _decode(self, packet: av.Packet) -> list[av.frame.Frame]:
        try:
            frames = packet.decode()
        except av.error.FFmpegError:
            self.skipped += 1
            return []
        self.decoded += len(frames)
        return frames

    def _nothing_decoded(self) -> MediaError:
        if self.packets == 0:
            return MediaError(f"{self.path.name} contains no {self.stream.type} data to decode (zero duration)",
                              code="zero_duration")  # fmt: skip
        return MediaError(f"{self.path.name} is damaged: none of its {self.stream.type} could be decoded",
                          code="corrupt_media")  # fmt: skip
