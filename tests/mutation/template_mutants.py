"""Mutants of the Jinja2 templates (templates/*.j2): one small change each, the bugs a kernel
writer makes.

Operators (applied only to code: never inside Jinja comments `{# #}`, Python comments, docstrings
or string literals, where a change could not alter what runs):
- `arith`: a binary `+ - * /` swapped (`+`<->`-`, `*`<->`/`), and `+= -=` swapped;
- `compare`: a comparison flipped at its boundary or negated (`<`<->`<=`, `>`<->`>=`,
  `==`<->`!=`);
- `const`: an integer or float constant changed (0->1, 1->0, 2->1, n->n+1; floats 0.0->1.0,
  x->x+1);
- `index`: two different index variables of a subscript swapped (`x[b, t, j]` -> `x[t, b, j]`,
  and the last two);
- `drop`: a term dropped from a sum (`a + b * c` -> `a`).

`mutants(text)` lists them in a fixed order; `Mutant.apply(text)` makes the mutated text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    operator: str
    start: int  # offset of `old` in the template text
    old: str
    new: str
    line: int

    def apply(self, text: str) -> str:
        assert text[self.start:self.start + len(self.old)] == self.old
        return text[:self.start] + self.new + text[self.start + len(self.old):]

    def describe(self) -> str:
        return f"line {self.line}: {self.operator} {self.old!r} -> {self.new!r}"


def code_mask(text: str) -> list[bool]:
    """True for each character that is code (Python or a Jinja expression or statement)."""
    mask = [True] * len(text)

    def blank(a, b):
        for k in range(a, b):
            mask[k] = False

    for m in re.finditer(r"\{#.*?#\}", text, re.S):  # Jinja comments
        blank(m.start(), m.end())
    # `equation` macros render the one-line comment that opens an op's block in the driver.
    for m in re.finditer(r"\{% macro equation\(.*?\{% endmacro %\}", text, re.S):
        blank(m.start(), m.end())
    for m in re.finditer(r'"""(.*?)"""', text, re.S):  # docstrings
        blank(m.start(), m.end())
    offset = 0
    for line in text.splitlines(keepends=True):
        quote = None
        for k, ch in enumerate(line):
            if not mask[offset + k]:
                continue
            if quote:
                mask[offset + k] = False
                if ch == quote and line[k - 1] != "\\":
                    quote = None
            elif ch in "'\"":
                quote = ch
                mask[offset + k] = False
            elif ch == "#" and (k == 0 or line[k - 1] != "{") and line[k + 1:k + 2] != "}":
                blank(offset + k, offset + len(line))  # a Python comment, to the line's end
                break
        offset += len(line)
    return mask


ARITH = {" + ": " - ", " - ": " + ", " * ": " / ", " / ": " * ", " += ": " -= ",
         " -= ": " += "}
COMPARE = {" < ": " <= ", " <= ": " < ", " > ": " >= ", " >= ": " > ", " == ": " != ",
           " != ": " == "}
NUMBER = re.compile(r"(?<![\w.])(\d+\.\d*(?:e-?\d+)?|\d+)(?![\w.])")
SUBSCRIPT = re.compile(r"\[([A-Za-z_]\w*(?:, [A-Za-z_]\w*)+)\]")
TERM_END = re.compile(r" [+-] |[),\]]|$", re.M)


def _line_of(text, offset):
    return text.count("\n", 0, offset) + 1


def _changed_number(token):
    if "." in token or "e" in token:
        value = float(token)
        return "1.0" if value == 0 else repr(value + 1)
    return {0: "1", 1: "0", 2: "1"}.get(int(token), str(int(token) + 1))


def _dropped_term_end(text, start):
    """End of the term that starts at `start` (after a ` + `): the next ` + `/` - `, closing
    bracket or comma at the same bracket depth, or the end of the line."""
    depth = 0
    k = start
    while k < len(text) and text[k] != "\n":
        ch = text[k]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                return k
            depth -= 1
        elif depth == 0 and (ch == "," or text.startswith((" + ", " - "), k)):
            return k
        k += 1
    return k


def mutants(text: str) -> list[Mutant]:
    mask = code_mask(text)

    def code(a, b):
        return all(mask[a:b])

    found = []
    for table, name in ((ARITH, "arith"), (COMPARE, "compare")):
        for old, new in table.items():
            for m in re.finditer(re.escape(old), text):
                if code(m.start(), m.end()):
                    found.append(Mutant(name, m.start(), old, new, _line_of(text, m.start())))
    for m in NUMBER.finditer(text):
        if code(m.start(), m.end()):
            found.append(Mutant("const", m.start(), m.group(), _changed_number(m.group()),
                                _line_of(text, m.start())))
    for m in SUBSCRIPT.finditer(text):
        if not code(m.start(), m.end()):
            continue
        names = m.group(1).split(", ")
        swaps = {(0, 1), (len(names) - 2, len(names) - 1)}
        for a, b in sorted(swaps):
            if names[a] == names[b]:
                continue
            swapped = list(names)
            swapped[a], swapped[b] = swapped[b], swapped[a]
            found.append(Mutant("index", m.start(1), m.group(1), ", ".join(swapped),
                                _line_of(text, m.start())))
    for m in re.finditer(r" \+ ", text):
        if not code(m.start(), m.end()):
            continue
        end = _dropped_term_end(text, m.end())
        if end > m.end() and code(m.start(), end):
            found.append(Mutant("drop", m.start(), text[m.start():end], "",
                                _line_of(text, m.start())))
    found.sort(key=lambda mu: (mu.start, mu.operator, mu.new))
    return found
