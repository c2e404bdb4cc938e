"""End-to-end tests in headless Chromium: the dashboard and the App manifest flow, driven
by Playwright against a real Deckhand and the fake GitHub on loopback."""
