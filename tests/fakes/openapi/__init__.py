"""GitHub's OpenAPI description (vendored subset) and a validator for requests against it."""

from .validator import NO_BODY, OpenAPIValidator, Operation, Violation, default_validator

__all__ = ["NO_BODY", "OpenAPIValidator", "Operation", "Violation", "default_validator"]
