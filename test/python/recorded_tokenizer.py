"""A real Hugging Face tokenizer, replayed: the answers it gave to every encode and decode call the
models make on the test conversations, recorded by test/fixtures/tokenizers/generate.ts (Debian ships
no Python `transformers`). A call that was not recorded fails loudly instead of guessing.

With REAL_TOKENIZERS=<folder> (a folder holding <name>/tokenizer.json and tokenizer_config.json for
each name), every call goes to Python's own `transformers.AutoTokenizer` on those files instead, so
the same tests check the models against the real library where it is installed. CI never sets it.
"""

import json
import os
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tokenizers"
NAMES = ("llama3_1", "llama2")


def fixture(name):
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def _real_loader():
    """transformers.AutoTokenizer when REAL_TOKENIZERS is set. Imported here, at collection, before
    any test puts the transformers stand-in (fake_transformers.py) in its place."""
    if not os.environ.get("REAL_TOKENIZERS"):
        return None
    from transformers import AutoTokenizer  # noqa: PLC0415 - only where the real library is installed

    return AutoTokenizer


REAL_AUTO_TOKENIZER = _real_loader()


class RecordedTokenizer:
    def __init__(self, name):
        self.name = name
        self.data = fixture(name)
        self.eos_token_id = self.data["eos_token_id"]
        self.pad_token_id = None
        self.real = (
            None
            if REAL_AUTO_TOKENIZER is None
            else REAL_AUTO_TOKENIZER.from_pretrained(str(Path(os.environ["REAL_TOKENIZERS"]) / name))
        )

    def encode(self, text, add_special_tokens=True):
        if self.real is not None:
            return list(self.real.encode(text, add_special_tokens=add_special_tokens))
        table = self.data["encode_with_special_tokens" if add_special_tokens else "encode"]
        if text not in table:
            raise KeyError(f"{self.name}: encode({text!r}, add_special_tokens={add_special_tokens}) was not recorded")
        return list(table[text])

    def decode(self, ids, skip_special_tokens=False, clean_up_tokenization_spaces=None):
        if self.real is not None:
            return self.real.decode(
                ids, skip_special_tokens=skip_special_tokens, clean_up_tokenization_spaces=clean_up_tokenization_spaces
            )
        if not skip_special_tokens or clean_up_tokenization_spaces is not False:
            raise KeyError(
                f"{self.name}: only decode(skip_special_tokens=True, clean_up_tokenization_spaces=False) was recorded"
            )
        key = ",".join(str(int(token)) for token in ids)
        if key == "":
            return ""
        if key not in self.data["decode"]:
            raise KeyError(f"{self.name}: decode([{key}]) was not recorded")
        return self.data["decode"][key]
