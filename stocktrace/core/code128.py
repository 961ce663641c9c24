"""Code 128 (code set B) as SVG: the barcode a handheld scanner reads off a printed label. Printable ASCII only,
as stocktrace's codes are. Bars are drawn in modules of `module` user units with quiet zones of 10 modules."""

# The bar and space widths (in modules) of each symbol value 0–106, from the Code 128 specification.
PATTERNS = (
    "212222 222122 222221 121223 121322 131222 122213 122312 132212 221213 221312 231212 112232 122132 122231 "
    "113222 123122 123221 223211 221132 221231 213212 223112 312131 311222 321122 321221 312212 322112 322211 "
    "212123 212321 232121 111323 131123 131321 112313 132113 132311 211313 231113 231311 112133 112331 132131 "
    "113123 113321 133121 313121 211331 231131 213113 213311 213131 311123 311321 331121 312113 312311 332111 "
    "314111 221411 431111 111224 111422 121124 121421 141122 141221 112214 112412 122114 122411 142112 142211 "
    "241211 221114 413111 241112 134111 111242 121142 121241 114212 124112 124211 411212 421112 421211 212141 "
    "214121 412121 111143 111341 131141 114113 114311 411113 411311 113141 114131 311141 411131 211412 211214 "
    "211232 2331112"
).split()
START_B, STOP = 104, 106
QUIET = 10


def code128_values(text: str) -> list[int]:
    """The symbol values: start B, the characters, the checksum, stop."""
    if not text or not all(" " <= ch <= "~" for ch in text):
        raise ValueError("Code 128 B holds printable ASCII only")
    values = [START_B] + [ord(ch) - 32 for ch in text]
    checksum = (values[0] + sum(position * value for position, value in enumerate(values[1:], 1))) % 103
    return [*values, checksum, STOP]


def code128_modules(text: str) -> list[tuple[int, int]]:
    """(start, width) of each bar, in modules from the left edge of the quiet zone."""
    bars, x = [], QUIET
    for value in code128_values(text):
        for index, width in enumerate(PATTERNS[value]):
            if index % 2 == 0:  # bars and spaces alternate, starting with a bar
                bars.append((x, int(width)))
            x += int(width)
    return bars


def code128_svg(text: str, *, module: float = 1.0, height: float = 40.0) -> str:
    bars = code128_modules(text)
    last_start, last_width = bars[-1]
    width = (last_start + last_width + QUIET) * module
    rects = "".join(f'<rect x="{x * module:g}" width="{w * module:g}" height="{height:g}"/>' for x, w in bars)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:g} {height:g}" role="img" '
            f'aria-label="Barcode {text}" class="barcode"><rect width="100%" height="100%" fill="#fff"/>'
            f'<g fill="#000">{rects}</g></svg>')
