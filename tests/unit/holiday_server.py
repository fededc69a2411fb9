#!/usr/bin/python3
"""holiday_server.py DIR: a holiday-calendar server on loopback for test_holiday.

Serves DIR/NAME at /NAME, read at each request, with a strong ETag (a hash
of the bytes) and Last-Modified (the file's mtime), and answers 304 to a
matching If-None-Match (or, without one, to an If-Modified-Since not older
than the file), as RFC 9110 section 13.1 has it. The test steers it with
files beside NAME:

  NAME.status    answer with this status code instead (e.g. 500, 304)
  NAME.redirect  answer 302 with this Location
  NAME.chunked   send the body chunked, without Content-Length

Every request is appended to DIR/log before the answer goes out, one line
"PATH<TAB>STATUS<TAB>IF-NONE-MATCH<TAB>IF-MODIFIED-SINCE" ("-" for none), so
the test can read what was asked once its request has returned.

Prints the port on standard output once it listens; stops on SIGTERM.
"""
import email.utils
import hashlib
import http.server
import os
import signal
import sys
import urllib.parse

ROOT = sys.argv[1]


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def record(self, status):
        inm = self.headers.get("If-None-Match") or "-"
        ims = self.headers.get("If-Modified-Since") or "-"
        with open(os.path.join(ROOT, "log"), "a") as f:
            f.write(f"{self.path}\t{status}\t{inm}\t{ims}\n")

    def answer(self, status, body=b"", headers=(), chunked=False):
        self.record(status)
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if status == 304:
            self.end_headers()
            return
        self.send_header("Content-Type", "text/calendar; charset=utf-8")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(body), 65536):
                part = body[i:i + 65536]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def do_GET(self):
        name = urllib.parse.urlsplit(self.path).path.lstrip("/")
        path = os.path.join(ROOT, os.path.basename(name))
        status = read(path + ".status")
        if status is not None:
            return self.answer(int(status), b"<html>server error</html>\n")
        location = read(path + ".redirect")
        if location is not None:
            return self.answer(302, headers=[("Location", location.decode())])
        body = read(path)
        if body is None:
            return self.answer(404, b"not found\n")
        etag = '"%s"' % hashlib.sha256(body).hexdigest()[:20]
        mtime = int(os.stat(path).st_mtime)
        validators = [("ETag", etag), ("Last-Modified", email.utils.formatdate(mtime, usegmt=True))]
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        if inm is not None:
            fresh = etag in [t.strip() for t in inm.split(",")]
        elif ims is not None:
            since = email.utils.parsedate_to_datetime(ims).timestamp()
            fresh = mtime <= since
        else:
            fresh = False
        if fresh:
            return self.answer(304, headers=validators)
        self.answer(200, body, validators, chunked=read(path + ".chunked") is not None)


class Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # The client hangs up on a body that is too big: that is the test.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def main():
    server = Server(("127.0.0.1", 0), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
