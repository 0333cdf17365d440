"""Byte sources (local path, HTTP, browser File) and the cache/counter wrapper."""
