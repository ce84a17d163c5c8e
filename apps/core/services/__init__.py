"""Writes. Every function here is keyword-only, named <entity>_<action>, and audits its change."""
