import LandwatchPipeline

/// The report's language: labels in English or Chinese (bureau staff read Chinese).
package enum ReportLanguage: String, CaseIterable, OptionChoice {
    case en, zh

    package var htmlCode: String { self == .en ? "en" : "zh-CN" }

    /// The label for `key` in this language.
    package func callAsFunction(_ key: String) -> String {
        (self == .en ? Self.english : Self.chinese)[key] ?? Self.english[key] ?? key
    }

    package static let english: [String: String] = [
        "report": "Environmental monitoring report", "run": "What was run", "landcover": "Land cover",
        "change": "Change between the two dates", "violations": "Suspected violations", "green": "Green coverage",
        "intensity": "Development intensity", "heat": "Heat island", "accuracy": "Classification accuracy",
        "rules": "Thresholds and rules used", "nothing": "Nothing to report",
        "nothing.text": "No stage that produces land cover, changes, violations or metrics ran in this pipeline, so this report has nothing to show.",
        "not.run": "This stage did not run in this pipeline.",
        "pipeline": "Pipeline", "file": "File", "sha": "SHA-256 of the pipeline file", "versions": "Versions",
        "grid": "Grid", "started": "Started", "finished": "Finished", "inputs": "Inputs", "bytes": "Bytes",
        "stage": "Stage", "type": "Type", "seconds": "Seconds", "outputs": "Outputs", "counts": "Pixel counts",
        "class": "Class", "pixels": "Pixels", "area.km2": "Area (km²)", "share": "Share", "area.mu": "Area (mu)",
        "map.landcover": "Land cover map", "from.to": "From \\ to", "change.unavailable": "The change matrix needs both class rasters written (write.raster of the before and after classifications).",
        "top": "Largest patches per rule", "rule": "Rule", "patches": "Patches", "rank": "Rank", "id": "Patch id",
        "severity": "Severity", "area.m2": "Area (m²)", "location": "Latitude, longitude (WGS84)", "classes.change": "Change",
        "files": "Full lists", "map.violations": "Violations outlined (black) over the after land cover",
        "zone": "Zone", "coverage": "Green coverage (%)", "baseline": "Baseline (%)", "change.pp": "Change (points)",
        "chart.green": "Green coverage per zone (%)", "intensity.value": "Built-up share (%)", "warning": "Warning (%)",
        "limit": "Limit (%)", "level": "Level", "eco": "Red-line occupation (%)", "chart.intensity": "Development intensity per zone (%)",
        "urban.lst": "Urban mean (°C)", "rural.lst": "Rural ring mean (°C)", "suhi": "Heat-island intensity (°C)",
        "proxy": "PROXY: no thermal band was given, so these figures are a built-up-share proxy, not temperatures.",
        "map.lst": "Land surface temperature", "overall": "Overall accuracy", "kappa": "Kappa", "f1": "F1",
        "producer": "Producer's accuracy", "user": "User's accuracy", "option": "Option", "value": "Value",
        "pipeline.text": "The pipeline file as run", "scene": "Whole scene", "hotspots": "Hot spots",
        "none.found": "No violation was found.", "legend.ramp": "Colour ramp from cool (blue) to hot (red)",
        "before": "Before", "after": "After", "total": "Total",
        "sensor": "Sensor", "date": "Date", "bands": "Bands", "cloud": "Cloud share",
        "title.enforcement": "Satellite enforcement report", "title.environment": "Environmental monitoring report",
        "title.both": "Satellite enforcement and environmental monitoring report", "to": "to",
        "summary": "Summary", "summary.violations": "Suspected violations", "patches.unit": "patches", "mu": "mu",
        "severity.high": "high", "severity.medium": "medium", "severity.low": "low",
        "summary.zones": "Zones against their limits", "over.unit": "over a limit", "warning.unit": "at warning",
        "summary.zones.none": "Every zone is within its warning values.",
        "intensity.measure": "development intensity", "eco.measure": "red-line occupation",
        "level.ok": "ok", "level.warning": "warning", "level.exceeded": "exceeded", "level.no red line": "no red line", "level.unknown": "unknown",
        "summary.green": "Green coverage (all zones)", "points": "points", "summary.no.baseline": "no earlier date in this run",
        "change.label": "change", "summary.suhi": "Heat-island intensity (whole scene)", "summary.hottest": "hottest zone",
        "maps": "Maps", "written": "written", "provenance": "Appendix: provenance (files, hashes, versions, timings)",
    ]

    package static let chinese: [String: String] = [
        "report": "生态环境监测报告", "run": "运行信息", "landcover": "土地覆盖", "change": "两期变化",
        "violations": "疑似违法违规图斑", "green": "绿化覆盖率", "intensity": "开发强度", "heat": "热岛效应",
        "accuracy": "分类精度", "rules": "所用阈值与规则", "nothing": "无可报告内容",
        "nothing.text": "本流程未运行土地覆盖、变化检测、违法图斑或指标统计阶段，报告无内容可展示。",
        "not.run": "本流程未运行该阶段。",
        "pipeline": "流程", "file": "文件", "sha": "流程文件 SHA-256", "versions": "版本", "grid": "网格",
        "started": "开始时间", "finished": "结束时间", "inputs": "输入数据", "bytes": "字节", "stage": "阶段",
        "type": "类型", "seconds": "耗时（秒）", "outputs": "输出", "counts": "像元计数", "class": "地类",
        "pixels": "像元数", "area.km2": "面积（平方千米）", "share": "占比", "area.mu": "面积（亩）",
        "map.landcover": "土地覆盖图", "from.to": "由 \\ 至", "change.unavailable": "变化矩阵需要写出前后两期分类栅格（write.raster）。",
        "top": "各规则最大图斑", "rule": "规则", "patches": "图斑数", "rank": "序号", "id": "图斑编号",
        "severity": "严重程度", "area.m2": "面积（平方米）", "location": "纬度，经度（WGS84）", "classes.change": "变化",
        "files": "完整清单", "map.violations": "违法图斑（黑色轮廓）叠加于后期土地覆盖",
        "zone": "区域", "coverage": "绿化覆盖率（%）", "baseline": "基期（%）", "change.pp": "变化（百分点）",
        "chart.green": "各区域绿化覆盖率（%）", "intensity.value": "建设用地占比（%）", "warning": "预警值（%）",
        "limit": "上限（%）", "level": "等级", "eco": "生态红线占用（%）", "chart.intensity": "各区域开发强度（%）",
        "urban.lst": "城区均温（°C）", "rural.lst": "郊区环带均温（°C）", "suhi": "热岛强度（°C）",
        "proxy": "替代指标：未提供热红外波段，以下数值为建设用地占比替代指标，并非温度。",
        "map.lst": "地表温度", "overall": "总体精度", "kappa": "Kappa 系数", "f1": "F1",
        "producer": "生产者精度", "user": "用户精度", "option": "参数", "value": "取值",
        "pipeline.text": "运行时的流程文件", "scene": "全景", "hotspots": "高温热点",
        "none.found": "未发现违法违规图斑。", "legend.ramp": "色带由低温（蓝）到高温（红）",
        "before": "前期", "after": "后期", "total": "合计",
        "sensor": "传感器", "date": "日期", "bands": "波段", "cloud": "云覆盖率",
        "title.enforcement": "卫片执法监测报告", "title.environment": "生态环境监测报告",
        "title.both": "卫片执法与生态环境监测报告", "to": "至",
        "summary": "概要", "summary.violations": "疑似违法违规图斑", "patches.unit": "个图斑", "mu": "亩",
        "severity.high": "高", "severity.medium": "中", "severity.low": "低",
        "summary.zones": "各区域管控指标", "over.unit": "个超限", "warning.unit": "个预警",
        "summary.zones.none": "各区域均未达到预警值。",
        "intensity.measure": "开发强度", "eco.measure": "生态红线占用",
        "level.ok": "正常", "level.warning": "预警", "level.exceeded": "超限", "level.no red line": "无生态红线", "level.unknown": "未知",
        "summary.green": "绿化覆盖率（全部区域）", "points": "个百分点", "summary.no.baseline": "本次运行无基期数据",
        "change.label": "变化", "summary.suhi": "热岛强度（全景）", "summary.hottest": "最热区域",
        "maps": "地图", "written": "生成于", "provenance": "附录：数据来源与运行记录（文件、校验值、版本、耗时）",
    ]
}
