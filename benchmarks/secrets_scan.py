"""Secrets scan: precision on Django 5.2's source, recall on planted secrets.

    .venv/bin/python benchmarks/secrets_scan.py [--tree DIR] [--samples 200] [--seed 7] [--json]

Downloads the Django 5.2 wheel into a temporary folder (or uses `--tree DIR`, a folder
holding `django/`), then:

1. precision: `scan_secrets` on every text file of the tree (as `python -m app validate`
   reads them: binary and undecodable files skipped). Django holds no credentials, so
   every finding is a false positive; the goal is 0.
2. recall: for every supported kind, `--samples` random, format-correct secrets, each
   planted into a random real Django file at a random place where it fits the file's
   syntax (a new statement before a random statement of a `.py` file, checked with
   `ast.parse`; a `const` after a statement of a `.js` file; a comment or attribute line
   in a template; a line of prose in a `.txt` file). Django ships no YAML, JSON, TOML,
   ini or .env files, so for those syntaxes the host is Django's own settings
   (`django/conf/global_settings.py`) rendered in that syntax, and the planted entry goes
   between two random entries; every such host is parsed after planting (`yaml`,
   `json`, `tomllib`, `configparser`) so the plant is valid. A secret is found when a
   finding of the scan of the planted file covers its line; the goal is 95% per kind.
3. placeholders: values that must not be reported, planted the same way; the goal is 0
   findings. The policy: nothing is reported that is not a credential in itself, so
   references (`os.environ[...]`, `${VAR}`, `{{ secrets.X }}`, `%(x)s`, `<your-token>`),
   placeholder words (changeme, example, dummy, your-..., xxx, ***, REDACTED),
   low-entropy strings (repeats, keyboard runs, dictionary words like hunter2), vendor
   documentation examples (AWS's `...EXAMPLE` key pair, jwt.io's sample token) and
   known prefixes with placeholder bodies (`ghp_xxxx...`, `sk_live_0000...`) are not.
4. redaction: no finding's message holds the secret, or any 8 characters of it after
   its first 4.

Seeded: the same seed plants the same secrets in the same places.
"""

from __future__ import annotations

import argparse
import ast
import base64
import configparser
import json
import random
import string
import sys
import tempfile
import time
import tomllib
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.engine.files import SourceFile, collect, read  # noqa: E402
from app.engine.findings import Finding  # noqa: E402
from app.engine.secrets import scan_secrets  # noqa: E402
from benchmarks.django_source import fetch_django  # noqa: E402

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
URLSAFE = BASE62 + "-_"
HEX = "0123456789abcdef"
BASE64 = BASE62 + "+/"
PUNCT = "!@#$%^&*-_=+.~?"
SYNTAXES = ("py", "js", "html", "txt", "yaml", "json", "env", "toml", "ini")
CONFIG_SYNTAXES = ("py", "yaml", "json", "env", "toml", "ini")


# --- secret generators ---------------------------------------------------------------------


def rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def base62(number: int, width: int) -> str:
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = BASE62[rest] + digits
    return digits.rjust(width, "0")


def github_classic(prefix: str) -> Callable[[random.Random], str]:
    """gh?_ + 30 random base62 characters + their CRC32 in base62 (6 characters)."""

    def make(rng: random.Random) -> str:
        body = rand(rng, BASE62, 30)
        return f"{prefix}_{body}{base62(zlib.crc32(body.encode()), 6)}"

    return make


def github_fine_grained(rng: random.Random) -> str:
    return "github_pat_" + rand(rng, BASE62, 22) + "_" + rand(rng, BASE62, 59)


def aws_key_id(rng: random.Random) -> str:
    return rng.choice(["AKIA", "ASIA"]) + rand(rng, string.ascii_uppercase + "234567", 16)


def slack_bot(rng: random.Random) -> str:
    team, bot = rand(rng, string.digits, rng.randint(10, 13)), rand(rng, string.digits, 13)
    return f"xoxb-{team}-{bot}-{rand(rng, BASE62, 24)}"


def slack_user(rng: random.Random) -> str:
    parts = [rand(rng, string.digits, rng.randint(10, 13)) for _ in range(3)]
    return "xoxp-" + "-".join(parts) + "-" + rand(rng, HEX, 32)


def slack_other(rng: random.Random) -> str:
    digits = rand(rng, string.digits, 13)
    return rng.choice(
        [
            f"xoxa-2-{digits}-{rand(rng, string.digits, 12)}-{rand(rng, HEX, 64)}",
            f"xoxe.xoxp-1-{rand(rng, BASE62, 140)}",
            f"xoxe-1-{rand(rng, BASE62, 140)}",
            f"xoxs-{digits}-{rand(rng, string.digits, 12)}-{rand(rng, HEX, 64)}",
            f"xoxr-{digits}-{rand(rng, BASE62, 40)}",
        ]
    )


def slack_webhook(rng: random.Random) -> str:
    upper = string.ascii_uppercase + string.digits
    return (
        "https://hooks.slack.com/services/"
        f"T{rand(rng, upper, 10)}/B{rand(rng, upper, 10)}/{rand(rng, BASE62, 24)}"
    )


def stripe(prefix: str) -> Callable[[random.Random], str]:
    def make(rng: random.Random) -> str:
        return prefix + rand(rng, BASE62, rng.choice([24, 99]))

    return make


def openai_legacy(rng: random.Random) -> str:
    return "sk-" + rand(rng, BASE62, 20) + "T3BlbkFJ" + rand(rng, BASE62, 20)


def openai_project(rng: random.Random) -> str:
    prefix = rng.choice(["sk-proj-", "sk-svcacct-", "sk-admin-"])
    return prefix + rand(rng, URLSAFE, 74) + "T3BlbkFJ" + rand(rng, URLSAFE, 74)


def anthropic(rng: random.Random) -> str:
    return "sk-ant-api03-" + rand(rng, URLSAFE, 93) + "AA"


def google(rng: random.Random) -> str:
    return "AIza" + rand(rng, URLSAFE, 35)


def jwt(rng: random.Random) -> str:
    alg, signature_bytes = rng.choice([("HS256", 32), ("HS512", 64), ("RS256", 256), ("ES256", 64)])
    header = {"alg": alg, "typ": "JWT"}
    if rng.random() < 0.5:
        header["kid"] = rand(rng, URLSAFE, 16)
    issued = rng.randint(1_500_000_000, 1_800_000_000)
    claims: dict[str, str | int] = {
        "sub": rand(rng, string.digits, rng.randint(4, 12)),
        "iat": issued,
    }
    if rng.random() < 0.5:
        claims["exp"] = issued + 3600
        claims["scope"] = rng.choice(["read", "read write", "admin"])
    parts = [
        json.dumps(header, separators=(",", ":")).encode(),
        json.dumps(claims, separators=(",", ":")).encode(),
        rng.randbytes(signature_bytes),
    ]
    return ".".join(b64url(part) for part in parts)


PEM_TYPES = ("RSA", "", "EC", "OPENSSH", "DSA", "ENCRYPTED", "PGP")


def private_key(rng: random.Random) -> str:
    """A PEM (or PGP armour) block: random bytes of the real size, base64 in 64-char lines."""
    kind = rng.choice(PEM_TYPES)
    size = {"RSA": 1190, "": 1218, "EC": 121, "OPENSSH": 400, "DSA": 445, "ENCRYPTED": 1300}
    body = base64.b64encode(rng.randbytes(size.get(kind, 900))).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    if kind == "PGP":
        label = "PGP PRIVATE KEY BLOCK"
        lines = ["", *lines, "=" + base64.b64encode(rng.randbytes(3)).decode()]
    else:
        label = f"{kind} PRIVATE KEY".strip()
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"])


def high_entropy(rng: random.Random) -> str:
    style = rng.choice(["base62", "hex", "base64", "urlsafe", "password"])
    if style == "hex":
        return rand(rng, HEX, rng.choice([32, 40, 64]))
    length = rng.randint(16, 64)
    if style == "base62":
        return rand(rng, BASE62, length)
    if style == "base64":
        value = base64.b64encode(rng.randbytes(length)).decode()
        return value
    if style == "urlsafe":
        return b64url(rng.randbytes(length))
    # A generated password: letters, digits and some punctuation.
    return rand(rng, BASE62 + PUNCT, length)


def aws_secret(rng: random.Random) -> str:
    return rand(rng, BASE64, 40)


@dataclass(frozen=True)
class Kind:
    name: str
    make: Callable[[random.Random], str]
    syntaxes: tuple[str, ...] = SYNTAXES
    names: tuple[str, ...] = ("value", "DEFAULT", "client", "creds", "KEY", "x")


SECRET_NAMES = (
    "password",
    "secret",
    "token",
    "api_key",
    "DB_PASSWORD",
    "client_secret",
    "auth_token",
    "API_KEY",
    "apiKey",
    "SECRET_KEY",
    "access_token",
    "passwd",
    "stripe_api_key",
    "webhook_secret",
)

KINDS = [
    Kind("aws-access-key-id", aws_key_id),
    Kind(
        "aws-secret-access-key",
        aws_secret,
        CONFIG_SYNTAXES,
        ("aws_secret_access_key", "AWS_SECRET_ACCESS_KEY", "SecretAccessKey"),
    ),
    *[Kind(f"github-{p}_", github_classic(p)) for p in ("ghp", "gho", "ghs", "ghu", "ghr")],
    Kind("github-github_pat_", github_fine_grained),
    Kind("slack-xoxb", slack_bot),
    Kind("slack-xoxp", slack_user),
    Kind("slack-other-xox", slack_other),
    Kind("slack-webhook", slack_webhook),
    Kind("stripe-sk_live_", stripe("sk_live_")),
    Kind("stripe-rk_live_", stripe("rk_live_")),
    Kind("stripe-sk_test_", stripe("sk_test_")),
    Kind("openai-sk-", openai_legacy),
    Kind("openai-sk-proj/svcacct/admin", openai_project),
    Kind("anthropic-sk-ant-", anthropic),
    Kind("google-AIza", google),
    Kind("jwt", jwt),
    Kind("private-key", private_key, ("py", "txt", "yaml", "json", "env", "toml", "ini")),
    *[Kind(f"high-entropy-{s}", high_entropy, (s,), SECRET_NAMES) for s in CONFIG_SYNTAXES],
]


# --- placeholders that must not be reported -----------------------------------------------

WORDS = ("token", "api-key", "secret", "password", "key", "access-token", "client-secret")


def placeholder(rng: random.Random) -> tuple[str, bool]:
    """A value that is no secret, and whether it is code (a reference) rather than a literal."""
    word = rng.choice(WORDS)
    upper = word.upper().replace("-", "_")
    akia = "AKIA" + "IOSFODNN7" + "EXAMPLE"
    aws_doc = "wJalrXUtnFEMI/" + "K7MDENG/bPxRfiCY" + "EXAMPLEKEY"
    jwt_io = (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
        "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
        "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
    )
    literals = [
        "changeme",
        "change-me-" + rand(rng, string.digits, 2),
        f"<your-{word}>",
        f"<{upper}>",
        f"your-{word}-here",
        f"YOUR_{upper}_HERE",
        f"${{{upper}}}",
        f"${upper}",
        f"{{{{ secrets.{upper} }}}}",
        f"%({word.replace('-', '_')})s",
        "x" * rng.randint(16, 40),
        "X" * rng.randint(16, 40),
        "*" * rng.randint(8, 24),
        "REDACTED",
        "<redacted>",
        "dummy-" + word + "-" + rand(rng, string.digits, 4),
        "fake_" + word.replace("-", "_") + "_" + rand(rng, string.ascii_lowercase, 8),
        "test-" + word + "-" + rand(rng, string.digits, 6),
        "example-" + word + "-value",
        "not-a-real-" + word,
        "hunter2",
        "password123",
        "supersecretpassword",
        "correct-horse-battery-staple",
        rng.choice(string.ascii_lowercase) * rng.randint(16, 32),
        "abcdefghijklmnopqrstuvwxyz"[: rng.randint(16, 26)],
        "0123456789" * 2,
        "qwertyuiopasdfghjkl",
        akia,
        aws_doc,
        jwt_io,
        "ghp_" + "x" * 36,
        "gho_" + "X" * 36,
        "github_pat_" + "x" * 22 + "_" + "x" * 59,
        "sk_live_" + "0" * 24,
        "sk_live_" + "x" * 24,
        "sk-" + "x" * 48,
        "sk-proj-" + "your-openai-key-here-" + "x" * 20,
        "AIza" + "X" * 35,
        "xoxb-" + "your-bot-token",
        "xoxb-000000000000-0000000000000-" + "x" * 24,
        "-----BEGIN PRIVATE KEY-----\\n...\\n-----END PRIVATE KEY-----",
        "sk-...",
        "",
    ]
    references = [
        f'os.environ["{upper}"]',
        f'os.environ.get("{upper}")',
        f'os.getenv("{upper}", "")',
        f"settings.{upper}",
        f"config['{word}']",
        "get_random_secret_key()",
        f"request.headers['{word}']",
        "None",
        f"self.{word.replace('-', '_')}",
    ]
    if rng.random() < 0.25:
        return rng.choice(references), True
    return rng.choice(literals), False


# --- hosts and planting ---------------------------------------------------------------------


@dataclass
class Host:
    path: str  # as the scanner sees it (the suffix picks the rules)
    text: str


@dataclass
class Plant:
    path: str
    text: str
    lines: range  # 1-based lines holding the planted value


class Planter:
    def __init__(self, root: Path, rng: random.Random) -> None:
        self.rng = rng
        self.files: dict[str, list[Host]] = defaultdict(list)
        for base, file in collect([root / "django"], base=root):
            if file.suffix.lstrip(".") in ("py", "js", "html", "txt"):
                source = read(base, file)
                if isinstance(source, SourceFile) and source.text.strip():
                    self.files[file.suffix.lstrip(".")].append(Host(source.path, source.text))
        self._statements: dict[str, list[tuple[int, int]]] = {}
        self.configs = render_settings(root / "django" / "conf" / "global_settings.py")

    def plant(self, syntax: str, name: str, value: str, reference: bool = False) -> Plant:
        for _ in range(20):
            planted = getattr(self, f"_{syntax}")(name, value, reference)
            if planted is not None:
                return planted
        raise RuntimeError(f"could not plant into {syntax}")

    def _host(self, suffix: str) -> Host:
        return self.rng.choice(self.files[suffix])

    @staticmethod
    def _insert(host: Host, index: int, new: list[str], path: str | None = None) -> Plant:
        lines = host.text.split("\n")
        lines[index:index] = new
        return Plant(path or host.path, "\n".join(lines), range(index + 1, index + len(new) + 1))

    def _py(self, name: str, value: str, reference: bool) -> Plant | None:
        host = self._host("py")
        spots = self._statements.get(host.path)
        if spots is None:
            spots = self._statements[host.path] = python_statements(host.text)
        if not spots:
            return None
        line, indent = self.rng.choice(spots)
        if reference:
            rhs = value
        elif "\n" in value:
            rhs = (
                f'"""{value}"""'
                if self.rng.random() < 0.5
                else "(\n"
                + "\n".join(
                    f"{' ' * (indent + 4)}{json.dumps(v + chr(10))}" for v in value.split("\n")
                )
                + f"\n{' ' * indent})"
            )
        else:
            rhs = json.dumps(value) if self.rng.random() < 0.7 else repr(value)
        new = f"{' ' * indent}{name} = {rhs}".split("\n")
        planted = self._insert(host, line - 1, new)
        try:
            ast.parse(planted.text)
        except SyntaxError:
            return None
        return planted

    def _js(self, name: str, value: str, reference: bool) -> Plant | None:
        host = self._host("js")
        lines = host.text.split("\n")
        ends = [i for i, line in enumerate(lines) if line.rstrip().endswith(";")]
        if not ends or reference:
            return None
        i = self.rng.choice(ends)
        indent = len(lines[i]) - len(lines[i].lstrip())
        quote = self.rng.choice(['"', "'", "`"])
        return self._insert(host, i + 1, [f"{' ' * indent}const {name} = {quote}{value}{quote};"])

    def _html(self, name: str, value: str, reference: bool) -> Plant | None:
        host = self._host("html")
        lines = host.text.split("\n")
        spots = [i for i, line in enumerate(lines) if line.rstrip().endswith(">")]
        if not spots or reference:
            return None
        i = self.rng.choice(spots)
        new = self.rng.choice(
            [
                f'<div data-{name.lower().replace("_", "-")}="{value}"></div>',
                f"<!-- {name}: {value} -->",
                f'<script>window.{name} = "{value}";</script>',
            ]
        )
        return self._insert(host, i + 1, [new])

    def _txt(self, name: str, value: str, reference: bool) -> Plant | None:
        if reference:
            return None
        host = self._host("txt")
        lines = host.text.split("\n")
        if "\n" in value:
            new = value.split("\n")
        else:
            new = [
                self.rng.choice(
                    [f"{name}: {value}", f"Use {value} to sign in.", f"export {name}={value}"]
                )
            ]
        return self._insert(host, self.rng.randrange(len(lines)), new)

    def _config(
        self, syntax: str, entry: list[str], check: Callable[[str], object]
    ) -> Plant | None:
        host = self.configs[syntax]
        # A planted name the settings already have replaces that entry (TOML and ini
        # allow a key once).
        key = entry[0].split("=")[0].split(":")[0].strip().lower()
        lines = [
            line
            for line in host.text.split("\n")
            if line.split("=")[0].split(":")[0].strip().strip('"').lower() != key
        ]
        host = Host(host.path, "\n".join(lines))
        spots = config_spots(syntax, lines)
        planted = self._insert(host, self.rng.choice(spots), entry)
        try:
            check(planted.text)
        except Exception:  # any parse error: try another place or form
            return None
        return planted

    def _yaml(self, name: str, value: str, reference: bool) -> Plant | None:
        if "\n" in value:
            entry = [f"{name}: |-", *(f"  {v}" for v in value.split("\n"))]
        else:
            style = self.rng.choice(["plain", "double", "single"])
            rendered = {"plain": value, "double": json.dumps(value), "single": f"'{value}'"}[style]
            entry = [f"{name}: {rendered}"]

        def check(text: str) -> None:
            if yaml.safe_load(text)[name] != value and not reference:
                raise ValueError("not the planted value")

        return self._config("yaml", entry, check)

    def _json(self, name: str, value: str, reference: bool) -> Plant | None:
        return self._config("json", [f"  {json.dumps(name)}: {json.dumps(value)},"], json.loads)

    def _env(self, name: str, value: str, reference: bool) -> Plant | None:
        env_name = name.upper()
        export = "export " if self.rng.random() < 0.2 else ""
        if "\n" in value:
            escaped = value.replace("\n", "\\n")
            entry = [f'{export}{env_name}="{escaped}"']
            if self.rng.random() < 0.5:
                entry = f'{export}{env_name}="{value}"'.split("\n")
        elif all(c in BASE62 + "-_./+=" for c in value) and self.rng.random() < 0.5:
            entry = [f"{export}{env_name}={value}"]
        else:
            quote = "'" if "$" in value else '"'
            entry = [f"{export}{env_name}={quote}{value}{quote}"]
        return self._config("env", entry, lambda text: None)

    def _toml(self, name: str, value: str, reference: bool) -> Plant | None:
        if "\n" in value:
            entry = [f'{name} = """', *value.split("\n"), '"""']
        elif self.rng.random() < 0.3:
            entry = [f"{name} = '{value}'"]
        else:
            entry = [f"{name} = {json.dumps(value)}"]
        return self._config("toml", entry, tomllib.loads)

    def _ini(self, name: str, value: str, reference: bool) -> Plant | None:
        sep = self.rng.choice([" = ", "=", ": "])
        first, *rest = value.split("\n")
        entry = [f"{name}{sep}{first}", *(f"    {v}" for v in rest)]

        def check(text: str) -> None:
            parser = configparser.RawConfigParser()
            parser.read_string(text)

        return self._config("ini", entry, check)


def python_statements(text: str) -> list[tuple[int, int]]:
    """(line, indent) of every statement that starts a line, decorators included."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    lines = text.split("\n")
    spots = []
    for node in ast.walk(tree):
        blocks = [getattr(node, name, None) for name in ("body", "orelse", "finalbody")]
        for child in [c for block in blocks if isinstance(block, list) for c in block]:
            if not isinstance(child, ast.stmt):
                continue
            decorators = getattr(child, "decorator_list", [])
            line = min([child.lineno, *(d.lineno for d in decorators)])
            prefix = lines[line - 1][: child.col_offset]
            if prefix.strip() == "":
                spots.append((line, child.col_offset))
    return sorted(set(spots))


def config_spots(syntax: str, lines: list[str]) -> list[int]:
    """Line indexes before which a new top-level entry can go."""
    if syntax == "json":
        return [i for i, line in enumerate(lines) if line.startswith('  "')]
    if syntax == "yaml":
        return [i for i, line in enumerate(lines) if line and line[0].isalpha()] + [len(lines)]
    if syntax in ("toml", "ini"):
        return [i for i, line in enumerate(lines) if i > 0 and (not line or line[0].isalpha())]
    return list(range(len(lines) + 1))


def render_settings(path: Path) -> dict[str, Host]:
    """Django's global settings (the plain literals) as YAML, JSON, .env, TOML and ini."""
    settings: dict[str, object] = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            if isinstance(value, tuple):
                value = list(value)
            if isinstance(value, (str, int, bool)) or (
                isinstance(value, list) and all(isinstance(v, str) for v in value)
            ):
                settings[node.targets[0].id] = value

    def env_value(value: object) -> str:
        if isinstance(value, list):
            value = ",".join(value)
        text = str(value)
        return text if text and all(c in BASE62 + "-_./" for c in text) else json.dumps(text)

    def toml_value(value: object) -> str:
        return str(value).lower() if isinstance(value, bool) else json.dumps(value)

    def ini_value(value: object) -> str:
        return ", ".join(value) if isinstance(value, list) else str(value)

    return {
        "yaml": Host("deploy/settings.yaml", yaml.safe_dump(settings, sort_keys=False)),
        "json": Host("config/settings.json", json.dumps(settings, indent=2) + "\n"),
        "env": Host(".env", "".join(f"{k}={env_value(v)}\n" for k, v in settings.items())),
        "toml": Host(
            "config/settings.toml",
            "[django]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in settings.items()),
        ),
        "ini": Host(
            "config/settings.ini",
            "[django]\n" + "".join(f"{k} = {ini_value(v)}\n" for k, v in settings.items()),
        ),
    }


# --- measuring ------------------------------------------------------------------------------


@dataclass
class Tally:
    planted: int = 0
    found: int = 0
    other_rule: Counter[str] = field(default_factory=Counter)
    misses: list[str] = field(default_factory=list)  # redacted examples


def redaction_leaks(findings: list[Finding], secret: str) -> int:
    """Findings whose message holds the secret or 8 characters of it past its first 4
    (for a key block, of its base64 body: its BEGIN line is no secret)."""
    material = secret[4:]
    if secret.startswith("-----BEGIN"):
        material = "".join(secret.split("\n")[1:-1])
    pieces = {material[i : i + 8] for i in range(max(1, len(material) - 7))}
    return sum(
        secret in f.message or any(len(p) == 8 and p in f.message for p in pieces) for f in findings
    )


def show(value: str) -> str:
    return f"{value[:6]}…({len(value)})"


def precision(root: Path) -> tuple[int, int, float, list[Finding]]:
    started = time.perf_counter()
    files = 0
    findings: list[Finding] = []
    for base, file in collect([root / "django"], base=root):
        source = read(base, file)
        if isinstance(source, SourceFile):
            files += 1
            findings += scan_secrets(source.path, source.text)
    return files, len(findings), time.perf_counter() - started, findings


def recall(planter: Planter, rng: random.Random, samples: int) -> tuple[dict[str, Tally], int]:
    tallies: dict[str, Tally] = {}
    leaks = 0
    for kind in KINDS:
        tally = tallies[kind.name] = Tally()
        for _ in range(samples):
            secret = kind.make(rng)
            syntax = rng.choice(kind.syntaxes)
            plant = planter.plant(syntax, rng.choice(kind.names), secret)
            findings = scan_secrets(plant.path, plant.text)
            hits = [f for f in findings if f.line in plant.lines]
            tally.planted += 1
            leaks += redaction_leaks(findings, secret)
            if hits:
                tally.found += 1
                expected = kind.name.split("-")[0]
                for hit in hits:
                    if expected not in hit.rule and not kind.name.startswith("high-entropy"):
                        tally.other_rule[hit.rule] += 1
            elif len(tally.misses) < 5:
                tally.misses.append(f"{syntax}: {show(secret)}")
    return tallies, leaks


def placeholders(planter: Planter, rng: random.Random, samples: int) -> tuple[int, list[str]]:
    reported: list[str] = []
    for _ in range(samples):
        value, reference = placeholder(rng)
        name = rng.choice(SECRET_NAMES)
        syntax = rng.choice(("py", "js") if reference else SYNTAXES)
        if reference and syntax == "js":
            syntax = "py"
        plant = planter.plant(syntax, name, value, reference)
        hits = [f for f in scan_secrets(plant.path, plant.text) if f.line in plant.lines]
        if hits:
            reported.append(f"{syntax}: {name} = {value!r}: {hits[0].rule}")
    return samples, reported


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, help="a folder holding django/ (skips download)")
    parser.add_argument("--samples", type=int, default=200, help="planted secrets per kind")
    parser.add_argument("--placeholders", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="deckhand-secrets-") as tmp:
        root = args.tree or fetch_django(Path(tmp))
        files, count, elapsed, clean_findings = precision(root)
        rng = random.Random(args.seed)
        planter = Planter(root, rng)
        host_findings = [
            f for host in planter.configs.values() for f in scan_secrets(host.path, host.text)
        ]
        tallies, leaks = recall(planter, rng, args.samples)
        placeholder_count, placeholder_hits = placeholders(planter, rng, args.placeholders)

    planted = sum(t.planted for t in tallies.values())
    found = sum(t.found for t in tallies.values())
    if args.json:
        body = {
            "django": {"files": files, "findings": count, "files_per_s": files / elapsed},
            "rendered_settings_findings": len(host_findings),
            "recall": {k: t.found / t.planted for k, t in tallies.items()},
            "recall_overall": found / planted,
            "placeholders": {"planted": placeholder_count, "reported": len(placeholder_hits)},
            "redaction_leaks": leaks,
        }
        print(json.dumps(body, indent=2))
        return
    print(f"precision: Django 5.2, {files} text files: {count} findings (goal 0)")
    for finding in clean_findings[:20]:
        print(f"  {finding.path}:{finding.line}: [{finding.rule}] {finding.message}")
    print(f"  scan only: {elapsed:.2f} s, {files / elapsed:,.0f} files/s")
    print(f"  Django settings rendered as YAML/JSON/.env/TOML/ini: {len(host_findings)} findings")
    print(f"recall: {args.samples} planted per kind, seed {args.seed} (goal >= 95% per kind)")
    width = max(len(k) for k in tallies)
    for name, tally in tallies.items():
        share = tally.found / tally.planted
        line = f"  {name:<{width}}  {tally.found:>4}/{tally.planted:<4} {share:7.1%}"
        if tally.other_rule:
            line += f"  (other rule: {dict(tally.other_rule)})"
        print(line)
        for miss in tally.misses:
            print(f"      missed {miss}")
    print(f"  {'overall':<{width}}  {found:>4}/{planted:<4} {found / planted:7.1%}")
    print(f"placeholders: {placeholder_count} planted, {len(placeholder_hits)} reported (goal 0)")
    for hit in placeholder_hits[:20]:
        print(f"  {hit}")
    print(f"redaction: {leaks} findings with more than the first 4 characters (goal 0)")


if __name__ == "__main__":
    main()
