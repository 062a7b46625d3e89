import copy

import numpy as np
import pytest

import triton_python_backend_utils as pb_utils
from fake_transformers import FakeTokenizer
from support import MOUNT, assert_matches_config, load_model, outputs, request, strings
from trtllm_engine import word_sequences

PROMPT = "What is the capital of France?"
PROMPT_IDS = [100, 101, 102, 103, 104, 105, 106]


def empty_word_list(batch):
    return np.array([[[0], [-1]]] * batch)


def without_parameters(config, *names):
    config = copy.deepcopy(config)
    for name in names:
        del config["parameters"][name]
    return config


def with_parameter(config, name, value):
    config = copy.deepcopy(config)
    config["parameters"][name] = {"string_value": value}
    return config


def test_loads_the_tokenizer_from_the_rendered_tokenizer_dir(rendered):
    _, loader = load_model("preprocessing", FakeTokenizer(), rendered["falcon"]["preprocessing"])
    assert loader.calls == [(f"{MOUNT}/triton/tokenizer", {})]


def test_one_prompt_becomes_the_engine_request_with_falcon_end_and_pad_ids(rendered):
    config = rendered["falcon"]["preprocessing"]
    model, _ = load_model("preprocessing", FakeTokenizer(), config)
    [response] = model.execute([request(text_input=strings([PROMPT]), max_tokens=np.array([[64]], np.int32))])
    out = outputs(response)
    assert_matches_config(out, config, batch=1)
    np.testing.assert_array_equal(out["input_ids"], [PROMPT_IDS])
    np.testing.assert_array_equal(out["input_lengths"], [[7]])
    np.testing.assert_array_equal(out["request_output_len"], [[64]])
    # Falcon's <|endoftext|> is 11; the walkthrough's end 3 / pad 2 never stop generation.
    np.testing.assert_array_equal(out["resolved_end_id"], [[11]])
    np.testing.assert_array_equal(out["resolved_pad_id"], [[11]])
    np.testing.assert_array_equal(out["bad_words_list"], empty_word_list(1))
    np.testing.assert_array_equal(out["stop_words_list"], empty_word_list(1))


def test_each_word_element_is_one_phrase_in_the_two_row_format(rendered):
    model, _ = load_model("preprocessing", FakeTokenizer(), rendered["falcon"]["preprocessing"])
    [response] = model.execute(
        [
            request(
                text_input=strings([PROMPT]),
                max_tokens=np.array([[16]], np.int32),
                stop_words=strings(["Hello, world", "\n\n", ""]),
                bad_words=strings(["France"]),
            )
        ]
    )
    out = outputs(response)
    # "Hello, world" stays one phrase, first as encoded alone; "\n\n" is another; "" is ignored.
    stops = word_sequences(out["stop_words_list"][0])
    assert stops[0] == [108, 109, 110] and [111, 111] in stops
    assert all(len(sequence) >= 2 for sequence in stops), "no phrase was split at its comma"
    assert word_sequences(out["bad_words_list"][0])[0] == [105]


def test_a_batch_pads_rows_and_keeps_per_row_lengths_and_word_lists(rendered):
    config = rendered["streaming"]["preprocessing"]
    model, _ = load_model("preprocessing", FakeTokenizer(), config)
    [response] = model.execute(
        [
            request(
                text_input=strings(["Hi"], [PROMPT]),
                max_tokens=np.array([[5], [7]], np.int32),
                bad_words=strings(["Hello"], ["Paris", "User:"]),
            )
        ]
    )
    out = outputs(response)
    assert_matches_config(out, config, batch=2)
    np.testing.assert_array_equal(out["input_ids"], [[114] + [11] * 6, PROMPT_IDS])
    np.testing.assert_array_equal(out["input_lengths"], [[1], [7]])
    np.testing.assert_array_equal(out["request_output_len"], [[5], [7]])
    assert word_sequences(out["bad_words_list"][0])[0] == [108]
    second = word_sequences(out["bad_words_list"][1])
    assert second[0] == [107] and [112, 113] in second and [108] not in second
    np.testing.assert_array_equal(out["stop_words_list"], empty_word_list(2))
    np.testing.assert_array_equal(out["resolved_end_id"], [[11], [11]])


def test_several_rows_are_refused_where_the_engine_is_not_decoupled(rendered):
    model, _ = load_model("preprocessing", FakeTokenizer(), rendered["falcon"]["preprocessing"])
    two_rows = request(text_input=strings(["Hi"], [PROMPT]), max_tokens=np.array([[5], [7]], np.int32))
    [refused] = model.execute([two_rows])
    assert "text_input holds 2 rows" in refused.error().message()
    assert "deployment.streaming: false" in refused.error().message()


def test_on_a_streaming_stack_stop_words_are_refused_and_the_model_that_applies_them_named(rendered):
    model, _ = load_model("preprocessing", FakeTokenizer(), rendered["streaming"]["preprocessing"])
    args = dict(text_input=strings([PROMPT]), max_tokens=np.array([[8]], np.int32))
    [refused] = model.execute([request(stop_words=strings(["User:"]), **args)])
    assert "stop_words on this stack are applied by tensorrt_llm_bls" in refused.error().message()
    assert "/v2/models/tensorrt_llm_bls/generate_stream" in refused.error().message()
    [accepted] = model.execute([request(stop_words=strings([""]), **args)])
    np.testing.assert_array_equal(outputs(accepted)["stop_words_list"], empty_word_list(1))


def test_end_and_pad_ids_sent_by_the_request_win(rendered):
    model, _ = load_model("preprocessing", FakeTokenizer(), rendered["streaming"]["preprocessing"])
    [response] = model.execute(
        [
            request(
                text_input=strings(["Hi"], [PROMPT]),
                max_tokens=np.array([[5], [5]], np.int32),
                end_id=np.array([[193], [11]], np.int32),
                pad_id=np.array([[0], [0]], np.int32),
            )
        ]
    )
    out = outputs(response)
    np.testing.assert_array_equal(out["resolved_end_id"], [[193], [11]])
    np.testing.assert_array_equal(out["resolved_pad_id"], [[0], [0]])
    np.testing.assert_array_equal(out["input_ids"][0], [114, 0, 0, 0, 0, 0, 0])


def test_add_special_tokens_applies_to_the_prompt_only(rendered):
    config = rendered["falcon"]["preprocessing"]
    assert config["parameters"]["add_special_tokens"] == {"string_value": "true"}
    args = dict(text_input=strings([PROMPT]), max_tokens=np.array([[8]], np.int32), stop_words=strings(["Paris"]))

    with_bos, _ = load_model("preprocessing", FakeTokenizer(bos_token_id=1), config)
    out = outputs(with_bos.execute([request(**args)])[0])
    np.testing.assert_array_equal(out["input_ids"], [[1] + PROMPT_IDS])
    np.testing.assert_array_equal(out["input_lengths"], [[8]])
    assert word_sequences(out["stop_words_list"][0])[0] == [107], "no BOS before a stop word"

    without, _ = load_model(
        "preprocessing", FakeTokenizer(bos_token_id=1), with_parameter(config, "add_special_tokens", "false")
    )
    np.testing.assert_array_equal(outputs(without.execute([request(**args)])[0])["input_ids"], [PROMPT_IDS])


def test_the_configured_end_id_wins_over_a_disagreeing_tokenizer_and_says_so(rendered):
    config = rendered["llama"]["preprocessing"]
    assert config["parameters"]["default_end_id"] == {"string_value": "128009"}
    model, _ = load_model("preprocessing", FakeTokenizer(eos_token_id=128001), config)
    out = outputs(model.execute([request(text_input=strings(["Hi"]), max_tokens=np.array([[4]], np.int32))])[0])
    np.testing.assert_array_equal(out["resolved_end_id"], [[128009]])
    np.testing.assert_array_equal(out["resolved_pad_id"], [[128009]])
    warnings = [message for level, message in pb_utils.Logger.messages if level == "warn"]
    assert len(warnings) == 1 and "128009" in warnings[0] and "128001" in warnings[0]


def test_without_configured_ids_the_tokenizer_supplies_them_and_pad_falls_back_to_eos(rendered):
    config = without_parameters(rendered["falcon"]["preprocessing"], "default_end_id", "default_pad_id")
    args = dict(text_input=strings(["Hi"]), max_tokens=np.array([[4]], np.int32))

    no_pad, _ = load_model("preprocessing", FakeTokenizer(eos_token_id=11), config)
    out = outputs(no_pad.execute([request(**args)])[0])
    np.testing.assert_array_equal(out["resolved_end_id"], [[11]])
    np.testing.assert_array_equal(out["resolved_pad_id"], [[11]])

    with_pad, _ = load_model("preprocessing", FakeTokenizer(eos_token_id=2, pad_token_id=0), config)
    out = outputs(with_pad.execute([request(**args)])[0])
    np.testing.assert_array_equal(out["resolved_end_id"], [[2]])
    np.testing.assert_array_equal(out["resolved_pad_id"], [[0]])
    assert pb_utils.Logger.messages == []


def test_bad_requests_get_their_own_error_and_the_rest_of_the_batch_still_runs(rendered):
    config = rendered["falcon"]["preprocessing"]
    assert config["parameters"]["max_input_len"] == {"string_value": "12"}
    model, _ = load_model("preprocessing", FakeTokenizer(), config)
    too_long = " ".join(["Hello"] * 13)
    responses = model.execute(
        [
            request(text_input=strings([too_long]), max_tokens=np.array([[4]], np.int32)),
            request(text_input=strings([PROMPT]), max_tokens=np.array([[0]], np.int32)),
            request(text_input=strings([PROMPT]), max_tokens=np.array([[4]], np.int32)),
        ]
    )
    assert responses[0].has_error()
    assert "13 tokens" in responses[0].error().message() and "at most 12" in responses[0].error().message()
    assert responses[1].has_error()
    assert "max_tokens must be at least 1" in responses[1].error().message()
    np.testing.assert_array_equal(outputs(responses[2])["input_ids"], [PROMPT_IDS])


def test_a_config_without_tokenizer_dir_fails_to_load(rendered):
    config = without_parameters(rendered["falcon"]["preprocessing"], "tokenizer_dir")
    with pytest.raises(pb_utils.TritonModelException, match="tokenizer_dir"):
        load_model("preprocessing", FakeTokenizer(), config)


def test_stream_true_is_refused_with_what_to_do_instead(rendered):
    args = dict(text_input=strings([PROMPT]), max_tokens=np.array([[8]], np.int32))

    plain, _ = load_model("preprocessing", FakeTokenizer(), rendered["falcon"]["preprocessing"])
    [refused] = plain.execute([request(stream=np.array([[True]], np.bool_), **args)])
    assert refused.has_error()
    assert "deployment.streaming: true" in refused.error().message()
    assert "stream: false" in refused.error().message()

    streaming, _ = load_model("preprocessing", FakeTokenizer(), rendered["streaming"]["preprocessing"])
    [redirected] = streaming.execute([request(stream=np.array([[True]], np.bool_), **args)])
    assert "/v2/models/tensorrt_llm_bls/generate_stream" in redirected.error().message()

    for model in (plain, streaming):
        [accepted] = model.execute([request(stream=np.array([[False]], np.bool_), **args)])
        np.testing.assert_array_equal(outputs(accepted)["input_ids"], [PROMPT_IDS])
