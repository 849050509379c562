"""Just enough EBML to check a finished Matroska/WebM file's index without reading it: the Segment's SeekHead.

libav's muxer reserves the SeekHead at the front of the Segment and fills it in at the trailer with where the Cues,
Chapters and Tags ended up (after the last cluster). Reading it and the first bytes of each element it points to
costs a few hundred bytes whatever the file's size.
"""

from __future__ import annotations

from typing import BinaryIO

EBML_HEADER = 0x1A45DFA3
SEGMENT = 0x18538067
SEEK_HEAD = 0x114D9B74
SEEK = 0x4DBB
SEEK_ID = 0x53AB
SEEK_POSITION = 0x53AC
CUES = 0x1C53BB6B
CHAPTERS = 0x1043A770
INFO = 0x1549A966
CLUSTER = 0x1F43B675
VOID = 0xEC

HEAD_BYTES = 4096          # EBML header + Segment start + SeekHead fit well within this


class EbmlError(ValueError):
    pass


def _vint(data: bytes, pos: int, keep_marker: bool) -> tuple[int, int]:
    """(value, position after it) of the variable-length integer at `pos`; IDs keep their length marker."""
    if pos >= len(data):
        raise EbmlError("truncated")
    first = data[pos]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    if length > 8 or pos + length > len(data):
        raise EbmlError("bad variable-length integer")
    value = first if keep_marker else first & (0xFF >> length)
    for byte in data[pos + 1:pos + length]:
        value = (value << 8) | byte
    return value, pos + length


def _element(data: bytes, pos: int) -> tuple[int, int, int]:
    """(id, size, position of the payload) of the element at `pos`."""
    element_id, pos = _vint(data, pos, keep_marker=True)
    size, pos = _vint(data, pos, keep_marker=False)
    return element_id, size, pos


def seek_head(f: BinaryIO) -> dict[int, int]:
    """{element id: absolute file position} from the Segment's first SeekHead. EbmlError if there is none."""
    f.seek(0)
    data = f.read(HEAD_BYTES)
    element_id, size, pos = _element(data, 0)
    if element_id != EBML_HEADER:
        raise EbmlError("not an EBML file")
    element_id, _, segment_data = _element(data, pos + size)
    if element_id != SEGMENT:
        raise EbmlError("no Segment after the EBML header")
    pos = segment_data
    while pos < len(data):
        element_id, size, payload = _element(data, pos)
        if element_id == SEEK_HEAD:
            break
        if element_id == CLUSTER:
            raise EbmlError("no SeekHead before the first cluster")
        pos = payload + size
    else:
        raise EbmlError("no SeekHead in the file's first bytes")
    entries: dict[int, int] = {}
    end = min(payload + size, len(data))
    pos = payload
    while pos < end:
        element_id, size, child = _element(data, pos)
        if element_id == SEEK:
            target, position = None, None
            inner = child
            while inner < child + size:
                sub_id, sub_size, value_at = _element(data, inner)
                value = int.from_bytes(data[value_at:value_at + sub_size], "big")
                if sub_id == SEEK_ID:
                    target = value
                elif sub_id == SEEK_POSITION:
                    position = value
                inner = value_at + sub_size
            if target is not None and position is not None:
                entries[target] = segment_data + position
        pos = child + size
    return entries


def element_at(f: BinaryIO, position: int) -> int:
    """The id of the element that starts at `position`."""
    f.seek(position)
    element_id, _ = _vint(f.read(8), 0, keep_marker=True)
    return element_id


SIMPLE_BLOCK = 0xA3
BLOCK_GROUP = 0xA0
BLOCK = 0xA1


def block_tracks(data: bytes) -> tuple[set[int], int]:
    """The track numbers of the blocks in the complete clusters at the start of `data` (bytes of a live file from
    just after its header), and how many bytes those clusters take (where the next scan starts)."""
    tracks: set[int] = set()
    pos = 0
    while pos < len(data):
        try:
            element_id, size, payload = _element(data, pos)
        except EbmlError:
            break                                      # the next element's header is not all there yet
        if payload + size > len(data):
            break                                      # a cluster still being written
        if element_id == CLUSTER:
            inner = payload
            while inner < payload + size:
                child_id, child_size, child = _element(data, inner)
                if child_id == SIMPLE_BLOCK:
                    tracks.add(_vint(data, child, keep_marker=False)[0])
                elif child_id == BLOCK_GROUP:
                    sub = child
                    while sub < child + child_size:
                        sub_id, sub_size, sub_payload = _element(data, sub)
                        if sub_id == BLOCK:
                            tracks.add(_vint(data, sub_payload, keep_marker=False)[0])
                        sub = sub_payload + sub_size
                inner = child + child_size
        pos = payload + size
    return tracks, pos
