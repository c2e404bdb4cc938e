"""Helpers shared by the tests: the Deckhand harness and request signing."""
