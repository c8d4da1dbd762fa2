"""Shared test support: the checkout's root, the plain oracles and the fixture builders."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
