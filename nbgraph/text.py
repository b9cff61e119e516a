"""Numbers, shapes and array summaries as text, for explanations and drawings.

No graphviz, no widgets: every layer that shows a number formats it here.
"""

import numpy as np

import string

__all__ = ["fmt_number", "fmt_shape", "fmt_value", "fmt_param", "paren", "fill"]


def fmt_number(v):
    """4.0 -> '4', -12.0 -> '-12', 0.123456 -> '0.1235', 1e-9 -> '1e-09'."""
    v = float(v)
    if np.isnan(v):
        return "NaN"
    if np.isinf(v):
        return "Inf" if v > 0 else "-Inf"
    if v == int(v) and abs(v) < 1e6:
        return str(int(v))
    return f"{v:.4g}"


def fmt_shape(shape):
    return "×".join(str(n) for n in shape) if shape else "scalar"


def fmt_value(a):
    """A number for a single value, else shape and a short summary."""
    a = np.asarray(a)
    if a.size == 1:
        return fmt_number(a.reshape(()))
    if a.size == 0:
        return f"[{fmt_shape(a.shape)}] (empty)"
    finite = np.isfinite(a)
    if not finite.all():
        bad = "NaN" if np.isnan(a).any() else "Inf"
        return f"[{fmt_shape(a.shape)}] contains {bad} ({int((~finite).sum())} of {a.size})"
    return (f"[{fmt_shape(a.shape)}] mean {fmt_number(a.mean())}, "
            f"norm {fmt_number(np.sqrt((a * a).sum()))}")


def fmt_param(v):
    if isinstance(v, slice):
        parts = ["" if x is None else str(x) for x in (v.start, v.stop, v.step)]
        return ":".join(parts[:2] if v.step is None else parts)
    if isinstance(v, tuple):
        return ", ".join(fmt_param(x) for x in v)
    if isinstance(v, np.ndarray):
        return np.array2string(v, threshold=6, separator=",") if v.dtype != bool else f"mask[{fmt_shape(v.shape)}]"
    if isinstance(v, float):
        return fmt_number(v)
    if v is Ellipsis:
        return "..."
    return str(v)


def paren(s):
    """A negative number written after an operator gets parentheses: 4 * (-3)."""
    return f"({s})" if s.startswith("-") else s


# Characters after which a negative number needs parentheses (binary operators,
# and a unary minus at the start of a template such as "-{0}").
_OPERATORS = set("+-−*/@^·×÷")
# A negative base that is raised to a power needs them too: (-2)², (-2)^3.
_POWERS = ("^", "²", "³")
_formatter = string.Formatter()


def fill(template, names, params=None):
    """Put ``names`` (one string per input) and ``params`` into an op's template.

    ``{0}``, ``{1}``... are the inputs, ``{all}`` all of them, ``{p}`` the
    parameter suffix, any other field a parameter by name (already text).
    A value that starts with a minus sign is parenthesized exactly where it
    follows an operator or is raised to a power: ``h4 - (-0.5)``,
    ``4 * (-3)``, ``(-2)²``, but ``log(-2)`` and ``-3 · 1``.
    """
    params = params or {}
    pieces = list(_formatter.parse(template))
    out = []
    for i, (literal, field, _spec, _conv) in enumerate(pieces):
        out.append(literal)
        if field is None:
            continue
        if field.isdigit():
            value = names[int(field)]
        elif field == "all":
            value = ", ".join(names)
        else:
            value = params[field]
        if value.startswith("-"):
            before = "".join(out).rstrip()
            after = pieces[i + 1][0] if i + 1 < len(pieces) else ""
            if (before and before[-1] in _OPERATORS) or after.startswith(_POWERS):
                value = f"({value})"
        out.append(value)
    return "".join(out)
