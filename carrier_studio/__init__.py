"""Carrier Studio: build, test and run AI agents (characters) on your own machine."""

__version__ = "0.1.0"
