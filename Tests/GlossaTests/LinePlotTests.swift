import Foundation
import Testing
import Glossa

/// The SVG charts: well-formed documents whose points land inside the frame.
@Suite struct LinePlotTests {
    @Test func lineChartDrawsEverySeriesInsideTheFrame() throws {
        let plot = LinePlot(title: "dev chrF <by> minute", xLabel: "minutes", yLabel: "chrF", series: [
            .init(name: "transformer", points: [(0, 10), (5, 30), (10, 41.5)]),
            .init(name: "gru", points: [(0, 9), (5, 22), (10, 30)]),
        ])
        let svg = plot.svg(width: 640, height: 400)
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
        #expect(svg.components(separatedBy: "<polyline").count == 3)
        #expect(svg.contains("dev chrF &lt;by&gt; minute"))
        // Every circle lies inside the plotting area.
        let regex = try Regex(#"cx="([0-9.]+)" cy="([0-9.]+)""#)
        let centres = svg.matches(of: regex).compactMap { m -> (Double, Double)? in
            guard let x = Double(String(m.output[1].substring ?? "")), let y = Double(String(m.output[2].substring ?? "")) else { return nil }
            return (x, y)
        }
        #expect(centres.count == 6)
        #expect(centres.allSatisfy { $0.0 >= 64 && $0.0 <= 624 && $0.1 >= 36 && $0.1 <= 356 })
    }

    @Test func barChartHandlesOneBarAndNonFiniteValues() {
        let svg = BarPlot(title: "parameters", yLabel: "M", bars: [("rnn", 12.5), ("nan", .nan)]).svg()
        #expect(svg.components(separatedBy: "<rect").count == 5)  // background, frame, two bars
        #expect(!svg.contains("nan\""))
    }
}
