"""The validation engine: pure functions from file contents and config to findings and fixes.

It imports nothing from GitHub, HTTP or the database, so the CLI, the bot and the
benchmarks share it unchanged. It never imports or runs the code it checks.
"""
