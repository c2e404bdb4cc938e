"""The review bot: what a run looks at, the rules it keeps, what it reports and fixes."""
