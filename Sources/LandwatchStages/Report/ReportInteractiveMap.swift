import Foundation
import LandwatchGDAL
import LandwatchOutputs
import LandwatchPipeline
import LandwatchProducts

/// The report's interactive map (issue 24, item 5): `map.html` beside `index.html`, offline.
///
/// - Leaflet is Debian's `libjs-leaflet` (``leafletFolder``), copied into the report folder as `leaflet/`: no CDN,
///   nothing from the network.
/// - The data is one script, `map-data.js`, assigning `LANDWATCH_MAP` (a page opened from `file://` cannot `fetch()`
///   a local file in Chromium): the after image and the later land cover as image overlays (PNGs under `images/`
///   from the same reduced reads as the report's maps, their bounds in WGS 84 from the grid), the plan layers and
///   zones the run read and the violation patches as GeoJSON in WGS 84, the labels in the report's language.
/// - The page: a layer switcher, a status and severity filter, each patch a numbered marker whose popup gives its id,
///   rank, severity, area, rules, "lat, lon" (6 decimals, latitude first) with a copy button, and its chips.
extension ReportBuilder {
    /// Where Debian's libjs-leaflet puts Leaflet.
    static let leafletFolder = "/usr/share/javascript/leaflet"

    /// The map's labels, English and Chinese.
    static let mapLabels: [String: (en: String, zh: String)] = [
        "title": ("Interactive map", "交互地图"),
        "back": ("Back to the report", "返回报告"),
        "layers.truecolour": ("After image (true colour)", "后时相影像（真彩色）"),
        "layers.landcover": ("Land cover (after)", "土地覆盖（后时相）"),
        "layers.patches": ("Violation patches", "疑似违法图斑"),
        "plan.redline": ("Ecological protection red line", "生态保护红线"),
        "plan.farmland": ("Permanent basic farmland", "永久基本农田"),
        "plan.urban": ("Urban development boundary", "城镇开发边界"),
        "plan.approvals": ("Approvals", "审批范围"),
        "plan.zones": ("Zones", "统计区域"),
        "filter": ("Filter", "筛选"),
        "status": ("Status", "状态"),
        "severity": ("Severity", "严重程度"),
        "id": ("ID", "编号"),
        "rank": ("Rank", "序号"),
        "area": ("Area", "面积"),
        "rules": ("Rules", "规则"),
        "location": ("Location (lat, lon)", "位置（纬度, 经度）"),
        "copy": ("Copy", "复制"),
        "copied": ("Copied", "已复制"),
        "before": ("Before", "前时相"),
        "after": ("After", "后时相"),
        "zone": ("Zone", "区域"),
        "m2": ("m²", "平方米"),
        "mu": ("mu", "亩"),
        "shown": ("patches shown", "个图斑显示"),
        "severity.high": ("high", "高"), "severity.medium": ("medium", "中"), "severity.low": ("low", "低"),
        "status.new": ("new", "新增"), "status.persisting": ("persisting", "持续"), "status.resolved": ("resolved", "已消除"),
        "status.dismissed": ("dismissed", "已排除"), "status.confirmed": ("confirmed", "已确认"),
        "nodata": ("No violation patch in this run.", "本次运行未发现疑似违法图斑。"),
    ]

    func mapLabel(_ key: String) -> String {
        guard let pair = Self.mapLabels[key] else { return key }
        return t == .zh ? pair.zh : pair.en
    }

    /// The south-west and north-east corners (lat, lon) of a grid's extent in WGS 84.
    static func wgs84Bounds(transform g: GeoTransform, width: Int, height: Int, crs: SpatialReference) -> [[Double]]? {
        guard let toWGS84 = try? CoordinateTransformation(from: crs, to: .wgs84()) else { return nil }
        var lats: [Double] = [], lons: [Double] = []
        // Corners and edge midpoints: the extent's outline in WGS 84 bends a little under a projection.
        for fx in [0.0, 0.5, 1.0] { for fy in [0.0, 0.5, 1.0] {
            let x = g.originX + fx * Double(width) * g.pixelWidth, y = g.originY + fy * Double(height) * g.pixelHeight
            guard let p = try? toWGS84.transform(x: x, y: y) else { return nil }
            lons.append(p.x)
            lats.append(p.y)
        } }
        return [[lats.min()!, lons.min()!], [lats.max()!, lons.max()!]]
    }

    /// The error of a copy into the report folder: a full disk named first, as every other write does.
    static func copyError(_ error: Error, target: String, what: String) -> RunError {
        // Foundation says "There isn't enough space." for ENOSPC: name the full disk first, as every other write does.
        let ns = error as NSError
        let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError
        let full = (ns.domain == NSCocoaErrorDomain && ns.code == NSFileWriteOutOfSpaceError)
            || (ns.domain == NSPOSIXErrorDomain && ns.code == Int(ENOSPC))
            || (underlying.map { $0.domain == NSPOSIXErrorDomain && $0.code == Int(ENOSPC) } ?? false)
        if full { return RunError(.outputNotWritable, "no space left on device writing \(target)") }
        return RunError(.outputNotWritable, "report.html: \(what): \(error.localizedDescription)")
    }

    /// Copies the run's file `relative` (relative to the output root) into the report folder under the same path;
    /// returns that path (the report's link to it).
    mutating func bundle(_ relative: String) throws -> String {
        let source = absolute(relative)
        let target = try folder.path(relative)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory), !isDirectory.boolValue else { return link(relative) }
        do {
            if FileManager.default.fileExists(atPath: target) { try FileManager.default.removeItem(atPath: target) }
            try FileManager.default.copyItem(atPath: source, toPath: target)
        } catch {
            throw Self.copyError(error, target: target, what: "cannot copy \(relative) into the report folder (\(target))")
        }
        files.append(relative)
        return relative
    }

    /// Writes map.html, map-data.js and leaflet/ into the report folder; returns the block of the maps part that
    /// links to it (or says why there is none).
    mutating func interactiveMap(patches: [ViolationList.Entry]) throws -> ReportDocument.Block {
        let leaflet = URL(fileURLWithPath: Self.leafletFolder)
        let manager = FileManager.default
        guard manager.fileExists(atPath: leaflet.appendingPathComponent("leaflet.js").path) else {
            context.logger.warning("report.html: no interactive map: Leaflet is not installed (\(Self.leafletFolder)/leaflet.js; Debian package libjs-leaflet)")
            return .note(mapLabel("title") + ": " + (t == .zh ? "未生成（未安装 libjs-leaflet）" : "not written (libjs-leaflet is not installed)"))
        }
        for name in ["leaflet.js", "leaflet.css"] + ((try? manager.contentsOfDirectory(atPath: leaflet.appendingPathComponent("images").path))?
                                                        .sorted().map { "images/\($0)" } ?? []) {
            let relative = "leaflet/\(name)"
            let target = try folder.path(relative)
            do {
                try Data(contentsOf: leaflet.appendingPathComponent(name)).write(to: URL(fileURLWithPath: target))
            } catch {
                throw Self.copyError(error, target: target, what: "cannot copy \(leaflet.appendingPathComponent(name).path) into the report folder")
            }
            files.append(relative)
        }

        var overlays: [[String: Any]] = []
        var bounds: [[Double]]? = nil
        // The after image, true colour, from the same reduced read as the report's true-colour map.
        let gridCRS = try? SpatialReference(definition: plan.grid.crsWKT)
        let diff = ran(HTMLReportStage.changes).first
        let afterReader = diff?.inputs.first { $0.port == "after" }.flatMap { imageryReader(upstreamOf: $0.stageID) }
            ?? pipeline.topologicalOrder.last(where: isTrueColourSource)
        if let afterReader, let gridCRS {
            let grid = Self.reducedGrid(plan.grid, maxSide: Self.trueColourMaxSide)
            if let image = try readTrueColour(afterReader, onto: grid) {
                let stretch = (0..<3).map { ChipMaker.percentiles(image.bands[$0]) }.map { (low: $0.low, high: $0.high) }
                let quicklook = Quicklook.trueColour(red: image.bands[0], green: image.bands[1], blue: image.bands[2],
                                                     width: grid.width, height: grid.height, transform: grid.geoTransform,
                                                     projected: !gridCRS.isGeographic, stretch: stretch)
                if let box = Self.wgs84Bounds(transform: grid.geoTransform, width: grid.width, height: grid.height, crs: gridCRS) {
                    let file = try saveImage(quicklook, name: "map-truecolour")
                    overlays.append(["name": mapLabel("layers.truecolour") + (image.date.map { " \($0)" } ?? ""), "file": file, "bounds": box])
                    bounds = box
                }
            }
        }
        // The later land cover (the after classes of the comparison, else the last classes written).
        let classifiers = ran(HTMLReportStage.ruleClasses) + ran(HTMLReportStage.modelClasses)
        let afterClasses = diff?.inputs.first { $0.port == "after" }.map(\.stageID) ?? classifiers.last?.id
        if let afterClasses, let raster = writtenRaster(of: afterClasses) {
            let dataset = try Dataset.open(absolute(raster))
            if let crs = try dataset.spatialReference(), let g = dataset.geoTransform,
               let box = Self.wgs84Bounds(transform: g, width: dataset.width, height: dataset.height, crs: crs) {
                let file = try saveImage(try Quicklook.classes(path: absolute(raster), legend: legend), name: "map-landcover")
                let date = sceneDate(upstreamOf: afterClasses)
                overlays.append(["name": mapLabel("layers.landcover") + (date.map { " \($0)" } ?? ""), "file": file, "bounds": box,
                                 "legend": legend.classes.map { ["colour": $0.color, "label": className($0.code)] }])
                bounds = bounds ?? box
            }
        }

        // The plan layers and zones the run read, in WGS 84.
        let styles: [(role: ReadPlanStage.Role, key: String, hex: String)] = [
            (.zones, "plan.zones", "#1e1e1e"), (.urbanBoundary, "plan.urban", "#7b3294"), (.basicFarmland, "plan.farmland", "#e68c00"),
            (.redline, "plan.redline", "#e0007a"), (.approvals, "plan.approvals", "#1a9850"),
        ]
        var layers: [[String: Any]] = []
        for style in styles {
            var features: [[String: Any]] = []
            for id in pipeline.topologicalOrder {
                guard let declaration = pipeline.stage(id), declaration.uses == "read.plan",
                      let layer = declaration.instance as? ReadPlanStage, layer.role == style.role,
                      let dataset = try? VectorDataset.open(layer.path, encoding: layer.encoding) else { continue }
                let source = layer.crs.flatMap { try? SpatialReference(definition: $0) }
                guard let read = try? dataset.readAreas(layer: layer.layer, sourceCRS: source, target: .wgs84()) else { continue }
                var names: [Int: String] = [:]
                if let field = layer.nameField, let attributes = try? dataset.attributes(layer: layer.layer, fields: [field]) {
                    names = Dictionary(attributes.map { ($0.fid, $0.values[field] ?? "") }, uniquingKeysWith: { a, _ in a })
                }
                for feature in read.features {
                    guard let geometry = Self.json(feature.geometry.geoJSON) else { continue }
                    features.append(["type": "Feature", "geometry": geometry, "properties": ["name": names[feature.fid] ?? ""]])
                }
            }
            if !features.isEmpty {
                layers.append(["name": mapLabel(style.key), "colour": style.hex, "names": style.role == .zones,
                               "data": ["type": "FeatureCollection", "features": features]])
            }
        }

        // The patches: polygon and point, with what the popup shows.
        let chipFolder = ran(HTMLReportStage.violations).first.flatMap { writer in
            outputs(of: writer.id).first { $0.hasSuffix("/" + ViolationList.fileName) }.map { ($0 as NSString).deletingLastPathComponent }
        }
        var patchFeatures: [[String: Any]] = []
        for entry in patches.sorted(by: { $0.rank < $1.rank }) {
            guard let geometry = (try? Geometry(wkt: entry.geometry_wkt)).flatMap({ Self.json($0.geoJSON) }) else { continue }
            var properties: [String: Any] = [
                "id": entry.id, "rank": entry.rank, "severity": entry.severity, "status": entry.status ?? "new",
                "area_m2": entry.area_m2, "rules": entry.rules, "lat": entry.lat, "lon": entry.lon,
                "zone": entry.zone_name ?? entry.zone_code ?? "",
            ]
            // Chips: the copies in the report folder (the list and its chips are bundled with the report).
            for (key, chip) in [("chip_before", entry.chip_before), ("chip_after", entry.chip_after)] {
                guard let chip, let chipFolder else { continue }
                let relative = chipFolder.isEmpty ? chip : "\(chipFolder)/\(chip)"
                if manager.fileExists(atPath: absolute(relative)) {
                    properties[key] = files.contains(relative) ? relative : try bundle(relative)
                }
            }
            patchFeatures.append(["type": "Feature", "geometry": geometry, "properties": properties])
        }
        if bounds == nil, let first = patches.first { bounds = [[first.lat - 0.01, first.lon - 0.01], [first.lat + 0.01, first.lon + 0.01]] }

        let data: [String: Any] = [
            "language": t.rawValue,
            "labels": Dictionary(uniqueKeysWithValues: Self.mapLabels.keys.map { ($0, mapLabel($0)) }),
            "bounds": bounds ?? [[-1.0, -1.0], [1.0, 1.0]],
            "overlays": overlays, "layers": layers,
            "patches": ["type": "FeatureCollection", "features": patchFeatures],
        ]
        let json: Data
        do { json = try JSONSerialization.data(withJSONObject: data, options: [.sortedKeys, .withoutEscapingSlashes]) } catch {
            throw RunError(.internal, "report.html: cannot encode the interactive map's data (\(error)); this is a bug in landwatch")
        }
        let script = "// The interactive map's data (landwatch report.html).\nvar LANDWATCH_MAP = " + String(decoding: json, as: UTF8.self) + ";\n"
        try Data(script.utf8).write(to: URL(fileURLWithPath: try folder.path("map-data.js")))
        try Data(mapPage().utf8).write(to: URL(fileURLWithPath: try folder.path("map.html")))
        files += ["map-data.js", "map.html"]
        return .links([(mapLabel("title") + " (map.html)", "map.html")])
    }

    static func json(_ text: String) -> Any? { try? JSONSerialization.jsonObject(with: Data(text.utf8)) }

    /// The page: Leaflet, the data script, and the code that builds the layers, the switcher, the filter and popups.
    func mapPage() -> String {
        let title = ReportDocument.escape(mapLabel("title"))
        return """
        <!DOCTYPE html>
        <html lang="\(t == .zh ? "zh-CN" : "en")">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(title)</title>
        <link rel="stylesheet" href="leaflet/leaflet.css">
        <style>
        html, body { height: 100%; margin: 0; font-family: sans-serif; }
        #map { position: absolute; top: 40px; bottom: 0; left: 0; right: 0; }
        #bar { height: 40px; display: flex; align-items: center; gap: 16px; padding: 0 12px; background: #f4f6f8;
               border-bottom: 1px solid #ccd; font-size: 14px; }
        #bar h1 { font-size: 16px; margin: 0; }
        #filter label { margin-right: 8px; }
        #filter span { margin-left: 8px; font-weight: bold; }
        .lw-patch { background: #fff; border: 2px solid #c0392b; border-radius: 11px; text-align: center; font: bold 12px/18px sans-serif; color: #000; }
        .lw-patch.lw-medium { border-color: #e6a700; }
        .lw-patch.lw-low { border-color: #5b7083; }
        .lw-popup table { border-collapse: collapse; }
        .lw-popup td { padding: 1px 6px 1px 0; vertical-align: top; }
        .lw-popup img { width: 120px; margin-right: 4px; }
        .lw-legend { background: #fff; padding: 6px 8px; font-size: 12px; line-height: 18px; }
        .lw-zone { background: rgba(255, 255, 255, 0.8); border: 0; box-shadow: none; font-weight: bold; }
        .lw-legend span { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: middle; }
        </style>
        </head>
        <body>
        <div id="bar"><h1>\(title)</h1><a href="index.html">\(ReportDocument.escape(mapLabel("back")))</a><div id="filter"></div><span id="count"></span></div>
        <div id="map"></div>
        <script src="leaflet/leaflet.js"></script>
        <script src="map-data.js"></script>
        <script>
        \(Self.mapScript)
        </script>
        </body>
        </html>

        """
    }

    static let mapScript = """
    (function () {
      var d = LANDWATCH_MAP, L_ = d.labels;
      function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c]; }); }
      function label(key) { return L_[key] || key; }
      var map = L.map('map', {zoomSnap: 0.25});
      map.fitBounds(d.bounds, {padding: [20, 20]});
      L.control.scale({imperial: false}).addTo(map);
      var overlays = {};
      d.overlays.forEach(function (o, i) {
        var layer = L.imageOverlay(o.file, o.bounds, {opacity: 1});
        if (i === 0) { layer.addTo(map); }
        overlays[esc(o.name)] = layer;
      });
      d.layers.forEach(function (l) {
        var layer = L.geoJSON(l.data, {style: {color: l.colour, weight: 2, fill: false},
          onEachFeature: function (f, shape) {
            if (f.properties.name) { shape.bindTooltip(esc(f.properties.name), l.names ? {permanent: true, direction: 'center', className: 'lw-zone'} : {}); }
          }});
        layer.addTo(map);
        overlays[esc(l.name)] = layer;
      });
      var patches = L.layerGroup().addTo(map);
      overlays[esc(label('layers.patches'))] = patches;
      L.control.layers(null, overlays, {collapsed: false}).addTo(map);
      // The legend: the outlines, then the classes of each image overlay shown that has them.
      var legendDiv = null;
      function drawLegend() {
        var html = d.layers.concat([{colour: '#ffe600', name: label('layers.patches')}]).map(function (e) {
          return '<div><span style="border: 2px solid ' + e.colour + '"></span>' + esc(e.name) + '</div>'; }).join('');
        d.overlays.forEach(function (o) {
          if (!o.legend || !map.hasLayer(overlays[esc(o.name)])) { return; }
          html += '<div><b>' + esc(o.name) + '</b></div>' + o.legend.map(function (e) {
            return '<div><span style="background: ' + e.colour + '"></span>' + esc(e.label) + '</div>'; }).join('');
        });
        legendDiv.innerHTML = html;
      }
      var legend = L.control({position: 'bottomright'});
      legend.onAdd = function () { legendDiv = L.DomUtil.create('div', 'lw-legend'); return legendDiv; };
      legend.addTo(map);
      drawLegend();
      map.on('overlayadd overlayremove', drawLegend);
      function popup(p) {
        var at = p.lat.toFixed(6) + ', ' + p.lon.toFixed(6);
        var rows = [[label('id'), '<span class="lw-id">' + esc(p.id) + '</span>'], [label('rank'), p.rank],
          [label('severity'), esc(label('severity.' + p.severity))], [label('status'), esc(label('status.' + p.status))],
          [label('area'), p.area_m2.toFixed(0) + ' ' + label('m2') + ' (' + (p.area_m2 / 666.67).toFixed(2) + ' ' + label('mu') + ')'],
          [label('rules'), esc(p.rules)]];
        if (p.zone) { rows.push([label('zone'), esc(p.zone)]); }
        rows.push([label('location'), '<span class="lw-latlon">' + at + '</span> <button type="button" class="lw-copy">' + esc(label('copy')) + '</button>']);
        var html = '<div class="lw-popup"><table>' + rows.map(function (r) { return '<tr><td>' + esc(r[0]) + '</td><td>' + r[1] + '</td></tr>'; }).join('') + '</table>';
        if (p.chip_before || p.chip_after) {
          html += '<div>' + [['chip_before', 'before'], ['chip_after', 'after']].filter(function (c) { return p[c[0]]; }).map(function (c) {
            return '<img src="' + esc(p[c[0]]) + '" alt="' + esc(label(c[1])) + '" title="' + esc(label(c[1])) + '">'; }).join('') + '</div>';
        }
        return html + '</div>';
      }
      function copy(text, button) {
        function done() { button.textContent = label('copied'); }
        if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(text).then(done, fallback); } else { fallback(); }
        function fallback() {
          var area = document.createElement('textarea'); area.value = text; document.body.appendChild(area); area.select();
          try { document.execCommand('copy'); done(); } catch (e) {} document.body.removeChild(area);
        }
      }
      map.on('popupopen', function (e) {
        var button = e.popup.getElement().querySelector('.lw-copy');
        if (button) { button.addEventListener('click', function () { copy(e.popup.getElement().querySelector('.lw-latlon').textContent, button); }); }
      });
      var features = d.patches.features;
      function values(key) { var seen = []; features.forEach(function (f) { if (seen.indexOf(f.properties[key]) < 0) { seen.push(f.properties[key]); } }); return seen; }
      var filter = document.getElementById('filter');
      var chosen = {status: {}, severity: {}};
      if (features.length) { filter.innerHTML = esc(label('filter')) + ': '; }
      (features.length ? ['status', 'severity'] : []).forEach(function (key) {
        var group = document.createElement('span');
        group.textContent = label(key) + ': ';
        filter.appendChild(group);
        values(key).forEach(function (v) {
          chosen[key][v] = true;
          var box = document.createElement('label');
          box.innerHTML = '<input type="checkbox" checked data-key="' + key + '" data-value="' + esc(v) + '"> ' + esc(label(key + '.' + v));
          filter.appendChild(box);
        });
      });
      filter.addEventListener('change', function (e) { chosen[e.target.dataset.key][e.target.dataset.value] = e.target.checked; draw(); });
      function draw() {
        patches.clearLayers();
        var shown = 0;
        features.forEach(function (f) {
          var p = f.properties;
          if (!chosen.status[p.status] || !chosen.severity[p.severity]) { return; }
          shown += 1;
          var shape = L.geoJSON(f, {style: {color: '#ffe600', weight: 2, fillOpacity: 0.2}});
          shape.bindPopup(popup(p), {maxWidth: 320});
          patches.addLayer(shape);
          var marker = L.marker([p.lat, p.lon], {icon: L.divIcon({className: 'lw-patch lw-' + p.severity, html: String(p.rank), iconSize: [22, 22], iconAnchor: [-4, 26], popupAnchor: [15, -26]}),
            title: p.id});
          marker.bindPopup(popup(p), {maxWidth: 320});
          marker.on('add', function () { var el = marker.getElement(); if (el) { el.setAttribute('data-id', p.id); } });
          patches.addLayer(marker);
        });
        document.getElementById('count').textContent = features.length ? shown + ' / ' + features.length + ' ' + label('shown') : label('nodata');
      }
      draw();
    })();
    """
}
