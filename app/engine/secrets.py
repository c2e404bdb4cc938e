"""Secrets scanner: find credentials committed in any text file (code, YAML, .env, JSON, docs).

`scan_secrets(path, text)` reports known token formats (AWS, GitHub, Slack, Stripe, OpenAI,
Anthropic, Google, private key blocks, JWTs) as errors (Stripe test keys as warnings), and
high-entropy literals assigned to secret-looking names as warnings.

What it must not do: it is pure and part of the engine, so it imports nothing from GitHub,
HTTP or the database, never executes or imports the code it checks, and never puts a whole
secret in a message (only the first 4 characters, an ellipsis and the length). It runs on
every changed file of every push, so it is one pass per line with precompiled regexes.

A line containing `deckhand: allow-secret` (in any comment syntax) is not reported.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import math
import re
from collections import Counter
from dataclasses import dataclass

from app.engine.findings import Finding, Severity

__all__ = ["scan_secrets"]

ALLOW_MARKER = "deckhand: allow-secret"

# Lines longer than this are (minified or generated data): known formats are still
# searched, the generic entropy check is skipped.
_MAX_ENTROPY_LINE = 20_000
_MIN_GENERIC_LENGTH = 16
_MAX_GENERIC_LENGTH = 1_000

_ADVICE = "revoke it and load it from the environment or a secret store"

# --- known token formats ---------------------------------------------------------------

# One combined regex: each alternative is a named group; `_KNOWN` maps it to its rule.
# Boundaries keep tokens from matching inside longer words.
_B = r"(?<![A-Za-z0-9_])"  # no word character before
_E = r"(?![A-Za-z0-9_])"  # no word character after
_KNOWN_RE = re.compile(
    "|".join(
        [
            r"(?P<aws_key_id>(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9]))",
            rf"(?P<github_pat>{_B}github_pat_[A-Za-z0-9]{{20,}}_[A-Za-z0-9]{{40,}}{_E})",
            rf"(?P<github>{_B}gh[pousr]_[A-Za-z0-9]{{36,251}}{_E})",
            r"(?P<slack_webhook>https://hooks\.slack\.com/(?:services|workflows|triggers)/"
            r"T[A-Za-z0-9_]+/[A-Za-z0-9_]+/[A-Za-z0-9_]{8,})",
            r"(?P<slack>(?<![A-Za-z0-9_-])xox[abposre]-[0-9A-Za-z]+(?:-[0-9A-Za-z]+)+"
            r"(?![A-Za-z0-9_-]))",
            rf"(?P<stripe_live>{_B}(?:sk|rk)_live_[A-Za-z0-9]{{16,}}{_E})",
            rf"(?P<stripe_test>{_B}(?:sk|rk)_test_[A-Za-z0-9]{{16,}}{_E})",
            r"(?P<anthropic>(?<![A-Za-z0-9_-])sk-ant-[a-z]+\d*-[A-Za-z0-9_-]{40,}"
            r"(?![A-Za-z0-9_-]))",
            r"(?P<openai>(?<![A-Za-z0-9_-])sk-(?!ant-)(?:proj-|svcacct-|admin-)?"
            r"[A-Za-z0-9_-]{20,}(?![A-Za-z0-9_-]))",
            r"(?P<google>(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-]))",
            r"(?P<jwt>(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{12,}\.[A-Za-z0-9_-]{8,}"
            r"\.[A-Za-z0-9_-]{16,}(?![A-Za-z0-9_-]))",
        ]
    )
)
# Cheap test: a line with none of these substrings cannot match `_KNOWN_RE`.
_KNOWN_HINT_RE = re.compile(
    r"AKIA|ASIA|gh[pousr]_|github_pat_|hooks\.slack|xox|_live_|_test_|sk-|AIza|eyJ"
)


@dataclass(frozen=True)
class _Kind:
    rule: str
    label: str
    severity: Severity
    prefix_len: int  # characters of fixed prefix, excluded from placeholder checks


_KNOWN: dict[str, _Kind] = {
    "aws_key_id": _Kind("secrets/aws-access-key-id", "AWS access key ID", Severity.ERROR, 4),
    "github_pat": _Kind(
        "secrets/github-fine-grained-token",
        "GitHub fine-grained token",
        Severity.ERROR,
        11,
    ),
    "github": _Kind("secrets/github-token", "GitHub token", Severity.ERROR, 4),
    "slack_webhook": _Kind("secrets/slack-webhook", "Slack webhook URL", Severity.ERROR, 0),
    "slack": _Kind("secrets/slack-token", "Slack token", Severity.ERROR, 5),
    "stripe_live": _Kind("secrets/stripe-live-key", "Stripe live key", Severity.ERROR, 8),
    "stripe_test": _Kind("secrets/stripe-test-key", "Stripe test key", Severity.WARNING, 8),
    "anthropic": _Kind("secrets/anthropic-key", "Anthropic API key", Severity.ERROR, 7),
    "openai": _Kind("secrets/openai-key", "OpenAI API key", Severity.ERROR, 3),
    "google": _Kind("secrets/google-api-key", "Google API key", Severity.ERROR, 4),
    "jwt": _Kind("secrets/jwt", "JSON Web Token", Severity.ERROR, 0),
}
_AWS_SECRET = _Kind("secrets/aws-secret-access-key", "AWS secret access key", Severity.ERROR, 0)
_PRIVATE_KEY = _Kind("secrets/private-key", "private key block", Severity.ERROR, 0)
_GENERIC_RULE = "secrets/high-entropy"

# SHA-256 of tokens printed in vendors' documentation and API descriptions (GitHub's
# OpenAPI examples; jwt.io's sample token, signed with "your-256-bit-secret"), kept as
# hashes so this file holds no token-shaped literal.
_DOCUMENTED_EXAMPLES = frozenset(
    {
        "7f75367e7881255134e1375e723d1dea8ad5f6a4fdb79d938df1f1754a830606",
        "3543c50b0cb9cea8e55eb1f529b79f043cb250d485fde7b66cabbb5183add7da",
        "bc3ae723f57c6b9e3fd80b699fcc420f6074b0b1718039669d22631d508ac0a7",
        "82e74299544e00738f9c0acb69b1eb348b3e20ffcfabcb34779bd37590fead6c",
        "797c0ce414586cc8eb6929afe947c720e3e4d351dd070a6fe39f630beaab3054",
    }
)
_MIN_JWT_SIGNATURE = 32  # base64url characters; HS256 already gives 43


def _words_re(*words: str) -> re.Pattern[str]:
    """Any of `words` written in one case (lower, UPPER or Title): a person's placeholder,
    not the mixed-case run that random characters spell now and then."""
    forms = {form for word in words for form in (word, word.upper())}
    forms |= {word.capitalize() for word in words if len(set(word)) > 1}
    return re.compile("|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True)))


# Placeholder words inside a token body: a documented example or a template, not a leak.
_TOKEN_PLACEHOLDER_RE = _words_re(
    *"example dummy placeholder redacted sample your fake xxxx changeme insert replace".split()
)

# --- private key blocks ------------------------------------------------------------------

_PEM_BEGIN_RE = re.compile(r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY(?: BLOCK)?-----")
_PEM_END_RE = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_BASE64_RUN_RE = re.compile(r"[A-Za-z0-9+/=]{16,}")
_MIN_KEY_BODY = 64  # base64 characters between BEGIN and END for a real key
_MAX_KEY_LINES = 400

# --- generic: secret-looking names assigned high-entropy literals --------------------------

_ASSIGN_RE = re.compile(
    r"""
    (?<![\w.$-])
    (?P<name>[A-Za-z_][\w.-]{0,100}?)
    ["'`]?\]?                                   # closing quote of a JSON/dict key
    (?:\s*:\s*[A-Za-z_][\w\[\], .|]{0,60}?(?=\s*=))?   # a Python type annotation
    \s*(?P<op>:=|=>|=(?![=>~])|:(?![:=/]))\s*
    (?P<value>
        (?P<prefix>[rRbBuUfF]{0,2})(?P<quote>["'`])(?P<qtext>(?:[^"'`\\]|\\.)*?)(?P=quote)
      | (?P<bare>(?:(?:Bearer|Basic|Token|token)\s+)?(?:[^\s'"`,;#)}\]]|(?<=\S)\#)+)
    )
    """,
    re.VERBOSE,
)
# Cheap test before `_ASSIGN_RE`: the line mentions something secret-like.
_NAME_HINT_RE = re.compile(r"pass|pwd|secret|token|key|auth|credential", re.IGNORECASE)
_WORD_SPLIT_RE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "secret",
        "secrets",
        "token",
        "auth",
        "authorization",
        "credential",
        "credentials",
        "apikey",
        "accesskey",
        "privatekey",
        "secretkey",
        "clientsecret",
        "authkey",
        "authtoken",
    }
)
_SECRET_SUBSTRINGS = ("password", "passwd", "secret", "token", "apikey", "privatekey")
_SECRET_PAIRS = frozenset(
    {("api", "key"), ("access", "key"), ("private", "key"), ("secret", "key"), ("auth", "key")}
)
# A name ending in one of these holds something about a secret, not the secret.
_NON_SECRET_LAST = frozenset(
    {
        "url",
        "uri",
        "urls",
        "endpoint",
        "host",
        "path",
        "file",
        "filename",
        "dir",
        "directory",
        "name",
        "names",
        "type",
        "types",
        "id",
        "ids",
        "count",
        "len",
        "length",
        "size",
        "env",
        "var",
        "variable",
        "header",
        "field",
        "prefix",
        "suffix",
        "kind",
        "mode",
        "method",
        "policy",
        "provider",
        "ttl",
        "expiry",
        "expires",
        "expiration",
        "timeout",
        "label",
        "format",
        "regex",
        "pattern",
        "class",
        "version",
        "ref",
        "arn",
        "location",
        "param",
        "parameter",
        "user",
        "username",
        "email",
        "scope",
        "scopes",
        "limit",
        "enabled",
        "required",
        "hash",
        "algorithm",
        "alg",
    }
)
# Files where an unquoted right-hand side is code (a variable, a call), not a literal.
_CODE_SUFFIXES = (
    ".py",
    ".pyi",
    ".js",
    ".mjs",
    ".cjs",
    ".jsx",
    ".ts",
    ".tsx",
    ".go",
    ".java",
    ".kt",
    ".kts",
    ".scala",
    ".rb",
    ".rs",
    ".c",
    ".h",
    ".cc",
    ".cpp",
    ".hpp",
    ".cs",
    ".php",
    ".swift",
    ".dart",
    ".lua",
    ".groovy",
    ".gradle",
    ".vue",
    ".svelte",
)
_PLACEHOLDER_RE = _words_re(
    *"changeme ChangeMe change_me change-me example dummy fake test sample placeholder".split(),
    *"redacted NotReal".split(),
    *"your xxxx *** todo fixme replace insert password mock notreal not_real not-real".split(),
    *"abcdef 123456 012345 qwerty lorem".split(),
)
_TEMPLATE_RE = re.compile(r"\$\{|\{\{|\}\}|\$\(|%\(|%\{|%s(?![A-Za-z0-9])|\{\d*\}|<[^>]*>")
# A whole value that names something else: $VAR, %VAR%, @ref or @Vault(...), a YAML
# anchor or alias (&name, *name). A generated password may start with these characters.
_REFERENCE_RE = re.compile(
    r"\$\{?[A-Za-z_]\w*\}?|%[A-Za-z_]\w*%|@[A-Za-z_][\w.:-]*(?:\(.*\))?|[&*][A-Za-z_][\w-]*"
)
_UUID_RE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_HEX_RE = re.compile(r"[0-9a-fA-F]+")
_BASE64ISH_RE = re.compile(r"[A-Za-z0-9+/=_\-.~!@#$%^&*?()]+")
_IDENTIFIER_RE = re.compile(
    r"[A-Za-z_][A-Za-z_]*(?:\.[A-Za-z_]\w*)*|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+"
)
_SNAKE_OR_CONST_RE = re.compile(r"[a-z][a-z0-9]*(?:[_.-][a-z0-9]+)+|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
_PATH_RE = re.compile(
    r"(?:^(?:/(?![^+=]*[+=])|\./|\.\./|~/|[A-Za-z]:\\|\\\\))|(?:/[\w.-]*\.[A-Za-z0-9]{1,5}$)"
)
_AUTH_SCHEME_RE = re.compile(r"(?:Bearer|Basic|Token|token)\s+")

# Shannon entropy a value must reach, by length, interpolated between these points. They
# sit near the 1st percentile of random strings of that length (base62, resp. hex), so
# real keys pass and words, identifiers and slugs mostly do not.
_BASE64_THRESHOLDS = ((16, 3.3), (20, 3.6), (24, 3.8), (32, 4.1), (40, 4.3), (64, 4.5))
_HEX_THRESHOLDS = ((16, 2.7), (20, 2.9), (24, 3.0), (32, 3.2), (40, 3.3), (64, 3.5))
# Letters-only values count as random (not a name) below both of these.
_MAX_RANDOM_CHUNK = 3.2  # mean letters per case chunk ("gPJzcFYC": g, P, Jzc, FYC)
_MAX_VOWELS = 0.35  # share of vowels (random letters: 10 of 52; English words: about 0.4)


# --- public API ---------------------------------------------------------------------------


def scan_secrets(path: str, text: str) -> list[Finding]:
    """Return one finding per secret found in `text` (the contents of the file at `path`).

    Findings are sorted by position; their range covers the secret value exactly and their
    message shows only its first 4 characters and its length.
    """
    if not text:
        return []
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.endswith("\r"):
            lines[i] = line[:-1]
    unquoted_literals = not path.lower().endswith(_CODE_SUFFIXES)

    findings: list[Finding] = []
    covered: set[int] = set()  # line indexes inside a reported private key block
    if "PRIVATE KEY" in text:
        findings.extend(_scan_private_keys(path, lines, covered))

    for index, line in enumerate(lines):
        if index in covered or ALLOW_MARKER in line:
            continue
        spans: list[tuple[int, int]] = []
        if _KNOWN_HINT_RE.search(line):
            for match in _KNOWN_RE.finditer(line):
                group = match.lastgroup
                if group is None:
                    continue
                value = match.group(group)
                kind = _KNOWN[group]
                if not _plausible_token(group, value, kind):
                    continue
                spans.append((match.start(), match.end()))
                findings.append(_finding(path, index, match.start(), value, kind))
        if len(line) <= _MAX_ENTROPY_LINE and _NAME_HINT_RE.search(line):
            findings.extend(_scan_assignments(path, index, line, spans, unquoted_literals))

    findings.sort(key=lambda f: (f.line, f.column, f.rule))
    return findings


# --- helpers ------------------------------------------------------------------------------


def _redact(value: str) -> str:
    return f"{value[:4]}… ({len(value)} characters)"


def _finding(
    path: str,
    index: int,
    start: int,
    value: str,
    kind: _Kind,
    extra: str = "",
) -> Finding:
    advice = _ADVICE if kind.severity is Severity.ERROR else "move it out of the code"
    return Finding(
        path=path,
        line=index + 1,
        column=start + 1,
        rule=kind.rule,
        severity=kind.severity,
        message=f"{kind.label}{extra} {_redact(value)}: {advice}",
        end_line=index + 1,
        end_column=start + len(value) + 1,
    )


def _plausible_token(group: str, value: str, kind: _Kind) -> bool:
    """Known-format match that is not a documented example or an obvious placeholder."""
    body = value[kind.prefix_len :]
    if group == "slack_webhook":
        body = value.rsplit("/", 1)[-1]
    if "EXAMPLE" in value.upper() or _TOKEN_PLACEHOLDER_RE.search(body):
        return False
    if len(set(body)) <= 2:
        return False
    if group in ("openai", "anthropic", "slack"):
        # Loose shapes: insist on something that looks generated (letters and digits).
        if not (any(c.isdigit() for c in body) and any(c.isalpha() for c in body)):
            return False
    if hashlib.sha256(value.encode()).hexdigest() in _DOCUMENTED_EXAMPLES:
        return False
    if group == "jwt":
        return _plausible_jwt(value)
    return True


def _plausible_jwt(value: str) -> bool:
    """A JSON header naming an algorithm, and a signature of real length that is binary."""
    header_part, _, signature_part = value.split(".", 2)
    header = _b64url(header_part)
    if header is None or not (b'"alg"' in header or b'"typ"' in header):
        return False
    if len(signature_part) < _MIN_JWT_SIGNATURE:
        return False
    signature = _b64url(signature_part)
    # A signature that decodes to printable text ("signature-part") is a made-up one.
    return signature is not None and not all(32 <= b < 127 for b in signature)


def _b64url(segment: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        return None


def _scan_private_keys(path: str, lines: list[str], covered: set[int]) -> list[Finding]:
    found: list[Finding] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        begin = _PEM_BEGIN_RE.search(line)
        if begin is None:
            index += 1
            continue
        kind_word = begin.group(1).strip()
        label = f"{kind_word} private key block" if kind_word else "Private key block"
        # Same line (a JSON/YAML string with escaped newlines) or following lines.
        end = _PEM_END_RE.search(line, begin.end())
        if end is not None:
            body = line[begin.end() : end.start()]
            if _key_body_length(body) >= _MIN_KEY_BODY and ALLOW_MARKER not in line:
                value = line[begin.start() : end.end()]
                kind = _Kind(_PRIVATE_KEY.rule, label, Severity.ERROR, 0)
                found.append(_finding(path, index, begin.start(), value, kind))
            index += 1
            continue
        body_length = _key_body_length(line[begin.end() :])
        stop = min(len(lines), index + _MAX_KEY_LINES)
        end_index = None
        for j in range(index + 1, stop):
            end = _PEM_END_RE.search(lines[j])
            if end is not None:
                body_length += _key_body_length(lines[j][: end.start()])
                end_index = j
                break
            if "-----BEGIN " in lines[j]:
                break  # another block starts: this one is unterminated (keeps scans linear)
            body_length += _key_body_length(lines[j])
        if end_index is None or end is None or body_length < _MIN_KEY_BODY:
            index += 1
            continue
        if ALLOW_MARKER in line or ALLOW_MARKER in lines[end_index]:
            covered.update(range(index, end_index + 1))
            index = end_index + 1
            continue
        value = "\n".join([line[begin.start() :], *lines[index + 1 : end_index]])
        value += "\n" + lines[end_index][: end.end()]
        found.append(
            Finding(
                path=path,
                line=index + 1,
                column=begin.start() + 1,
                rule=_PRIVATE_KEY.rule,
                severity=Severity.ERROR,
                message=f"{label} {_redact(value)}: {_ADVICE}",
                end_line=end_index + 1,
                end_column=end.end() + 1,
            )
        )
        covered.update(range(index, end_index + 1))
        index = end_index + 1
    return found


def _key_body_length(text: str) -> int:
    text = text.replace("\\n", " ")
    return sum(len(run) for run in _BASE64_RUN_RE.findall(text))


def _name_is_secret(name: str) -> bool:
    words = [w.lower() for w in _WORD_SPLIT_RE.findall(name)]
    if not words or words[-1] in _NON_SECRET_LAST:
        return False
    if any(w in _SECRET_WORDS for w in words):
        return True
    if any(pair in _SECRET_PAIRS for pair in itertools.pairwise(words)):
        return True
    joined = "".join(words)
    return any(s in joined for s in _SECRET_SUBSTRINGS)


def _name_is_aws_secret(name: str) -> bool:
    joined = "".join(w.lower() for w in _WORD_SPLIT_RE.findall(name))
    return "secretaccesskey" in joined or ("aws" in joined and "secret" in joined)


_AWS_SECRET_RE = re.compile(r"[A-Za-z0-9/+]{40}")


def _scan_assignments(
    path: str,
    index: int,
    line: str,
    spans: list[tuple[int, int]],
    unquoted_literals: bool,
) -> list[Finding]:
    found: list[Finding] = []
    for match in _ASSIGN_RE.finditer(line):
        name = match.group("name")
        if match.group("quote") is not None:
            if "f" in match.group("prefix").lower():
                continue  # an f-string interpolates: a reference, not a literal
            value = match.group("qtext")
            start = match.start("qtext")
        else:
            if not unquoted_literals:
                continue  # in code, a bare right-hand side is a variable or a call
            value = match.group("bare")
            start = match.start("bare")
        scheme = _AUTH_SCHEME_RE.match(value)
        if scheme is not None:
            value = value[scheme.end() :]
            start += scheme.end()
        end = start + len(value)
        if any(start < s_end and s_start < end for s_start, s_end in spans):
            continue  # already reported by a specific rule
        if not _name_is_secret(name):
            continue
        if _name_is_aws_secret(name) and _AWS_SECRET_RE.fullmatch(value):
            if "EXAMPLE" not in value.upper() and not _looks_like_placeholder(value):
                spans.append((start, end))
                found.append(_finding(path, index, start, value, _AWS_SECRET))
            continue
        if not _high_entropy_literal(value):
            continue
        spans.append((start, end))
        kind = _Kind(_GENERIC_RULE, "High-entropy value", Severity.WARNING, 0)
        found.append(_finding(path, index, start, value, kind, extra=f" assigned to {name!r}"))
    return found


def _looks_like_placeholder(value: str) -> bool:
    if len(set(value)) <= 3:
        return True
    return bool(
        _PLACEHOLDER_RE.search(value)
        or _TEMPLATE_RE.search(value)
        or _REFERENCE_RE.fullmatch(value)
    )


def _high_entropy_literal(value: str) -> bool:
    length = len(value)
    if length < _MIN_GENERIC_LENGTH or length > _MAX_GENERIC_LENGTH:
        return False
    if "\\" in value or any(c.isspace() for c in value):
        return False
    if "://" in value or _looks_like_placeholder(value):
        return False
    if _UUID_RE.search(value) or _PATH_RE.search(value) or value.isdigit():
        return False
    random_letters = _random_letters(value)
    if not random_letters and (
        _IDENTIFIER_RE.fullmatch(value) or _SNAKE_OR_CONST_RE.fullmatch(value)
    ):
        return False  # a reference to a variable, setting or environment variable name
    if _HEX_RE.fullmatch(value):
        return _entropy(value) >= _threshold(_HEX_THRESHOLDS, length)
    if not _BASE64ISH_RE.fullmatch(value):
        return False
    has_letter = any(c.isalpha() for c in value)
    has_other = any(c.isdigit() or not c.isalnum() for c in value)
    if not (has_letter and (has_other or random_letters)):
        return False
    return _entropy(value) >= _threshold(_BASE64_THRESHOLDS, length)


def _random_letters(value: str) -> bool:
    """Letters only, yet no name: random mixed case splits into short chunks with few
    vowels ("gPJzcFYCxcUgmBnxj"), where a CamelCase name ("UserAttributeSimilarity")
    splits into words (3.25 letters or more on average in Django's source)."""
    if not (value.isascii() and value.isalpha()) or value.islower() or value.isupper():
        return False
    chunks = _WORD_SPLIT_RE.findall(value)
    vowels = sum(c in "aeiouAEIOU" for c in value)
    return len(value) / len(chunks) < _MAX_RANDOM_CHUNK and vowels / len(value) < _MAX_VOWELS


def _entropy(value: str) -> float:
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def _threshold(points: tuple[tuple[int, float], ...], length: int) -> float:
    if length <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if length <= x1:
            return y0 + (y1 - y0) * (length - x0) / (x1 - x0)
    return points[-1][1]
