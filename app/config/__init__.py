"""Typed configuration: process settings from the environment and per-repository `.github/deckhand.yml`."""
