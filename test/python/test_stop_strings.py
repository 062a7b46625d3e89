"""Stop strings on decoded text (OpenAI semantics), streamed and whole: where the answer ends, what
a stream holds back, and that a stream, however its text arrives, sends exactly the whole answer."""

import itertools

import pytest

from support import load_module

stop_strings = load_module("shared/stop_strings.py")


class Characters:
    """An IncrementalText stand-in whose tokens are characters (U+FFFD marks an incomplete one)."""

    def __init__(self):
        self.text = ""

    def extend(self, new):
        self.text += "".join(new)

    def whole(self):
        return self.text

    def settled(self):
        return self.whole().rstrip("\ufffd")


def answer(phrases, include=False):
    return stop_strings.Answer(Characters(), stop_strings.StopStrings(phrases, include))


def stream(text, phrases, cuts, include=False):
    """Pieces sent when `text` arrives split at `cuts`; the last one is what `finish` gives."""
    row = answer(phrases, include)
    bounds = [0, *cuts, len(text)]
    pieces = [row.push(text[start:end]) for start, end in zip(bounds, bounds[1:])]
    return pieces + [row.finish()], row


def whole(text, phrases, include=False):
    row = answer(phrases, include)
    row.extend(text)
    return row.finish()


@pytest.mark.parametrize(
    "text,phrases,include,expected",
    [
        ("The answer is here.\n\nNext", ["\n\n"], False, "The answer is here."),
        ("The answer is here.\n\nNext", ["\n\n"], True, "The answer is here.\n\n"),
        ("I like the Falcon very much", ["Falcon"], False, "I like the "),
        ("I like the Falcon very much", [" very", "Falcon"], False, "I like the "),
        ("Note:\n\nUser: hi", ["\n\nUser:"], False, "Note:"),
        ("xabc", ["abc", "b"], False, "xa"),
        ("xab", ["b", "ab"], False, "x"),
        ("no stop here", ["STOP"], False, "no stop here"),
        ("stop at once", ["stop"], False, ""),
        ("anything", [], False, "anything"),
        ("anything", ["", ""], True, "anything"),
    ],
)
def test_the_answer_ends_at_the_stop_string_that_completes_first(text, phrases, include, expected):
    assert whole(text, phrases, include) == expected
    for cuts in itertools.combinations(range(1, len(text)), min(3, len(text) - 1)):
        pieces, row = stream(text, phrases, list(cuts), include)
        assert "".join(pieces) == expected, cuts
    assert row.stopped == (expected != text)


def test_a_stream_holds_back_only_what_could_begin_a_stop_string():
    row = answer(["\n\nUser:"])
    assert row.push("Sure") == "Sure"
    assert row.push(".\n") == "."  # "\n" may begin the stop string
    assert row.push("\nUs") == ""  # so may "\n\nUs"
    assert row.push("ually") == "\n\nUsually"  # it did not
    assert row.push("\n\nUser: more") == ""
    assert row.stopped and row.finish() == ""
    assert row.push(" ignored") == ""


def test_the_hold_back_is_at_most_the_longest_stop_string_minus_one():
    stops = stop_strings.StopStrings(["abcd", "xy"])
    assert stops.sendable("zzabc") == 2
    assert stops.sendable("zzx") == 2
    assert stops.sendable("zzz") == 3
    assert stop_strings.StopStrings([]).sendable("abc") == 3


def test_an_incomplete_character_is_never_sent_nor_matched_half():
    class Scripted(Characters):
        """Whole texts after each token: the second byte of "é" completes the character."""

        TEXTS = ["", "caf\ufffd", "café", "café!"]

        def whole(self):
            return self.TEXTS[len(self.text)]

    row = stop_strings.Answer(Scripted(), stop_strings.StopStrings(["é!"]))
    assert row.push("1") == "caf"
    assert row.push("2") == ""  # complete now, and may begin the stop string
    assert row.push("3") == ""
    assert row.stopped and row.finish() == ""


def test_with_include_the_stop_string_is_sent_whole_at_the_end_of_the_answer():
    pieces, row = stream("Done.\n\nUser: next", ["\n\n"], [3, 6, 7], include=True)
    assert "".join(pieces) == "Done.\n\n" and row.stopped


def test_a_decoder_that_rewrites_sent_text_is_reported_not_hidden():
    class Rewriting(Characters):
        def whole(self):
            return self.text.replace(" .", ".")

    row = stop_strings.Answer(Rewriting(), stop_strings.StopStrings([]))
    assert row.push("Hello ") == "Hello "
    row.push(".")
    with pytest.raises(stop_strings.StopDivergedError, match="6 characters already streamed"):
        row.finish()
