"""SPDY/3.1 framing: every frame kubectl's port-forward exchanges, written and read back, and the
header compression both ends share (one zlib stream per direction, primed with the SPDY dictionary).

`KUBECTL_FIRST_FRAMES` are the first bytes kubectl 1.37 sent through its port-forward tunnel (the
error stream of its first connection, then the data stream): reading them checks the dictionary
and the decompression against Go's own compressor, not only against this module's writer.
"""

from __future__ import annotations

import struct
import zlib

import pytest

from remedlab.cluster.apiserver.spdy_dictionary import HEADER_DICTIONARY
from remedlab.cluster.apiserver.spdy_frames import (
    MAX_HEADER_BLOCK,
    DataFrame,
    Frame,
    FrameReader,
    FrameWriter,
    GoAway,
    GoAwayStatus,
    HeaderCompressor,
    HeaderDecompressor,
    HeadersFrame,
    Ping,
    RstStatus,
    RstStream,
    Settings,
    SpdyError,
    SynReply,
    SynStream,
    UnknownControl,
    WindowUpdate,
    decode_header_block,
    encode_header_block,
    header,
)

KUBECTL_FIRST_FRAMES = bytes.fromhex(
    "800300010000003e0000000100000000000078f9e3c6a7c202253a703a2b294a4dcc851625aca9a0808614cb45e01c60"
    "6e6060c0c0c0c0590489c64c50f2663400000000ffff"
    "0000000101000000"
    "800300010000001800000003000000000000c2aa19540e2512d60b000000ffff"
)
"""What kubectl wrote first for a connection to port 7000: SYN_STREAM of its error stream (headers
streamType, port and requestID), that stream's FIN, SYN_STREAM of its data stream."""

PORT_FORWARD_HEADERS = {"streamtype": ["error"], "port": ["7000"], "requestid": ["0"]}

EVERY_FRAME: list[Frame] = [
    SynStream(1, {"streamtype": ["error"], "port": ["8080"], "requestid": ["0"]}, priority=0),
    SynStream(3, {"streamtype": ["data"], "port": ["8080"], "requestid": ["0"]}, associated_to=1, priority=7),
    SynStream(5, {"x": ["a", "b"]}, fin=True, unidirectional=True),
    SynReply(1),
    SynReply(3, {"status": ["200 OK"]}, fin=True),
    HeadersFrame(3, {"trailer": ["yes"]}),
    DataFrame(3, b"GET / HTTP/1.1\r\n\r\n"),
    DataFrame(3, b"", fin=True),
    DataFrame(0x7FFFFFFF, bytes(range(256)) * 64),
    RstStream(3, RstStatus.CANCEL),
    Settings(((0, 4, 100), (1, 7, 65536)), clear=True),
    Ping(1),
    Ping(0xFFFFFFFE),
    GoAway(7, GoAwayStatus.OK),
    WindowUpdate(3, 65536),
    UnknownControl(5, 0, b""),
]


def test_the_dictionary_is_the_protocols() -> None:
    assert len(HEADER_DICTIONARY) == 1423
    assert HEADER_DICTIONARY.startswith(b"\x00\x00\x00\x07options\x00\x00\x00\x04head")
    assert HEADER_DICTIONARY.endswith(b"charset=utf-8charset=iso-8859-1,utf-,*,enq=0.")


def test_kubectls_own_frames_are_read() -> None:
    frames = FrameReader().feed(KUBECTL_FIRST_FRAMES)
    assert frames == [
        SynStream(1, PORT_FORWARD_HEADERS),
        DataFrame(1, b"", fin=True),
        SynStream(3, {**PORT_FORWARD_HEADERS, "streamtype": ["data"]}),
    ]
    syn = frames[0]
    assert isinstance(syn, SynStream)
    assert (header(syn.headers, "streamType"), header(syn.headers, "requestID")) == ("error", "0")
    assert KUBECTL_FIRST_FRAMES[20:24] == zlib.adler32(HEADER_DICTIONARY).to_bytes(4, "big")  # Go's dictionary id


@pytest.mark.parametrize("frame", EVERY_FRAME, ids=lambda f: type(f).__name__)
def test_each_frame_reads_back_as_written(frame: Frame) -> None:
    assert FrameReader().feed(FrameWriter().encode(frame)) == [frame]


def test_frames_split_and_joined_at_will_read_back_in_order() -> None:
    """A tunnel splits frames across messages and joins them: a byte at a time, or all at once."""
    writer = FrameWriter()
    wire = b"".join(writer.encode(frame) for frame in EVERY_FRAME)
    one_by_one = FrameReader()
    frames: list[Frame] = []
    for i in range(len(wire)):
        frames += one_by_one.feed(wire[i : i + 1])
    assert frames == EVERY_FRAME
    assert FrameReader().feed(wire) == EVERY_FRAME


def test_the_wire_format_of_control_and_data_frames() -> None:
    writer = FrameWriter()
    assert writer.encode(Ping(1)) == bytes.fromhex("800300060000000400000001")
    assert writer.encode(RstStream(3, RstStatus.CANCEL)) == bytes.fromhex("80030003000000080000000300000005")
    assert writer.encode(GoAway(5)) == bytes.fromhex("80030007000000080000000500000000")
    assert writer.encode(DataFrame(3, b"hi", fin=True)) == bytes.fromhex("0000000301000002") + b"hi"
    reply = writer.encode(SynReply(1))
    assert reply[:4] == bytes.fromhex("80030002") and reply[4] == 0
    assert struct.unpack(">I", reply[4:8])[0] == len(reply) - 8


def test_header_blocks_share_one_compression_stream_per_direction() -> None:
    compressor, decompressor = HeaderCompressor(), HeaderDecompressor()
    first = compressor.compress(PORT_FORWARD_HEADERS)
    second = compressor.compress(PORT_FORWARD_HEADERS)
    assert len(second) < len(first)  # the second block refers back to the first
    assert first[:2] == b"\x78\xf9"  # zlib, best compression, with a preset dictionary...
    assert first[2:6] == zlib.adler32(HEADER_DICTIONARY).to_bytes(4, "big")  # ...this one
    assert first.endswith(b"\x00\x00\xff\xff") and second.endswith(b"\x00\x00\xff\xff")  # flushed per block
    assert decompressor.decompress(first) == PORT_FORWARD_HEADERS
    assert decompressor.decompress(second) == PORT_FORWARD_HEADERS
    with pytest.raises(SpdyError):
        HeaderDecompressor().decompress(second)  # out of order: the reader missed the first block


def test_header_block_encoding_lower_cases_names_and_joins_values_with_nul() -> None:
    block = encode_header_block({"StreamType": ["data"], "Accept": ["a", "b"]})
    assert block == (
        b"\x00\x00\x00\x02"
        + b"\x00\x00\x00\x0astreamtype\x00\x00\x00\x04data"
        + b"\x00\x00\x00\x06accept\x00\x00\x00\x03a\x00b"
    )
    assert decode_header_block(block) == {"streamtype": ["data"], "accept": ["a", "b"]}
    assert decode_header_block(encode_header_block({})) == {}


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        (bytes.fromhex("800200060000000400000001"), "SPDY version 2"),
        (bytes.fromhex("800300030000000400000001"), "RST_STREAM frame of 4 bytes"),
        (bytes.fromhex("80030006000000080000000100000002"), "PING frame of 8 bytes"),
        (bytes.fromhex("800300010000000400000001"), "SYN_STREAM frame of 4 bytes"),
        (bytes.fromhex("800300020000000800000001deadbeef"), "does not decompress"),
    ],
)
def test_malformed_frames_are_refused(wire: bytes, message: str) -> None:
    with pytest.raises(SpdyError, match=message):
        FrameReader().feed(wire)


def test_truncated_and_oversized_header_blocks_are_refused() -> None:
    with pytest.raises(SpdyError, match="truncated"):
        decode_header_block(b"\x00\x00\x00\x01\x00\x00\x00\x05ab")
    with pytest.raises(SpdyError, match="after its last pair"):
        decode_header_block(encode_header_block({"a": ["b"]}) + b"x")
    bomb = HeaderCompressor().compress({"x": ["y" * (MAX_HEADER_BLOCK + 1)]})
    with pytest.raises(SpdyError, match="inflates to more than"):
        HeaderDecompressor().decompress(bomb)


def test_a_partial_frame_waits_for_its_last_bytes() -> None:
    reader = FrameReader()
    wire = FrameWriter().encode(DataFrame(1, b"abcdef"))
    assert reader.feed(wire[:7]) == []
    assert reader.feed(wire[7:-1]) == []
    assert reader.feed(wire[-1:]) == [DataFrame(1, b"abcdef")]
