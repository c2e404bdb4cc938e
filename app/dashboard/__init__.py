"""The web dashboard: GitHub sign-in and, per repository, what Deckhand did there.

Server-rendered pages (aiohttp-jinja2, templates in `templates/`), no JavaScript build.
`setup.setup_dashboard` wires the routes and templates into the web application. The
modules: `sessions` (signed cookies), `github` (the OAuth code exchange and the user's
repositories), `access` (which repositories a session may see, cached briefly), `history`
(a repository's deployments per environment) and `routes` (the handlers). Without
`GITHUB_CLIENT_ID` and `GITHUB_CLIENT_SECRET` the dashboard is off: its pages say what to
set.
"""
