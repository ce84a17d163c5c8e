"""The drift job kind and the hooks monitoring keeps on other apps' jobs."""

from __future__ import annotations
