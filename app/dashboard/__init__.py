"""The web dashboard: GitHub sign-in and, per repository, what Deckhand did there.

Server-rendered pages (aiohttp-jinja2, templates in `templates/`), no JavaScript build.
`setup.setup_dashboard` wires the routes and templates into the web application. The
modules: `sessions` (signed cookies), `session_store` and `tokens` (sessions in the
database, tokens encrypted), `github` (the OAuth code exchange and the user's
repositories with their permissions), `access` (which repositories a session may see and
administer, cached briefly), `pages` (rendering and the sign-in guard), `history`
(deployments per environment, success rate, time to recover), `chart` (the latency SVG),
and the handlers: `routes` (sign-in, the repository list), `repository` (a repository
and a deployment) and `queue` (depth, dead letters, retry). Without `GITHUB_CLIENT_ID`
and `GITHUB_CLIENT_SECRET` the dashboard is off: its pages say what to set.
"""
