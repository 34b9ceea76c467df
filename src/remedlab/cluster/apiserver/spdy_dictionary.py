"""The zlib dictionary of SPDY/3 header blocks (the protocol's draft 3, "Compression").

Both ends of a SPDY/3 connection compress every header block with this preset dictionary, so a
peer only understands blocks compressed with exactly these bytes (zlib checks their Adler-32).
The dictionary is a run of length-prefixed words (a 4-byte big-endian length, then the word),
followed by plain text: status codes and lines, dates and common header values.
"""

from __future__ import annotations

_WORDS = (
    "options",
    "head",
    "post",
    "put",
    "delete",
    "trace",
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "connection",
    "content-base",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-type",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "retry-after",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "method",
    "get",
    "status",
    "200 OK",
    "version",
    "HTTP/1.1",
    "url",
    "public",
    "set-cookie",
    "keep-alive",
    "origin",
)

_STATUS_CODES = "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
"""The status codes without a line below, three digits each, back to back."""

_STATUS_LINES = (
    "203 Non-Authoritative Information",
    "204 No Content",
    "301 Moved Permanently",
    "400 Bad Request",
    "401 Unauthorized",
    "403 Forbidden",
    "404 Not Found",
    "500 Internal Server Error",
    "501 Not Implemented",
    "503 Service Unavailable",
)

_DATES = "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"

_VALUES = (
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
    "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)

HEADER_DICTIONARY: bytes = b"".join(len(word).to_bytes(4, "big") + word.encode("ascii") for word in _WORDS) + (
    _STATUS_CODES + "".join(_STATUS_LINES) + _DATES + _VALUES
).encode("ascii")
"""The 1423 bytes both ends prime their header compression with."""
