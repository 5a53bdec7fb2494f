"""Adapters at the edges: HTTP, Secrets Manager, metrics and SNS."""
