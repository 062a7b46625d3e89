"""Exact completion text with real tokenizers (recorded fixtures): the tokens a model writes after a
prompt, decoded behind the prompt's last tokens, give back the completion text exactly, leading
space included, and pieces streamed a few tokens at a time add up to it with no U+FFFD."""

import pytest

from recorded_tokenizer import NAMES, RecordedTokenizer
from support import load_module

incremental_text = load_module("shared/incremental_text.py")


def cases():
    for name in NAMES:
        for completion in RecordedTokenizer(name).data["completions"]:
            yield pytest.param(name, completion, id=f"{name}:{completion['completion'][:12]}")


def context(tokenizer):
    prompt_ids = tokenizer.encode(tokenizer.data["prompt"], add_special_tokens=True)
    return incremental_text.prompt_context(prompt_ids, len(prompt_ids))


def decoder(tokenizer):
    return incremental_text.IncrementalText(incremental_text.make_decode(tokenizer, True), context(tokenizer))


@pytest.mark.parametrize("name,completion", cases())
def test_the_completion_comes_back_exactly_leading_space_included(name, completion):
    tokenizer = RecordedTokenizer(name)
    text = decoder(tokenizer)
    text.extend(completion["ids"])
    assert text.whole() == completion["completion"]


@pytest.mark.parametrize("name,completion", cases())
@pytest.mark.parametrize("step", [1, 2, 3])
def test_settled_text_only_grows_and_ends_as_the_whole_text(name, completion, step):
    tokenizer = RecordedTokenizer(name)
    text = decoder(tokenizer)
    ids = completion["ids"]
    previous = ""
    for start in range(0, len(ids), step):
        text.extend(ids[start : start + step])
        settled = text.settled()
        assert settled.startswith(previous) and "\ufffd" not in settled
        previous = settled
    assert text.whole() == completion["completion"]


def test_decoding_alone_loses_the_sentencepiece_leading_space_and_splits_characters():
    # The defects this replaces, as the real tokenizers show them.
    llama2 = {case["completion"]: case for case in RecordedTokenizer("llama2").data["completions"]}
    assert llama2[" a , b ."]["decoded_alone"] == "a , b ."
    assert llama2[" Launch 🚀🚀 now"]["pieces_decoded_alone"] == "Launch🚀🚀now"
    llama3 = RecordedTokenizer("llama3_1").data["completions"][0]
    assert llama3["pieces_decoded_alone"] == " Launch \ufffd\ufffd\ufffd\ufffd\ufffd\ufffd now"


def test_an_incomplete_character_is_not_settled_until_complete():
    tokenizer = RecordedTokenizer("llama3_1")
    ids = tokenizer.data["completions"][0]["ids"]
    text = decoder(tokenizer)
    settled = []
    for token in ids[:4]:
        text.extend([token])
        settled.append(text.settled())
    # " Launch", then " " + half a rocket (unsettled), then the whole rocket.
    assert settled[0] == " Launch"
    assert settled[1] == settled[2] == " Launch "
    assert settled[3] == " Launch 🚀"
    assert text.whole() == " Launch 🚀"


def test_the_context_is_the_last_prompt_tokens_of_the_row():
    assert incremental_text.prompt_context([1, 2, 3, 4, 5, 6, 7, 0, 0], 7) == [3, 4, 5, 6, 7]
    assert incremental_text.prompt_context([1, 2, 0], 2) == [1, 2]


def test_without_a_context_the_tokens_are_decoded_alone():
    text = incremental_text.IncrementalText(lambda ids: "|".join(map(str, ids)))
    assert text.whole() == ""
    text.extend([4, 5])
    assert text.whole() == "4|5"
