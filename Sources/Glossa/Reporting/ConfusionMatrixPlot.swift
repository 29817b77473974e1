import Foundation

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
