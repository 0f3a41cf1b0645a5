"""SmolLM2-Instruct's chat template (ChatML), rendered here rather than by llama.cpp so it is plain, tested code.

It is the template the model's GGUF carries (`tokenizer.chat_template`): every message as
`<|im_start|>{role}\\n{content}<|im_end|>\\n`, the model's own system prompt first when the conversation has none, and
`<|im_start|>assistant\\n` to open the answer. llama.cpp reads control-token text in a prompt as the control token
itself, so text that spells one (`<|im_end|>` in a user's message) would let a message close its own turn and open a
system turn: such text is broken up with a zero-width space before it reaches the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
# The GGUF's control tokens (token type 3): ids 0-16 of SmolLM2's vocabulary.
CONTROL_TOKENS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<repo_name>", "<reponame>", "<file_sep>", "<filename>",
    "<gh_stars>", "<issue_start>", "<issue_comment>", "<issue_closed>", "<jupyter_start>", "<jupyter_text>",
    "<jupyter_code>", "<jupyter_output>", "<jupyter_script>", "<empty_output>",
)
_CONTROL = re.compile("|".join(re.escape(t) for t in CONTROL_TOKENS))
_ZERO_WIDTH_SPACE = "\u200b"


@dataclass(frozen=True)
class ChatMessage:
    role: str  # system, user, assistant or tool (OpenAI's `developer` arrives here as system)
    content: str


def neutralise(text: str) -> str:
    """The text with every control-token spelling broken up, so the tokenizer reads it as ordinary text."""
    return _CONTROL.sub(lambda m: "<" + _ZERO_WIDTH_SPACE + m.group(0)[1:], text)


def render(messages: Sequence[ChatMessage]) -> str:
    """The prompt for a conversation, ending where the assistant's answer starts."""
    parts = []
    if not messages or messages[0].role != "system":
        parts.append(f"<|im_start|>system\n{DEFAULT_SYSTEM}<|im_end|>\n")
    for message in messages:
        parts.append(f"<|im_start|>{message.role}\n{neutralise(message.content)}<|im_end|>\n")
    parts.append("<|im_start|>assistant\n")
    return "".join(parts)
