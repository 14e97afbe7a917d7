import Foundation
import LandwatchAlgorithms
import LandwatchOutputs
import LandwatchPipeline

/// The thresholds and rules the run used, as a table a planner reads: each setting named in the report's language,
/// its value with its unit, nested settings (the change rules) one row each; only the options of the sensors that ran.
extension ReportBuilder {
    /// How a setting's value reads.
    enum SettingKind { case plain, share, metres, squareMetres, days, pixels, sigma, percent, classes, flag, seconds }

    /// The settings the table explains: option name to its English and Chinese label and how its value reads.
    static let settingLabels: [String: (en: String, zh: String, kind: SettingKind)] = [
        "confidence": ("cloud confidence kept as cloud", "云置信度阈值", .plain),
        "flags": ("quality flags masked", "掩膜的质量标记", .plain),
        "layout": ("quality band layout", "质量波段格式", .plain),
        "scl_classes": ("Sentinel-2 scene classes masked", "哨兵二号场景分类掩膜类别", .plain),
        "min_evidence": ("minimum change evidence", "最小变化证据", .sigma),
        "min_confidence": ("minimum classification confidence", "最小分类置信度", .percent),
        "neighbourhood": ("before-class neighbourhood (registration tolerance)", "前期地类邻域（配准容差）", .pixels),
        "min_pixels": ("minimum patch size", "最小图斑像元数", .pixels),
        "season_window": ("season window", "季相窗口", .days),
        "construction_from_bare": ("bare land turned built-up counts as construction", "裸地变建设用地计为新增建设", .flag),
        "chips": ("image chips written", "输出影像切片数", .plain),
        "chip_size": ("chip size", "切片尺寸", .pixels),
        "gcj02": ("GCJ-02 coordinates column", "输出 GCJ-02 坐标列", .flag),
        "min_score": ("minimum score listed", "列出的最低评分", .plain),
        "high_gain": ("Landsat 7 high-gain thermal band", "Landsat 7 高增益热红外波段", .flag),
        "soil_emissivity": ("soil emissivity", "土壤比辐射率", .plain),
        "vegetation_emissivity": ("vegetation emissivity", "植被比辐射率", .plain),
        "water_emissivity": ("water emissivity", "水体比辐射率", .plain),
        "soil_ndvi": ("NDVI of bare soil", "裸土 NDVI", .plain),
        "vegetation_ndvi": ("NDVI of full vegetation", "全植被 NDVI", .plain),
        "ndvi_threshold": ("NDVI threshold for green", "绿地 NDVI 阈值", .plain),
        "vegetated": ("green taken from", "绿地判定依据", .plain),
        "vegetation_classes": ("classes counted as green", "计为绿地的地类", .classes),
        "warning": ("development intensity warning value", "开发强度预警值", .share),
        "limit": ("development intensity limit", "开发强度上限", .share),
        "eco_warning": ("red-line occupation warning value", "生态红线占用预警值", .share),
        "eco_limit": ("red-line occupation limit", "生态红线占用上限", .share),
        "hotspot_k": ("hot spot threshold (standard deviations above the mean)", "高温热点阈值（高于均值的标准差倍数）", .plain),
        "ring_width": ("rural ring width", "郊区环带宽度", .metres),
        "urban": ("classes counted as urban", "计为城区的地类", .classes),
        "default": ("class where no rule matches", "未命中规则时的地类", .plain),
        "min_area": ("minimum area", "最小面积", .squareMetres),
        "severity": ("severity", "严重程度", .plain),
        "exempt_if_approved": ("exempt where approved", "有审批则豁免", .flag),
    ]

    /// Options of one stage type that belong to one sensor: shown only when that sensor's mode is the one used.
    static let sensorOptions: [String: [[String]]] = [
        "mask.clouds": [["mtl", "qa", "layout", "flags", "confidence"], ["safe", "scl", "scl_classes"]],
    ]

    /// The stage types whose settings the table shows, with what they are in both languages.
    static let stageLabels: [String: (en: String, zh: String)] = [
        "mask.clouds": ("cloud mask", "云掩膜"), "classify.rules": ("land cover by rules", "规则分类"),
        "classify.model": ("land cover by a model", "模型分类"), "compliance.diff": ("change against the plan", "变化与规划比对"),
        "write.violations": ("violation list", "违法图斑清单"), "thermal.lst": ("land surface temperature", "地表温度反演"),
        "metrics.green": ("green coverage", "绿化覆盖率"), "metrics.intensity": ("development intensity", "开发强度"),
        "metrics.heat_island": ("heat island", "热岛效应"),
    ]

    func settingValue(_ text: String, _ kind: SettingKind) -> String {
        let zh = t == .zh
        switch kind {
        case .share: return Double(text).map { Self.fmt($0 * 100, 2) + " %" } ?? text
        case .metres: return text + (zh ? " 米" : " m")
        case .squareMetres: return text + (zh ? " 平方米" : " m²")
        case .days: return text + (zh ? " 天" : " days")
        case .pixels: return text + (zh ? " 像元" : " px")
        case .sigma: return text + (zh ? " 倍无变化标准差" : " no-change σ")
        case .percent: return text + " %"
        case .seconds: return text + (zh ? " 秒" : " s")
        case .flag: return text == "true" ? (zh ? "是" : "yes") : text == "false" ? (zh ? "否" : "no") : text
        case .classes:
            return text.split(separator: ",").map { name in
                let trimmed = name.trimmingCharacters(in: .whitespaces)
                return legend.code(for: trimmed).flatMap { legend.class(code: $0) }.map { zh ? $0.nameZH : $0.name } ?? trimmed
            }.joined(separator: zh ? "、" : ", ")
        case .plain:
            if zh, let level = ["low": "低", "medium": "中", "high": "高"][text] { return level }
            if zh, let mode = ["classes": "地类", "ndvi": "NDVI", "auto": "自动"][text] { return mode }
            if zh, text.contains(",") || ["cloud", "shadow", "cirrus"].contains(text) {
                let flags = ["cloud": "云", "shadow": "云影", "cirrus": "卷云", "snow": "雪", "water": "水体", "fill": "填充"]
                return text.split(separator: ",").map { flags[String($0).trimmingCharacters(in: .whitespaces)] ?? String($0) }.joined(separator: "、")
            }
            if let code = legend.code(for: text), Int(text) == nil, let item = legend.class(code: code) { return zh ? item.nameZH : item.name }
            return text
        }
    }

    /// The rows of one option: one, or one per entry of a mapping (the change rules: one row per rule and setting).
    func settingRows(stage label: String, name: String, value: OptionValue) -> [[String]] {
        if case .node(let node) = value, let entries = node.entries {
            var rows: [[String]] = []
            for entry in entries {
                let rule = ChangeRule.defaults.first { $0.kind.rawValue == entry.key }
                let ruleName = rule.map { t == .zh ? $0.nameZH : $0.name } ?? entry.key
                for setting in entry.value.entries ?? [] {
                    let described = Self.settingLabels[setting.key]
                    rows.append([label, ruleName + (t == .zh ? "：" : ": ") + (described.map { t == .zh ? $0.zh : $0.en } ?? setting.key),
                                 settingValue(setting.value.scalarText ?? setting.value.shortDescription, described?.kind ?? .plain)])
                }
                if entry.value.entries == nil { rows.append([label, ruleName, entry.value.scalarText ?? entry.value.shortDescription]) }
            }
            return rows
        }
        guard let described = Self.settingLabels[name] else { return [] }
        return [[label, t == .zh ? described.zh : described.en, settingValue(value.text, described.kind)]]
    }

    func rulesSection() -> ReportDocument.Section {
        var section = ReportDocument.Section(id: "rules", title: t("rules"))
        var rows: [[String]] = []
        for id in pipeline.topologicalOrder {
            guard let declaration = pipeline.stage(id), let what = Self.stageLabels[declaration.uses] else { continue }
            let label = "\(t == .zh ? what.zh : what.en) (\(id))"
            let options = declaration.options
            // A sensor's options only when its mode is the one used (an option of its group written in the file, or
            // no group written at all and the group is the first, the default mode).
            var hidden = Set<String>()
            if let groups = Self.sensorOptions[declaration.uses] {
                let used = groups.firstIndex { $0.contains { options.locations[$0] != nil } } ?? 0
                for (index, group) in groups.enumerated() where index != used { hidden.formUnion(group) }
            }
            for (name, value) in options.values.sorted(by: { $0.key < $1.key }) where !hidden.contains(name) {
                if case .path = value { continue }
                rows += settingRows(stage: label, name: name, value: value)
            }
        }
        if !rows.isEmpty { section.blocks.append(.table(.init(header: [t("stage"), t("setting"), t("value")], rows: rows))) }
        let text = String(decoding: pipeline.contents, as: UTF8.self)
        section.blocks.append(.preformatted(summary: t("pipeline.text"), text: text))
        return section
    }
}
