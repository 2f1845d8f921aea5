from __future__ import annotations

import pytest
from lark_oapi.ws.pb.pbbp2_pb2 import Frame as PbFrame

from adapters.feishu.frames import CONTROL, DATA, TYPE_PING, Frame, FrameError, ping_frame


def _sample() -> Frame:
    return Frame(
        seq_id=2**40 + 5, log_id=123456789, service=-3, method=DATA,
        headers=[("type", "event"), ("message_id", "m-1"), ("sum", "2"), ("seq", "1"), ("trace_id", "追踪")],
        payload_encoding="", payload_type="json", payload='{"k": "值"}'.encode(), log_id_new="L-1",
    )


def test_round_trip() -> None:
    frame = _sample()
    assert Frame.decode(frame.encode()) == frame
    assert (frame.type, frame.message_id, frame.sum, frame.seq, frame.trace_id) == ("event", "m-1", 2, 1, "追踪")


def test_our_bytes_parse_with_the_sdk() -> None:
    frame = _sample()
    pb = PbFrame()
    pb.ParseFromString(frame.encode())
    assert (pb.SeqID, pb.LogID, pb.service, pb.method) == (frame.seq_id, frame.log_id, -3, DATA)
    assert [(h.key, h.value) for h in pb.headers] == frame.headers
    assert pb.payload == frame.payload
    assert (pb.payload_type, pb.LogIDNew) == ("json", "L-1")


def test_sdk_bytes_decode_to_the_same_frame() -> None:
    pb = PbFrame()
    pb.SeqID, pb.LogID, pb.service, pb.method = 9, 8, 7, CONTROL
    header = pb.headers.add()
    header.key, header.value = "type", "pong"
    pb.payload = b'{"PingInterval": 90}'
    frame = Frame.decode(pb.SerializeToString())
    assert frame == Frame(seq_id=9, log_id=8, service=7, method=CONTROL, headers=[("type", "pong")],
                          payload=b'{"PingInterval": 90}')
    assert frame.encode() == pb.SerializeToString()


def test_ping_frame_matches_the_sdk_ping() -> None:
    pb = PbFrame()
    pb.SeqID, pb.LogID, pb.service, pb.method = 0, 0, 42, CONTROL
    header = pb.headers.add()
    header.key, header.value = "type", TYPE_PING
    assert ping_frame(42).encode() == pb.SerializeToString()


def test_required_fields_are_written_even_when_zero() -> None:
    pb = PbFrame()
    pb.ParseFromString(Frame().encode())
    assert pb.IsInitialized()


def test_set_header_replaces() -> None:
    frame = Frame(headers=[("biz_rt", "1"), ("type", "event")])
    frame.set_header("biz_rt", "12")
    assert frame.headers == [("type", "event"), ("biz_rt", "12")]


@pytest.mark.parametrize("data", [b"\x08", b"\x42\x05ab", b"\x0f", b"\x08" + b"\xff" * 11])
def test_malformed_bytes_raise_frame_error(data: bytes) -> None:
    with pytest.raises(FrameError):
        Frame.decode(data)
