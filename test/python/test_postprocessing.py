import copy

import numpy as np

from fake_transformers import FakeTokenizer
from recorded_tokenizer import RecordedTokenizer
from support import MOUNT, assert_matches_config, load_model, outputs, request, strings


def decode(model, output_ids, sequence_length, **optional):
    [response] = model.execute(
        [
            request(
                output_ids=np.array(output_ids, np.int32),
                sequence_length=np.array(sequence_length, np.int32),
                **optional,
            )
        ]
    )
    return outputs(response)


def test_loads_the_tokenizer_from_the_rendered_tokenizer_dir(rendered):
    _, loader = load_model("postprocessing", FakeTokenizer(), rendered["falcon"]["postprocessing"])
    assert loader.calls == [(f"{MOUNT}/triton/tokenizer", {})]


def test_tokens_beyond_sequence_length_are_dropped_and_eos_is_not_text(rendered):
    config = rendered["falcon"]["postprocessing"]
    model, _ = load_model("postprocessing", FakeTokenizer(), config)
    out = decode(model, [[[107, 106, 11, 105, 105]]], [[3]])
    assert_matches_config(out, config, batch=1)
    assert out["text_output"].tolist() == [[b"Paris?"]]


def test_each_row_of_a_batch_uses_its_own_length(rendered):
    config = rendered["falcon"]["postprocessing"]
    model, _ = load_model("postprocessing", FakeTokenizer(), config)
    out = decode(model, [[[107, 11, 11, 11]], [[100, 101, 107, 106]]], [[1], [4]])
    assert_matches_config(out, config, batch=2)
    assert out["text_output"].tolist() == [[b"Paris"], [b"What is Paris?"]]


def test_skip_special_tokens_false_keeps_eos_in_the_text(rendered):
    config = copy.deepcopy(rendered["falcon"]["postprocessing"])
    assert config["parameters"]["skip_special_tokens"] == {"string_value": "true"}
    config["parameters"]["skip_special_tokens"] = {"string_value": "false"}
    model, _ = load_model("postprocessing", FakeTokenizer(), config)
    assert decode(model, [[[107, 11]]], [[2]])["text_output"].tolist() == [[b"Paris <|endoftext|>"]]


def test_text_is_utf8_bytes(rendered):
    tokenizer = FakeTokenizer()
    token = tokenizer.encode("Zürich", add_special_tokens=False)
    model, _ = load_model("postprocessing", tokenizer, rendered["falcon"]["postprocessing"])
    assert decode(model, [[token]], [[len(token)]])["text_output"].tolist() == [["Zürich".encode("utf-8")]]


def test_behind_the_prompt_a_sentencepiece_completion_keeps_its_leading_space(rendered):
    tokenizer = RecordedTokenizer("llama2")
    completion = next(case for case in tokenizer.data["completions"] if case["completion"] == " a , b .")
    prompt = tokenizer.encode(tokenizer.data["prompt"], add_special_tokens=True)
    model, _ = load_model("postprocessing", tokenizer, rendered["falcon"]["postprocessing"])
    ids = completion["ids"]
    prompt_tensors = dict(input_ids=np.array([prompt], np.int32), input_lengths=np.array([[len(prompt)]], np.int32))
    assert decode(model, [[ids]], [[len(ids)]], **prompt_tensors)["text_output"].tolist() == [[b" a , b ."]]
    # Alone, the tokens lose it: the defect the prompt context fixes.
    assert decode(model, [[ids]], [[len(ids)]])["text_output"].tolist() == [[b"a , b ."]]


def test_each_row_ends_at_its_own_first_stop_string(rendered):
    tokenizer = FakeTokenizer()
    words = tokenizer.encode("Paris ? What is the capital", add_special_tokens=False)
    model, _ = load_model("postprocessing", tokenizer, rendered["falcon"]["postprocessing"])
    out = decode(
        model,
        [[words], [words]],
        [[len(words)], [len(words)]],
        stop_words=strings(["What", "capital"], ["capital", ""]),
        include_stop_str_in_output=np.array([[False], [True]], np.bool_),
    )
    assert out["text_output"].tolist() == [[b"Paris? "], [b"Paris? What is the capital"]]
