"""A port another program takes between the kit's choice and the service's bind (many kits starting at once on one
machine, a workshop room): the service is never mistaken for the other program, and a port the kit chose itself is
chosen again. The other program here answers every path with 200, as another learner's kit would."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from helpers import lab, processes
from helpers.lab import session


class AnswersEverything(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"state": "Running", "data": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def taken_port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), AnswersEverything)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_a_service_on_a_taken_port_is_not_mistaken_for_the_program_that_took_it(taken_port: int) -> None:
    with pytest.raises(processes.PortInUse, match="offline_model exited"):
        processes.start_offline_model(port=taken_port)


def test_a_port_the_kit_chose_is_chosen_again_when_it_was_taken(taken_port: int, monkeypatch) -> None:
    ports = iter([taken_port])
    monkeypatch.setattr(processes, "free_port", lambda real=processes.free_port: next(ports, None) or real())
    with processes.start_offline_model() as model:
        assert model.port != taken_port and model.running


def test_lab_start_starts_over_on_other_ports_when_one_was_taken(taken_port: int, monkeypatch) -> None:
    choices = iter([[taken_port]])  # the first port the kit asks for (the model's) is taken

    def distinct_free_ports(count: int, real=session._distinct_free_ports) -> list[int]:
        return [*next(choices, []), *real(count)][:count]

    monkeypatch.setattr(session, "_distinct_free_ports", distinct_free_ports)
    kit = lab.start()
    try:
        urls = (kit.base_url, kit.gateway_url, kit.model_url or "")
        assert not any(url.endswith(f":{taken_port}") for url in urls), urls
        kit.check_model()  # the model answers through the gateway: the kit's own, not the program on the port
    finally:
        kit.stop()
