"""The sandbox Pleo Export API: a real HTTP server with seeded sample jobs."""

from .server import SandboxServer, SandboxState

__all__ = ["SandboxServer", "SandboxState"]
