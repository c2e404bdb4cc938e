"""The tables, as SQLAlchemy Core metadata shared by the code and the migrations.

Times are stored as UNIX epoch seconds (floats): the same type and ordering on SQLite
and Postgres, and cheap to compare in the queue's claim query.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("source", String(32), nullable=False, default="github"),
    Column("event", String(64), nullable=False),
    Column("action", String(64)),
    Column("installation_id", BigInteger),
    Column("repository", String(200)),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("run_after", Float, nullable=False),
    Column("locked_by", String(100)),
    Column("locked_until", Float),
    Column("last_error", Text),
    Column("received_at", Float, nullable=False),
    Column("started_at", Float),
    Column("finished_at", Float),
    Index("ix_deliveries_status_run_after", "status", "run_after"),
)

# The body apart from the status row: a job changes state several times, and rewriting
# a large row each time would cost far more than the small status row does.
delivery_payloads = Table(
    "delivery_payloads",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("payload", LargeBinary, nullable=False),
)

installations = Table(
    "installations",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("account", String(200), nullable=False),
    Column("account_type", String(32)),
    Column("status", String(16), nullable=False),
    Column("updated_at", Float, nullable=False),
)

installation_repositories = Table(
    "installation_repositories",
    metadata,
    Column("installation_id", BigInteger, primary_key=True),
    Column("repository", String(200), primary_key=True),
    Column("repository_id", BigInteger),
    Index("ix_installation_repositories_repository", "repository"),
)

# The review bot's memory. review_heads: the newest commit asked for per pull request or
# branch (an older run that sees a newer head stands down). review_check_runs: what each
# check run reviewed, for its "Apply fixes" button. review_pull_requests: the summary
# comment edited in place. review_reported: findings already commented on, per PR.
review_heads = Table(
    "review_heads",
    metadata,
    Column("repository", String(200), primary_key=True),
    Column("run_key", String(300), primary_key=True),
    Column("head_sha", String(40), nullable=False),
    Column("requested_at", Float, nullable=False),
)

review_check_runs = Table(
    "review_check_runs",
    metadata,
    Column("check_run_id", BigInteger, primary_key=True),
    Column("delivery_id", String(100), nullable=False, index=True),
    Column("repository", String(200), nullable=False),
    Column("head_sha", String(40), nullable=False),
    Column("target", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)

review_pull_requests = Table(
    "review_pull_requests",
    metadata,
    Column("repository", String(200), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("summary_comment_id", BigInteger),
)

review_reported = Table(
    "review_reported",
    metadata,
    Column("repository", String(200), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("fingerprint", String(40), primary_key=True),
)

# One reply comment per command line, edited as the command goes on (a retried job edits
# the same reply instead of posting a second one).
command_replies = Table(
    "command_replies",
    metadata,
    Column("comment_id", BigInteger, primary_key=True),
    Column("line", Integer, primary_key=True),
    Column("reply_id", BigInteger),  # empty: reserved, the post may not have happened
)

# Deployments made from comments (keyed by GitHub's deployment id), the state of each
# environment (the deployment in flight, a sticky lock), and health watches in progress.
deployments = Table(
    "deployments",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("repository", String(200), nullable=False),
    Column("environment", String(100), nullable=False),
    Column("sha", String(40), nullable=False),
    Column("ref", String(300)),
    Column("actor", String(100), nullable=False),
    Column("components", Text, nullable=False, default="[]"),
    Column("rollback_of", BigInteger),
    Column("forced", Integer, nullable=False, default=0),
    Column("status", String(20), nullable=False),
    Column("pull_number", Integer),
    Column("command_key", String(100), unique=True),
    Column("reason", Text),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("ix_deployments_repository_environment", "repository", "environment", "created_at"),
)

environments = Table(
    "environments",
    metadata,
    Column("repository", String(200), primary_key=True),
    Column("environment", String(100), primary_key=True),
    Column("in_flight", BigInteger),
    Column("in_flight_since", Float),
    Column("in_flight_key", String(100)),  # the command that holds the slot, if any
    Column("locked_by", String(100)),
    Column("lock_reason", Text),
    Column("locked_at", Float),
)

health_watches = Table(
    "health_watches",
    metadata,
    Column("deployment_id", BigInteger, primary_key=True),
    Column("repository", String(200), nullable=False),
    Column("environment", String(100), nullable=False),
    Column("installation_id", BigInteger, nullable=False),
    Column("settings", Text, nullable=False),
    Column("tally", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("started_at", Float, nullable=False),
    Column("ends_at", Float, nullable=False),
)

# Production alerts: one row per repository and alert fingerprint (`key`, the hash in the
# issue's hidden marker). `state`: new → creating (claimed until `claimed_until`) → open
# / closed. `count` adds up every occurrence; `base_count` is where the current issue's
# share starts, `shown_count` what its occurrence comment says. alert_batches remembers
# which alert jobs were counted, so a job that runs twice counts once.
alerts = Table(
    "alerts",
    metadata,
    Column("repository", String(200), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("source", String(32), nullable=False),
    Column("fingerprint", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("environment", String(100), nullable=False),
    Column("state", String(16), nullable=False),
    Column("claimed_until", Float),
    Column("issue_number", Integer),
    Column("previous_issue", Integer),
    Column("comment_id", BigInteger),
    Column("count", Integer, nullable=False, default=0),
    Column("base_count", Integer, nullable=False, default=0),
    Column("shown_count", Integer, nullable=False, default=0),
    Column("resolved", Integer, nullable=False, default=0),
    Column("first_seen", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Column("flush_at", Float),
    Column("triaged_issue", Integer),
    Column("latest", Text, nullable=False),
    Column("updated_at", Float, nullable=False),
)

alert_batches = Table(
    "alert_batches",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("counted_at", Float, nullable=False),
)

# What a command sent through the HTTP API (`python -m app deploy ...`) answered, for
# the caller who polls for it.
api_results = Table(
    "api_results",
    metadata,
    Column("job_id", String(100), primary_key=True),
    Column("login", String(100), nullable=False),
    Column("ok", Integer, nullable=False),
    Column("reply", Text, nullable=False),
    Column("finished_at", Float, nullable=False),
)

# Dashboard sign-ins, shared by every web replica: keyed by the sha256 of the session id
# (the cookie holds the id itself), with the person's GitHub token encrypted (Fernet,
# `app.dashboard.tokens`). A row past `expires_at` is refused and pruned.
dashboard_sessions = Table(
    "dashboard_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("login", String(100), nullable=False),
    Column("user_id", BigInteger, nullable=False),
    Column("token", Text, nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
)

# What each review run found and did, once its check run completed (keyed by the check
# run, so a retried job updates its row): findings by severity, and the fix commit it
# pushed with the number of fixes in it (both empty when nothing was pushed).
review_runs = Table(
    "review_runs",
    metadata,
    Column("check_run_id", BigInteger, primary_key=True),
    Column("repository", String(200), nullable=False),
    Column("pull_number", Integer),
    Column("branch", String(300)),
    Column("head_sha", String(40), nullable=False),
    Column("conclusion", String(20), nullable=False),
    Column("errors", Integer, nullable=False, default=0),
    Column("warnings", Integer, nullable=False, default=0),
    Column("notices", Integer, nullable=False, default=0),
    Column("fix_sha", String(40)),
    Column("fixes", Integer),
    Column("finished_at", Float, nullable=False),
    Index("ix_review_runs_repository_finished_at", "repository", "finished_at"),
)

# Every health probe of every watch (keyed by deployment and probe number, so a probe
# job that runs twice writes one row), kept for `PROBE_RETENTION` (app.deploy.store).
# latency_ms is empty when no answer came; `error` is the short reason of a failure.
health_probes = Table(
    "health_probes",
    metadata,
    Column("deployment_id", BigInteger, primary_key=True),
    Column("probe", Integer, primary_key=True),
    Column("repository", String(200), nullable=False),
    Column("environment", String(100), nullable=False),
    Column("probed_at", Float, nullable=False, index=True),
    Column("latency_ms", Float),
    Column("ok", Integer, nullable=False),
    Column("ours", Integer, nullable=False, default=0),
    Column("status_code", Integer),
    Column("error", String(200)),
    Index("ix_health_probes_environment", "repository", "environment", "probed_at"),
)
