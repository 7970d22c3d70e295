"""server.background: a node that cannot start says so at once, instead of hanging its caller."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from server.background import BackgroundNode, NodeDidNotStart


def test_a_node_whose_port_is_taken_raises_instead_of_waiting_for_ever(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        node = BackgroundNode(tmp_path / "node", port=port)
        with pytest.raises(NodeDidNotStart, match=str(port)), node:  # uvicorn cannot bind: its thread ends
            pytest.fail("the block must not run")
        assert not node.thread.is_alive()


def test_a_node_that_never_listens_is_given_up_after_its_deadline(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    node = BackgroundNode(tmp_path / "node")
    monkeypatch.setattr(node.thread, "start", lambda: None)  # alive never, started never
    monkeypatch.setattr(node.thread, "is_alive", lambda: True)
    monkeypatch.setattr(node.thread, "join", lambda timeout=None: None)
    node.STARTUP_S = 0.1
    with pytest.raises(NodeDidNotStart), node:
        pytest.fail("the block must not run")
