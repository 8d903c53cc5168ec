#!/usr/bin/env python3
"""A proxy in front of hac-allocator for the hac-update tests: it passes every request through,
but sends only the first CUT bytes of a release file (/files/ in the path) while announcing the
whole length, then closes the connection: a download cut off by the network.

cut_proxy.py UPSTREAM_URL CUT PORT_FILE
"""
import http.server
import os
import sys
import urllib.error
import urllib.request

upstream, cut, port_file = sys.argv[1].rstrip("/"), int(sys.argv[2]), sys.argv[3]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        request = urllib.request.Request(upstream + self.path)
        if self.headers.get("Range"):
            request.add_header("Range", self.headers["Range"])
        try:
            answer = urllib.request.urlopen(request)
        except urllib.error.HTTPError as e:
            answer = e
        body = answer.read()
        self.send_response(answer.status if hasattr(answer, "status") else answer.code)
        for name in ("Content-Type", "Content-Range", "Accept-Ranges"):
            if answer.headers.get(name):
                self.send_header(name, answer.headers[name])
        self.send_header("Content-Length", str(len(body)))
        if "/files/" in self.path:
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.close_connection = True
            return
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(f"{server.server_address[1]}\n")
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
