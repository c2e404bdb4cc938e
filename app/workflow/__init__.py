"""The terminal workflow: `python -m app commit` and `python -m app watch --fix --commit`.

`repo` drives the git CLI on the user's own repository (commits, the default branch,
pushes), `message` turns a staged diff into a commit message without any I/O, `model`
asks an OpenAI-compatible model for one, and `commit` wires them to the engine. Nothing
here executes the repository's code (git hooks included) or touches the user's global
git configuration.
"""
