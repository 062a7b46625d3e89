"""Stop strings applied to the decoded text, with no Triton dependency.

The engine stops only when the ids it generates end with a listed token sequence, and the tokens a
model writes for a phrase depend on what comes before it; so, as vLLM and TGI do, the answer is also
cut at the first stop string in its text (vllm/engine/output_processor/stop_checker.py). OpenAI
semantics: the answer ends just before the stop string, or just after it with
include_stop_str_in_output.

"First" is the occurrence that ends first (then the one that starts first): that is the one a
stream sees complete first, so a stream and a whole answer cut at the same place. A stream holds
back the trailing characters that could still begin a stop string (at most the longest stop string
minus one, vLLM's stop_buffer_length in vllm/v1/engine/detokenizer.py), so no stop string is ever
half sent.
"""


class StopDivergedError(Exception):
    """The text of the whole answer no longer starts with the text already streamed."""


class StopStrings:
    def __init__(self, phrases, include=False):
        self.phrases = tuple(dict.fromkeys(phrase for phrase in phrases if phrase != ""))
        self.include = bool(include)

    def cut(self, text):
        """Where the answer ends when `text` holds a stop string, else None."""
        first = None
        for phrase in self.phrases:
            start = text.find(phrase)
            if start >= 0:
                candidate = (start + len(phrase), start)
                first = candidate if first is None or candidate < first else first
        if first is None:
            return None
        end, start = first
        return end if self.include else start

    def sendable(self, text):
        """How much of `text` may be sent: all but a trailing part that could begin a stop string."""
        held = 0
        for phrase in self.phrases:
            for length in range(min(len(phrase) - 1, len(text)), held, -1):
                if text.endswith(phrase[:length]):
                    held = length
                    break
        return len(text) - held


class Answer:
    """One row's answer: its decoded text, ended at the first stop string, handed out in pieces."""

    def __init__(self, text, stops):
        """`text` is the row's IncrementalText, `stops` its StopStrings."""
        self._text = text
        self._stops = stops
        self._sent = ""
        self.stopped = False

    def push(self, new_ids):
        """Adds generated tokens; returns the text that may be sent now ("" when none). After a stop
        string the answer is complete (`stopped`) and further tokens are ignored."""
        if self.stopped:
            return ""
        self._text.extend(new_ids)
        settled = self._text.settled()
        if not settled.startswith(self._sent):
            return ""
        end = self._stops.cut(settled)
        if end is not None:
            self.stopped = True
        else:
            end = self._stops.sendable(settled)
        return self._hand_out(settled, end)

    def extend(self, new_ids):
        """Adds tokens without handing out text: `finish` gives the whole answer."""
        if not self.stopped:
            self._text.extend(new_ids)

    def finish(self):
        """The rest of the answer once the sequence is complete."""
        if self.stopped:
            return ""
        whole = self._text.whole()
        if not whole.startswith(self._sent):
            raise StopDivergedError(
                f"the tokenizer decoded the whole completion as {whole!r}, which does not start with "
                f"the {len(self._sent)} characters already streamed"
            )
        end = self._stops.cut(whole)
        self.stopped = end is not None
        return self._hand_out(whole, len(whole) if end is None else end)

    def _hand_out(self, text, end):
        piece = text[len(self._sent) : max(end, len(self._sent))]
        self._sent += piece
        return piece
