"""User text in a drawing: made safe (``escape``), shortened, and measured.

``escape`` is the ONE place user text (names, scope labels, op symbols) is
made safe for DOT, SVG and widget HTML. ``text_width`` measures a text with
the metrics of DejaVu Sans -- wider than Helvetica (what the layout program
measures) and than Arial -- so a box sized by it holds its text in whichever
font of the stylesheet's stack (Helvetica, Arial, Liberation Sans, DejaVu
Sans) the reader's browser picks.
"""

import re

__all__ = ["escape", "shorten", "text_width"]

_TRANSLATE = {c: 0x2400 + c for c in range(0x20) if c not in (0x09, 0x0A)}  # ␀ ␁ ... ␟
_TRANSLATE.update({0x7F: 0x2421, 0x09: " ", 0xFFFE: 0xFFFD, 0xFFFF: 0xFFFD,
                   ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;",
                   ord('"'): "&quot;", ord("'"): "&#39;"})
_SURROGATE = re.compile("[\ud800-\udfff]")


def escape(text, dot=False):
    """Make any text safe inside widget HTML, SVG or (``dot=True``) a DOT HTML-like label.

    ``& < > " '`` become entities, so the text can neither close the DOT
    label (``>``), nor start an element (``<script>``), nor end an attribute.
    Inside an HTML-like label ``] ; { }`` and quotes have no meaning to DOT.
    ``\\r\\n`` and ``\\r`` become ``\\n``. A tab becomes a space; other control
    characters, which XML forbids, become their visible Unicode pictures
    (U+0001 -> ␁); U+FFFE, U+FFFF and lone surrogates become U+FFFD.

    With ``dot=True`` (text going into DOT): a backslash is doubled, since
    Graphviz reads ``\\N``, ``\\G``, ``\\E``... even in HTML-like labels, and
    a newline becomes ``<br/>``. Otherwise newlines stay (widgets show text
    in a ``pre``-wrapped block).
    """
    s = str(text)
    if "\r" in s:
        s = s.replace("\r\n", "\n").replace("\r", "\n")
    s = s.translate(_TRANSLATE)
    if _SURROGATE.search(s):
        s = _SURROGATE.sub("\ufffd", s)
    if dot:
        s = s.replace("\\", "\\\\").replace("\n", "<br/>")
    return s


def shorten(text, limit=48):
    """A name as its box shows it: one line (a newline shows as ↵), at most
    ``limit`` characters (cut with …); a blank name is shown in quotes.

    The full name stays available (the timeline's ``name``, for hover).
    """
    s = str(text).replace("\r\n", "\n").replace("\r", "\n").replace("\n", " ↵ ")
    if len(s) > limit:
        s = s[:limit - 1] + "…"
    if not s.strip():
        s = f'"{s}"'
    return s


# DejaVu Sans advance widths (1/1000 em) for U+0020..U+007E, regular and bold
# (measured from the font files; tools/ does not need to ship them).
_REGULAR = [318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636,
            636, 636, 636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698,
            770, 632, 575, 775, 752, 295, 295, 656, 557, 863, 748, 787, 603, 787, 695, 635, 611, 732,
            684, 989, 685, 611, 685, 390, 337, 390, 838, 500, 500, 613, 635, 550, 635, 615, 352, 635,
            634, 278, 278, 579, 278, 974, 634, 612, 635, 635, 411, 521, 392, 634, 592, 818, 592, 592,
            525, 636, 337, 636, 838]
_BOLD = [348, 456, 521, 838, 696, 1002, 872, 306, 457, 457, 523, 838, 380, 415, 380, 365, 696, 696,
         696, 696, 696, 696, 696, 696, 696, 696, 400, 400, 838, 838, 838, 580, 1000, 774, 762, 734,
         830, 683, 683, 821, 837, 372, 372, 775, 637, 995, 837, 850, 733, 850, 770, 720, 682, 812,
         774, 1103, 771, 724, 725, 457, 365, 457, 838, 500, 500, 675, 716, 593, 716, 678, 435, 716,
         712, 343, 343, 665, 343, 1042, 712, 687, 716, 716, 493, 595, 478, 712, 652, 924, 645, 652,
         582, 712, 365, 712, 838]
_OTHER = {"×": 838, "·": 318, "…": 1000, "∂": 517, "−": 838, "≥": 838, "≤": 838, "↵": 838,
          "␀": 1000}


def text_width(text, size, bold=False):
    """Width in points of ``text`` (plain, not escaped) at font ``size``, with DejaVu
    Sans metrics; characters outside the table count as 1 em (1.25 em for emoji)."""
    table = _BOLD if bold else _REGULAR
    total = 0
    for ch in str(text):
        c = ord(ch)
        if 32 <= c < 127:
            total += table[c - 32]
        elif ch in _OTHER:
            total += _OTHER[ch] * (1.08 if bold else 1.0)
        else:
            total += 1250 if c >= 0x1F000 else 1000
    return total * size / 1000.0
