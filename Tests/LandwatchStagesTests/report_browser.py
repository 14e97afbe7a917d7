#!/usr/bin/python3
"""Opens a report's index.html and map.html in headless Chromium (Selenium), offline, and checks them.

Usage: report_browser.py REPORT_FOLDER PATCH_ID SCREENSHOT_FOLDER

- The network is off (DevTools Network.emulateNetworkConditions offline) and every request the pages make, read
  from the performance log, must be a file:// URL inside REPORT_FOLDER, or data:.
- index.html links to map.html; map.html has Leaflet's map, a layer switcher and the patch markers.
- Clicking the marker of PATCH_ID opens a popup whose id is PATCH_ID; unticking the patches in the layer switcher
  removes the markers, ticking it brings them back.
- Both pages are screenshotted (SCREENSHOT_FOLDER/index.png, map.png) and each must not be blank (many distinct
  colours, many dark pixels).

Prints one line per check; exits 1 with "FAIL: ..." on the first failure, 2 when Selenium or Chromium is missing.
"""
import json
import os
import sys
import time
import urllib.parse

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError as error:
    print(f"MISSING: python3-selenium ({error}); install chromium chromium-driver python3-selenium python3-pil (make deps)")
    sys.exit(2)

try:
    from PIL import Image
except ImportError as error:
    print(f"MISSING: python3-pil ({error}); make deps installs it")
    sys.exit(2)


def fail(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def not_blank(path, name):
    image = Image.open(path).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 24) or []
    dark = sum(count for count, (r, g, b) in colours if r + g + b < 3 * 100)
    print(f"{name}: {image.width}x{image.height}, {len(colours)} colours, {dark} dark pixels")
    if len(colours) < 200:
        fail(f"{name} screenshot looks blank: {len(colours)} distinct colours ({path})")
    if dark < 2000:
        fail(f"{name} screenshot has almost no dark pixels (text, outlines): {dark} ({path})")


def main():
    if len(sys.argv) != 4:
        fail("usage: report_browser.py REPORT_FOLDER PATCH_ID SCREENSHOT_FOLDER")
    report, patch_id, shots = os.path.realpath(sys.argv[1]), sys.argv[2], sys.argv[3]
    os.makedirs(shots, exist_ok=True)
    driver_path = next((p for p in ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"] if os.path.exists(p)), None)
    browser = next((p for p in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] if os.path.exists(p)), None)
    if driver_path is None or browser is None:
        print("MISSING: chromium or chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver); make deps installs them")
        sys.exit(2)
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,900",
                     "--disable-background-networking", "--disable-component-update", "--no-first-run",
                     "--disable-sync", "--disable-default-apps", f"--user-data-dir={shots}/profile"]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.emulateNetworkConditions",
                               {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0})
        requests = []

        def collect():
            for entry in driver.get_log("performance"):
                message = json.loads(entry["message"])["message"]
                if message.get("method") == "Network.requestWillBeSent":
                    requests.append(message["params"]["request"]["url"])

        def errors():
            return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]

        # The browser's own start page (chrome://new-tab-page) is not the report's: start from a blank page, drop its log.
        driver.get("about:blank")
        time.sleep(0.5)
        driver.get_log("performance")
        index = "file://" + urllib.parse.quote(os.path.join(report, "index.html"))
        driver.get(index)
        if not driver.find_elements(By.CSS_SELECTOR, 'a[href="map.html"]'):
            fail("index.html has no link to map.html")
        print("index.html links to map.html")
        height = driver.execute_script("return Math.min(document.body.scrollHeight, 6000)")
        driver.set_window_size(1280, height)
        driver.save_screenshot(os.path.join(shots, "index.png"))
        index_errors = errors()
        collect()

        driver.set_window_size(1280, 900)
        driver.get("file://" + urllib.parse.quote(os.path.join(report, "map.html")))
        WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".lw-patch[data-id]"))
        time.sleep(1)  # the image overlays
        map_errors = errors()
        if index_errors or map_errors:
            fail(f"console errors: {index_errors + map_errors}")
        markers = driver.find_elements(By.CSS_SELECTOR, ".lw-patch[data-id]")
        print(f"map.html: {len(markers)} patch markers")
        overlays = driver.find_elements(By.CSS_SELECTOR, "img.leaflet-image-layer")
        loaded = driver.execute_script(
            "return Array.from(document.querySelectorAll('img.leaflet-image-layer')).filter(i => i.complete && i.naturalWidth > 0).length")
        print(f"map.html: {len(overlays)} image overlays shown, {loaded} loaded")
        if loaded < 1:
            fail("no image overlay loaded on map.html")
        driver.save_screenshot(os.path.join(shots, "map.png"))

        # Click the patch and read the popup's id.
        target = [m for m in markers if m.get_attribute("data-id") == patch_id]
        if not target:
            fail(f"no marker for patch {patch_id} (markers: {[m.get_attribute('data-id') for m in markers]})")
        target[0].click()
        WebDriverWait(driver, 5).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".leaflet-popup .lw-id"))
        shown = driver.find_element(By.CSS_SELECTOR, ".leaflet-popup .lw-id").text
        latlon = driver.find_element(By.CSS_SELECTOR, ".leaflet-popup .lw-latlon").text
        if shown != patch_id:
            fail(f"the popup of patch {patch_id} shows id {shown!r}")
        print(f"popup: id {shown}, lat, lon {latlon}")
        chips = driver.execute_script(
            "return Array.from(document.querySelectorAll('.leaflet-popup img')).map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0])")
        print(f"popup chips: {chips}")
        if any(not ok for _, ok in chips):
            fail(f"a chip in the popup did not load: {chips}")
        time.sleep(0.5)  # the popup's fade-in
        driver.save_screenshot(os.path.join(shots, "map-popup.png"))

        # Toggle the patches in the layer switcher.
        names = driver.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers-overlays label")
        print("layers: " + " | ".join(n.text.strip() for n in names))
        patches = [n for n in names if n.text.strip() == sys_label(driver)]
        if not patches:
            fail("the layer switcher has no patches layer")
        box = patches[0].find_element(By.CSS_SELECTOR, "input")
        box.click()
        after_off = len(driver.find_elements(By.CSS_SELECTOR, ".lw-patch[data-id]"))
        box.click()
        after_on = len(driver.find_elements(By.CSS_SELECTOR, ".lw-patch[data-id]"))
        print(f"layer toggle: {after_off} markers when off, {after_on} when on again")
        if after_off != 0 or after_on != len(markers):
            fail(f"toggling the patches layer: {after_off} markers off, {after_on} on (expected 0 and {len(markers)})")

        # The severity filter: unticking one severity hides exactly its patches.
        boxes = driver.find_elements(By.CSS_SELECTOR, '#filter input[data-key="severity"]')
        if boxes:
            severity = boxes[-1].get_attribute("data-value")
            expected = driver.execute_script(
                "return LANDWATCH_MAP.patches.features.filter(f => f.properties.severity !== arguments[0]).length", severity)
            boxes[-1].click()
            filtered = len(driver.find_elements(By.CSS_SELECTOR, ".lw-patch[data-id]"))
            boxes[-1].click()
            print(f"filter: without severity {severity!r} {filtered} markers (expected {expected})")
            if filtered != expected:
                fail(f"unticking severity {severity!r} shows {filtered} markers, expected {expected}")

        # Tick an image overlay that is off (the land cover): it loads, and its classes join the legend.
        names = driver.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers-overlays label")
        off = [n for n in names if not n.find_element(By.CSS_SELECTOR, "input").is_selected()]
        if off:
            rows = len(driver.find_elements(By.CSS_SELECTOR, ".lw-legend div"))
            off[0].find_element(By.CSS_SELECTOR, "input").click()
            time.sleep(0.5)
            grown = len(driver.find_elements(By.CSS_SELECTOR, ".lw-legend div"))
            print(f"overlay {off[0].text.strip()!r} on: legend {rows} -> {grown} rows")
            if grown <= rows:
                fail(f"ticking {off[0].text.strip()!r} added nothing to the legend")
            driver.save_screenshot(os.path.join(shots, "map-overlay.png"))

        collect()
        inside = "file://" + urllib.parse.quote(report) + "/"
        outside = [u for u in requests if not (u.startswith(inside) or u.startswith("data:"))]
        print(f"requests: {len(requests)}, all inside the report folder: {not outside}")
        if outside:
            fail(f"requests outside the report folder: {outside}")
        if not any(u.endswith("/leaflet/leaflet.js") for u in requests):
            fail("leaflet/leaflet.js was not loaded from the report folder")
    finally:
        driver.quit()
    not_blank(os.path.join(shots, "index.png"), "index.png")
    not_blank(os.path.join(shots, "map.png"), "map.png")
    print("OK")


def sys_label(driver):
    return driver.execute_script("return LANDWATCH_MAP.labels['layers.patches']")


if __name__ == "__main__":
    main()
