"""The review bot end to end: webhook in, check run, review and fix commit out, against
the fake GitHub and a real git server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.review.store import ReviewStore
from app.setup.manifest import PERMISSIONS
from app.web.keys import SERVICE
from tests.fakes.git import GitServer
from tests.fakes.github import FakeGitHub

INSTALLATION = 1001
REPO = "octo-org/widgets"
GOOD = "def main():\n    return 1\n"
BROKEN = "def main()\n    return 1\n"


@pytest.fixture
async def bot(start_deckhand: Any, fake_github: FakeGitHub, git_server: GitServer, app_keys: Any):
    fake_github.add_installation(INSTALLATION, account="octo-org", permissions=PERMISSIONS)
    git_server.create_repo(
        REPO, {"app.py": GOOD, "README.md": "# widgets\n"}, installation_id=INSTALLATION
    )
    return await start_deckhand(
        github_api_url=fake_github.url,
        github_app_id=app_keys.app_id,
        github_private_key=app_keys.private_pem,
        max_attempts=2,
    )


async def deliver(bot: Any, event: str, payload: dict[str, Any]) -> None:
    status, _, delivery_id = await bot.post(event, payload)
    assert status == 202
    delivery = (await bot.wait_finished([delivery_id]))[delivery_id]
    assert delivery.status == "done", delivery.last_error


def open_pr(fake_github: FakeGitHub, git_server: GitServer, files: dict[str, str]) -> int:
    git_server.commit(REPO, "feature", files, message="Add feature")
    return fake_github.open_pull_request(REPO, head="feature", base="main", user="alice")


async def reviewed_pull(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer, files: dict[str, str]
) -> tuple[str, int]:
    """With autofix off, a pull request of one commit (`files`), reviewed; (head, number)."""
    git_server.commit(
        REPO, "main", {".github/deckhand.yml": "review:\n  autofix: false\n"}, message="config"
    )
    head = git_server.commit(REPO, "feature", files, message="one")
    number = fake_github.open_pull_request(REPO, head="feature", base="main", user="alice")
    opened = fake_github.payloads.pull_request_payload(REPO, number, "opened", INSTALLATION)
    await deliver(bot, "pull_request", opened)
    return head, number


async def test_missing_colon_gets_an_annotation_and_a_fix_commit(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer
) -> None:
    head = git_server.commit(REPO, "feature", {"app.py": BROKEN}, message="Break it")
    number = fake_github.open_pull_request(REPO, head="feature", base="main", user="alice")
    await deliver(
        bot,
        "pull_request",
        fake_github.payloads.pull_request_payload(REPO, number, "opened", INSTALLATION),
    )

    [run] = [r for r in fake_github.check_runs.values() if r.head_sha == head]
    assert (run.name, run.status, run.conclusion) == ("Deckhand", "completed", "failure")
    [annotation] = run.annotations
    assert (annotation["path"], annotation["start_line"]) == ("app.py", 1)
    assert annotation["annotation_level"] == "failure"

    fixed = git_server.head(REPO, "feature")
    assert fixed != head
    assert git_server.show(REPO, fixed, "app.py").decode() == GOOD
    [commit] = git_server.log(REPO, fixed, 1)
    assert commit.author_name == f"{fake_github.app.slug}[bot]"
    assert commit.author_email.endswith(f"+{fake_github.app.slug}[bot]@users.noreply.github.com")
    assert "app.py" in commit.message and commit.parents == [head]
    assert "fixed in" in run.output["title"]

    # The bot's own commit comes back as a synchronize: reviewed, never fixed again.
    await deliver(
        bot,
        "pull_request",
        fake_github.payloads.pull_request_payload(
            REPO, number, "synchronize", INSTALLATION, before=head
        ),
    )
    assert git_server.head(REPO, "feature") == fixed
    [clean] = [r for r in fake_github.check_runs.values() if r.head_sha == fixed]
    assert clean.conclusion == "success"
    assert len(git_server.pushes) == 1


async def test_a_check_run_whose_answer_was_lost_is_not_opened_twice(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer
) -> None:
    head = git_server.commit(REPO, "feature", {"app.py": BROKEN}, message="Break it")
    number = fake_github.open_pull_request(REPO, head="feature", base="main", user="alice")
    # GitHub creates the check run but the answer never arrives: the job fails and runs
    # again, as after a worker killed between creating the check run and recording it.
    fake_github.lose_answer_next("POST", "/repos/{owner}/{repo}/check-runs")
    await deliver(
        bot,
        "pull_request",
        fake_github.payloads.pull_request_payload(REPO, number, "opened", INSTALLATION),
    )
    [run] = [r for r in fake_github.check_runs.values() if r.head_sha == head]
    assert (run.status, run.conclusion) == ("completed", "failure")
    assert len(fake_github.requests_for("checks/create")) == 1


async def test_a_review_that_cannot_finish_never_leaves_its_check_in_progress(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer
) -> None:
    head = git_server.commit(REPO, "feature", {"app.py": BROKEN}, message="Break it")
    number = fake_github.open_pull_request(REPO, head="feature", base="main", user="alice")
    # The bot's git identity cannot be read (404: retrying cannot help): the job stops
    # after its check run was opened, before it was completed.
    fake_github.fail_next("GET", "/users/{username}", 404, times=None)
    payload = fake_github.payloads.pull_request_payload(REPO, number, "opened", INSTALLATION)
    status, _, delivery_id = await bot.post("pull_request", payload)
    assert status == 202
    delivery = (await bot.wait_finished([delivery_id]))[delivery_id]
    assert delivery.status == "dead"
    [run] = [r for r in fake_github.check_runs.values() if r.head_sha == head]
    assert (run.status, run.conclusion) == ("completed", "failure")
    assert run.output["title"] == "The review could not finish"
    assert "BadRequest" in run.output["summary"]
    assert git_server.head(REPO, "feature") == head  # nothing pushed


async def test_fork_without_maintainer_edits_gets_suggestions(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer
) -> None:
    fork = git_server.fork(REPO, "alice")
    git_server.commit(fork, "patch", {"app.py": BROKEN}, message="Break it")
    number = fake_github.open_pull_request(
        REPO, head="patch", base="main", user="alice", head_repo=fork
    )
    await deliver(
        bot,
        "pull_request",
        fake_github.payloads.pull_request_payload(REPO, number, "opened", INSTALLATION),
    )

    assert git_server.pushes == []
    pull = fake_github.pull_request(REPO, number)
    assert len(pull.reviews) == 1
    bodies = [c.body for c in pull.review_comments]
    assert any("```suggestion\ndef main():\n```" in body for body in bodies)
    [run] = fake_github.check_runs.values()
    assert "fork" in run.output["summary"]

    # another push, the broken line untouched: its suggestion is not posted again
    head = git_server.head(fork, "patch")
    git_server.commit(fork, "patch", {"README.md": "# widgets!\n"}, message="Docs")
    await deliver(
        bot,
        "pull_request",
        fake_github.payloads.pull_request_payload(
            REPO, number, "synchronize", INSTALLATION, before=head
        ),
    )
    again = [c.body for c in pull.review_comments if "```suggestion" in c.body]
    assert len(again) == len([b for b in bodies if "```suggestion" in b])


async def test_summary_comment_is_edited_and_findings_are_not_repeated(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer
) -> None:
    first, number = await reviewed_pull(
        bot, fake_github, git_server, {"app.py": "import os\n" + GOOD}
    )
    second = git_server.commit(REPO, "feature", {"README.md": "# widgets!\n"}, message="two")
    await deliver(
        bot,
        "pull_request",
        fake_github.payloads.pull_request_payload(
            REPO, number, "synchronize", INSTALLATION, before=first
        ),
    )
    pull = fake_github.pull_request(REPO, number)
    assert len(pull.reviews) == 1  # the unused import was reported once
    summaries = [
        c for c in fake_github.comments_on(REPO, number) if "deckhand:review-summary" in c.body
    ]
    assert len(summaries) == 1
    assert git_server.pushes == []  # autofix off
    runs = {r.head_sha: r for r in fake_github.check_runs.values()}
    assert runs[second].actions and runs[second].actions[0]["identifier"] == "apply-fixes"


async def test_findings_over_the_cap_are_reported_on_the_next_push(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer
) -> None:
    many = "".join(f"print(undefined_{n})\n" for n in range(60))  # 60 findings, no fix
    first, number = await reviewed_pull(bot, fake_github, git_server, {"app.py": many})
    git_server.commit(REPO, "feature", {"README.md": "# widgets!\n"}, message="two")
    synchronized = fake_github.payloads.pull_request_payload(
        REPO, number, "synchronize", INSTALLATION, before=first
    )
    await deliver(bot, "pull_request", synchronized)
    pull = fake_github.pull_request(REPO, number)
    per_review = [
        sum(1 for c in pull.review_comments if c.review is review) for review in pull.reviews
    ]
    assert per_review == [50, 10]  # the ten that did not fit, once each
    assert len({c.line for c in pull.review_comments}) == 60


async def test_a_summary_whose_id_was_lost_is_found_by_its_marker(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer
) -> None:
    first, number = await reviewed_pull(
        bot, fake_github, git_server, {"app.py": "import os\n" + GOOD}
    )
    # as if the run had died between posting the summary and recording its id
    await ReviewStore(bot.app[SERVICE].db).forget_summary_comment(REPO, number)
    git_server.commit(REPO, "feature", {"README.md": "# widgets!\n"}, message="two")
    synchronized = fake_github.payloads.pull_request_payload(
        REPO, number, "synchronize", INSTALLATION, before=first
    )
    await deliver(bot, "pull_request", synchronized)
    summaries = [
        c for c in fake_github.comments_on(REPO, number) if "deckhand:review-summary" in c.body
    ]
    assert len(summaries) == 1


async def test_skip_marker_means_no_run(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer
) -> None:
    git_server.commit(REPO, "feature", {"app.py": BROKEN}, message="WIP [skip ci]")
    number = fake_github.open_pull_request(REPO, head="feature", base="main", user="alice")
    await deliver(
        bot,
        "pull_request",
        fake_github.payloads.pull_request_payload(REPO, number, "opened", INSTALLATION),
    )
    assert fake_github.check_runs == {} and git_server.pushes == []


async def test_the_apply_fixes_button_commits_the_fixes(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer
) -> None:
    git_server.commit(
        REPO, "main", {".github/deckhand.yml": "review:\n  autofix: false\n"}, message="config"
    )
    head = git_server.commit(REPO, "feature", {"app.py": BROKEN}, message="Break it")
    number = fake_github.open_pull_request(REPO, head="feature", base="main", user="alice")
    await deliver(
        bot,
        "pull_request",
        fake_github.payloads.pull_request_payload(REPO, number, "opened", INSTALLATION),
    )
    assert git_server.pushes == []
    [run] = fake_github.check_runs.values()
    assert "autofix is off" in run.output["summary"]

    payload = fake_github.payloads.check_run_payload(
        run.id, "requested_action", INSTALLATION, "apply-fixes"
    )
    await deliver(bot, "check_run", payload)
    [push] = git_server.pushes
    assert push.old == head and push.ref == "refs/heads/feature"
    assert git_server.show(REPO, push.new, "app.py").decode() == GOOD


async def test_a_superseded_run_does_not_push(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer
) -> None:
    first = git_server.commit(REPO, "feature", {"app.py": BROKEN}, message="Break it")
    number = fake_github.open_pull_request(REPO, head="feature", base="main", user="alice")
    older = fake_github.payloads.pull_request_payload(REPO, number, "opened", INSTALLATION)
    # The older run stalls on its check run while a newer commit arrives and is reviewed.
    fake_github.delay_next("POST", "/repos/{owner}/{repo}/check-runs", 1.5)
    _, _, older_id = await bot.post("pull_request", older)
    await asyncio.sleep(0.3)
    second = git_server.commit(REPO, "feature", {"util.py": "def f()\n    pass\n"}, message="More")
    newer = fake_github.payloads.pull_request_payload(
        REPO, number, "synchronize", INSTALLATION, before=first
    )
    _, _, newer_id = await bot.post("pull_request", newer)
    finished = await bot.wait_finished([older_id, newer_id])
    assert {d.status for d in finished.values()} == {"done"}

    [push] = git_server.pushes  # only the newer run's fix
    assert push.old == second
    # The older run stands down: cancelled, or (when the machine is slow to start it)
    # never opened at all because the newer head was already claimed.
    older_runs = [r for r in fake_github.check_runs.values() if r.head_sha == first]
    assert all(r.conclusion == "cancelled" for r in older_runs)
    assert all("Superseded" in r.output["title"] for r in older_runs)


async def test_a_branch_push_is_reviewed_and_fixed(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer
) -> None:
    main = git_server.head(REPO, "main")
    head = git_server.commit(REPO, "topic", {"app.py": BROKEN, "notes.txt": "hi\n"}, message="wip")
    payload = fake_github.payloads.push_payload(REPO, "topic", None, head, INSTALLATION)
    await deliver(bot, "push", payload)
    [run] = fake_github.check_runs.values()
    assert run.head_sha == head and run.conclusion == "failure"
    [push] = git_server.pushes
    assert push.old == head and git_server.show(REPO, push.new, "app.py").decode() == GOOD
    assert main == git_server.head(REPO, "main")


async def test_a_push_to_the_default_branch_is_reviewed_but_fixed_only_on_request(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer
) -> None:
    before = git_server.head(REPO, "main")
    head = git_server.commit(REPO, "main", {"app.py": BROKEN}, message="Merge a pull request")
    await deliver(
        bot, "push", fake_github.payloads.push_payload(REPO, "main", before, head, INSTALLATION)
    )
    [run] = [r for r in fake_github.check_runs.values() if r.head_sha == head]
    assert run.conclusion == "failure"
    assert "fixed only on request" in run.output["summary"]
    assert git_server.pushes == [] and git_server.head(REPO, "main") == head


async def test_a_push_to_a_pull_requests_branch_is_left_to_the_pr_run(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer
) -> None:
    first = git_server.commit(REPO, "feature", {"app.py": GOOD + "\n"}, message="one")
    fake_github.open_pull_request(REPO, head="feature", base="main", user="alice")
    second = git_server.commit(REPO, "feature", {"app.py": BROKEN}, message="two")
    await deliver(
        bot, "push", fake_github.payloads.push_payload(REPO, "feature", first, second, INSTALLATION)
    )
    assert fake_github.check_runs == {} and git_server.pushes == []


async def test_a_rerequested_suite_runs_again(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer
) -> None:
    head = git_server.commit(REPO, "feature", {"app.py": "import os\n" + GOOD}, message="one")
    number = fake_github.open_pull_request(REPO, head="feature", base="main", user="alice")
    await deliver(
        bot,
        "pull_request",
        fake_github.payloads.pull_request_payload(REPO, number, "opened", INSTALLATION),
    )
    fixed = git_server.head(REPO, "feature")
    assert fixed != head
    payload = fake_github.payloads.check_suite_payload(REPO, fixed, "rerequested", INSTALLATION)
    await deliver(bot, "check_suite", payload)
    runs = [r for r in fake_github.check_runs.values() if r.head_sha == fixed]
    assert [r.conclusion for r in runs] == ["success"]
    assert len(git_server.pushes) == 1


async def test_a_fork_that_allows_maintainer_edits_gets_the_fix_commit(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer
) -> None:
    fork = git_server.fork(REPO, "alice")
    head = git_server.commit(fork, "patch", {"app.py": BROKEN}, message="Break it")
    number = fake_github.open_pull_request(
        REPO, head="patch", base="main", user="alice", head_repo=fork, maintainer_can_modify=True
    )
    payload = fake_github.payloads.pull_request_payload(REPO, number, "opened", INSTALLATION)
    await deliver(bot, "pull_request", payload)
    [push] = git_server.pushes
    assert (push.repo.lower(), push.old) == (fork.lower(), head)
    assert git_server.show(fork, push.new, "app.py").decode() == GOOD
    assert git_server.head(REPO, "main") != push.new


async def test_a_rerequested_check_run_reviews_its_commit_again(
    bot: Any, fake_github: FakeGitHub, git_server: GitServer
) -> None:
    git_server.commit(
        REPO,
        "main",
        {".github/deckhand.yml": "review:\n  autofix: false\n  max_annotations: 1\n"},
        message="config",
    )
    head = git_server.commit(
        REPO, "feature", {"app.py": "import os\nimport sys\n" + GOOD}, message="one"
    )
    number = fake_github.open_pull_request(REPO, head="feature", base="main", user="alice")
    await deliver(
        bot,
        "pull_request",
        fake_github.payloads.pull_request_payload(REPO, number, "opened", INSTALLATION),
    )
    [first] = fake_github.check_runs.values()
    assert len(first.annotations) == 1  # review.max_annotations
    await deliver(
        bot,
        "check_run",
        fake_github.payloads.check_run_payload(first.id, "rerequested", INSTALLATION),
    )
    runs = [r for r in fake_github.check_runs.values() if r.head_sha == head]
    assert len(runs) == 2 and all(r.status == "completed" for r in runs)
    assert git_server.pushes == []
