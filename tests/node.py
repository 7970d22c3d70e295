"""Tests use the demo's background node (server.background) for real HTTP on loopback."""

from server.background import BackgroundNode as RunningNode
from server.background import free_port

__all__ = ["RunningNode", "free_port"]
