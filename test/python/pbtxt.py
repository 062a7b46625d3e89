"""Reads a rendered config.pbtxt into the JSON shape Triton hands a Python model as
args["model_config"]: proto field names, enums as strings, numbers as numbers, repeated fields as
lists, maps as objects (parameters keep their {"string_value": ...} wrapper).

Written for these tests, independently of the TypeScript serializer it reads.
"""

import re

REPEATED = {"input", "output", "instance_group", "dims", "shape", "step"}
MAPS = {"parameters", "input_map", "output_map"}

_TOKEN = re.compile(
    r'\s+|#[^\n]*|(?P<punct>[{}\[\]:,])|(?P<string>"(?:[^"\\\n]|\\.)*")'
    r"|(?P<number>-?\d+(?:\.\d+)?)|(?P<ident>[A-Za-z_]\w*)|(?P<bad>.)"
)
_ESCAPES = {"n": 10, "r": 13, "t": 9, '"': 34, "'": 39, "\\": 92}


def _unescape(body):
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode("utf-8")
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        else:
            octal = re.match(r"[0-7]{1,3}", body[i + 1 :])
            if octal is None:
                raise ValueError(f"unknown escape \\{nxt}")
            out.append(int(octal.group(0), 8))
            i += 1 + len(octal.group(0))
    return out.decode("utf-8")


def _tokens(text):
    for match in _TOKEN.finditer(text):
        if match.group("bad") is not None:
            raise ValueError(f"unexpected {match.group('bad')!r} at {match.start()}")
        for kind in ("punct", "string", "number", "ident"):
            if match.group(kind) is not None:
                yield kind, match.group(kind)


def _scalar(kind, text):
    if kind == "string":
        return _unescape(text[1:-1])
    if kind == "number":
        return float(text) if "." in text else int(text)
    if text in ("true", "false"):
        return text == "true"
    return text


def parse(text):
    tokens = list(_tokens(text))
    position = 0

    def take(expected=None):
        nonlocal position
        kind, value = tokens[position]
        if expected is not None and value != expected:
            raise ValueError(f"expected {expected!r}, got {value!r}")
        position += 1
        return kind, value

    def message(end):
        result = {}
        while position < len(tokens) and tokens[position][1] != end:
            kind, name = take()
            if kind != "ident":
                raise ValueError(f"expected a field name, got {name!r}")
            if tokens[position][1] == ":":
                take(":")
            if tokens[position][1] == "{":
                take("{")
                value = message("}")
                take("}")
            elif tokens[position][1] == "[":
                take("[")
                value = []
                while tokens[position][1] != "]":
                    value.append(_scalar(*take()))
                    if tokens[position][1] == ",":
                        take(",")
                take("]")
            else:
                value = _scalar(*take())
            if name in MAPS:
                result.setdefault(name, {})[value["key"]] = value["value"]
            elif name in REPEATED:
                result.setdefault(name, []).extend(value if isinstance(value, list) else [value])
            elif name in result:
                raise ValueError(f"field {name!r} given twice")
            else:
                result[name] = value
        return result

    config = message(None)
    if position != len(tokens):
        raise ValueError("trailing tokens")
    return config
