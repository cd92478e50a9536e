"""A stand-in for a socket's asyncio transport, to drive a uvicorn protocol without one."""

import asyncio


class FakeTransport(asyncio.Transport):
    """Just enough of a socket's transport for a protocol to serve requests over:
    what is written is kept in ``written``."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True

    def get_write_buffer_size(self) -> int:
        return 0

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.protocol = protocol  # an upgrade to WebSocket hands the connection over

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass
