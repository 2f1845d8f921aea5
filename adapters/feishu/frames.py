"""The long connection's wire frame (pbbp2.Frame), encoded by hand.

The message is tiny and stable, so a few lines of varint and length-delimited encoding spare the
product a protobuf dependency. Field numbers follow lark_oapi/ws/pb/pbbp2_pb2.py; the first four
fields are `required` in that proto2 schema, so they are always written, even when zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CONTROL = 0
DATA = 1

TYPE_PING = "ping"
TYPE_PONG = "pong"
TYPE_EVENT = "event"
TYPE_CARD = "card"

HEADER_TYPE = "type"
HEADER_MESSAGE_ID = "message_id"
HEADER_SUM = "sum"
HEADER_SEQ = "seq"
HEADER_TRACE_ID = "trace_id"
HEADER_BIZ_RT = "biz_rt"

_VARINT = 0
_FIXED64 = 1
_LENGTH = 2
_FIXED32 = 5
_U64 = (1 << 64) - 1


class FrameError(ValueError):
    """The bytes are not a well-formed frame."""


def _varint(value: int) -> bytes:
    value &= _U64
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= len(data):
            raise FrameError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result & _U64, pos
        shift += 7
        if shift >= 70:
            raise FrameError("varint too long")


def _tag(number: int, wire_type: int) -> bytes:
    return _varint((number << 3) | wire_type)


def _bytes_field(number: int, value: bytes) -> bytes:
    return _tag(number, _LENGTH) + _varint(len(value)) + value


def _int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def _fields(data: bytes) -> list[tuple[int, int, int | bytes]]:
    """Split a message into (field number, wire type, value); unknown fields are kept and ignored."""
    out: list[tuple[int, int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        number, wire_type = key >> 3, key & 0x7
        value: int | bytes
        if wire_type == _VARINT:
            value, pos = _read_varint(data, pos)
        elif wire_type == _LENGTH:
            length, pos = _read_varint(data, pos)
            if pos + length > len(data):
                raise FrameError("truncated field")
            value, pos = data[pos : pos + length], pos + length
        elif wire_type in (_FIXED64, _FIXED32):
            size = 8 if wire_type == _FIXED64 else 4
            if pos + size > len(data):
                raise FrameError("truncated field")
            value, pos = int.from_bytes(data[pos : pos + size], "little"), pos + size
        else:
            raise FrameError(f"unsupported wire type {wire_type}")
        out.append((number, wire_type, value))
    return out


def _text(value: int | bytes) -> str:
    if not isinstance(value, bytes):
        raise FrameError("expected a length-delimited field")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FrameError("invalid UTF-8 in a string field") from exc


def _number(value: int | bytes) -> int:
    if isinstance(value, bytes):
        raise FrameError("expected a varint field")
    return value


@dataclass
class Frame:
    seq_id: int = 0
    log_id: int = 0
    service: int = 0
    method: int = CONTROL
    headers: list[tuple[str, str]] = field(default_factory=list)
    payload_encoding: str | None = None
    payload_type: str | None = None
    payload: bytes | None = None
    log_id_new: str | None = None

    def header(self, key: str) -> str | None:
        for name, value in self.headers:
            if name == key:
                return value
        return None

    def set_header(self, key: str, value: str) -> None:
        self.headers = [(name, v) for name, v in self.headers if name != key]
        self.headers.append((key, value))

    @property
    def type(self) -> str | None:
        return self.header(HEADER_TYPE)

    @property
    def message_id(self) -> str | None:
        return self.header(HEADER_MESSAGE_ID)

    @property
    def trace_id(self) -> str | None:
        return self.header(HEADER_TRACE_ID)

    @property
    def sum(self) -> int:
        return _int_header(self.header(HEADER_SUM), 1)

    @property
    def seq(self) -> int:
        return _int_header(self.header(HEADER_SEQ), 0)

    def encode(self) -> bytes:
        out = bytearray()
        out += _tag(1, _VARINT) + _varint(self.seq_id)
        out += _tag(2, _VARINT) + _varint(self.log_id)
        out += _tag(3, _VARINT) + _varint(self.service)
        out += _tag(4, _VARINT) + _varint(self.method)
        for key, value in self.headers:
            header = _bytes_field(1, key.encode("utf-8")) + _bytes_field(2, value.encode("utf-8"))
            out += _bytes_field(5, header)
        if self.payload_encoding is not None:
            out += _bytes_field(6, self.payload_encoding.encode("utf-8"))
        if self.payload_type is not None:
            out += _bytes_field(7, self.payload_type.encode("utf-8"))
        if self.payload is not None:
            out += _bytes_field(8, self.payload)
        if self.log_id_new is not None:
            out += _bytes_field(9, self.log_id_new.encode("utf-8"))
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Frame:
        frame = cls()
        for number, _wire, value in _fields(data):
            if number == 1:
                frame.seq_id = _number(value)
            elif number == 2:
                frame.log_id = _number(value)
            elif number == 3:
                frame.service = _int32(_number(value))
            elif number == 4:
                frame.method = _int32(_number(value))
            elif number == 5:
                frame.headers.append(_decode_header(value))
            elif number == 6:
                frame.payload_encoding = _text(value)
            elif number == 7:
                frame.payload_type = _text(value)
            elif number == 8:
                if not isinstance(value, bytes):
                    raise FrameError("payload must be length-delimited")
                frame.payload = value
            elif number == 9:
                frame.log_id_new = _text(value)
        return frame


def _decode_header(value: int | bytes) -> tuple[str, str]:
    if not isinstance(value, bytes):
        raise FrameError("header must be length-delimited")
    key = val = ""
    for number, _wire, item in _fields(value):
        if number == 1:
            key = _text(item)
        elif number == 2:
            val = _text(item)
    return key, val


def _int_header(value: str | None, default: int) -> int:
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise FrameError(f"header is not an integer: {value!r}") from exc


def ping_frame(service_id: int) -> Frame:
    return Frame(service=service_id, method=CONTROL, headers=[(HEADER_TYPE, TYPE_PING)])
