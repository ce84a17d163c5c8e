"""Writes of the registry: cards, policies, promotion requests and reviews. Each audits itself
in its transaction."""
