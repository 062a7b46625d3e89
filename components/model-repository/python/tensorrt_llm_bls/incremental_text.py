"""Exact incremental detokenization, with no Triton dependency.

Decoding each streamed piece of tokens on its own breaks text: a multi-byte character split across
pieces comes out as U+FFFD, and SentencePiece drops the space at the start of every piece. Instead
the tokens generated so far are decoded as a whole every time, and only text that later tokens
cannot change is sent: everything up to a trailing run of U+FFFD, which is what an incomplete UTF-8
character decodes to (byte-level BPE and SentencePiece byte fallback alike). The last piece is the
rest of the whole decode, so the pieces always add up to exactly the non-streamed text.

Both paths decode with `decode_completion`: clean_up_tokenization_spaces is off because it edits
text already generated (" ." becomes "."), which a stream that has sent the space cannot follow.
"""

REPLACEMENT_CHARACTER = "\ufffd"


class StreamDivergedError(Exception):
    """The whole decode no longer starts with the text already sent."""


def decode_completion(tokenizer, ids, skip_special_tokens):
    """The completion text of `ids`, as both the streaming and the non-streaming path decode it."""
    return tokenizer.decode(
        [int(token) for token in ids],
        skip_special_tokens=skip_special_tokens,
        clean_up_tokenization_spaces=False,
    )


class IncrementalText:
    """Accumulates one sequence's tokens and hands out the text not sent yet."""

    def __init__(self, decode):
        """`decode` maps a list of token ids to the text of the whole sequence."""
        self._decode = decode
        self._ids = []
        self._sent = ""

    @property
    def ids(self):
        return list(self._ids)

    def extend(self, new_ids):
        """Adds tokens without handing out text: for a non-streamed answer, `finish` gives it all."""
        self._ids.extend(int(token) for token in new_ids)

    def push(self, new_ids):
        """Adds newly generated tokens; returns the new complete text ("" while a character is
        incomplete)."""
        self._ids.extend(int(token) for token in new_ids)
        settled = self._decode(self._ids).rstrip(REPLACEMENT_CHARACTER)
        if not settled.startswith(self._sent):
            return ""
        piece = settled[len(self._sent) :]
        self._sent = settled
        return piece

    def finish(self):
        """The rest of the text once the sequence is complete, held-back characters included."""
        whole = self._decode(self._ids)
        if not whole.startswith(self._sent):
            raise StreamDivergedError(
                f"the tokenizer decoded the whole completion as {whole!r}, which does not start with "
                f"the {len(self._sent)} characters already streamed"
            )
        rest = whole[len(self._sent) :]
        self._sent = whole
        return rest
