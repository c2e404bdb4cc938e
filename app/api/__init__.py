"""The deploy commands over HTTP, for the terminal: who is asking, and the answers kept."""

API_EVENT = "deckhand_api_command"  # the queue job of one command sent through the API
