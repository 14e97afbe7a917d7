#!/usr/bin/python3
"""A static file server for RemoteInputTests that answers HTTP Range requests (GDAL's /vsicurl/ reads files by
ranges; Python's http.server does not) and sends Last-Modified. Usage: range_server.py FOLDER [PORT]; prints the port."""
import http.server
import os
import re
import sys
from email.utils import formatdate


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def send_head(self):
        path = self.translate_path(self.path)
        if not os.path.isfile(path):
            self.send_error(404)
            return None
        return self.send_content(open(path, "rb"), os.path.getsize(path), os.path.getmtime(path))

    def send_content(self, f, size, mtime, content_type=None):
        """Answers a GET or HEAD of `size` bytes read from the open file `f`, the range asked for or all of it."""
        modified = formatdate(mtime, usegmt=True)
        match = re.match(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if match:
            start = int(match.group(1))
            end = min(int(match.group(2)) if match.group(2) else size - 1, size - 1)
            if start >= size:
                self.send_error(416)
                f.close()
                return None
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.send_header("Content-Length", str(end - start + 1))
            f.seek(start)
            self.remaining = end - start + 1
        else:
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.remaining = size
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Last-Modified", modified)
        self.end_headers()
        return f

    def copyfile(self, source, outputfile):
        while self.remaining > 0:
            chunk = source.read(min(65536, self.remaining))
            if not chunk:
                break
            outputfile.write(chunk)
            self.remaining -= len(chunk)


def serve(handler):
    """Serves the folder of argv[1] on 127.0.0.1 (port argv[2], else any free one) and prints the port."""
    os.chdir(sys.argv[1])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2]) if len(sys.argv) > 2 else 0), handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    serve(Handler)
