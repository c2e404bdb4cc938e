"""First-run setup: registering Deckhand as a GitHub App with GitHub's manifest flow.

`manifest` says what the App asks GitHub for (the single source of truth for its
permissions and events), `states` keeps the one-time `state` values of the flow,
`exchange` trades GitHub's temporary code for the App's credentials, and `envfile`
stores them. Nothing here reads `os.environ`; the web pages live in `app.web.home` and
`app.web.setup`.
"""
