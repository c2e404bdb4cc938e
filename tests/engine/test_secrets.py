"""Tests for app.engine.secrets.

Every secret here is built by concatenation or encoding at run time, so this file does not
itself contain a literal token for a scanner (ours or GitHub's) to find.
"""

import base64
import random
import string

import pytest

from app.engine.findings import Finding, Severity
from app.engine.secrets import scan_secrets

# --- test values, assembled so no literal token appears in this file -------------------

BODY36 = "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"  # 36 base62 characters, no placeholder word
GITHUB = "ghp" + "_" + BODY36
GITHUB_FINE = "github" + "_pat_" + "11ABCDEFG0" + "a1B2c3D4e5F6" + "_" + "Zq9" * 19 + "Wx"
AWS_KEY_ID = "AK" + "IA" + "Q2W3E4R5T6Y7U8I9"
AWS_SECRET = "wJal" + "rXUtnFEMI/K7MDENG/bPxRfiCY" + "Q9z8X7w6v5"  # 40 characters
SLACK_TOKEN = "xo" + "xb-" + "123456789012-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx"
SLACK_HOOK = (
    "https://hooks."
    + "slack.com/services/"
    + "T0A1B2C3D/"
    + "B4E5F6G7H/"
    + "a1B2c3D4e5F6g7H8i9J0k1L2"
)
STRIPE_LIVE = "sk" + "_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
STRIPE_RESTRICTED = "rk" + "_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
STRIPE_TEST = "sk" + "_test_" + "4eC39HqLyjWDarjtT1zdp7dc"
OPENAI = "sk" + "-" + "Ab3De6Gh9Jk2Mn5Pq8St1Vw4Yz7Bc0Ef3Hi6Kl9No2Qr5T"
OPENAI_PROJ = "sk" + "-proj-" + "Ab3De6Gh9Jk2Mn5Pq8St1Vw4Yz7Bc0Ef3Hi6Kl9No2Qr5T_u8-Xy1"
GOOGLE = "AI" + "za" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6q"  # AIza + 35
JWT = ".".join(
    base64.urlsafe_b64encode(part).rstrip(b"=").decode()
    for part in (
        b'{"alg":"HS256","typ":"JWT"}',
        b'{"sub":"1234567890","name":"Jo Q","iat":1516239022}',
        bytes(range(200, 232)),
    )
)
GENERIC = "Zx9Qw3Er7Ty1Ui5Op2As8Df4"  # 24 characters, high entropy
GENERIC_HEX = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
PEM_BODY = [
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun",
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK",
    "LxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW/VDL5AaWTg0nLVkjRo",
]


def _pem(kind: str = "RSA") -> str:
    label = f"{kind} PRIVATE KEY" if kind else "PRIVATE KEY"
    return "\n".join([f"-----BEGIN {label}-----", *PEM_BODY, f"-----END {label}-----"])


def _only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


def _assert_redacted(finding: Finding, secret: str) -> None:
    assert f"{secret[:4]}… ({len(secret)} characters)" in finding.message
    assert secret not in finding.message
    assert secret[4:12] not in finding.message


# --- known formats ------------------------------------------------------------------------

KNOWN_CASES = [
    (GITHUB, "secrets/github-token", Severity.ERROR, "GitHub token"),
    (GITHUB_FINE, "secrets/github-fine-grained-token", Severity.ERROR, "GitHub fine-grained"),
    (AWS_KEY_ID, "secrets/aws-access-key-id", Severity.ERROR, "AWS access key ID"),
    (SLACK_TOKEN, "secrets/slack-token", Severity.ERROR, "Slack token"),
    (SLACK_HOOK, "secrets/slack-webhook", Severity.ERROR, "Slack webhook URL"),
    (STRIPE_LIVE, "secrets/stripe-live-key", Severity.ERROR, "Stripe live key"),
    (STRIPE_RESTRICTED, "secrets/stripe-live-key", Severity.ERROR, "Stripe live key"),
    (STRIPE_TEST, "secrets/stripe-test-key", Severity.WARNING, "Stripe test key"),
    (OPENAI, "secrets/openai-key", Severity.ERROR, "OpenAI API key"),
    (OPENAI_PROJ, "secrets/openai-key", Severity.ERROR, "OpenAI API key"),
    (GOOGLE, "secrets/google-api-key", Severity.ERROR, "Google API key"),
    (JWT, "secrets/jwt", Severity.ERROR, "JSON Web Token"),
]


# Test ids name the rule, never the value (pytest stores ids in .pytest_cache).
KNOWN_IDS = [f"{case[1]}-{i}" for i, case in enumerate(KNOWN_CASES)]


@pytest.mark.parametrize(("secret", "rule", "severity", "label"), KNOWN_CASES, ids=KNOWN_IDS)
def test_known_format_detected_with_exact_range(
    secret: str, rule: str, severity: Severity, label: str
) -> None:
    text = f'import os\n\nclient = make_client(url, "{secret}")  # connect\n'
    finding = _only(scan_secrets("app/client.py", text))
    assert finding.rule == rule
    assert finding.severity is severity
    assert finding.path == "app/client.py"
    assert (finding.line, finding.column) == (3, 28)
    assert (finding.end_line, finding.end_column) == (3, 28 + len(secret))
    assert label in finding.message
    _assert_redacted(finding, secret)
    assert finding.end_column is not None
    assert text.split("\n")[2][finding.column - 1 : finding.end_column - 1] == secret


@pytest.mark.parametrize(("secret", "rule", "severity", "label"), KNOWN_CASES, ids=KNOWN_IDS)
def test_known_format_fires_in_any_file_type_and_in_tests(
    secret: str, rule: str, severity: Severity, label: str
) -> None:
    for path, text in [
        ("tests/test_api.py", f"VALUE = '{secret}'\n"),
        ("docs/setup.md", f"Run with {secret} set.\n"),
        ("deploy/values.yaml", f"value: {secret}\n"),
    ]:
        finding = _only(scan_secrets(path, text))
        assert finding.rule == rule, path


def test_github_message_example_shape() -> None:
    finding = _only(scan_secrets("a.py", f"token = '{GITHUB}'\n"))
    assert finding.message.startswith("GitHub token ghp_… (40 characters)")


def test_known_format_assigned_to_secret_name_is_reported_once() -> None:
    for text in [
        f'token = "{GITHUB}"\n',
        f'GITHUB_TOKEN="{GITHUB}"\n',
        f"api_key: {OPENAI}\n",
        f'{{"auth_token": "{JWT}"}}\n',
        f'headers = {{"Authorization": "Bearer {GITHUB}"}}\n',
    ]:
        finding = _only(scan_secrets("config.py" if "=" in text else "c.yaml", text))
        assert finding.rule != "secrets/high-entropy", text


def test_aws_example_key_and_example_values_are_skipped() -> None:
    example_id = "AKIA" + "IOSFODNN7" + "EXAMPLE"
    example_secret = "wJalrXUtnFEMI/" + "K7MDENG/bPxRfiCY" + "EXAMPLEKEY"
    text = (
        f'aws_access_key_id = "{example_id}"\n'
        f'aws_secret_access_key = "{example_secret}"\n'
        f'token = "ghp_{"Example1" * 4}abcd"\n'
    )
    assert scan_secrets("settings.py", text) == []


def test_aws_secret_access_key_by_name() -> None:
    text = f"[default]\naws_access_key_id = {AWS_KEY_ID}\naws_secret_access_key = {AWS_SECRET}\n"
    findings = scan_secrets(".aws/credentials", text)
    assert [f.rule for f in findings] == [
        "secrets/aws-access-key-id",
        "secrets/aws-secret-access-key",
    ]
    secret = findings[1]
    assert (secret.line, secret.column, secret.end_column) == (3, 25, 65)
    _assert_redacted(secret, AWS_SECRET)
    kwargs = f'boto3.client("s3", aws_secret_access_key="{AWS_SECRET}")\n'
    assert _only(scan_secrets("s3.py", kwargs)).rule == "secrets/aws-secret-access-key"


def test_placeholder_tokens_in_known_shapes_are_skipped() -> None:
    text = "\n".join(
        [
            "token = 'ghp_" + "x" * 36 + "'",
            "key = '" + "AKIA" + "X" * 16 + "'",
            "OPENAI_API_KEY = 'sk-" + "your-api-key-goes-here-123" + "'",
            "stripe = 'sk_live_" + "0" * 24 + "'",
        ]
    )
    assert scan_secrets("settings.py", text) == []


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_implausible_jwts_are_skipped() -> None:
    header, payload = _b64(b'{"alg":"RS256"}'), _b64(b'{"iss":"42"}')
    not_json = "eyJ" + "notbase64json" * 2 + ".abcdefghijkl." + _b64(bytes(range(100, 140)))
    short_signature = f"{header}.{payload}." + _b64(bytes(range(200, 220)))
    text_signature = f"{header}.{payload}." + _b64(b"this-is-not-a-real-signature-at-all")
    for value in (not_json, short_signature, text_signature):
        assert scan_secrets("a.txt", f"v = {value}\n") == [], value
    real = f"{header}.{payload}." + _b64(bytes(range(200, 232)))
    assert _only(scan_secrets("a.txt", f"v = {real}\n")).rule == "secrets/jwt"


def test_documented_example_token_is_skipped() -> None:
    # The installation token shown in GitHub's REST API description.
    example = "ghs" + "_16C7e42F292c6912E7710c838347Ae178B4a"
    assert scan_secrets("openapi.json", f'{{"token":"{example}"}}\n') == []


# --- private keys -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["RSA", "EC", "OPENSSH", "DSA", "ENCRYPTED", ""])
def test_private_key_block_range_covers_the_block(kind: str) -> None:
    pem = _pem(kind)
    text = "# deploy key\nKEY = '''\n" + pem + "\n'''\n"
    finding = _only(scan_secrets("deploy.py", text))
    assert finding.rule == "secrets/private-key"
    assert finding.severity is Severity.ERROR
    assert (finding.line, finding.column) == (3, 1)
    assert finding.end_line == 3 + len(PEM_BODY) + 1
    assert finding.end_column == len(pem.split("\n")[-1]) + 1
    assert "private key block" in finding.message.lower()
    assert PEM_BODY[0] not in finding.message
    assert f"({len(pem)} characters)" in finding.message


def test_pgp_private_key_block() -> None:
    label = "PGP PRIVATE KEY BLOCK"
    text = "\n".join([f"-----BEGIN {label}-----", "", *PEM_BODY, "=Ab12", f"-----END {label}-----"])
    finding = _only(scan_secrets("keys/ci.asc", text))
    assert finding.rule == "secrets/private-key"
    assert "PGP" in finding.message
    assert (finding.line, finding.end_line) == (1, 7)


def test_private_key_escaped_on_one_line_in_json() -> None:
    pem = _pem("RSA").replace("\n", "\\n")
    text = '{\n  "type": "service_account",\n  "private_key": "' + pem + '\\n"\n}\n'
    finding = _only(scan_secrets("sa.json", text))
    assert finding.rule == "secrets/private-key"
    assert (finding.line, finding.column) == (3, 19)
    assert finding.end_column == 19 + len(pem)


def test_private_key_header_alone_is_not_a_key() -> None:
    text = (
        'PEM_HEADER = "-----BEGIN RSA PRIVATE KEY-----"\n'
        'if line.startswith("-----BEGIN PRIVATE KEY-----"):\n'
        "    pass\n"
        "docs = '-----BEGIN OPENSSH PRIVATE KEY-----\\n...\\n-----END OPENSSH PRIVATE KEY-----'\n"
    )
    assert scan_secrets("pem.py", text) == []


def test_public_certificate_is_not_flagged() -> None:
    text = "\n".join(["-----BEGIN CERTIFICATE-----", *PEM_BODY, "-----END CERTIFICATE-----"])
    assert scan_secrets("ca.pem", text) == []


# --- generic high entropy -------------------------------------------------------------------


GENERIC_CASES = [
    ("settings.py", f'SECRET_KEY = "{GENERIC}"', "SECRET_KEY", 15),
    ("settings.py", f"db_password: str = '{GENERIC}'", "db_password", 21),
    ("client.py", f'Client(api_key="{GENERIC}", timeout=3)', "api_key", 17),
    ("client.js", f"const clientSecret = `{GENERIC}`;", "clientSecret", 23),
    ("client.ts", f"  apiKey: '{GENERIC}',", "apiKey", 12),
    ("main.go", f'token := "{GENERIC}"', "token", 11),
    ("config.yml", f"  password: {GENERIC}", "password", 13),
    ("config.yml", f'  auth: "{GENERIC}"', "auth", 10),
    (".env", f"API_TOKEN={GENERIC}", "API_TOKEN", 11),
    (".env.production", f"export PRIVATE_KEY={GENERIC}  # prod", "PRIVATE_KEY", 20),
    ("app.json", f'  "accessKey": "{GENERIC}",', "accessKey", 17),
    ("config.php", f"'passwd' => '{GENERIC}',", "passwd", 14),
    ("config.py", f'CONFIG["client_secret"] = "{GENERIC}"', "client_secret", 28),
    ("hooks.py", f'webhook_secret = "{GENERIC_HEX}"', "webhook_secret", 19),
]


@pytest.mark.parametrize(
    ("path", "line", "name", "column"),
    GENERIC_CASES,
    ids=[f"{case[0]}-{case[2]}" for case in GENERIC_CASES],
)
def test_generic_high_entropy(path: str, line: str, name: str, column: int) -> None:
    value = GENERIC_HEX if "webhook" in line else GENERIC
    finding = _only(scan_secrets(path, "# config\n" + line + "\n"))
    assert finding.rule == "secrets/high-entropy"
    assert finding.severity is Severity.WARNING
    assert (finding.line, finding.column) == (2, column)
    assert (finding.end_line, finding.end_column) == (2, column + len(value))
    assert finding.end_column is not None
    assert line[finding.column - 1 : finding.end_column - 1] == value
    assert name in finding.message
    _assert_redacted(finding, value)


def test_generic_authorization_header_value() -> None:
    text = f'headers = {{"Authorization": "Bearer {GENERIC}"}}\n'
    finding = _only(scan_secrets("api.py", text))
    assert finding.rule == "secrets/high-entropy"
    assert finding.end_column is not None
    assert text[finding.column - 1 : finding.end_column - 1] == GENERIC


@pytest.mark.parametrize(
    "line",
    [
        'password = "changeme"',
        'password = "changeme-changeme-123"',
        'SECRET_KEY = "xxxxxxxxxxxxxxxxxxxxxxxx"',
        'api_key = "XXXX-XXXX-XXXX-XXXX-XXXX"',
        'token = "<your-token>"',
        'token = "<YOUR_GITHUB_TOKEN_HERE>"',
        'token = "${GITHUB_TOKEN}"',
        'token = "{{ secrets.DEPLOY_TOKEN }}"',
        'password = os.environ["DB_PASSWORD"]',
        'password = os.getenv("DB_PASSWORD", "")',
        "api_key = getenv('API_KEY')",
        "token = None",
        'token = ""',
        "password = ''",
        'secret = "aaaaaaaaaaaaaaaaaaaaaaaa"',
        'secret = "abababababababababababab"',
        'api_key = "example-api-key-1234567890"',
        'api_key = "dummy_Kq8vW2nR5tY7uI9o"',
        'token = "fake-Kq8vW2nR5tY7uI9o3p"',
        'password = "test_Kq8vW2nR5tY7uI9o3p"',
        'token = "sample0Kq8vW2nR5tY7uI9o"',
        'auth_token = "123e4567-e89b-12d3-a456-426614174000"',
        'commit = "3f786850e387550fdab836ed7e6dc881de23001b"',
        'sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"',
        'secret_path = "/var/run/secrets/kubernetes.io/token"',
        'token_file = "~/.config/deckhand/token.json"',
        'private_key = "./keys/deploy_2024_Xq9.pem"',
        'token_url = "https://oauth2.googleapis.com/token"',
        'auth = "https://login.example.org/oauth/authorize?client=9Xq2"',
        "token = self.settings.github_token",
        "password = get_password(user)",
        "client_secret = config['client_secret']",
        'token = f"{prefix}{Kq8vW2nR5tY7uI9o3pZ}"',
        'token = "GITHUB_TOKEN_FOR_DEPLOYS"',
        'secret = "settings.SECRET_KEY_FALLBACK"',
        'password_hash = "$2b$12$Kq8vW2nR5tY7uI9o3pZx1eLmNbVcXzAsDfGhJkLqWe"',
        'token_type = "Bearer"',
        "max_tokens = 4096",
        'tokenizer = "bert-base-multilingual-uncased"',
        'author = "Jane Q. Public <jane@example.org>"',
        'secret_name = "prod/deckhand/github-app-private-key"',
        'password = "correct horse battery staple"',
        'token = "%(token)s-Kq8vW2nR5tY7uI9o3"',
    ],
)
def test_placeholders_and_non_secrets_are_not_flagged(line: str) -> None:
    assert scan_secrets("app/settings.py", line + "\n") == []


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("config.yml", "password: ${DB_PASSWORD}\ntoken: '{{ secrets.TOKEN }}'\n"),
        (".github/workflows/ci.yml", "env:\n  GH_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n"),
        (".env.example", "API_KEY=\nSECRET_KEY=changeme\nTOKEN=<token>\nPASSWORD=xxxxxxxx\n"),
        ("app.json", '{"password": null, "token": "", "apiKey": "YOUR_API_KEY_HERE"}\n'),
        ("values.yaml", "auth:\n  enabled: true\n  secretName: deckhand-github-app\n"),
        ("k8s.yaml", "  tokenPath: /var/run/secrets/kubernetes.io/serviceaccount/token\n"),
        ("config.yml", "image: ghcr.io/acme/deckhand@sha256:" + "ab12" * 16 + "\n"),
    ],
)
def test_config_placeholders_are_not_flagged(path: str, text: str) -> None:
    assert scan_secrets(path, text) == []


# Generated passwords: the characters a password generator uses, assembled at run time.
GENERATED = ["@", "&", "*", "%", "$", "/"]


@pytest.mark.parametrize("first", GENERATED, ids=[f"starts-{i}" for i in range(len(GENERATED))])
@pytest.mark.parametrize("path", ["settings.py", "config.yaml", "config.toml", "app.json"])
def test_generated_password_starting_with_a_sigil_is_reported(first: str, path: str) -> None:
    value = first + "qZ7!kP2+xR9=mW4^tL8"
    if path.endswith(".py"):
        text = f'DB_PASSWORD = "{value}"\n'
    elif path.endswith(".json"):
        text = f'{{"password": "{value}"}}\n'
    else:
        text = f"password = '{value}'\n" if path.endswith(".toml") else f"password: '{value}'\n"
    finding = _only(scan_secrets(path, text))
    assert finding.rule == "secrets/high-entropy"
    assert finding.end_column is not None
    assert text.split("\n")[0][finding.column - 1 : finding.end_column - 1] == value


@pytest.mark.parametrize(
    "value",
    [
        "$DB_PASSWORD",
        "${DB_PASSWORD}",
        "%APPDATA_SECRET_TOKEN%",
        "&default_secret_anchor",
        "*default_secret_alias",
        "@Microsoft.KeyVault(SecretUri=https://vault.azure.net/secrets/db/)",
        "/run/secrets/postgres_password_file",
    ],
)
def test_references_to_a_secret_are_not_reported(value: str) -> None:
    for path, text in [("c.yaml", f"password: {value}\n"), ("c.py", f'password = "{value}"\n')]:
        assert scan_secrets(path, text) == [], (path, value)


def test_a_hash_inside_an_unquoted_value_is_part_of_it_unless_after_a_space() -> None:
    value = "Zx9Qw3Er7Ty1#Ui5Op2As8Df4"
    for path, line in [("c.yaml", f"api_key: {value}"), ("c.ini", f"api_key = {value}")]:
        finding = _only(scan_secrets(path, line + "  # rotated monthly\n"))
        assert finding.end_column is not None
        assert line[finding.column - 1 : finding.end_column - 1] == value
    assert scan_secrets("c.yaml", "api_key: abc  #" + value + "\n") == []


def test_random_value_with_a_chance_placeholder_letter_run_is_reported() -> None:
    value = "VnHKD6XOgmK5pwg4fI49NF6sUX" + "xX" + "v3RBC3o6Mgh2Rmha"  # "XxX" by chance
    assert _only(scan_secrets(".env", f"SECRET_KEY={value}\n")).rule == "secrets/high-entropy"
    assert scan_secrets(".env", "SECRET_KEY=xxxx" + value[4:] + "\n") == []


def test_random_letters_without_digits_are_reported_but_names_are_not() -> None:
    value = "gPJzcFYCxcUg" + "mBnxjQwRtZ"
    finding = _only(scan_secrets("settings.py", f'API_KEY = "{value}"\n'))
    assert finding.rule == "secrets/high-entropy"
    for name in ("UserAttributeSimilarityValidator", "PasswordResetTokenGenerator"):
        assert scan_secrets("settings.py", f'token_backend = "{name}"\n') == []
        assert scan_secrets("c.yaml", f"secret: {name}\n") == []


def test_format_strings_are_templates_but_percent_s_inside_random_text_is_not() -> None:
    assert scan_secrets("a.py", 'auth_token = "Kq8vW2nR5tY7uI9o3pZx:%s"\n') == []
    value = "Kq8vW2nR5%sY7uI9o3pZx"
    assert _only(scan_secrets("a.py", f'auth_token = "{value}"\n')).rule == "secrets/high-entropy"


def test_placeholder_words_count_in_one_case_only() -> None:
    for word in ("test", "TEST", "Test", "your", "YOUR", "xxxx", "XXXX"):
        assert scan_secrets("a.py", f'api_key = "Kq8vW2nR5{word}Y7uI9o3pZx"\n') == [], word
    for chance in ("tEsT", "yOuR", "XxX", "xxx"):
        value = f"Kq8vW2nR5{chance}Y7uI9o3pZx"
        assert _only(scan_secrets("a.py", f'api_key = "{value}"\n')).rule, chance


def test_jwt_io_sample_token_is_a_documented_example() -> None:
    header = _b64(b'{"alg":"HS256","typ":"JWT"}')
    payload = _b64(b'{"sub":"1234567890","name":"John Doe","iat":1516239022}')
    sample = f"{header}.{payload}." + "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV" + "_adQssw5c"
    assert scan_secrets("docs/auth.md", f"Authorization: Bearer {sample}\n") == []
    other = f"{header}.{payload}." + _b64(bytes(range(160, 192)))
    assert _only(scan_secrets("docs/auth.md", f"token: {other}\n")).rule == "secrets/jwt"


# --- suppression, line endings, duplicates --------------------------------------------------


def test_allow_marker_suppresses_findings_on_that_line_only() -> None:
    text = (
        f'token = "{GITHUB}"  # deckhand: allow-secret\n'
        f"api_key: {GENERIC}  # deckhand: allow-secret (rotated)\n"
        f"// deckhand: allow-secret\nconst k = '{STRIPE_LIVE}';\n"
        f"<!-- deckhand: allow-secret --> {OPENAI}\n"
    )
    finding = _only(scan_secrets("mixed.yaml", text))
    assert finding.line == 4
    assert finding.rule == "secrets/stripe-live-key"


def test_allow_marker_on_private_key_begin_line() -> None:
    pem = _pem("EC").split("\n")
    pem[0] += "  # deckhand: allow-secret"
    assert scan_secrets("fixtures/key.pem", "\n".join(pem)) == []


def test_crlf_text_positions() -> None:
    text = f"# settings\r\nTOKEN = '{GITHUB}'\r\npassword: {GENERIC}\r\n"
    findings = scan_secrets("settings.txt", text)
    assert [(f.line, f.column, f.end_column, f.rule) for f in findings] == [
        (2, 10, 10 + len(GITHUB), "secrets/github-token"),
        (3, 11, 11 + len(GENERIC), "secrets/high-entropy"),
    ]


def test_crlf_private_key() -> None:
    text = _pem("RSA").replace("\n", "\r\n") + "\r\n"
    finding = _only(scan_secrets("id_rsa", text))
    assert finding.end_line == len(PEM_BODY) + 2
    assert finding.end_column == len("-----END RSA PRIVATE KEY-----") + 1


def test_several_secrets_on_one_line_each_reported_once() -> None:
    text = f'creds = {{"a": "{GITHUB}", "b": "{AWS_KEY_ID}", "password": "{GENERIC}"}}\n'
    findings = scan_secrets("creds.py", text)
    assert [f.rule for f in findings] == [
        "secrets/github-token",
        "secrets/aws-access-key-id",
        "secrets/high-entropy",
    ]
    assert len({(f.line, f.column) for f in findings}) == 3
    for finding in findings:
        assert finding.end_column is not None
        value = text[finding.column - 1 : finding.end_column - 1]
        assert value in (GITHUB, AWS_KEY_ID, GENERIC)


def test_same_secret_twice_gives_two_findings() -> None:
    text = f"a = '{GITHUB}'\nb = '{GITHUB}'\n"
    assert [f.line for f in scan_secrets("x.py", text)] == [1, 2]


def test_no_message_contains_a_whole_secret() -> None:
    text = "\n".join(f'token_{i} = "{s}"' for i, (s, *_rest) in enumerate(KNOWN_CASES))
    text += f"\npassword = '{GENERIC}'\n" + _pem("RSA") + "\n"
    findings = scan_secrets("all.py", text)
    assert len(findings) == len(KNOWN_CASES) + 2
    secrets = [case[0] for case in KNOWN_CASES] + [GENERIC, *PEM_BODY]
    for finding in findings:
        for secret in secrets:
            assert secret not in finding.message
            assert secret[4:] not in finding.message


def test_empty_and_binary_like_text() -> None:
    assert scan_secrets("empty.py", "") == []
    assert scan_secrets("blob.txt", "\x00\x01" * 100) == []


def test_long_line_skips_entropy_but_keeps_known_formats() -> None:
    line = "x" * 25_000 + f' password="{GENERIC}" token="{GITHUB}"'
    findings = scan_secrets("bundle.min.js", line)
    assert [f.rule for f in findings] == ["secrets/github-token"]


# --- a large ordinary file -----------------------------------------------------------------


def _ordinary_python(rng: random.Random, n: int) -> list[str]:
    names = ["user", "order", "invoice", "repo", "token_count", "session", "payload", "client"]
    templates = [
        "def handle_{n}(request, {m}):",
        '    """Return the {n} for {m}."""',
        "    {n} = await self.store.get_{m}({m}_id)",
        "    if {n} is None:",
        '        raise NotFound(f"{n} {{ {m}_id }} not found")',
        "    return {{'id': {n}.id, 'name': {n}.name, 'count': len({m}s)}}",
        "    token = request.headers.get('Authorization', '').removeprefix('Bearer ')",
        "    password = os.environ.get('DB_PASSWORD', '')",
        "    api_key = settings.api_key or getenv('API_KEY')",
        "    secret = load_secret(name='{n}-{m}')",
        '    log.info("fetched", {n}={n}, sha="{sha}")',
        '    commit_sha = "{sha}"',
        '    request_id = "{uuid}"',
        '    url = "https://api.github.com/repos/{n}/{m}/commits/{sha}"',
        '    path = "/srv/deckhand/{n}/{m}.json"',
        "    max_tokens = {num}",
        '    tokenizer = "bert-base-uncased"',
        '    headers = {{"Authorization": f"Bearer {{token}}", "Accept": "application/json"}}',
        "    for i, {n} in enumerate({m}s):",
        "        total += {n}.amount * RATE_{num}",
        "    # the auth flow refreshes the token when it expires",
        "class {N}Repository(BaseRepository[{N}]):",
        "    key_func = operator.attrgetter('{n}_id')",
        "    cache_key = f'{n}:{{self.id}}:{m}'",
        '    digest = hashlib.sha256(b"{n}").hexdigest()',
        '    assert digest == "{sha}"',
        "    secret_key_name = 'DECKHAND_{N}_SECRET'",
        "",
    ]
    lines = []
    for _ in range(n):
        n_, m_ = rng.choice(names), rng.choice(names)
        sha = "".join(rng.choice("0123456789abcdef") for _ in range(40))
        uuid = "-".join(
            "".join(rng.choice("0123456789abcdef") for _ in range(k)) for k in (8, 4, 4, 4, 12)
        )
        lines.append(
            rng.choice(templates).format(
                n=n_,
                m=m_,
                N=n_.title().replace("_", ""),
                sha=sha,
                uuid=uuid,
                num=rng.randint(1, 9999),
            )
        )
    return lines


def _ordinary_yaml(rng: random.Random, n: int) -> list[str]:
    templates = [
        "name: deploy-{w}",
        "on:\n  push:\n    branches: [main]",
        "jobs:\n  {w}:\n    runs-on: ubuntu-latest",
        "      - uses: actions/checkout@{sha}",
        "      - run: pytest -q tests/{w}",
        "        env:\n          GITHUB_TOKEN: ${{{{ secrets.GITHUB_TOKEN }}}}",
        "          DB_PASSWORD: ${{{{ secrets.DB_PASSWORD }}}}",
        "  password: ${{DB_PASSWORD}}",
        "  token_path: /var/run/secrets/{w}/token",
        "  auth:\n    type: oauth\n    client_id: deckhand-{w}",
        "  image: ghcr.io/acme/{w}:{num}",
        "  checksum: sha256:{sha}",
        "  description: The {w} service refreshes its token every {num} seconds",
        "  secretName: {w}-credentials",
        "  api_key_env: {W}_API_KEY",
        "  timeout: {num}",
    ]
    words = ["web", "worker", "queue", "billing", "search", "ingest"]
    lines = []
    for _ in range(n):
        w = rng.choice(words)
        sha = "".join(rng.choice("0123456789abcdef") for _ in range(40))
        lines.append(
            rng.choice(templates).format(w=w, W=w.upper(), sha=sha, num=rng.randint(1, 9999))
        )
    return lines


def test_large_ordinary_files_have_no_findings() -> None:
    rng = random.Random(1234)
    python = "\n".join(_ordinary_python(rng, 5_000)) + "\n"
    yaml_text = "\n".join(_ordinary_yaml(rng, 5_000)) + "\n"
    assert python.count("\n") >= 5_000
    python_findings = scan_secrets("app/services/big.py", python)
    yaml_findings = scan_secrets("deploy/big.yaml", yaml_text)
    assert python_findings == []  # speed: benchmarks/secrets_scan.py
    assert yaml_findings == []


def test_random_secret_in_large_file_is_found() -> None:
    rng = random.Random(99)
    lines = _ordinary_python(rng, 3_000)
    secret = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(32))
    lines.insert(1_500, f'    DEPLOY_SECRET = "{secret}"')
    finding = _only(scan_secrets("big.py", "\n".join(lines)))
    assert finding.line == 1_501
    assert finding.rule == "secrets/high-entropy"
