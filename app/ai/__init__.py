"""Optional AI review: an OpenAI-compatible model reviews a pull request's diff.

The review is on only when an API key is configured (`OPENAI_API_KEY`) and the
repository turns on `review.ai`. It adds findings (source `"ai"`, rule `ai/review`) next
to the heuristic ones and never blocks them: every model problem (timeout, HTTP error,
malformed answer, exhausted budget) becomes a `skipped_reason`, never an exception.
See `app.ai.review`.
"""

from app.ai.review import (
    AIReviewResult,
    AIReviewSettings,
    AIUsage,
    FileDiff,
    ai_review,
)

__all__ = ["AIReviewResult", "AIReviewSettings", "AIUsage", "FileDiff", "ai_review"]
