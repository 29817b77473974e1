import Foundation
import Testing
import Glossa
import GlossaBuiltins
import GlossaTestSupport

/// The conformance kit over the RNN plugins (translator, sentence encoder, language model), built through the
/// registry for each cell kind.
@Suite struct RNNConformanceTests {
    func configuration(_ cell: String) -> PluginConfiguration {
        PluginConfiguration(json: Data(#"{"vocab_size": 30, "cell": "\#(cell)", "embedding_dim": 8, "hidden_size": 12, "pad_token_id": 29, "eos_token_id": 0, "dropout": 0.1}"#.utf8))
    }

    @Test(arguments: ["gru", "lstm", "elman"])
    func translator(_ cell: String) throws {
        let plugin = try builtinPlugins.plugin(named: "rnn")
        guard case .encoderDecoder(let make) = plugin.factory else { Issue.record("rnn makes no translator"); return }
        try checkEncoderDecoderModelConformance(try make(configuration(cell)), plugin: plugin, sources: [[2, 3, 4, 0], [5, 0], [6, 7, 8, 9, 10, 0]],
                                                targets: [[29, 2, 3], [29, 4], [29, 5, 6, 7, 8]])
    }

    @Test(arguments: ["gru", "lstm", "elman"])
    func encoder(_ cell: String) throws {
        let plugin = try builtinPlugins.plugin(named: "rnn-encoder")
        guard case .encoder(let make) = plugin.factory else { Issue.record("rnn-encoder makes no encoder"); return }
        try checkEncoderModelConformance(try make(configuration(cell)), plugin: plugin, ids: [[2, 3, 4, 0], [5, 0], [6, 7, 8, 9, 10, 0]], padId: 29)
    }

    @Test(arguments: ["gru", "lstm", "elman"])
    func languageModel(_ cell: String) throws {
        let plugin = try builtinPlugins.plugin(named: "rnn-lm")
        guard case .decoderOnly(let make) = plugin.factory else { Issue.record("rnn-lm makes no language model"); return }
        try checkDecoderOnlyModelConformance(try make(configuration(cell)), plugin: plugin, tokens: [[29, 2, 3, 4], [29, 5], [29, 6, 7, 8, 9]])
    }
}
