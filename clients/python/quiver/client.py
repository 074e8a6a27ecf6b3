"""A small, dependency-free HTTP client for Quiver's Epsilla-compatible API."""

import json
import urllib.error
import urllib.parse
import urllib.request


class QuiverError(Exception):
    """A request failed: ``status_code`` is the HTTP status, ``message`` the server's reason."""

    def __init__(self, status_code, message, body=None):
        super().__init__(f"HTTP {status_code}: {message}")
        self.status_code = status_code
        self.message = message
        self.body = body


class Client:
    """Talks to one Quiver server.

    Every method returns ``(status_code, body)`` like Epsilla's client, where
    ``body`` is the decoded JSON envelope ``{"statusCode", "message", "result"}``.
    With ``raise_on_error=True`` (the default) a non-2xx answer raises
    :class:`QuiverError` instead, so failures cannot go unnoticed.
    """

    def __init__(self, protocol="http", host="localhost", port="8888", headers=None,
                 timeout=60, raise_on_error=True):
        self._base = f"{protocol}://{host}:{port}"
        self._headers = {"Content-Type": "application/json", **(headers or {})}
        self._timeout = timeout
        self._raise = raise_on_error
        self._db = None

    # -- plumbing ---------------------------------------------------------

    def _request(self, method, path, payload=None):
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        request = urllib.request.Request(self._base + path, data=data, method=method,
                                         headers=self._headers)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        try:
            body = json.loads(raw.decode("utf-8")) if raw else {}
        except ValueError:
            body = {"statusCode": status, "message": raw.decode("utf-8", "replace")}
        if self._raise and not 200 <= status < 300:
            message = body.get("message", "") if isinstance(body, dict) else str(body)
            raise QuiverError(status, message, body)
        return status, body

    def _db_path(self, suffix):
        if self._db is None:
            raise QuiverError(0, "no database selected: call use_db(name) first")
        return f"/api/{urllib.parse.quote(self._db, safe='')}{suffix}"

    # -- server -----------------------------------------------------------

    def welcome(self):
        """The server's banner (plain text)."""
        with urllib.request.urlopen(self._base + "/", timeout=self._timeout) as response:
            return response.status, response.read().decode("utf-8")

    def state(self):
        """Whether the server is online."""
        return self._request("GET", "/state")

    def rebuild(self):
        """Build every pending index; returns once they are built."""
        return self._request("POST", "/api/rebuild")

    # -- databases --------------------------------------------------------

    def load_db(self, db_name, db_path=None, vector_scale=None, wal_enabled=None):
        """Create or open database ``db_name``. ``db_path`` is only a label:
        the server keeps every database inside its own data directory."""
        payload = {"name": db_name, "path": db_path or db_name}
        if vector_scale is not None:
            payload["vectorScale"] = vector_scale
        if wal_enabled is not None:
            payload["walEnabled"] = wal_enabled
        return self._request("POST", "/api/load", payload)

    def use_db(self, db_name):
        """Select the database the following calls address."""
        self._db = db_name

    def unload_db(self, db_name):
        """Close a database; its data stays on disk for a later load_db."""
        return self._request("POST", f"/api/{urllib.parse.quote(db_name, safe='')}/unload")

    def drop_db(self, db_name):
        """Delete a database and all its files."""
        if self._db == db_name:
            self._db = None
        return self._request("DELETE", f"/api/{urllib.parse.quote(db_name, safe='')}/drop")

    def statistics(self):
        """Per-table record counts of the current database."""
        return self._request("GET", self._db_path("/statistics"))

    # -- tables -----------------------------------------------------------

    def create_table(self, table_name="MyTable", table_fields=None, indices=None):
        """Create a table. ``table_fields`` is a list of dicts with ``name``,
        ``dataType`` and, as needed, ``primaryKey``, ``dimensions``, ``metricType``."""
        payload = {"name": table_name, "fields": table_fields or []}
        if indices is not None:
            payload["indices"] = indices
        return self._request("POST", self._db_path("/schema/tables"), payload)

    def list_tables(self):
        """Names of the tables of the current database."""
        return self._request("GET", self._db_path("/schema/tables/show"))

    def describe_table(self, table_name="MyTable"):
        """Fields, types, dimensions, metrics and row count of a table."""
        name = urllib.parse.quote(table_name, safe="")
        return self._request("GET", self._db_path(f"/schema/tables/{name}/describe"))

    def drop_table(self, table_name="MyTable"):
        """Delete a table and its data."""
        name = urllib.parse.quote(table_name, safe="")
        return self._request("DELETE", self._db_path(f"/schema/tables/{name}"))

    # -- data -------------------------------------------------------------

    def insert(self, table_name="MyTable", records=None, upsert=False):
        """Insert records (dicts keyed by field name). Existing primary keys are
        skipped unless ``upsert``; the result counts ``inserted`` and ``skipped``."""
        payload = {"table": table_name, "data": records or []}
        if upsert:
            payload["upsert"] = True
        return self._request("POST", self._db_path("/data/insert"), payload)

    def upsert(self, table_name="MyTable", records=None):
        """Insert records, replacing rows whose primary key exists."""
        return self.insert(table_name, records, upsert=True)

    def delete(self, table_name="MyTable", primary_keys=None, ids=None, filter=None):
        """Delete by primary keys (``ids`` is Epsilla's older name) or by filter."""
        payload = {"table": table_name}
        keys = primary_keys if primary_keys is not None else ids
        if keys is not None:
            payload["primaryKeys"] = keys
        if filter is not None:
            payload["filter"] = filter
        return self._request("POST", self._db_path("/data/delete"), payload)

    def query(self, table_name="MyTable", query_text=None, query_index=None, query_field=None,
              query_vector=None, response_fields=None, limit=2, filter=None,
              with_distance=False, facets=None):
        """Nearest neighbours of ``query_vector`` in ``query_field``, nearest first.
        ``facets`` aggregate the returned records (see ``get``)."""
        if query_text is not None:
            raise QuiverError(0, "query_text needs server-side embedding, which Quiver does not offer; "
                                 "pass query_vector")
        payload = {"table": table_name, "queryVector": query_vector, "limit": limit,
                   "withDistance": with_distance}
        if query_field is not None or query_index is not None:
            payload["queryField"] = query_field if query_field is not None else query_index
        if response_fields is not None:
            payload["response"] = response_fields
        if filter is not None:
            payload["filter"] = filter
        if facets is not None:
            payload["facets"] = facets
        return self._request("POST", self._db_path("/data/query"), payload)

    def hybrid_query(self, table_name="MyTable", queries=None, limit=10, fusion=None, candidates=None,
                     filter=None, response_fields=None, with_score=False):
        """Several vector queries fused into one ranking. ``queries`` is a list of
        ``{"field": name, "vector": dense list or {"indices", "values"}, "weight": w}``;
        ``fusion`` is ``{"method": "rrf", "k": 60}`` (default) or ``{"method": "weighted"}``;
        ``candidates`` is each query's top-k before fusion (default 10 x limit)."""
        payload = {"table": table_name, "queries": queries or [], "limit": limit,
                   "withScore": with_score}
        for key, value in (("fusion", fusion), ("candidates", candidates), ("filter", filter),
                           ("response", response_fields)):
            if value is not None:
                payload[key] = value
        return self._request("POST", self._db_path("/data/query"), payload)

    def get(self, table_name="MyTable", response_fields=None, primary_keys=None, ids=None,
            filter=None, skip=None, limit=None, facets=None):
        """Records by primary key and/or filter, with ``skip``/``limit`` paging.

        ``facets`` (a list of ``{"group": [...], "aggregate": ["COUNT(*)", ...]}``)
        aggregates every matching row; without ``response_fields`` only the
        facets come back, so ``facets=[{"aggregate": ["COUNT(*)"]}]`` counts."""
        payload = {"table": table_name}
        keys = primary_keys if primary_keys is not None else ids
        if keys is not None:
            payload["primaryKeys"] = keys
        for key, value in (("response", response_fields), ("filter", filter),
                           ("skip", skip), ("limit", limit), ("facets", facets)):
            if value is not None:
                payload[key] = value
        return self._request("POST", self._db_path("/data/get"), payload)
