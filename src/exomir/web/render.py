"""One data dict -> JSON, CSV or HTML (datasette's pattern: build the data once, serve it by
format). Pages and API routes call the same ``*_data`` function and differ only here."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, select_autoescape
from markupsafe import Markup

FORMATS = ("html", "json", "csv")


def clean(obj: Any) -> Any:
    """JSON-safe values: NaN/inf -> None, numpy scalars -> Python, tuples -> lists."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, str | int | bool) or obj is None:
        return obj
    if isinstance(obj, Mapping):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [clean(v) for v in obj]
    if hasattr(obj, "tolist") and callable(obj.tolist):
        return clean(obj.tolist())
    if hasattr(obj, "item") and callable(obj.item):
        return clean(obj.item())
    if hasattr(obj, "value") and isinstance(getattr(obj, "value", None), str):
        return obj.value
    return str(obj)


def dumps(data: Any) -> bytes:
    return json.dumps(clean(data), ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode()


class JSON(Response):
    """JSON without NaN (invalid JSON) and with numpy values converted."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


def to_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    rows = list(rows)
    cols = list(columns) if columns else list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols or ["empty"], lineterminator="\n",
                       extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: _cell(r.get(k)) for k in cols})
    return buf.getvalue()


def _cell(v: Any) -> Any:
    v = clean(v)
    if isinstance(v, list | dict):
        return json.dumps(v, ensure_ascii=False)
    return "" if v is None else v


def csv_response(rows: Iterable[Mapping[str, Any]], filename: str,
                 columns: Sequence[str] | None = None) -> Response:
    safe = "".join(c for c in filename if c.isalnum() or c in "-_.") or "data.csv"
    return Response(to_csv(rows, columns), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{safe}"'})


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        return f"{value:.4g}"
    return str(value)


def make_env(override_dir: str | None = None) -> Environment:
    """Templates by name; a folder of the user's own templates wins over the package's."""
    loaders: list[Any] = []
    if override_dir:
        loaders.append(FileSystemLoader(override_dir))
    loaders.append(PackageLoader("exomir.web", "templates"))
    env = Environment(loader=ChoiceLoader(loaders), autoescape=select_autoescape(["html"]),
                      auto_reload=False)
    env.filters["fmt"] = _fmt
    env.filters["tojson_attr"] = lambda v: Markup.escape(dumps(v).decode())
    return env


def html(request: Request, template: str | Sequence[str], context: Mapping[str, Any],
         status_code: int = 200) -> HTMLResponse:
    """Render the first template of ``template`` that exists (specific before generic)."""
    env: Environment = request.app.state.exomir.templates
    names = [template] if isinstance(template, str) else list(template)
    tpl = env.select_template(names)
    ctx = {"request": request, "path": request.url.path, **context}
    return HTMLResponse(tpl.render(ctx), status_code=status_code)
