"""Bad and stop word lists for the TensorRT-LLM engine, with no Triton dependency.

The engine matches a stop or bad word by token ids against the ids it generates, so each phrase must
be encoded the way it appears after generated text. Encoded on its own, a SentencePiece tokenizer
(Llama-2, Mistral) starts it with a word-boundary piece ("\\n\\n" becomes ["▁", "<0x0A>", "<0x0A>"])
that never follows generated text, and the word never matches. So each phrase is encoded behind a
short sentinel whose own tokens are then cut off; a sentinel is used only when its tokens are an
exact prefix of the whole, i.e. it did not merge with the phrase (byte-level BPE merges "\\n" with
"\\n\\n", so the next sentinel is tried).
"""

import numpy as np

# A newline never merges with the letters, spaces or punctuation a phrase usually starts with; a
# letter never merges with a newline; a full stop covers the rest.
SENTINELS = ("\n", "a", ".")


def encode_in_context(tokenizer, phrase):
    """Token ids of `phrase` as it follows other text; its standalone encoding when no sentinel
    separates cleanly."""
    for sentinel in SENTINELS:
        prefix = [int(token) for token in tokenizer.encode(sentinel, add_special_tokens=False)]
        whole = [int(token) for token in tokenizer.encode(sentinel + phrase, add_special_tokens=False)]
        if len(whole) > len(prefix) and whole[: len(prefix)] == prefix:
            return whole[len(prefix) :]
    return [int(token) for token in tokenizer.encode(phrase, add_special_tokens=False)]


def word_list(rows, tokenizer):
    """Phrases per batch row -> [rows, 2, L]: row 0 the concatenated token ids padded with 0, row 1
    each phrase's end offset padded with -1, the layout the engine's bad/stop word lists use.
    Empty phrases are skipped."""
    encoded = []
    for phrases in rows:
        ids, offsets = [], []
        for phrase in phrases:
            tokens = encode_in_context(tokenizer, phrase) if phrase != "" else []
            if len(tokens) == 0:
                continue
            ids.extend(tokens)
            offsets.append(len(ids))
        encoded.append((ids, offsets))
    # At least one column: an empty [2, 0] tensor cannot travel through Triton.
    width = max([1] + [len(ids) for ids, _ in encoded])
    result = np.zeros((len(rows), 2, width), dtype=np.int64)
    result[:, 1, :] = -1
    for row, (ids, offsets) in enumerate(encoded):
        result[row, 0, : len(ids)] = ids
        result[row, 1, : len(offsets)] = offsets
    return result
