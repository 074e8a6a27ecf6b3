"""A small, dependency-free HTTP client for Quiver's Epsilla-compatible API.

numpy is optional: arrays and numpy scalars are accepted wherever data is
passed (vectors, primary keys, field values, limits) without this module
importing numpy.
"""

import http.client
import json
import socket
import urllib.error
import urllib.parse
import urllib.request


class QuiverError(Exception):
    """A request failed: ``status_code`` is the HTTP status, ``message`` the server's reason.

    ``status_code`` is 0 when the server gave no answer (it could not be
    reached, the connection broke, the request timed out) or when the request
    was refused by the client before it was sent (no database selected, a NaN
    or infinity in the data).
    """

    def __init__(self, status_code, message, body=None):
        super().__init__(f"HTTP {status_code}: {message}")
        self.status_code = status_code
        self.message = message
        self.body = body


class _Encoder(json.JSONEncoder):
    """JSON for numpy arrays and scalars without importing numpy: an ndarray
    and a numpy scalar both have ``tolist()`` (giving lists and Python
    numbers); other array-likes with ``item()`` give a Python scalar."""

    def default(self, o):
        tolist = getattr(o, "tolist", None)
        if callable(tolist):
            return tolist()
        item = getattr(o, "item", None)
        if callable(item):
            return item()
        return super().default(o)


_NETWORK_ERRORS = (ConnectionError, TimeoutError, socket.timeout, http.client.HTTPException)


class Client:
    """Talks to one Quiver server.

    Every method returns ``(status_code, body)`` like Epsilla's client, where
    ``body`` is the decoded JSON envelope ``{"statusCode", "message", "result"}``.
    With ``raise_on_error=True`` (the default) a non-2xx answer raises
    :class:`QuiverError` instead, so failures cannot go unnoticed. A server
    that cannot be reached (or drops the connection, or times out) always
    raises :class:`QuiverError` with ``status_code`` 0.

    Data may be given as numpy arrays and numpy scalars as well as lists and
    Python numbers. NaN and infinity have no JSON form: a request holding one
    raises :class:`QuiverError` (``status_code`` 0) before anything is sent.
    """

    def __init__(self, protocol="http", host="localhost", port="8888", headers=None,
                 timeout=60, raise_on_error=True):
        self._base = f"{protocol}://{host}:{port}"
        self._headers = {"Content-Type": "application/json", **(headers or {})}
        self._timeout = timeout
        self._raise = raise_on_error
        self._db = None

    # -- plumbing ---------------------------------------------------------

    def _send(self, method, path, payload=None):
        """One HTTP exchange: ``(status, raw body bytes)``; network failures
        and unencodable payloads raise :class:`QuiverError` with status 0."""
        data = None
        if payload is not None:
            try:
                text = json.dumps(payload, cls=_Encoder, allow_nan=False)
            except ValueError as error:
                if "out of range float" in str(error).lower():
                    raise QuiverError(0, "NaN or infinity in the request: JSON has no such "
                                         "numbers") from error
                raise QuiverError(0, f"cannot encode the request as JSON: {error}") from error
            data = text.encode("utf-8")
        request = urllib.request.Request(self._base + path, data=data, method=method,
                                         headers=self._headers)
        try:
            try:
                with urllib.request.urlopen(request, timeout=self._timeout) as response:
                    return response.status, response.read()
            except urllib.error.HTTPError as error:
                try:
                    return error.code, error.read()
                finally:
                    error.close()
        except urllib.error.URLError as error:  # not an HTTPError: no answer at all
            raise self._unreachable(error.reason) from error
        except _NETWORK_ERRORS as error:
            raise self._unreachable(error) from error

    def _unreachable(self, reason):
        """The error for a request the server did not answer."""
        reason = str(reason) or type(reason).__name__
        return QuiverError(0, f"cannot reach {self._base}: {reason}")

    def _request(self, method, path, payload=None):
        status, raw = self._send(method, path, payload)
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
        """The server's banner: ``(status_code, text)``, the body being plain
        text rather than JSON. Sends the configured headers, so it works when
        the server requires an API key."""
        status, raw = self._send("GET", "/")
        text = raw.decode("utf-8", "replace")
        if self._raise and not 200 <= status < 300:
            try:
                body = json.loads(text)
            except ValueError:
                body = text
            message = body.get("message", text) if isinstance(body, dict) else text
            raise QuiverError(status, message, body)
        return status, text

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

    def create_table(self, table_name="MyTable", table_fields=None, indices=None, shards=None):
        """Create a table. ``table_fields`` is a list of dicts with ``name``,
        ``dataType`` and, as needed, ``primaryKey``, ``dimensions``, ``metricType``.
        ``shards`` (1 to 256) spreads its rows over that many shards."""
        payload = {"name": table_name, "fields": table_fields if table_fields is not None else []}
        if indices is not None:
            payload["indices"] = indices
        if shards is not None:
            payload["shards"] = shards
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
        skipped unless ``upsert``; the result counts ``inserted`` and ``skipped``.
        Values may be numpy scalars and vectors numpy arrays; a NaN or infinity
        raises :class:`QuiverError` (status 0) and nothing is sent."""
        payload = {"table": table_name, "data": records if records is not None else []}
        if upsert:
            payload["upsert"] = True
        return self._request("POST", self._db_path("/data/insert"), payload)

    def upsert(self, table_name="MyTable", records=None):
        """Insert records, replacing rows whose primary key exists."""
        return self.insert(table_name, records, upsert=True)

    def delete(self, table_name="MyTable", primary_keys=None, ids=None, filter=None):
        """Delete by primary keys (``ids`` is Epsilla's older name; a list or a
        numpy array) or by filter."""
        payload = {"table": table_name}
        keys = primary_keys if primary_keys is not None else ids
        if keys is not None:
            payload["primaryKeys"] = keys
        if filter is not None:
            payload["filter"] = filter
        return self._request("POST", self._db_path("/data/delete"), payload)

    def query(self, table_name="MyTable", query_text=None, query_index=None, query_field=None,
              query_vector=None, response_fields=None, limit=2, filter=None,
              with_distance=False, facets=None, ef=None, nprobe=None):
        """Nearest neighbours of ``query_vector`` (a list, a numpy array or a
        sparse ``{"indices", "values"}`` object) in ``query_field``, nearest first.
        ``facets`` aggregate the returned records (see ``get``). ``ef`` (HNSW
        candidate list, 1..10000) and ``nprobe`` (IVF lists searched, 1..10000)
        trade speed for recall on indexed segments for this query only; by
        default the field's own settings apply."""
        if query_text is not None:
            raise QuiverError(0, "query_text needs server-side embedding, which Quiver does not "
                                 "offer; pass query_vector")
        payload = {"table": table_name, "queryVector": query_vector, "limit": limit,
                   "withDistance": with_distance}
        if query_field is not None or query_index is not None:
            payload["queryField"] = query_field if query_field is not None else query_index
        if response_fields is not None:
            payload["response"] = response_fields
        if filter is not None:
            payload["filter"] = filter
        for key, value in (("facets", facets), ("ef", ef), ("nprobe", nprobe)):
            if value is not None:
                payload[key] = value
        return self._request("POST", self._db_path("/data/query"), payload)

    def hybrid_query(self, table_name="MyTable", queries=None, limit=10, fusion=None,
                     candidates=None, filter=None, response_fields=None, with_score=False):
        """Several vector queries fused into one ranking. ``queries`` is a list of
        ``{"field": name, "vector": dense list or {"indices", "values"}, "weight": w}``
        (lists or numpy arrays);
        ``fusion`` is ``{"method": "rrf", "k": 60}`` (default) or ``{"method": "weighted"}``;
        ``candidates`` is each query's top-k before fusion (default 10 x limit)."""
        payload = {"table": table_name, "queries": queries if queries is not None else [],
                   "limit": limit, "withScore": with_score}
        for key, value in (("fusion", fusion), ("candidates", candidates), ("filter", filter),
                           ("response", response_fields)):
            if value is not None:
                payload[key] = value
        return self._request("POST", self._db_path("/data/query"), payload)

    def get(self, table_name="MyTable", response_fields=None, primary_keys=None, ids=None,
            filter=None, skip=None, limit=None, facets=None):
        """Records by primary key (a list or a numpy array) and/or filter, with
        ``skip``/``limit`` paging.

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
