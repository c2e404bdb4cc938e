"""Test doubles that speak real HTTP: a fake GitHub REST API checked against GitHub's spec.

``fakes.github.FakeGitHub`` is the server; ``fakes.openapi`` holds the vendored OpenAPI
subset, the script that produces it and the request/response validator.
"""
