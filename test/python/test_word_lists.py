"""Stop and bad words encoded in context, checked with two real tokenizers (recorded fixtures): the
encoded phrase must occur, token for token, inside the encoding of a text that contains it."""

import numpy as np
import pytest

from recorded_tokenizer import NAMES, RecordedTokenizer
from support import load_module

word_lists = load_module("preprocessing/word_lists.py")


def occurs_in(needle, haystack):
    return any(haystack[start : start + len(needle)] == needle for start in range(len(haystack) - len(needle) + 1))


@pytest.mark.parametrize("name", NAMES)
def test_every_stop_word_matches_inside_generated_text(name):
    tokenizer = RecordedTokenizer(name)
    for case in tokenizer.data["stop_words"]:
        ids = word_lists.encode_in_context(tokenizer, case["phrase"])
        context = tokenizer.encode(case["context"], add_special_tokens=False)
        assert ids and occurs_in(ids, context), f"{case['phrase']!r}: {ids} not in {context}"


def test_sentencepiece_words_encoded_alone_would_never_match():
    # The defect this replaces: a leading word-boundary piece ("▁") that generated text never has.
    tokenizer = RecordedTokenizer("llama2")
    for phrase, context in (("\n\n", "Answer: yes\n\nUser: next"), ("Falcon", "Birds:\nFalcon flies")):
        alone = tokenizer.encode(phrase, add_special_tokens=False)
        assert not occurs_in(alone, tokenizer.encode(context, add_special_tokens=False)), phrase
        assert word_lists.encode_in_context(tokenizer, phrase) != alone


def test_a_sentinel_that_merges_with_the_phrase_is_skipped():
    # Byte-level BPE writes "\n" + "\n\n" as one token, so "\n" cannot be cut off: "a" is used.
    tokenizer = RecordedTokenizer("llama3_1")
    assert tokenizer.encode("\n\n\n", add_special_tokens=False) != (
        tokenizer.encode("\n", add_special_tokens=False) + tokenizer.encode("\n\n", add_special_tokens=False)
    )
    assert word_lists.encode_in_context(tokenizer, "\n\n") == tokenizer.encode("\n\n", add_special_tokens=False)


@pytest.mark.parametrize("name", NAMES)
def test_the_engine_layout_keeps_two_rows_per_request(name):
    tokenizer = RecordedTokenizer(name)
    stop = word_lists.encode_in_context(tokenizer, "\n\n")
    user = word_lists.encode_in_context(tokenizer, "User:")
    result = word_lists.word_list([["\n\n", "", "User:"], []], tokenizer)
    width = len(stop) + len(user)
    assert result.shape == (2, 2, width)
    np.testing.assert_array_equal(result[0, 0], stop + user)
    np.testing.assert_array_equal(result[0, 1], [len(stop), width] + [-1] * (width - 2))
    np.testing.assert_array_equal(result[1], [[0] * width, [-1] * width])


def test_no_sentinel_separating_falls_back_to_the_phrase_alone():
    class MergesEverything:
        def encode(self, text, add_special_tokens=True):
            return [len(text)]

    assert word_lists.encode_in_context(MergesEverything(), "stop") == [4]
