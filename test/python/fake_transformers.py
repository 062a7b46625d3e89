"""A `transformers` stand-in with a small word-level tokenizer, so the models load without the real
package or a download. `install()` puts it in sys.modules under the name "transformers".
"""

import re
import sys
import types

FALCON_EOS = 11

# Fixed ids so the tests can state expected tensors by hand; unknown pieces get fresh ids from 1000.
VOCAB = {
    "What": 100,
    "is": 101,
    "the": 102,
    "capital": 103,
    "of": 104,
    "France": 105,
    "?": 106,
    "Paris": 107,
    "Hello": 108,
    ",": 109,
    "world": 110,
    "\n": 111,
    "User": 112,
    ":": 113,
    "Hi": 114,
}

_PIECE = re.compile(r"\n|[^\W_]+|[^\w\s]")


class FakeTokenizer:
    """Words, punctuation and newlines are one token each; spaces separate and are dropped."""

    def __init__(self, eos_token_id=FALCON_EOS, pad_token_id=None, bos_token_id=None):
        self.eos_token_id = eos_token_id
        self.pad_token_id = pad_token_id
        self.bos_token_id = bos_token_id
        self.vocab = dict(VOCAB)
        self.names = {eos_token_id: "<|endoftext|>"}
        if bos_token_id is not None:
            self.names[bos_token_id] = "<s>"
        if pad_token_id is not None:
            self.names[pad_token_id] = "<pad>"

    def _id(self, piece):
        if piece not in self.vocab:
            self.vocab[piece] = 1000 + len(self.vocab)
        return self.vocab[piece]

    def encode(self, text, add_special_tokens=True):
        ids = [self._id(piece) for piece in _PIECE.findall(text)]
        if add_special_tokens and self.bos_token_id is not None:
            ids.insert(0, self.bos_token_id)
        return ids

    def decode(self, ids, skip_special_tokens=False, clean_up_tokenization_spaces=None):
        if not isinstance(ids, list):
            raise TypeError("decode takes a list of ints, as the models pass it")
        words = {token: piece for piece, token in self.vocab.items()}
        pieces = []
        for token in ids:
            if token in self.names:
                if not skip_special_tokens:
                    pieces.append(self.names[token])
            else:
                pieces.append(words[token])
        text = ""
        for piece in pieces:
            glue = "" if text == "" or re.fullmatch(r"[^\w\s]|\n", piece) or text.endswith("\n") else " "
            text += glue + piece
        return text


class AutoTokenizer:
    tokenizer = None
    calls = []

    @classmethod
    def from_pretrained(cls, path, **kwargs):
        cls.calls.append((path, kwargs))
        return cls.tokenizer


def install(tokenizer):
    """Make `from transformers import AutoTokenizer` return a loader handing out `tokenizer`."""
    AutoTokenizer.tokenizer = tokenizer
    AutoTokenizer.calls = []
    module = types.ModuleType("transformers")
    module.AutoTokenizer = AutoTokenizer
    sys.modules["transformers"] = module
    return AutoTokenizer
