"""Git over smart HTTP for the bot: a per-repository blobless cache, commits without a work tree."""
