"""Request bodies of the predict endpoint: parsing (400), size (413) and each row against the
version's input columns (422, one error per bad field and row).

Accepted forms: `{"instances": [{column: value}, ...]}`, MLflow's `{"dataframe_split":
{"columns": [...], "data": [[...], ...]}}` and `{"dataframe_records": [{...}, ...]}`. A JSON
null is a missing value (the model imputes it); NaN and Infinity are refused, as are booleans
in number columns and numbers in text columns.
"""

from __future__ import annotations

import json
import math

from apps.deployments.selectors.serving import ANY, BOOLEAN, NUMBER, STRING, Column

MAX_ERRORS = 100


class BadRequest(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


class NonFinite:
    """What NaN/Infinity parse to: kept as a marker so the error can name its row and field."""

    def __init__(self, text: str) -> None:
        self.text = text


def parse_rows(body: bytes, max_rows: int) -> list[dict]:
    try:
        data = json.loads(body, parse_constant=NonFinite)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest(400, f"Malformed JSON: {error}") from error
    if not isinstance(data, dict):
        raise BadRequest(400, 'Expected an object with "instances" or "dataframe_split".')
    if "instances" in data or "dataframe_records" in data:
        rows = data.get("instances", data.get("dataframe_records"))
        if not isinstance(rows, list):
            raise BadRequest(400, '"instances" must be a list of objects.')
        _check_size(len(rows), max_rows)
        return rows
    if "dataframe_split" in data:
        return _split_rows(data["dataframe_split"], max_rows)
    raise BadRequest(400, 'Expected "instances" (a list of objects) or "dataframe_split".')


def _check_size(count: int, max_rows: int) -> None:
    if count == 0:
        raise BadRequest(400, "No rows to predict.")
    if count > max_rows:
        raise BadRequest(413, f"{count} rows; at most {max_rows} per request (SERVING_MAX_ROWS).")


def _split_rows(split: object, max_rows: int) -> list[dict]:
    if not isinstance(split, dict):
        raise BadRequest(400, '"dataframe_split" must be an object with "columns" and "data".')
    columns, data = split.get("columns"), split.get("data")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise BadRequest(400, '"dataframe_split.columns" must be a list of column names.')
    if not isinstance(data, list):
        raise BadRequest(400, '"dataframe_split.data" must be a list of rows.')
    _check_size(len(data), max_rows)
    rows = []
    for i, values in enumerate(data):
        if not isinstance(values, list) or len(values) != len(columns):
            raise BadRequest(
                400, f"dataframe_split.data[{i}] must be a list of {len(columns)} values."
            )
        rows.append(dict(zip(columns, values, strict=True)))
    return rows


def _value_error(value: object, kind: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, NonFinite) or (isinstance(value, float) and not math.isfinite(value)):
        return "must be a finite number (NaN and Infinity are not accepted)"
    if isinstance(value, dict | list):
        return f"expected a single value, got {type(value).__name__}"
    if kind == NUMBER and (isinstance(value, bool) or not isinstance(value, int | float)):
        return f"expected a number, got {_json_type(value)}"
    if kind == STRING and not isinstance(value, str):
        return f"expected a string, got {_json_type(value)}"
    if kind == BOOLEAN and not isinstance(value, bool):
        return f"expected true or false, got {_json_type(value)}"
    return None


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string" if isinstance(value, str) else type(value).__name__


def check_rows(rows: list, columns: tuple[Column, ...] | None) -> list[dict]:
    """Errors as [{"row", "field", "message"}], at most MAX_ERRORS of them."""
    errors: list[dict] = []
    names = {c.name for c in columns} if columns is not None else None
    for i, row in enumerate(rows):
        if len(errors) >= MAX_ERRORS:
            break
        if not isinstance(row, dict):
            errors.append({"row": i, "field": None, "message": "must be an object of columns"})
            continue
        if columns is None:
            for name, value in row.items():
                if (message := _value_error(value, ANY)) is not None:
                    errors.append({"row": i, "field": name, "message": message})
            continue
        for column in columns:
            if column.name not in row:
                errors.append({"row": i, "field": column.name, "message": "missing column"})
            elif (message := _value_error(row[column.name], column.kind)) is not None:
                errors.append({"row": i, "field": column.name, "message": message})
        for name in row.keys() - names:
            errors.append({"row": i, "field": name, "message": "unknown column"})
    return errors[:MAX_ERRORS]
