"""Exact streaming with real tokenizers (recorded fixtures): tokens arrive a few at a time, and the
pieces sent must add up to exactly the whole decode, with no U+FFFD for a split character."""

import pytest

from recorded_tokenizer import NAMES, RecordedTokenizer
from support import load_module

incremental_text = load_module("tensorrt_llm_bls/incremental_text.py")


def cases():
    for name in NAMES:
        for completion in RecordedTokenizer(name).data["completions"]:
            yield pytest.param(name, completion, id=f"{name}:{completion['text'][:12]}")


def stream(tokenizer, ids, step):
    text = incremental_text.IncrementalText(lambda so_far: incremental_text.decode_completion(tokenizer, so_far, True))
    pieces = [text.push(ids[start : start + step]) for start in range(0, len(ids), step)]
    return pieces + [text.finish()]


@pytest.mark.parametrize("name,completion", cases())
@pytest.mark.parametrize("step", [1, 2, 3])
def test_streamed_pieces_add_up_to_the_whole_text(name, completion, step):
    tokenizer = RecordedTokenizer(name)
    pieces = stream(tokenizer, completion["ids"], step)
    whole = incremental_text.decode_completion(tokenizer, completion["ids"], True)
    assert whole == completion["text"]
    assert "".join(pieces) == whole
    assert all("\ufffd" not in piece for piece in pieces)


def test_decoding_each_piece_alone_is_the_defect_being_fixed():
    llama3 = RecordedTokenizer("llama3_1").data["completions"][0]
    assert llama3["text"] == "Launch 🚀🚀 now"
    assert llama3["pieces_decoded_alone"] == "Launch \ufffd\ufffd\ufffd\ufffd\ufffd\ufffd now"
    llama2 = RecordedTokenizer("llama2").data["completions"][0]
    assert llama2["pieces_decoded_alone"] == "Launch🚀🚀now"


def test_an_incomplete_character_is_held_back_until_complete():
    tokenizer = RecordedTokenizer("llama3_1")
    ids = tokenizer.data["completions"][0]["ids"]
    text = incremental_text.IncrementalText(lambda so_far: incremental_text.decode_completion(tokenizer, so_far, True))
    sent = [text.push([token]) for token in ids[:4]]
    # "Launch", " " + half a rocket (held), the rest of the rocket: the space comes with it.
    assert sent[0] == "Launch"
    assert "".join(sent) == "Launch 🚀"
    assert "\ufffd" not in "".join(sent)


def test_a_decoder_that_rewrites_sent_text_is_reported_not_hidden():
    texts = {1: "Hello ", 2: "Hello."}
    text = incremental_text.IncrementalText(lambda ids: texts[len(ids)])
    assert text.push([1]) == "Hello "
    assert text.push([2]) == ""
    with pytest.raises(incremental_text.StreamDivergedError, match="6 characters already streamed"):
        text.finish()


def test_a_trailing_incomplete_character_is_still_delivered_at_the_end():
    text = incremental_text.IncrementalText(lambda ids: "ok\ufffd")
    assert text.push([1]) == "ok"
    assert text.finish() == "\ufffd"
