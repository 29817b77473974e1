import ArgumentParser
import Foundation
import Glossa
import GlossaNN

extension AlignCommand {
    /// `glossa align plot`: line series from JSON drawn with Glossa's `LinePlot`, for curves that span several runs
    /// (reward-model accuracy against the number of rankings, rewards against KL).
    struct Plot: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "plot", abstract: "Draw line series given as JSON into an SVG plot (Glossa's LinePlot).",
            discussion: """
                --input holds {"title", "x_label", "y_label", "series": [{"name", "points": [[x, y], …]}]}; points must be \
                finite numbers. scripts/rlhf-evidence.sh makes the plots of docs/alignment.md with it.
                """)

        @Option(help: "The series, as JSON.") var input: String
        @Option(help: "The SVG file to write.") var output: String

        struct Series: Decodable { var name: String; var points: [[Double]] }
        struct Figure: Decodable {
            var title: String, xLabel: String, yLabel: String, series: [Series]
            enum CodingKeys: String, CodingKey { case title, xLabel = "x_label", yLabel = "y_label", series }
        }

        func run() throws {
            let figure: Figure
            do {
                figure = try JSONDecoder().decode(Figure.self, from: try InputFile.read(input, purpose: "the plot's series", limit: InputFile.configurationLimit))
            } catch let error as DecodingError {
                throw CommandError(description: "\(input): not a plot description (\(error))")
            }
            let series = try figure.series.map { s in
                LinePlot.Series(name: s.name, points: try s.points.map { p in
                    guard p.count == 2, p.allSatisfy(\.isFinite) else {
                        throw CommandError(description: "\(input): series \"\(s.name)\": each point must be [x, y] with finite numbers")
                    }
                    return (x: p[0], y: p[1])
                })
            }
            guard series.contains(where: { !$0.points.isEmpty }) else { throw CommandError(description: "\(input): no points to plot") }
            let svg = LinePlot(title: figure.title, xLabel: figure.xLabel, yLabel: figure.yLabel, series: series).svg()
            try OutputSink.refuseInput(output, inputs: [input])
            let sink = try OutputSink(path: output, inputs: [input])
            try sink.write(Data(svg.utf8))
            try sink.close()
        }
    }
}
