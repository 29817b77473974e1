import Foundation

/// A line chart written as a standalone SVG document: named series over shared linear axes.
///
/// Reports (`glossa compare`, `docs/alignment.md`) draw their curves with it, so plots come from
/// Glossa itself and need no plotting library.
public struct LinePlot: Sendable {
    /// One named line.
    public struct Series: Sendable {
        /// The legend entry.
        public var name: String
        /// Points in drawing order.
        public var points: [(x: Double, y: Double)]

        /// A series.
        public init(name: String, points: [(x: Double, y: Double)]) {
            self.name = name
            self.points = points
        }
    }

    /// The heading above the chart.
    public var title: String
    /// The x-axis label.
    public var xLabel: String
    /// The y-axis label.
    public var yLabel: String
    /// The lines.
    public var series: [Series]

    /// A chart.
    public init(title: String, xLabel: String, yLabel: String, series: [Series]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
    }

    /// The SVG text.
    public func svg(width: Double = 640, height: Double = 400) -> String {
        let frame = PlotFrame(width: width, height: height)
        let points = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        let xs = PlotAxis(values: points.map(\.x))
        let ys = PlotAxis(values: points.map(\.y))
        var body = frame.axes(title: title, xLabel: xLabel, yLabel: yLabel, x: xs, y: ys)
        // The legend sits inside the top right corner, wide enough for its longest name (about 6.5 px a character at 12 px).
        let legendX = frame.right - 25 - 6.5 * Double(series.map(\.name.count).max() ?? 0)
        var legend = "<rect x=\"\(legendX - 6)\" y=\"\(frame.top + 2)\" width=\"\(frame.right - legendX + 4)\" "
            + "height=\"\(Double(series.count) * 18 + 8)\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#ccc\"/>\n"
        for (index, line) in series.enumerated() {
            let colour = PlotFrame.palette[index % PlotFrame.palette.count]
            let coordinates = line.points.filter { $0.x.isFinite && $0.y.isFinite }.map {
                String(format: "%.1f,%.1f", frame.x(xs.fraction($0.x)), frame.y(ys.fraction($0.y)))
            }
            if coordinates.count > 1 {
                body += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\"\(coordinates.joined(separator: " "))\"/>\n"
            }
            for c in coordinates {
                let xy = c.split(separator: ",")
                body += "<circle cx=\"\(xy[0])\" cy=\"\(xy[1])\" r=\"2.5\" fill=\"\(colour)\"/>\n"
            }
            let legendY = frame.top + 16 + Double(index) * 18
            legend += "<rect x=\"\(legendX)\" y=\"\(legendY - 9)\" width=\"12\" height=\"12\" fill=\"\(colour)\"/>\n"
            legend += "<text x=\"\(legendX + 17)\" y=\"\(legendY + 1)\" font-size=\"12\">\(escapeXML(line.name))</text>\n"
        }
        // Drawn last, over the lines, on a white box.
        return frame.document(body + legend)
    }
}

/// A bar chart (one bar per label) as a standalone SVG document, for sizes, speeds and memory.
public struct BarPlot: Sendable {
    /// The heading above the chart.
    public var title: String
    /// The y-axis label.
    public var yLabel: String
    /// Bars in drawing order.
    public var bars: [(label: String, value: Double)]

    /// A chart.
    public init(title: String, yLabel: String, bars: [(label: String, value: Double)]) {
        self.title = title
        self.yLabel = yLabel
        self.bars = bars
    }

    /// The SVG text.
    public func svg(width: Double = 640, height: Double = 400) -> String {
        let frame = PlotFrame(width: width, height: height)
        let ys = PlotAxis(values: bars.map(\.value).filter(\.isFinite) + [0])
        var body = frame.axes(title: title, xLabel: "", yLabel: yLabel, x: nil, y: ys)
        let slot = (frame.right - frame.left) / Double(max(bars.count, 1))
        for (index, bar) in bars.enumerated() {
            let colour = PlotFrame.palette[index % PlotFrame.palette.count]
            let top = frame.y(ys.fraction(bar.value.isFinite ? bar.value : 0))
            let bottom = frame.y(ys.fraction(0))
            let x = frame.left + slot * (Double(index) + 0.2)
            body += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%@\"/>\n",
                           x, min(top, bottom), slot * 0.6, abs(bottom - top), colour)
            body += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\">%@</text>\n",
                           x + slot * 0.3, min(top, bottom) - 4, PlotAxis.label(bar.value))
            body += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\">%@</text>\n",
                           x + slot * 0.3, frame.bottom + 16, escapeXML(bar.label))
        }
        return frame.document(body)
    }
}

/// The data range of one axis, widened to round tick values.
struct PlotAxis {
    var low: Double
    var high: Double
    var ticks: [Double]

    init(values: [Double]) {
        var low = values.min() ?? 0, high = values.max() ?? 1
        if low == high { low -= 1; high += 1 }
        // A step of 1, 2 or 5 × 10^k giving about five intervals.
        let raw = (high - low) / 5
        let magnitude = Foundation.pow(10, Foundation.floor(Foundation.log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        self.low = Foundation.floor(low / step) * step
        self.high = Foundation.ceil(high / step) * step
        ticks = stride(from: self.low, through: self.high + step / 2, by: step).map { $0 }
    }

    func fraction(_ value: Double) -> Double { (value - low) / (high - low) }

    /// A short tick label: integers plainly, others with up to three significant digits.
    static func label(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e7 { return String(Int(value)) }
        return String(format: "%.3g", value)
    }
}

/// Margins, axes and the SVG envelope shared by the charts.
struct PlotFrame {
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]
    let width: Double, height: Double
    var left: Double { 64 }
    var right: Double { width - 16 }
    var top: Double { 36 }
    var bottom: Double { height - 44 }

    func x(_ fraction: Double) -> Double { left + fraction * (right - left) }
    func y(_ fraction: Double) -> Double { bottom - fraction * (bottom - top) }

    func axes(title: String, xLabel: String, yLabel: String, x xs: PlotAxis?, y ys: PlotAxis) -> String {
        var s = "<text x=\"\(width / 2)\" y=\"22\" font-size=\"15\" text-anchor=\"middle\">\(escapeXML(title))</text>\n"
        s += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(right - left)\" height=\"\(bottom - top)\" fill=\"none\" stroke=\"#444\"/>\n"
        for tick in ys.ticks {
            let py = y(ys.fraction(tick))
            s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", left, py, right, py)
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%@</text>\n", left - 4, py + 4, PlotAxis.label(tick))
        }
        if let xs {
            for tick in xs.ticks {
                let px = x(xs.fraction(tick))
                s += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">%@</text>\n", px, bottom + 15, PlotAxis.label(tick))
            }
        }
        s += "<text x=\"\((left + right) / 2)\" y=\"\(height - 8)\" font-size=\"12\" text-anchor=\"middle\">\(escapeXML(xLabel))</text>\n"
        s += "<text x=\"14\" y=\"\((top + bottom) / 2)\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 14 \((top + bottom) / 2))\">\(escapeXML(yLabel))</text>\n"
        return s
    }

    func document(_ body: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\">\n"
            + "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n" + body + "</svg>\n"
    }
}

/// A confusion matrix drawn as a standalone SVG heat map: one row per true label, one column per predicted label,
/// each cell shaded by its share of the row (recall on the diagonal) and printed with its count.
public struct ConfusionMatrixPlot: Sendable {
    /// The heading above the matrix.
    public var title: String
    /// Row and column labels, in order.
    public var labels: [String]
    /// `counts[true][predicted]`.
    public var counts: [[Int]]

    /// A matrix; `counts` is square, one row and column per label.
    public init(title: String, labels: [String], counts: [[Int]]) {
        self.title = title
        self.labels = labels
        self.counts = counts
    }

    /// The SVG text; cells are `cell` pixels wide.
    public func svg(cell: Double = 48) -> String {
        let n = labels.count
        // Room for the longest label beside and above the grid, at about 7 px a character.
        let margin = Double(min(24, labels.map(\.count).max() ?? 1)) * 7 + 16
        let left = margin + 24, top = margin + 40
        let width = left + Double(n) * cell + 20, height = top + Double(n) * cell + 20
        var s = "<text x=\"\(width / 2)\" y=\"22\" font-size=\"15\" text-anchor=\"middle\">\(escapeXML(title))</text>\n"
        s += "<text x=\"\(left + Double(n) * cell / 2)\" y=\"40\" font-size=\"12\" text-anchor=\"middle\">predicted</text>\n"
        s += "<text x=\"14\" y=\"\(top + Double(n) * cell / 2)\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(top + Double(n) * cell / 2))\">true</text>\n"
        for (i, label) in labels.enumerated() {
            let short = escapeXML(String(label.prefix(24)))
            let y = top + (Double(i) + 0.5) * cell + 4, x = left + (Double(i) + 0.5) * cell
            s += "<text x=\"\(left - 6)\" y=\"\(y)\" font-size=\"12\" text-anchor=\"end\">\(short)</text>\n"
            s += "<text x=\"\(x)\" y=\"\(top - 6)\" font-size=\"12\" text-anchor=\"start\" transform=\"rotate(-45 \(x) \(top - 6))\">\(short)</text>\n"
        }
        for (i, row) in counts.enumerated() where i < n {
            let total = max(1, row.reduce(0, +))
            for (j, count) in row.enumerated() where j < n {
                let share = Double(count) / Double(total)
                let x = left + Double(j) * cell, y = top + Double(i) * cell
                // White to dark blue by the row share; the count is printed white on the darker half.
                let shade = String(format: "rgb(%d,%d,%d)", Int(255 - 222 * share), Int(255 - 180 * share), Int(255 - 75 * share))
                s += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(cell)\" height=\"\(cell)\" fill=\"\(shade)\" stroke=\"#ccc\"/>\n"
                s += "<text x=\"\(x + cell / 2)\" y=\"\(y + cell / 2 + 4)\" font-size=\"12\" text-anchor=\"middle\" fill=\"\(share > 0.5 ? "white" : "black")\">\(count)</text>\n"
            }
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif">
            <rect width="100%" height="100%" fill="white"/>
            \(s)</svg>

            """
    }
}

/// Text safe inside SVG elements and attributes.
func escapeXML(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}
