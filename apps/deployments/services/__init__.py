"""Writes of the deployments control plane: deployments, revisions, serving tokens."""
