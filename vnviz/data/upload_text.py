"""Text-table uploads (.csv, .tsv, .txt): numbers in rows, one optional header row, as float32.

A row wider than the cap is refused before it is split; cells are parsed one
by one into a flat buffer of 8-byte floats, so memory stays bounded by
``upload.MAX_ELEMENTS`` whatever the file claims.
"""
from __future__ import annotations

import array
import csv
from typing import Iterator

import numpy as np
import torch

from vnviz.data import upload as caps
from vnviz.errors import InputError
from vnviz.i18n import Msg, plural_msg


def read_text(data: bytes, label: str, delimiter: str | None = None) -> dict[str, torch.Tensor]:
    """A table of numbers: comma, tab, semicolon or whitespace separated, with an optional header row."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(
            "The file {label} is not UTF-8 text: the byte {byte:#04x} at offset {start:,} cannot be decoded; save the "
            "table as UTF-8.",
            label=label, byte=data[e.start], start=e.start,
        ) from None
    if "\x00" in text:
        raise InputError("The file {label} contains NUL bytes, so it is binary data, not a text table.", label=label)
    delimiter = delimiter or _delimiter(text, label)
    values = array.array("d")  # flat, row after row: 8 bytes a cell
    ncols, first_line, nrows = 0, 0, 0
    header: list[str] = []
    for line_no, cells in _text_rows(text, delimiter, label):
        cells = [c.strip() for c in cells]
        if not any(cells) and len(cells) <= 1:
            continue  # blank line
        if cells[0].startswith("#"):
            continue  # a comment, as numpy.savetxt(header=...) writes
        if not ncols:
            ncols, first_line = len(cells), line_no
            if not all(_is_number(c) for c in cells):
                header = cells  # a header row: skip it, but hold the data to its width
                continue
        elif len(cells) != ncols:
            raise InputError(
                "Line {line_no} of {label} has {cells} but line {first_line} has {ncols}; every row needs the same "
                "number of columns.",
                line_no=line_no, label=label, cells=_cells(len(cells)), first_line=first_line, ncols=ncols,
            )
        if len(values) + ncols > caps.MAX_ELEMENTS:
            raise InputError("The table in {label} has more than {cap:,} cells, the cap for one array.",
                             label=label, cap=caps.MAX_ELEMENTS)
        for j, cell in enumerate(cells):
            try:
                values.append(float(cell))
            except ValueError:
                raise InputError(
                    "Line {line_no}, column {column} of {label} holds {cell}, which is not a number; every cell after an "
                    "optional header row must be a number such as 1.5, -2e3 or nan.",
                    line_no=line_no, column=j + 1, label=label, cell=caps.quote_name(cell, 40),
                ) from None
        nrows += 1
    if not nrows and not header:
        raise InputError("The file {label} holds no rows of numbers, only blank or comment lines.", label=label)
    if not nrows:
        word = next(c for c in header if not _is_number(c))
        raise InputError(
            "The file {label} has no rows of numbers: its only row holds {cell}, which is not a number, so it was "
            "taken as a header.",
            label=label, cell=caps.quote_name(word, 40),
        )
    table = np.frombuffer(values, dtype=np.float64).reshape(nrows, ncols)  # (rows, cols)
    return {"x": caps.finish(torch.from_numpy(table.astype(np.float32)), Msg("The table in {label}", label=label))}


def read_tsv(data: bytes, label: str) -> dict[str, torch.Tensor]:
    return read_text(data, label, delimiter="\t")


def _cells(n: int) -> str:
    return plural_msg("{n:,} cell", "{n:,} cells", n, n=n)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _delimiter(text: str, label: str) -> str | None:
    """The delimiter the first non-blank line uses: comma, tab or semicolon; None for whitespace."""
    for line in _lines(text):
        if line.strip() and not line.lstrip().startswith("#"):
            for d in (",", "\t", ";"):
                if d in line:
                    return d
            return None
    raise InputError("The file {label} holds no rows of numbers, only blank or comment lines.", label=label)


def _line_spans(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each line, newline included; unlike io.StringIO, copies nothing."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        yield start, end
        start = end


def _lines(text: str) -> Iterator[str]:
    return (text[start:end] for start, end in _line_spans(text))


def _text_rows(text: str, delimiter: str | None, label: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) per row: csv.reader for a delimiter, str.split() for whitespace."""

    def lines() -> Iterator[str]:
        for no, (start, end) in enumerate(_line_spans(text), 1):
            if delimiter:
                bound = text.count(delimiter, start, end)
            else:
                bound = text.count(" ", start, end) + text.count("\t", start, end)
            if bound >= caps.MAX_ELEMENTS:  # a row this wide would exceed the cap: refuse it before splitting it
                raise InputError("Line {no} of {label} has more than {cap:,} cells, the cap for one array.",
                                 no=no, label=label, cap=caps.MAX_ELEMENTS)
            yield text[start:end]

    if delimiter is None:
        for no, line in enumerate(lines(), 1):
            yield no, line.split()
        return
    reader = csv.reader(lines(), delimiter=delimiter)
    try:
        for cells in reader:
            yield reader.line_num, cells
    except csv.Error as e:
        raise InputError("Line {line_num} of {label} is not valid CSV ({error}).",
                         line_num=reader.line_num, label=label, error=str(e).rstrip(".")) from None
