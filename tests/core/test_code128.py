import re

import pytest

from stocktrace.core.code128 import PATTERNS, code128_modules, code128_svg, code128_values


def test_the_symbol_table_is_whole():
    assert len(PATTERNS) == 107 and len(set(PATTERNS)) == 107
    assert all(sum(map(int, p)) == 11 and len(p) == 6 for p in PATTERNS[:106])
    assert sum(map(int, PATTERNS[106])) == 13


def test_values_and_checksum():
    # Start B (104) + 1×48 + 2×42 + 3×42 + 4×17 + 5×18 + 6×19 + 7×35 = 879; 879 mod 103 = 55.
    assert code128_values("PJJ123C") == [104, 48, 42, 42, 17, 18, 19, 35, 55, 106]


def test_bars_read_back_as_the_text():
    text = "0212-007"
    widths = []
    bars = code128_modules(text)
    for (x, w), (next_x, _) in zip(bars, [*bars[1:], (None, 0)], strict=True):
        widths.append(w)
        if next_x is not None:
            widths.append(next_x - x - w)
    patterns = ["".join(map(str, widths[i:i + 6])) for i in range(0, len(widths) - 7, 6)]
    values = [PATTERNS.index(p) for p in patterns]
    assert values[0] == 104 and "".join(chr(v + 32) for v in values[1:-1]) == text


def test_svg_and_refusals():
    svg = code128_svg("A-1", module=2)
    assert svg.startswith("<svg") and 'aria-label="Barcode A-1"' in svg and len(re.findall("<rect x=", svg)) > 10
    for bad in ["", "é", "a\x00"]:
        with pytest.raises(ValueError):
            code128_values(bad)
