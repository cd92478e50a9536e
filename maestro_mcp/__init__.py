"""Maestro: a coordination server for AI coding agents and the humans who watch them."""

__version__ = "0.1.0"
