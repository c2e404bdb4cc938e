"""Typed configuration: process settings and per-repository `.github/deckhand.yml`."""
