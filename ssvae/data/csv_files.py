"""Reading CSV files as ssvae takes them: a header row, fields separated by commas, semicolons (with a
decimal comma, as Excel saves them where that is the decimal mark) or tabs, a ``label`` column (or another
`CsvColumns` names) of class indices or names (missing where unknown), and input columns found by position or
by name: numbers, missing values among them read as NaN, or categories (text that rows share: "red", "white"),
read as one-hot columns."""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import math
import re
import warnings
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence, TextIO

import numpy as np

from ssvae.data.dataset import (UNLABELLED, DataError, as_data_error, ignore_fix, index_names, looks_unlabelled,
                                 warn_of_minus_one_class)
from ssvae.errors import listed, user_stacklevel
from ssvae.runtime import MISSING_VALUES, column_positions, one_hot, table_columns

LABEL_LIKE = ("label", "labels", "class", "target", "y")  # header names (in any case) a label column goes by
# a number grouped in thousands ("1,200", "1.200", "1 200", "1'200"), and its decimal mark and fraction if any
THOUSANDS = re.compile(r"([-+]?[1-9]\d{0,2}(?:([,.' ])\d{3})+)(?:([.,])(\d+))?")
TABLE_SUFFIXES = (".tab", ".txt")  # tables of text that ssvae reads once named .csv (or .tsv)
SPREADSHEET_SUFFIXES = (".xlsx", ".xls", ".xlsm", ".ods", ".numbers")  # tables ssvae reads once saved as CSV
COMPRESSED_SUFFIXES = (".gz", ".zip", ".bz2", ".xz", ".zst", ".7z", ".tar")  # files ssvae reads once unpacked
MAX_CATEGORIES = 100  # a column of text with more different values is read as names or notes, not categories


@dataclass(frozen=True)
class CsvColumns:
    """The roles of a CSV's columns: ``label`` holds the classes (``--label-column``), ``ignored`` are left out
    (``--ignore-columns``: names, dates, notes), ``id`` names the rows (``predict --id-column``), and so does a
    first column without a name (pandas' saved index); ``categories`` are inputs of text, each with the
    categories a model knows (a training run finds those of any other column of text)."""

    label: str = "label"
    ignored: tuple[str, ...] = ()
    id: str = "id"
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def kept_as_text(self) -> tuple[str, ...]:
        """The columns whose text a table keeps: the row names (``id`` always, another where one is named) and
        the labels."""
        return tuple(dict.fromkeys(("id", self.id, "", self.label)))

    @property
    def not_inputs(self) -> tuple[str, ...]:
        """The columns that are no inputs: those kept as text, and those ignored."""
        return (*self.kept_as_text, *self.ignored)

    @property
    def numeric_rule(self) -> str:
        """Which columns must hold numbers: every one but those kept as text."""
        *others, last = [repr(name) for name in self.kept_as_text if name]
        return f"every column but {', '.join(others)}{' and ' if others else ''}{last} must be numeric"

    def ignore_fix(self, column: str) -> str:
        """What to do with the ``column`` of text that is no input."""
        return f"if it is no input, {ignore_fix([column], self.ignored)}"


def read_csv(path: Path, columns: Sequence[str] | None = (), roles: CsvColumns = CsvColumns(),
             training: bool = False) -> CsvTable:
    """A UTF-8 CSV file (with or without Excel's byte-order mark and "sep=;" line; fields separated by commas,
    semicolons or tabs, see `_separator`, which looks for a model's ``columns``; a .tsv's by tabs) read row by
    row into a `CsvTable`, its inputs (``columns``, else every column but ``roles``' others) as float32 from the start:
    a large file is never held as text but for its columns of categories (``roles``'; in a run's data, those
    columns of text found as it is read, which it reads again as such). Blank rows (no field holds more than
    spaces, as Excel writes ";;;;" after formatted cells) are skipped. A fault of the file's shape is a
    DataError here; one of its input values, when `CsvTable.inputs` is asked, after its labels have been read.
    ``training``: the file is a run's data, whose columns ``roles`` may leave out; else a model's inputs,
    which it reads all."""
    text_columns: tuple[str, ...] = tuple(roles.categories)
    while True:
        with _read_errors(path), open(path, newline="", encoding="utf-8-sig") as f:
            rows, separator = _rows(f, table_columns(columns or (), roles.categories),
                                    "\t" if path.suffix.lower() == ".tsv" else None, roles.label)
            first, line = next(rows, ([], 1))
            table = CsvTable(path, first, line, separator, columns, roles, training, text_columns)
            for row, line in rows:
                table.add(row, line)
        if not (found := table.text_found()):
            break
        text_columns += found
    table.finish()
    return table


@contextlib.contextmanager
def _read_errors(path: Path) -> Iterator[None]:
    """Python's csv and UTF-8 errors while ``path`` is read, as DataErrors that say what to do."""
    try:
        yield
    except csv.Error as error:
        if "field larger than field limit" in str(error):  # Python's csv stops a field at 131,072 characters
            raise DataError(f"{path}: a field runs on past {csv.field_size_limit():,} characters, most likely from "
                            f"a quote (\") that is never closed: check the quotes around that point") from error
        raise DataError(f"{path}: not a readable CSV file ({error}); save it as UTF-8 text (Excel: \"CSV "
                        f"UTF-8\")") from error
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not a readable UTF-8 CSV file ({error}); save it as UTF-8 text (Excel: "
                        f"\"CSV UTF-8\")") from error


def _rows(f: TextIO, columns: Sequence[str] = (), separator: str | None = None, label: str = "label"
          ) -> tuple[Iterator[tuple[list[str], int]], str]:
    """The non-blank rows of the open CSV ``f``, header first, each with the line of the file it ends on, and
    the separator of its fields: the one its "sep=" line names, else ``separator`` where known, else
    `_separator`'s choice (which looks for a model's ``columns`` and the ``label`` column)."""
    declared = _declared_separator(f.readline())
    if declared is None:
        f.seek(0)
    start = f.tell()
    separator = declared or separator or _separator(list(itertools.islice((line for line in f if line.strip()), 2)),
                                                    columns, label)
    f.seek(start)
    reader, skipped = csv.reader(f, delimiter=separator), int(declared is not None)
    return ((row, reader.line_num + skipped) for row in reader if any(field.strip() for field in row)), separator


class CsvTable:
    """A CSV as `read_csv` reads it: its header (names without the spaces around them: "a, b" names columns a
    and b), the line of the file each row ends on (a message names a data row, counted from 0, the first after
    the header, and its line as an editor shows it), the text of the ids and labels (`CsvColumns`) and the
    inputs as float32. ``number`` reads a value as a number: ``float``, or for a file separated by semicolons
    (Excel's CSV where the decimal mark is a comma), one that takes 0,25 as 0.25. Its ``len`` is the number of
    data rows."""

    BLOCK = 4096  # rows of inputs held in one array while a file is read

    def __init__(self, path: Path, header: list[str], line: int, separator: str, columns: Sequence[str] | None,
                 roles: CsvColumns = CsvColumns(), training: bool = False, text_columns: Sequence[str] = ()):
        """A table of no rows yet, whose ``header`` ends on ``line``; its inputs are a model's ``columns``
        found by name wherever they stand (`column_positions`; one-hot columns by their column of categories,
        `table_columns`), else every column but those ``roles`` gives others; those ``text_columns`` names
        are read as text (categories), the others as numbers. ``training``: see `read_csv`."""
        self.path, self.header, self.separator = path, [name.strip() for name in header], separator
        self.roles, self.training = roles, training
        self.number: Callable[[str], float] = _decimal_comma if separator == ";" else float
        self.lines = array("q", [line])
        self.categories: dict[str, tuple[str, ...]] = {}  # of the columns of text, once `inputs` has read them
        self._by_name = bool(columns)
        self._needed = max((k for k, name in enumerate(self.header) if name != roles.label), default=-1) + 1
        self._blocks: list[np.ndarray] = []  # the inputs as read, BLOCK rows each, until `inputs` joins them
        self._x: np.ndarray | None = None
        self._last = header  # the last row read, to check how the file ends
        self._misshapen: tuple[int, int] | None = None  # the first data row whose fields do not fit the header
        self._fault: DataError | None = None  # a model's columns not found, which `inputs` raises
        self._unreadable: tuple[int, list[str]] | None = None  # the first row with an input that is no number
        self._text_found: set[int] = set()  # the columns read as numbers that hold text, from that row on
        try:
            self.sources = _columns_by_name(path, self.header, table_columns(columns, roles.categories)) \
                if columns else [k for k, name in enumerate(self.header) if name not in roles.not_inputs]
        except DataError as error:
            self.sources, self._fault = [], error
        self.keep = [k for k in self.sources if self.header[k] not in text_columns]  # the columns read as numbers
        self.text: dict[int, list[str]] = {k: [] for k, name in enumerate(self.header) if name in roles.kept_as_text
                                           or k in self.sources and name in text_columns}

    def __len__(self) -> int:
        return len(self.lines) - 1

    def place(self, row: int) -> str:
        """Data row ``row`` (0: the first after the header) as a message names it."""
        return f"row {row} (line {self.lines[row + 1]})"

    def column(self, name: str) -> list[str]:
        """The text of the column ``name`` (the ids' or labels', `CsvColumns.kept_as_text`) in each data row; ""
        where a row ends before it."""
        return self.text[self.header.index(name)]

    def add(self, row: list[str], line: int) -> None:
        """The next data row, which ends on ``line``: its inputs read as numbers, the rest kept as text."""
        n = len(self)
        self.lines.append(line)
        self._last = row
        for k, values in self.text.items():
            values.append(row[k] if k < len(row) else "")
        if not self._needed <= len(row) <= len(self.header):
            self._misshapen = self._misshapen or (n, len(row))
        elif self._unreadable is not None and self.training:  # every column of text, found in one read
            self._text_found.update(self._text_in(row))
        elif self._misshapen is None and self._fault is None and self._unreadable is None:  # rows 0..n-1 read
            block, at = divmod(n, self.BLOCK)
            if block == len(self._blocks):
                self._blocks.append(np.empty((self.BLOCK, len(self.keep)), dtype=np.float32))
            try:
                values = [self.number(row[k]) for k in self.keep]
            except ValueError:
                values = self._with_gaps(row)
            if values is None:
                self._unreadable = n, row
                self._text_found.update(self._text_in(row))
            else:
                with np.errstate(over="ignore"):  # beyond float32's range becomes inf, which the checks report
                    self._blocks[block][at] = values

    def _with_gaps(self, row: list[str]) -> list[float] | None:
        """The inputs of ``row`` where some are missing (empty, NA: `MISSING_VALUES`), those as NaN; None where
        one is neither a number nor missing. The slow way, taken only for a row the plain one failed on."""
        try:
            return [math.nan if row[k].strip() in MISSING_VALUES else self.number(row[k]) for k in self.keep]
        except ValueError:
            return None

    def text_found(self) -> tuple[str, ...]:
        """In a run's data (``training``), the input columns that hold text from the first row whose inputs were
        not all numbers on: columns of categories to read again as text, or of numbers mistyped, which `inputs`
        tells apart; else none."""
        return tuple(self.header[k] for k in sorted(self._text_found)) if self.training else ()

    def _text_in(self, row: list[str]) -> list[int]:
        """The columns read as numbers in which ``row`` holds text: neither a number nor missing."""
        return [k for k in self.keep if not is_number(row[k], self.number) and row[k].strip() not in MISSING_VALUES]

    def finish(self) -> None:
        """The checks of the file's shape, once it is read, in this order: a quote left open to its end, a
        header that names ``id`` or the label column twice, or lacks a column to ignore, a row whose fields do
        not fit the header (refused), a last row cut short (a warning). Those of the inputs wait for `inputs`,
        after the labels' (`_load_csv`)."""
        start = self.lines[-2] + 1 if len(self.lines) > 1 else 1  # the line the last row begins on
        if any("\n" in field or "\r" in field for field in self._last) and _quote_left_open(self.path,
                                                                                               self.separator, start):
            raise DataError(f"{self.path}: a quote (\") opened on line {start} or after is never closed, so the rest "
                            f"of the file is read as one value: check the quotes there")
        _check_header(self.path, self.header, self.roles)
        if self.training:
            _check_ignored(self.path, self.header, self.roles.ignored)
        if self._misshapen is not None:
            row, fields = self._misshapen
            comment = self.header[0].startswith("#")  # a note above the header (with commas or not), read as it
            raise DataError(f"{self.path}: {self.place(row)} has {fields} fields but the header names "
                            f"{len(self.header)}: " + (
                                f"line {self.lines[0]} ({self.header[0]!r}) was read as the header: delete the comment "
                                f"lines above the header" if comment else "give every row one value for each column"))
        if len(self) and len(self._last) < len(self.header) and not _ends_a_line(self.path):
            warnings.warn(f"{self.path}: its last row (line {self.lines[-1]}) ends before the {self.roles.label!r} "
                          f"column, with no line break after it, as a file cut short ends: it is read as unlabelled; "
                          f"if the file was cut, copy it again", stacklevel=user_stacklevel())

    def inputs(self) -> tuple[np.ndarray, tuple[str, ...]]:
        """The inputs as float32 (N, D) and the names of their columns (a column of categories as its one-hot
        columns, "colour=red", its categories then in `categories`), or the first fault among them as a
        DataError: a model's column missing, a column without a name that holds values, a value that is not
        a number (named by row and column), a column of text that holds no categories (`_found_categories`)."""
        if self._fault is not None:
            raise self._fault
        if not self._by_name:
            self._check_unnamed()
        if self._unreadable is not None:
            n, row = self._unreadable
            k = self._text_in(row)[0]
            raise self._value_error(n, row[k], k)
        if self._x is None:
            self._check_repeated([self.header[k] for k in self.sources])
            self.categories = {self.header[k]: self.roles.categories.get(self.header[k]) or self._found_categories(k)
                               for k in self.sources if k not in self.keep}
            self._check_repeated(self._names())
            numeric = set(self.keep)
            widths = [1 if k in numeric else len(self.categories[self.header[k]]) for k in self.sources]
            at = dict(zip(self.sources, itertools.accumulate(widths, initial=0)))  # where each column's inputs start
            self._x = np.empty((len(self), sum(widths)), dtype=np.float32)
            numbers = [at[k] for k in self.keep] if self.categories else slice(None)
            for start in range(0, len(self), self.BLOCK):  # each block freed once copied: the inputs held once
                part = self._x[start:start + self.BLOCK]
                part[:, numbers] = self._blocks.pop(0)[:len(part)]
            for k in self.sources:
                if (known := self.categories.get(column := self.header[k])) is not None:
                    self._x[:, at[k]:at[k] + len(known)] = one_hot(self.text[k], known, column, str(self.path),
                                                                   self.place)
        return self._x, self._names()

    def _check_repeated(self, names: Sequence[str]) -> None:
        """In a run's data, a name of the inputs' columns that repeats is refused: which would be which, in the
        files its model reads later? (A model's columns, found by name, are refused so by `column_positions`.)"""
        if self.training and (repeated := sorted({name for name, count in Counter(names).items() if count > 1})):
            raise DataError(f"{self.path}: column {', '.join(map(repr, repeated))} appears more than once: give each "
                            f"column its own name, as its model finds its columns by name in the files it reads later")

    def _names(self) -> tuple[str, ...]:
        """The names of the inputs' columns, in order: a column of categories as its one-hot columns."""
        return tuple(itertools.chain.from_iterable(
            [f"{self.header[k]}={value}" for value in self.categories[self.header[k]]]
            if self.header[k] in self.categories else [self.header[k]] for k in self.sources))

    def _found_categories(self, k: int) -> tuple[str, ...]:
        """The categories of the input column ``k`` of text in a run's data, sorted: its values but the missing
        ones, where most are text (else it is a column of numbers with a mistyped value) and most rows share
        theirs with another row (else they are names, dates or notes: no input), at most `MAX_CATEGORIES`. Else a
        DataError."""
        present = [(row, value.strip()) for row, value in enumerate(self.text[k])
                   if value.strip() not in MISSING_VALUES]
        numbers = sum(is_number(value, self.number) or bool(_number_fix(value, self.number is float))
                      for _, value in present)
        counts = Counter(value for _, value in present)
        row, value = next((row, value) for row, value in present if not is_number(value, self.number))
        if 2 * numbers >= len(present):
            raise self._value_error(row, value, k)
        own = sum(n for n in counts.values() if n == 1)  # rows whose text no other row holds
        if 2 * own > len(present) or len(counts) > MAX_CATEGORIES:
            why = ("and most rows a text of their own, as names and dates have" if 2 * own > len(present) else
                   f"one of {len(counts)} different texts, more than the {MAX_CATEGORIES} categories a column may "
                   f"have")
            column = self.header[k]
            fix = ROW_NAMES_FIX + ignore_fix([column], self.roles.ignored) if _names_rows(column) else \
                self.roles.ignore_fix(column)
            raise DataError(f"{self.path}: {self.place(row)}, column {column!r} holds {value!r}, {why}, not "
                            f"categories that rows share: {fix}")
        return tuple(sorted(counts))

    def _check_unnamed(self) -> None:
        """A column without a name in the header is no input where it is pandas' saved index (the first
        column) or empty throughout (a comma at the end of every line); any other is refused, not dropped
        unseen."""
        for k in [k for k, name in enumerate(self.header) if k and name == ""]:
            if (row := next((r for r, value in enumerate(self.text[k]) if value.strip()), None)) is not None:
                raise DataError(f"{self.path}: column {k + 1} has no name in the header but {self.place(row)} holds "
                                f"{self.text[k][row]!r} there: name it, or delete it if it is no input")

    def _value_error(self, n: int, value: str, k: int) -> DataError:
        """Why data row ``n`` holds ``value``, no number, in the input column ``k``, read as numbers."""
        column = self.header[k]
        return DataError(f"{self.path}: {self.place(n)}, column {column!r} holds {value!r}: "
                         f"{self._fix(column, value.strip())}")

    def _fix(self, column: str, value: str) -> str:
        """What to do with the ``value`` of ``column`` that is not a number: `_number_fix`'s, where it is
        one written otherwise; else, in a column a model found by name, or in a run's data among numbers,
        correct it; else leave a column of row names or text out."""
        if written_otherwise := _number_fix(value, self.number is float):
            return written_otherwise
        if self._by_name:
            return "the model reads this column as numbers, as it trained on them: correct the value"
        if _names_rows(column):
            return ROW_NAMES_FIX + (ignore_fix([column], self.roles.ignored) if self.training else "drop it")
        if self.training:
            return (f"the column holds numbers in at least half its rows: correct the value (empty where it is "
                    f"unknown), or {self.roles.ignore_fix(column)}")
        return self.roles.numeric_rule


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


def _check_header(path: Path, header: list[str], roles: CsvColumns) -> None:
    """A header that names the id or the label column (``roles``) twice is refused: which column names the
    rows, or holds the classes, would be a guess, and the other would be dropped unseen."""
    for name in (roles.id, roles.label):
        if len(at := [str(k + 1) for k, column in enumerate(header) if column == name]) > 1:
            raise DataError(f"{path}: the header names {len(at)} columns {name!r} (columns {', '.join(at)}): keep "
                            f"one, and rename or delete the others")


def _check_ignored(path: Path, header: list[str], ignored: Sequence[str]) -> None:
    """Columns to ignore must be in the header: a misspelt name would leave its column among the inputs."""
    if missing := [name for name in ignored if name not in header]:
        raise DataError(f"{path}: has no column {', '.join(map(repr, missing))} to ignore (--ignore-columns, "
                        f"ignore_columns= in Python): its columns are {listed(header, 8)}")


def _separator(lines: list[str], columns: Sequence[str] = (), label: str = "label") -> str:
    """What separates the fields of a CSV whose first lines are ``lines``: the comma, the semicolon (Excel's
    CSV where the decimal mark is a comma) or the tab, whichever splits the header into several names and
    the first row into as many fields (a name may hold a comma, and so may a number), among those the one
    that splits off the most of a model's ``columns``, then a name ``label``, else the header into the most
    names; the comma where none splits it."""
    header, first_row = (*lines, "", "")[:2]

    def split(separator: str) -> tuple[bool, int, bool, int]:
        names, fields = (next(csv.reader([line], delimiter=separator), []) for line in (header, first_row))
        stripped = {name.strip() for name in names}
        return (len(names) > 1 and len(names) == len(fields), sum(name in stripped for name in columns),
                label in stripped, len(names))

    return max(",;\t", key=split)


def _decimal_comma(text: str) -> float:
    """A number written with a decimal comma, as Excel saves it where that is the decimal mark: 0,25."""
    return float(text.replace(",", "."))


def _number_fix(value: str, decimal_point: bool) -> str:
    """What to do with a cell that is not a number as the file writes them (``decimal_point``: commas separate
    the fields, else semicolons, with a decimal comma), where it reads as one written otherwise: with thousands
    separators ("1,200.50"; "1.200,50"), or a decimal comma where the file's mark is a point; else ""."""
    mark = "." if decimal_point else ","
    grouped = THOUSANDS.fullmatch(value)
    if grouped and grouped[2] != mark and grouped[3] in (None, mark):
        plain = re.sub(r"[,.' ]", "", grouped[1]) + ("" if grouped[3] is None else mark + grouped[4])
        comma = decimal_point and grouped[3] is None and value.count(",") == 1  # "1,000": or one with 3 decimals
        return (f"write numbers without thousands separators ({plain})"
                + (", or, if its comma is a decimal mark, separate the fields by semicolons" if comma else ""))
    if decimal_point and re.fullmatch(r"[-+]?\d*,\d+", value):
        return ("a decimal comma is read only where semicolons separate the fields (Excel's CSV where the decimal mark "
                "is a comma): write a decimal point, or separate the fields by semicolons")
    return ""


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
    missing = [missing_label(v, n) for v, n in zip(raw, numbers)]
    if known and all(v in known or gone for v, gone in zip(raw, missing)):
        index = {name: k for k, name in enumerate(known)}
        return np.array([index.get(v, UNLABELLED) for v in raw], dtype=np.int64), tuple(known)
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
    _warn_of_stray_name(raw, numbers, missing, path, place, number)
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


def _warn_of_stray_name(raw: list[str], numbers: list[int | None], missing: list[bool], path: Path,
                        place: Callable[[int], str], number: Callable[[str], float]) -> None:
    """A warning where a label is text that no other row holds while most labels are class numbers: a typo (a
    "zebra" among 0..K-1) becomes a class of one example, but so does a class given one label, as few labels
    go. A mark like a missing label's ("?") has its own warning (`looks_unlabelled`)."""
    given = [(k, v, n) for k, (v, n, gone) in enumerate(zip(raw, numbers, missing)) if not gone]
    counts = Counter(v for _, v, _ in given)
    stray = next((k for k, v, n in given if counts[v] == 1 and not is_number(v, number) and not looks_unlabelled(v)),
                 None)
    if stray is not None and 2 * sum(n is not None for _, _, n in given) > len(given):
        warnings.warn(f"{path}: {place(stray)} has label {raw[stray]!r}, a class of its own that no other row "
                      f"holds, where most labels are class numbers: correct it if it is a typo",
                      stacklevel=user_stacklevel())


def missing_label(text: str, number: int | None) -> bool:
    """Whether a CSV's label ``text`` (stripped), the whole ``number`` it writes if any, marks an unlabelled
    row: -1 (-1.0), empty, or one of `MISSING_VALUES`."""
    return text in MISSING_VALUES or number == UNLABELLED


def whole_number(text: str, number: Callable[[str], float] = float) -> int | None:
    """The integer a label such as "3" or "3.0" writes (read by ``number``), else None (a class name)."""
    try:
        value = number(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() else None


ROW_NAMES_FIX = "name a column of row names 'id', which is no input, or "  # then how to ignore it
ROW_NAME_WORDS = ("id", "idx", "index", "uuid", "guid")  # the last word of a name of row names: patient_id, Row ID
COUNTED_ROWS = 20  # rows from which a column one up each row is taken for a count of them, not a measurement


def _names_rows(name: str) -> bool:
    """Whether a column's name says it holds row names (``ID``, ``index``, ``patient_id``, ``PatientID``, ``Row
    Id``: its last word is one of `ROW_NAME_WORDS`) or is pandas' saved index."""
    words = re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)  # PatientID: Patient, ID; patient_id: patient, id
    return name.startswith("Unnamed:") or bool(words) and words[-1].lower() in ROW_NAME_WORDS


def _counts_rows(values: np.ndarray) -> bool:
    """Whether a column's ``values`` count the rows, one up each (100000, 100001, ...) over `COUNTED_ROWS` or
    more, as ids numbered by a database do: a model that learnt from them would be lost on new rows."""
    return len(values) >= COUNTED_ROWS and bool(np.all(np.diff(values.astype(np.float64)) == 1))


def warn_of_named_inputs(x: np.ndarray, columns: Sequence[str], path: Path, label: str = "label",
                         categories: dict[str, tuple[str, ...]] | None = None) -> None:
    """Input ``columns`` (of the inputs ``x``; a column of ``categories`` by its own name, not its one-hot
    columns') whose names say they hold row names (``ID``, ``patient_id``, pandas' saved index ``Unnamed: 0``)
    or whose values count the rows, and those named like classes (``Label``, ``target``; not ``y``, a common
    feature), beside the ``label`` column: a model would learn from them."""
    names = table_columns(columns, categories or {})
    row_names = [name for name in names if _names_rows(name)]
    counts = [name for k, name in enumerate(columns) if name in names and name not in row_names
              and _counts_rows(x[:, k])]
    classes = [name for name in names if name.lower() in LABEL_LIKE and name.lower() != "y"]
    for found, kind, fix in ((row_names, "named like row names or pandas' saved index", ROW_NAMES_FIX),
                             (counts, "counting the rows, one up each row, as ids do", ROW_NAMES_FIX),
                             (classes, "named like classes",
                              f"if it holds them (the {label!r} column gives the classes), ")):
        if found:
            many = len(found) > 1
            warnings.warn(f"{path}: column{'s' if many else ''} {', '.join(map(repr, found))} {'are' if many else 'is'}"
                          f" read as input{'s' if many else ''}, though {kind}: {fix}{ignore_fix(found)}, so that the "
                          f"model does not learn from {'them' if many else 'it'}", stacklevel=user_stacklevel())


__all__ = ["LABEL_LIKE", "MISSING_VALUES", "CsvColumns", "CsvTable", "as_csv_hint", "csv_labels", "ignore_fix",
           "is_number", "missing_label", "read_csv", "reads_as_formula", "warn_of_named_inputs", "whole_number"]
