"""What an invalid message's error says: every failing field and why, never its values."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from pulse_contracts import ErrorCode, LlmRequested, RunRequested, invalid_message_info

SECRET_PROMPT = "summarise the merger plan for ACME-7731"


def _error_of(model: type[RunRequested] | type[LlmRequested], document: str) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        model.model_validate_json(document)
    return caught.value


def test_names_the_fields_and_the_reasons_but_not_the_input() -> None:
    exc = _error_of(
        RunRequested,
        '{"message_id": "m", "run_id": "' + SECRET_PROMPT + '", "prompt": "p", "deadline_s": -1}',
    )
    assert SECRET_PROMPT in str(exc)  # what pydantic's own text would have leaked
    info = invalid_message_info(exc)
    assert info.code is ErrorCode.INVALID_MESSAGE
    assert info.message.startswith("RunRequested is not valid: ")
    assert "run_id: String should match pattern" in info.message
    assert "deadline_s: Input should be greater than 0" in info.message
    assert SECRET_PROMPT not in info.message


def test_a_document_that_is_not_json_is_described_without_its_text() -> None:
    info = invalid_message_info(_error_of(LlmRequested, "not json " + SECRET_PROMPT))
    assert "(message): Invalid JSON" in info.message
    assert SECRET_PROMPT not in info.message


def test_the_text_is_bounded() -> None:
    exc = _error_of(RunRequested, "{}")
    assert len(invalid_message_info(exc, limit=40).message) == 40
