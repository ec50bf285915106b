import socket

import pytest

from polytrace.errors import PolytraceError
from polytrace.ports import port_is_free, require_free


def test_taken_port_error_names_the_option_and_the_variable():
    with pytest.raises(PolytraceError) as error:
        require_free({"pricing": 8081, "stock": 8082}, is_free=lambda port: port != 8081)
    message = str(error.value)
    assert "port 8081 for pricing is already in use" in message
    assert "--port pricing=PORT" in message
    assert "POLYTRACE_PRICING_PORT=PORT" in message


def test_all_free_is_quiet():
    require_free({"pricing": 8081}, is_free=lambda port: True)


def test_port_is_free_sees_a_real_listener():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        assert not port_is_free(listener.getsockname()[1])
