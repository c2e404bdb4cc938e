"""The JSON Schema of `.github/deckhand.yml`, generated from the models and shipped beside them.

`python -m app schema` prints it; a test keeps `deckhand.schema.json` in step with the models.
"""

from __future__ import annotations

import json
from pathlib import Path

from app.config.repo import RepoConfig

SCHEMA_FILE = Path(__file__).with_name("deckhand.schema.json")
SCHEMA_ID = "https://github.com/deckhand-bot/deckhand/blob/main/app/config/deckhand.schema.json"


def repo_config_schema() -> dict[str, object]:
    schema = RepoConfig.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def render_schema() -> str:
    return json.dumps(repo_config_schema(), indent=2, sort_keys=True) + "\n"
