"""Bad and stop word lists for the TensorRT-LLM engine, with no Triton dependency.

The engine stops on (or bans) a phrase only when the ids it generates end with one of the token
sequences listed for it, and the tokens a model writes for a phrase depend on what comes before it:
Llama-3 writes "here.\\n\\n" with ".\\n\\n" as one token and "the Falcon" with " Falcon" as one
token, and a SentencePiece tokenizer (Llama-2, Mistral) starts a phrase encoded on its own with a
word-boundary piece. So each phrase is encoded behind every context in CONTEXTS, and each distinct
token sequence it appears as goes to the engine: the tokens from the first one that differs from
the context's own encoding to the end. Such a sequence may begin with characters of the context
(".\\n\\n"), but its text always contains the whole phrase, so the engine never stops early; the
answer is then cut at the phrase itself by text (stop_strings.py).
"""

import numpy as np

# Nothing, a space, a word, a word and a space, a newline, and the punctuation a phrase often
# follows. Most contexts give the same sequence, and duplicates are dropped; a phrase never gets
# more sequences than there are contexts, which bounds the engine's word-list tensor.
CONTEXTS = ("", " ", "a", "a ", "\n", ".", ",", ":", ";", "!", "?", ")", '"')


def _encode(tokenizer, text):
    return [int(token) for token in tokenizer.encode(text, add_special_tokens=False)] if text else []


def phrase_sequences(tokenizer, phrase):
    """Every token sequence `phrase` may be generated as, standalone first, without duplicates."""
    sequences = []
    for context in CONTEXTS:
        before = _encode(tokenizer, context)
        whole = _encode(tokenizer, context + phrase)
        shared = 0
        while shared < min(len(before), len(whole)) and before[shared] == whole[shared]:
            shared += 1
        tail = whole[shared:]
        if tail and tail not in sequences:
            sequences.append(tail)
    return sequences


def word_list(rows, tokenizer):
    """Phrases per batch row -> [rows, 2, L]: row 0 the concatenated token ids padded with 0, row 1
    each sequence's end offset padded with -1, the layout of the engine's bad/stop word lists.
    Empty phrases are skipped."""
    encoded = []
    for phrases in rows:
        ids, offsets = [], []
        for phrase in dict.fromkeys(phrase for phrase in phrases if phrase != ""):
            for sequence in phrase_sequences(tokenizer, phrase):
                ids.extend(sequence)
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
