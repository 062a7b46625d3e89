"""Exact completion text from token ids, whole or a few tokens at a time, with no Triton dependency.

Two things go wrong when a completion's tokens are decoded on their own:
- A multi-byte character split across tokens decodes to U+FFFD until its last byte arrives.
- A SentencePiece decoder strips the space that starts the text, so a completion " a , b ." comes
  back "a , b ." (Llama-2, Mistral).
So the completion is decoded behind the last prompt tokens and that prefix's own text is cut off,
as vLLM's detokenizer does (vllm/transformers_utils/detokenizer_utils.py, convert_prompt_ids_to_tokens
and detokenize_incrementally: five prompt tokens of context, the new text taken by length). A
stream hands out only text later tokens cannot change: everything up to a trailing run of U+FFFD,
which is what an incomplete UTF-8 character decodes to (byte-level BPE and SentencePiece byte
fallback alike). The text of the whole sequence is always the same decode, so streamed pieces add
up to exactly the non-streamed text.

clean_up_tokenization_spaces is off because it edits text already generated (" ." becomes "."),
which a stream that has sent the space cannot follow.
"""

REPLACEMENT_CHARACTER = "\ufffd"
PROMPT_CONTEXT_TOKENS = 5


def make_decode(tokenizer, skip_special_tokens):
    """The decode function every model uses: list of ids -> text."""

    def decode(ids):
        return tokenizer.decode(
            [int(token) for token in ids],
            skip_special_tokens=skip_special_tokens,
            clean_up_tokenization_spaces=False,
        )

    return decode


def prompt_context(input_ids, input_length):
    """The prompt tokens a completion is decoded behind: the last few of the row's prompt."""
    length = int(input_length)
    return [int(token) for token in input_ids[max(0, length - PROMPT_CONTEXT_TOKENS) : length]]


class IncrementalText:
    """One sequence's completion tokens, decoded behind its prompt context."""

    def __init__(self, decode, context_ids=()):
        """`decode` maps a list of token ids to text; `context_ids` are the prompt tokens before
        the completion (empty when they are not known)."""
        self._decode = decode
        self._context = [int(token) for token in context_ids]
        self._context_length = len(decode(self._context)) if self._context else 0
        self._ids = []

    @property
    def ids(self):
        return list(self._ids)

    def extend(self, new_ids):
        self._ids.extend(int(token) for token in new_ids)

    def whole(self):
        """The text of every token so far, an incomplete last character included."""
        if not self._ids:
            return ""
        return self._decode(self._context + self._ids)[self._context_length :]

    def settled(self):
        """The text so far that later tokens cannot change."""
        return self.whole().rstrip(REPLACEMENT_CHARACTER)
