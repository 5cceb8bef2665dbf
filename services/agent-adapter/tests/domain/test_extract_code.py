from __future__ import annotations

import pytest

from pulse_agent_adapter.domain import ExtractCodeTool, ToolContext
from pulse_agent_adapter.domain.extract_code import CodeBlock, extract_code_blocks
from pulse_contracts import ToolFailed

REPLY = """Here is the function:

```python
def add(a, b):
    return a + b
```

And a shell line:

~~~bash
echo hi
~~~

````markdown
```nested``` stays inside
````
"""


def ctx() -> ToolContext:
    return ToolContext(run_id="r", step_id="s", tenant="t")


def test_fenced_blocks_with_languages() -> None:
    blocks = extract_code_blocks(REPLY)
    assert [(b.language, b.code) for b in blocks] == [
        ("python", "def add(a, b):\n    return a + b"),
        ("bash", "echo hi"),
        ("markdown", "```nested``` stays inside"),
    ]


def test_an_unterminated_block_still_counts() -> None:
    assert extract_code_blocks("```js\nconsole.log(1)\n") == [
        CodeBlock(language="js", code="console.log(1)")
    ]


async def test_the_tool_returns_the_first_block_and_all_of_them() -> None:
    result = await ExtractCodeTool().run({"text": REPLY}, ctx())
    assert isinstance(result, dict)
    assert result["language"] == "python"
    assert result["code"].startswith("def add")
    assert len(result["blocks"]) == 3  # type: ignore[arg-type]
    only_bash = await ExtractCodeTool().run({"text": REPLY, "language": "BASH"}, ctx())
    assert isinstance(only_bash, dict)
    assert only_bash["code"] == "echo hi"
    nothing = await ExtractCodeTool().run({"text": "no code here"}, ctx())
    assert nothing == {"code": "", "language": None, "blocks": []}


async def test_bad_input_is_refused() -> None:
    with pytest.raises(ToolFailed, match="invalid input"):
        await ExtractCodeTool().run({"text": 5}, ctx())
