"""Artifacts people look at, made from a :class:`backend.results.Result`: CSV timeline and timeline graph."""
