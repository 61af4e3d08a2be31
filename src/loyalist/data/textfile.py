"""Delimited text files read strictly: the encoding chosen by plausibility, records counted from the file itself.

:func:`choose_encoding` decodes a sample with each candidate encoding and scores how plausible the text is
(UTF-8 that decodes is taken as is; a Chinese decoding is plausible when its characters are common simplified
characters of GB2312; a Western decoding when its accented letters sit inside words), returns the best with its
confidence, and refuses to guess when two candidates are both plausible and read the bytes differently.

:func:`split_records` walks the physical lines of the decoded text and returns the records with their line numbers,
and the malformed lines one by one (a wrong number of fields, an unclosed quote), so that every non-blank line
of the file is either in a record or rejected: one unclosed quote no longer swallows the lines after it.
"""

from __future__ import annotations

import codecs
import csv
import unicodedata
from dataclasses import dataclass, field

__all__ = ["EncodingChoice", "choose_encoding", "AmbiguousEncoding", "Records", "split_records", "MAX_RECORD_LINES"]

#: A quoted field may span at most this many physical lines; a quote left open longer is an unclosed quote.
MAX_RECORD_LINES = 50
#: A decoding is plausible when at least this share of its non-ASCII characters look like real text.
PLAUSIBLE = 0.9

_CHINESE = ("gb18030",)
_WESTERN = ("cp1252", "latin-1")
_WESTERN_SYMBOLS = set("€£¥°©®±×÷–—‘’‚“”„…·•§¶¿¡«»ªº")
#: Single-byte Latin code pages: a guess among these is covered by the cp1252 candidate.
_LATIN = {codecs.lookup(c).name for c in (
    "latin-1", "iso8859-15", "cp1252", "cp1250", "iso8859-2", "mac-roman", "cp850", "cp437", "iso8859-9", "cp1254",
    "iso8859-3", "iso8859-4", "iso8859-10", "iso8859-13", "iso8859-14", "iso8859-16", "cp1257", "cp1258",
    "mac-latin2", "ascii")}


@dataclass(frozen=True)
class EncodingChoice:
    """The encoding a text file is read with: ``confidence`` is the share of plausible non-ASCII characters in
    the sample (1.0 for UTF-8 or pure ASCII), ``checked`` how many non-ASCII characters were scored, ``others``
    the other candidates with their scores."""

    encoding: str
    confidence: float
    checked: int
    others: dict[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        if self.checked == 0:
            return f"{self.encoding} (confidence {self.confidence:.2f})"
        return f"{self.encoding} (confidence {self.confidence:.2f} over {self.checked:,} non-ASCII characters)"


class AmbiguousEncoding(ValueError):
    """Two candidate encodings are both plausible and decode the sample differently."""

    def __init__(self, first: tuple[str, float, str], second: tuple[str, float, str]):
        self.first, self.second = first, second
        super().__init__(f"{first[0]} and {second[0]}")


def _in_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
        return True
    except UnicodeEncodeError:
        return False


def _plausibility(text: str, encoding: str) -> tuple[float, int]:
    """(share of plausible non-ASCII characters, how many were scored)."""
    positions = [i for i, ch in enumerate(text) if ord(ch) > 127]
    if not positions:
        return 1.0, 0
    good = 0
    chinese = encoding in _CHINESE
    western = encoding in _WESTERN
    n = len(text)
    for i in positions:
        ch = text[i]
        if chinese:
            if ("\u4e00" <= ch <= "\u9fff" and _in_gb2312(ch)) or "\u3000" <= ch <= "\u303f" or (
                    "\uff00" <= ch <= "\uffef"):
                good += 1
            continue
        if western:
            before = text[i - 1] if i > 0 else " "
            after = text[i + 1] if i + 1 < n else " "
            near_word = (before.isascii() and before.isalpha()) or (after.isascii() and after.isalpha())
            if ((unicodedata.category(ch).startswith("L") and near_word)
                    or (ch in _WESTERN_SYMBOLS and (before.isascii() or after.isascii()))):
                good += 1
            continue
        # another script (Cyrillic, Japanese, Korean, ...): letters next to letters
        before = text[i - 1] if i > 0 else " "
        after = text[i + 1] if i + 1 < n else " "
        if unicodedata.category(ch).startswith("L") and (before.isalpha() or after.isalpha()) and not (
                _odd_letter(ch, before, after)):
            good += 1
    return good / len(positions), len(positions)


def _odd_letter(ch: str, before: str, after: str) -> bool:
    """A letter that real text of its script does not have there: a capital right after a small letter of the same
    word (the case flip of Cyrillic read with the wrong code page), Greek final sigma inside a word, a Hangul
    syllable outside the 2,350 of KS X 1001 (the syllables of a CJK file read as Korean)."""
    if ch.isupper() and before.islower() and not before.isascii():
        return True
    if ch == "\u03c2" and after.isalpha():
        return True
    if "\uac00" <= ch <= "\ud7a3":
        try:
            return len(ch.encode("euc_kr")) != 2
        except UnicodeEncodeError:
            return True
    return False


def _decodes(sample: bytes, encoding: str) -> str | None:
    try:
        return codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
    except (UnicodeDecodeError, LookupError):
        return None


def choose_encoding(sample: bytes) -> EncodingChoice | None:
    """The most plausible encoding of ``sample`` (the first bytes of a file), or None when nothing decodes it.

    UTF-8 (with or without BOM) that decodes is chosen outright. Otherwise GB18030 and cp1252 (else Latin-1) are
    scored by :func:`_plausibility`; when neither is plausible, every guess of charset-normalizer in another
    script is scored too; the best wins.

    Raises
    ------
    AmbiguousEncoding
        Two candidates score at least :data:`PLAUSIBLE` and decode the sample differently.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return EncodingChoice("utf-8-sig", 1.0, 0)
    text = _decodes(sample, "utf-8")
    if text is not None:
        return EncodingChoice("utf-8", 1.0, sum(1 for ch in text if ord(ch) > 127))
    candidates = ["gb18030", "cp1252" if _decodes(sample, "cp1252") is not None else "latin-1"]
    scored: dict[str, tuple[float, int, str]] = {}
    for enc in candidates:
        decoded = _decodes(sample, enc)
        if decoded is not None:
            score, n = _plausibility(decoded, enc)
            scored[enc] = (score, n, decoded)
    known_best = max((v[0] for v in scored.values()), default=0.0)
    if known_best < PLAUSIBLE:
        # neither a Chinese nor a Western reading is plausible: try the detector's guesses (Shift-JIS, cp1251, ...),
        # scored as letters among letters; they never override a plausible Chinese or Western reading. Every guess
        # the detector returns is scored, not only its best: a few words of KOI8-R come out as "cleaner" half-width
        # katakana in cp932, and two plausible readings that disagree are refused below, not guessed.
        from charset_normalizer import from_bytes

        known = {codecs.lookup(c).name for c in candidates}
        for match in from_bytes(sample):
            guess = match.encoding.lower()
            try:
                family = codecs.lookup(guess).name
            except LookupError:
                continue
            if family in _LATIN or family in known or guess in scored:
                continue
            decoded = _decodes(sample, guess)
            if decoded is not None:
                score, n = _plausibility(decoded, guess)
                scored[guess] = (score, n, decoded)
    if not scored:
        return None
    ranked = sorted(scored.items(), key=lambda kv: -kv[1][0])
    (enc, (score, n, decoded)) = ranked[0]
    if len(ranked) > 1:
        enc2, (score2, _, decoded2) = ranked[1]
        if score >= PLAUSIBLE and score2 >= PLAUSIBLE and decoded != decoded2:
            raise AmbiguousEncoding((enc, score, _first_difference(decoded, decoded2)),
                                    (enc2, score2, _first_difference(decoded2, decoded)))
    return EncodingChoice(enc, round(score, 3), n, {e: round(v[0], 3) for e, v in ranked[1:]})


def _first_difference(a: str, b: str) -> str:
    """The first word of ``a`` that reads differently in ``b`` (for the error sentence)."""
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            start = max(a.rfind(" ", 0, i), a.rfind(",", 0, i), a.rfind("\n", 0, i)) + 1
            end = min([j for j in (a.find(" ", i), a.find(",", i), a.find("\n", i)) if j >= 0] or [len(a)])
            return a[start:end][:30]
    return a[:30]


# ------------------------------------------------------------------------------------------- records


@dataclass
class Records:
    """The records of a delimited text file, by physical lines.

    ``header`` (the header's fields; None without a header line), ``spans`` (first and last 0-based physical line
    of each record, in file order), ``malformed`` ((1-based line, reason) for each rejected line), ``blank``
    (blank lines skipped), ``lines`` (the physical lines, without line ends), ``header_line`` (its index or
    None).
    """

    header: list[str] | None
    spans: list[tuple[int, int]]
    malformed: list[tuple[int, str]]
    blank: int
    lines: list[str] = field(repr=False, default_factory=list)
    header_line: int | None = None

    @property
    def starts(self) -> list[int]:
        """The 1-based line number where each record starts."""
        return [a + 1 for a, _ in self.spans]

    def text(self) -> str:
        """The header and the records (blank and malformed lines left out), as text a CSV parser reads."""
        parts = [self.lines[self.header_line]] if self.header_line is not None else []
        for a, b in self.spans:
            parts.append(self.lines[a] if a == b else "\n".join(self.lines[a:b + 1]))
        return "\n".join(parts) + "\n"


def _parse_one(text: str, sep: str) -> list[list[str]] | None:
    """The records of ``text`` parsed strictly, or None when a quote is left open or misplaced."""
    try:
        return list(csv.reader([text], delimiter=sep, strict=True))
    except csv.Error:
        return None


def _width(line: str, sep: str) -> int | None:
    """How many fields ``line`` holds on its own (None when a quote is left open or misplaced)."""
    if '"' not in line:
        return line.count(sep) + 1
    parsed = _parse_one(line, sep)
    if parsed is None or len(parsed) != 1:
        return None
    return len(parsed[0])


def split_records(text: str, sep: str, *, header: bool = True) -> Records:
    """Split decoded delimited text into records by physical lines, strictly.

    A line is one record when it parses on its own (RFC 4180 quoting, ``""`` inside quotes) into as many fields
    as the header. A quoted field may continue over the next lines (up to :data:`MAX_RECORD_LINES`) when the
    joined lines parse into exactly one record of the header's width and none of the lines in between is a
    complete record by itself (that is what a forgotten closing quote looks like). Anything else is a malformed
    line, rejected alone with its line number and reason; reading goes on at the next line. Blank lines are
    skipped. About a second per million lines (quote-free lines are only counted).
    """
    if "\n" not in text and "\r" in text:
        text = text.replace("\r", "\n")  # old Mac line ends
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if any(ln.endswith("\r") for ln in lines[:1000]) or "\r" in text[-2:]:
        lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
    n = len(lines)
    i = 0
    while i < n and not lines[i].strip():
        i += 1
    head: list[str] | None = None
    header_line = None
    width = None
    if header and i < n:
        parsed = _parse_one(lines[i], sep)
        head = parsed[0] if parsed else lines[i].split(sep)
        width = len(head)
        header_line = i
        i += 1
    spans: list[tuple[int, int]] = []
    malformed: list[tuple[int, str]] = []
    blank = 0
    while i < n:
        line = lines[i]
        if '"' not in line:
            k: int | None = line.count(sep) + 1
            if width is None:
                width = k
            if k == width:
                spans.append((i, i))
            elif not line.strip():
                blank += 1
            else:
                malformed.append((i + 1, f"has {k} fields but the header has {width}"))
            i += 1
            continue
        k = _width(line, sep)
        if k is not None:
            if width is None:
                width = k
            if k == width:
                spans.append((i, i))
            else:
                malformed.append((i + 1, f"has {k} fields but the header has {width}"))
            i += 1
            continue
        end = _continued(lines, i, sep, width)
        if end is None:
            malformed.append((i + 1, 'has an unclosed or misplaced quote (")'))
            i += 1
            continue
        spans.append((i, end))
        i = end + 1
    return Records(head, spans, malformed, blank, lines, header_line)


def _continued(lines: list[str], i: int, sep: str, width: int | None) -> int | None:
    """The last line index when line ``i`` opens a quoted field that closes on a later line as one record of
    ``width`` fields, with no complete record in between; else None."""
    chunk = lines[i]
    for j in range(i + 1, min(len(lines), i + MAX_RECORD_LINES)):
        between = lines[j]
        if width is not None and _width(between, sep) == width:
            return None  # a complete record inside the quoted field: a forgotten closing quote
        chunk = chunk + "\n" + between
        parsed = _parse_one(chunk, sep)
        if parsed is None:
            continue
        if len(parsed) == 1 and (width is None or len(parsed[0]) == width):
            return j
        return None
    return None
