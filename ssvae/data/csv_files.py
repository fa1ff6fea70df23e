"""Reading CSV files as ssvae takes them: a header row, fields separated by commas, semicolons (with a
decimal comma, as Excel saves them where that is the decimal mark) or tabs, a ``label`` column of class
indices or names (missing where unknown), and numeric input columns found by position or by name."""

from __future__ import annotations

import csv
import io
import itertools
import re
import warnings
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ssvae.data.dataset import (UNLABELLED, DataError, as_data_error, index_names, looks_unlabelled,
                                 warn_of_minus_one_class)
from ssvae.errors import user_stacklevel
from ssvae.runtime import NON_INPUT_COLUMNS, column_positions

LABEL_LIKE = ("label", "labels", "class", "target", "y")  # header names (in any case) a label column goes by
# a number grouped in thousands ("1,200", "1.200", "1 200", "1'200"), and its decimal mark and fraction if any
THOUSANDS = re.compile(r"([-+]?[1-9]\d{0,2}(?:([,.' ])\d{3})+)(?:([.,])(\d+))?")
TABLE_SUFFIXES = (".tsv", ".tab", ".txt")  # tables of text that ssvae reads once named .csv
SPREADSHEET_SUFFIXES = (".xlsx", ".xls", ".xlsm", ".ods", ".numbers")  # tables ssvae reads once saved as CSV
COMPRESSED_SUFFIXES = (".gz", ".zip", ".bz2", ".xz", ".zst", ".7z", ".tar")  # files ssvae reads once unpacked
# a missing value as pandas writes and reads it (R's too): an unlabelled row's label, an input that must be filled
MISSING_VALUES = {"", "NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "None", "<NA>", "#N/A"}


def read_csv_rows(path: Path, columns: Sequence[str] | None = ()) -> CsvRows:
    """Every non-blank row (blank: no field holds more than spaces, as Excel writes ";;;;" after formatted
    cells) of a UTF-8 CSV file (with or without Excel's byte-order mark and "sep=;" line; fields separated by
    commas, semicolons or tabs, see `_separator`, which looks for a model's ``columns``), each with a field
    for every column of the header but a ``label`` column at the end (an unknown label), or a DataError.
    The header's names lose the spaces around them ("a, b" names columns a and b)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            declared = _declared_separator(f.readline())
            if declared is None:
                f.seek(0)
            start = f.tell()
            separator = declared or _separator(list(itertools.islice((line for line in f if line.strip()), 2)),
                                               columns or ())
            f.seek(start)
            reader, skipped = csv.reader(f, delimiter=separator), int(declared is not None)
            read = [(row, reader.line_num + skipped) for row in reader if any(field.strip() for field in row)]
    except csv.Error as error:
        if "field larger than field limit" in str(error):  # Python's csv stops a field at 131,072 characters
            raise DataError(f"{path}: a field runs on past {csv.field_size_limit():,} characters, most likely from "
                            f"a quote (\") that is never closed: check the quotes around that point") from error
        raise DataError(f"{path}: not a readable CSV file ({error}); save it as UTF-8 text (Excel: \"CSV "
                        f"UTF-8\")") from error
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not a readable UTF-8 CSV file ({error}); save it as UTF-8 text (Excel: "
                        f"\"CSV UTF-8\")") from error
    start = read[-2][1] + 1 if len(read) > 1 else 1  # the line the last row begins on
    if read and any("\n" in field or "\r" in field for field in read[-1][0]) and _quote_left_open(path, separator,
                                                                                                   start):
        raise DataError(f"{path}: a quote (\") opened on line {start} or after is never closed, so the rest of the "
                        f"file is read as one value: check the quotes there")
    rows = CsvRows([row for row, _ in read], [line for _, line in read],
                   _decimal_comma if separator == ";" else float)
    if rows:
        rows[0] = [name.strip() for name in rows[0]]
    header = rows[0] if rows else []
    _check_header(path, header)
    needed = max((k for k, name in enumerate(header) if name != "label"), default=-1) + 1
    bad = next((n for n, row in enumerate(rows[1:]) if not needed <= len(row) <= len(header)), None)
    if bad is not None:
        comment = header[0].startswith("#")  # a note above the header (with commas or not), read as the header
        raise DataError(f"{path}: {rows.place(bad)} has {len(rows[bad + 1])} fields but the header names "
                        f"{len(header)}: " + (f"line {rows.lines[0]} ({header[0]!r}) was read as the header: delete "
                                              f"the comment lines above the header" if comment else
                                              "give every row one value for each column"))
    if len(rows) > 1 and len(rows[-1]) < len(header) and not _ends_a_line(path):
        warnings.warn(f"{path}: its last row (line {rows.lines[-1]}) ends before the 'label' column, with no line "
                      f"break after it, as a file cut short ends: it is read as unlabelled; if the file was cut, copy "
                      f"it again", stacklevel=user_stacklevel())
    return rows


def _declared_separator(line: str) -> str | None:
    """The separator an Excel CSV names on its first line ("sep=;"), which is no header."""
    text = line.rstrip("\r\n")
    return text[4] if len(text) == 5 and text.startswith("sep=") else None


def _ends_a_line(path: Path) -> bool:
    """Whether the file at ``path`` ends with a line break, as a whole file written by a program does."""
    with open(path, "rb") as f:
        f.seek(-1, io.SEEK_END)
        return f.read(1) in (b"\n", b"\r")


def _quote_left_open(path: Path, separator: str, start: int) -> bool:
    """Whether a quote in the last row of the CSV at ``path`` (from line ``start`` on) is still open at the
    file's end, which Python's csv reads as a field that takes the rest of the file: asked only where that row
    holds a line break. Read strictly from there, so that a lenient quirk further up is no matter."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        tail = "".join(itertools.islice(f, start - 1, None))
    try:
        for _ in csv.reader(io.StringIO(tail, newline=""), delimiter=separator, strict=True):
            pass
    except csv.Error as error:
        return "unexpected end of data" in str(error)
    return False


def _check_header(path: Path, header: list[str]) -> None:
    """A header that names ``id`` or ``label`` twice is refused: which column names the rows, or holds the
    classes, would be a guess, and the other would be dropped unseen."""
    for name in ("id", "label"):
        if len(at := [str(k + 1) for k, column in enumerate(header) if column == name]) > 1:
            raise DataError(f"{path}: the header names {len(at)} columns {name!r} (columns {', '.join(at)}): keep "
                            f"one, and rename or delete the others")


class CsvRows(list):
    """A CSV's non-blank rows, header first, and the line of the file each ends on: a message names a data row
    as the others do, counted from 0 (the first after the header), and its line as an editor shows it.
    ``number`` reads a value as a number: ``float``, or for a file separated by semicolons (Excel's CSV where
    the decimal mark is a comma), one that takes 0,25 as 0.25."""

    def __init__(self, rows: list[list[str]], lines: list[int], number: Callable[[str], float] = float):
        super().__init__(rows)
        self.lines = lines
        self.number = number

    def place(self, row: int) -> str:
        """Data row ``row`` (0: the first after the header) as a message names it."""
        return f"row {row} (line {self.lines[row + 1]})"


def _separator(lines: list[str], columns: Sequence[str] = ()) -> str:
    """What separates the fields of a CSV whose first lines are ``lines``: the comma, the semicolon (Excel's
    CSV where the decimal mark is a comma) or the tab, whichever splits the header into several names and
    the first row into as many fields (a name may hold a comma, and so may a number), among those the one
    that splits off the most of a model's ``columns``, then a name "label", else the header into the most
    names; the comma where none splits it."""
    header, first_row = (*lines, "", "")[:2]

    def split(separator: str) -> tuple[bool, int, bool, int]:
        names, fields = (next(csv.reader([line], delimiter=separator), []) for line in (header, first_row))
        stripped = {name.strip() for name in names}
        return (len(names) > 1 and len(names) == len(fields), sum(name in stripped for name in columns),
                "label" in stripped, len(names))

    return max(",;\t", key=split)


def _decimal_comma(text: str) -> float:
    """A number written with a decimal comma, as Excel saves it where that is the decimal mark: 0,25."""
    return float(text.replace(",", "."))


def csv_inputs(path: Path, rows: CsvRows, columns: Sequence[str] | None = ()) -> tuple[np.ndarray, tuple[str, ...]]:
    """The inputs of a CSV's rows (header first, as `read_csv_rows` gives them) as float32 (N, D), and the
    names of their columns: ``columns`` (a model's, found by name wherever they stand, other columns ignored)
    or else every column but those named in ``NON_INPUT_COLUMNS``. A value that is not a number is named by
    row and column."""
    header, body = rows[0], rows[1:]
    if columns:
        keep = _columns_by_name(path, header, columns)
    else:
        _check_unnamed(path, rows)
        keep = [k for k, name in enumerate(header) if name not in NON_INPUT_COLUMNS]
    names = tuple(header[k] for k in keep)
    number = rows.number
    try:
        with np.errstate(over="ignore"):  # beyond float32's range becomes inf, which the checks report
            return np.array([[number(row[k]) for k in keep] for row in body], dtype=np.float32), names
    except ValueError:
        row, column = next((r, k) for r, values in enumerate(body) for k in keep if not is_number(values[k], number))
        where, value = f"{path}: {rows.place(row)}, column {header[column]!r}", body[row][column]
        if value.strip() in MISSING_VALUES:
            held = "is empty" if not value.strip() else f"holds {value!r}"
            raise DataError(f"{where} {held}, a missing value, which a model cannot take: fill it in or drop the "
                            f"row{_gaps_text(body, keep)}") from None
        fix = (ROW_NAMES_FIX if _names_rows(header[column]) else _number_fix(value.strip(), rows.number is float))
        raise DataError(f"{where} holds {value!r}: {fix}") from None


def _gaps_text(body: Sequence[Sequence[str]], keep: Sequence[int]) -> str:
    """How many of the rows ``body`` hold a missing value in the columns ``keep``, where more than one does: so
    that a table with many gaps is told so at once, not a row at each attempt."""
    gaps = sum(any(values[k].strip() in MISSING_VALUES for k in keep) for values in body)
    return f" ({gaps:,} of the {len(body):,} rows hold one)" if gaps > 1 else ""


def _number_fix(value: str, decimal_point: bool) -> str:
    """What to do with a cell that is not a number as the file writes them (``decimal_point``: commas separate
    the fields, else semicolons, with a decimal comma), where it reads as one written otherwise: with thousands
    separators ("1,200.50"; "1.200,50"), or a decimal comma where the file's mark is a point."""
    mark = "." if decimal_point else ","
    grouped = THOUSANDS.fullmatch(value)
    if grouped and grouped[2] != mark and grouped[3] in (None, mark):
        plain = re.sub(r"[,.' ]", "", grouped[1]) + ("" if grouped[3] is None else mark + grouped[4])
        comma = decimal_point and grouped[3] is None and value.count(",") == 1  # "1,000": or one with 3 decimals
        return (f"write numbers without thousands separators ({plain})"
                + (", or, if its comma is a decimal mark, separate the fields by semicolons" if comma else ""))
    if decimal_point and re.fullmatch(r"[-+]?\d*,\d+", value):
        return ("a decimal comma is read where semicolons separate the fields (Excel's CSV where the decimal mark "
                "is a comma): write a decimal point, or separate the fields by semicolons")
    return "every column but 'id' and 'label' must be numeric"


def as_csv_hint(path: Path) -> str:
    """For a file of another suffix that may hold a table, how ssvae reads it: a .tsv named .csv, a
    spreadsheet saved as CSV, a compressed file unpacked; else ""."""
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        return f" (a table separated by tabs is read as a .csv: rename it {path.stem}.csv)"
    if suffix in SPREADSHEET_SUFFIXES:
        return " (a spreadsheet: save it from its program as CSV UTF-8, and give that)"
    if suffix in COMPRESSED_SUFFIXES:
        return f" (a compressed file: unpack it first, and give what it holds, such as {path.stem})"
    return ""


def _check_unnamed(path: Path, rows: CsvRows) -> None:
    """A column without a name in the header is no input where it is pandas' saved index (the first column)
    or empty throughout (a comma at the end of every line); any other is refused, not dropped unseen."""
    header, body = rows[0], rows[1:]
    for k, name in enumerate(header[1:], start=1):
        if name == "" and (row := next((r for r, values in enumerate(body) if k < len(values) and values[k].strip()),
                                       None)) is not None:
            raise DataError(f"{path}: column {k + 1} has no name in the header but {rows.place(row)} holds "
                            f"{body[row][k]!r} there: name it, or delete it if it is no input")


def _columns_by_name(path: Path, header: list[str], columns: Sequence[str]) -> list[int]:
    """Where each of a model's ``columns`` stands in ``header`` (`column_positions`), as a DataError."""
    with as_data_error():
        return column_positions(str(path), header, columns)


FORMULA_STARTS = "=+-@"  # a spreadsheet takes a cell that begins so, and goes on, for a formula


def reads_as_formula(text: str) -> bool:
    """Whether a spreadsheet opening a CSV would take the cell ``text`` for a formula and compute it: it begins
    with =, +, - or @ and goes on, and is no number."""
    text = text.strip()
    return len(text) > 1 and text[0] in FORMULA_STARTS and not is_number(text)


def is_number(text: str, number: Callable[[str], float] = float) -> bool:
    """Whether ``text`` reads as a number by ``number`` (float, or a reader of decimal commas)."""
    try:
        number(text)
    except ValueError:
        return False
    return True


def csv_labels(raw: list[str], path: Path, number: Callable[[str], float] = float,
                known: Sequence[str] = (), place: Callable[[int], str] = "row {}".format) -> tuple[np.ndarray,
                                                                                                 tuple[str, ...]]:
    """A CSV's labels as indices (UNLABELLED where missing) and the class names: a model's ``known`` class
    names where every label writes one of them or is missing (as `ssvae generate` writes them: classes named
    01, 3 or None too); else "0".."K-1" when every known label is a whole number (3 or 3.0: pandas writes a
    column with gaps as floats; 3,0 where ``number`` takes a decimal comma), else the names sorted. Labels
    that are all numbers but not all whole ones (2.5, inf: a typo, or a regression target) are refused,
    naming the row (``place`` says where a row stands), rather than read as names.
    Missing: -1 (-1.0), empty, or one of `MISSING_VALUES` (pandas' and R's spellings of NA); among class
    names, a warning says how many of those spellings were read as missing, as one may be a class (None)."""
    numbers = [whole_number(v, number) for v in raw]
    if known and all(v in known or v in MISSING_VALUES or n == UNLABELLED for v, n in zip(raw, numbers)):
        index = {name: k for k, name in enumerate(known)}
        return np.array([index.get(v, UNLABELLED) for v in raw], dtype=np.int64), tuple(known)
    missing = [v in MISSING_VALUES or n == UNLABELLED for v, n in zip(raw, numbers)]
    known = [(v, n) for v, n, gone in zip(raw, numbers, missing) if not gone]
    if known and all(is_number(v, number) for v, _ in known) and any(n is None for _, n in known):
        k = next(k for k, (n, gone) in enumerate(zip(numbers, missing)) if not gone and n is None)
        raise DataError(f"{path}: {place(k)} has label {raw[k]!r}, a number but not a whole one: number the classes "
                        f"0..K-1, or name them with text")
    if all(n is not None for _, n in known):
        names = index_names(max((n for _, n in known), default=-1) + 1, path, "label")
        y = np.array([UNLABELLED if gone else n for n, gone in zip(numbers, missing)], dtype=np.int64)
        warn_of_minus_one_class(y, numbers.count(UNLABELLED), path)
        return y, names
    if spelled := [v for v, n, gone in zip(raw, numbers, missing) if gone and v and n != UNLABELLED]:
        warnings.warn(f"{path}: {len(spelled)} label(s) {', '.join(map(repr, sorted(set(spelled))))} read as missing "
                      f"(unlabelled), as pandas reads them: rename the class if one of them is a class",
                      stacklevel=user_stacklevel())
    names = tuple(sorted({v for v, _ in known}))
    if suspect := [name for name in names if looks_unlabelled(name)]:
        warnings.warn(f"{path}: label(s) {', '.join(map(repr, suspect))} are read as classes, though written like "
                      f"missing labels: leave the label empty (or NA) where an example has none",
                      stacklevel=user_stacklevel())
    index = {name: k for k, name in enumerate(names)}
    return np.array([UNLABELLED if gone else index[v] for v, gone in zip(raw, missing)], dtype=np.int64), names


def whole_number(text: str, number: Callable[[str], float] = float) -> int | None:
    """The integer a label such as "3" or "3.0" writes (read by ``number``), else None (a class name)."""
    try:
        value = number(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() else None


ROW_NAMES_FIX = "name a column of row names 'id', which is no input, or drop it"


def _names_rows(name: str) -> bool:
    """Whether a column's name says it holds row names (``ID``, ``index``) or is pandas' saved index."""
    return name.lower() in ("id", "index") or name.startswith("Unnamed:")


def warn_of_named_inputs(columns: Sequence[str], path: Path) -> None:
    """Input columns whose names say they hold row names (``ID``, pandas' saved index ``Unnamed: 0``) or
    classes (``Label``, ``target``; not ``y``, a common feature): a model would learn from them."""
    row_names = [name for name in columns if _names_rows(name)]
    classes = [name for name in columns if name.lower() in LABEL_LIKE and name.lower() != "y"]
    for found, kind, fix in ((row_names, "row names or pandas' saved index", ROW_NAMES_FIX),
                             (classes, "classes", "drop it if it holds them (the 'label' column gives the classes)")):
        if found:
            many = len(found) > 1
            warnings.warn(f"{path}: column{'s' if many else ''} {', '.join(map(repr, found))} {'are' if many else 'is'}"
                          f" read as input{'s' if many else ''}, though named like {kind}: {fix}, so that the model "
                          f"does not learn from it", stacklevel=user_stacklevel())


__all__ = ["LABEL_LIKE", "MISSING_VALUES", "NON_INPUT_COLUMNS", "CsvRows", "as_csv_hint", "csv_inputs", "csv_labels",
           "is_number", "read_csv_rows", "reads_as_formula", "warn_of_named_inputs", "whole_number"]
