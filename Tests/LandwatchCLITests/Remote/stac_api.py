#!/usr/bin/python3
"""A fake STAC API for STACInputTests: range_server.py's files, and GET /search answered from FOLDER/api/search.json,
which the test rewrites between nights:

    {"items": [Item, ...],        the Items the search finds, paged by the request's `limit` (default 10)
     "status": {"2": 500},        pages answered with an HTTP status instead (page numbers as strings)
     "forever": false}            true: every page has a `next` link, past the last Item too

Each /search request's path and query is appended to FOLDER/api/requests.log (HEAD and range GETs of GDAL's
/vsicurl/ included). Files are sent with an ETag of their content (MD5), as object stores do.
Usage: stac_api.py FOLDER [PORT]; prints the port."""
import hashlib
import io
import json
import os
import urllib.parse

import range_server


class Handler(range_server.Handler):
    etag = None

    def end_headers(self):
        if self.etag:
            self.send_header("ETag", self.etag)
        super().end_headers()

    def send_head(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/search":
            path = self.translate_path(self.path)
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    self.etag = '"' + hashlib.md5(f.read()).hexdigest() + '"'
            return super().send_head()
        with open("api/requests.log", "a") as log:
            log.write(f"{self.command} {self.path}\n")
        with open("api/search.json") as f:
            config = json.load(f)
        query = urllib.parse.parse_qs(url.query)
        page = int(query.get("page", ["1"])[0])
        limit = int(query.get("limit", ["10"])[0])
        status = config.get("status", {}).get(str(page))
        if status:
            self.send_error(int(status))
            return None
        items = config.get("items", [])
        features = items[(page - 1) * limit:page * limit]
        links = [{"rel": "self", "href": f"http://{self.headers['Host']}{self.path}", "type": "application/geo+json"}]
        if config.get("forever") or page * limit < len(items):
            following = {key: values[0] for key, values in query.items()}
            following["page"] = str(page + 1)
            links.append({"rel": "next", "type": "application/geo+json", "method": "GET",
                          "href": f"http://{self.headers['Host']}/search?{urllib.parse.urlencode(following)}"})
        body = json.dumps({"type": "FeatureCollection", "features": features, "links": links,
                           "numberReturned": len(features)}).encode()
        return self.send_content(io.BytesIO(body), len(body), os.path.getmtime("api/search.json"), "application/geo+json")


if __name__ == "__main__":
    range_server.serve(Handler)
