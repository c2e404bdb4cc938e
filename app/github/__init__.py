"""Talking to GitHub as an App: JWTs, installation tokens and a careful REST client."""
