"""Production alerts (Sentry, Alertmanager, Grafana, generic) as GitHub issues.

`sources` verifies and normalises what the senders post; `store` counts occurrences per
fingerprint; `tracker` keeps one issue per fingerprint up to date on GitHub, with the
texts from `issues`, the suspect deployment from `suspect` and the AI note from `triage`.
"""
