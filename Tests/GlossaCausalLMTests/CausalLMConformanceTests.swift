import Foundation
import Testing
import Glossa
import GlossaBuiltins
import GlossaTestSupport

/// The conformance kit over the causal language model, built through the registry, for both kinds of positions.
@Suite struct CausalLMConformanceTests {
    @Test(arguments: ["rotary", "learned"])
    func languageModel(_ positions: String) throws {
        let json = #"{"vocab_size": 30, "hidden_size": 16, "intermediate_size": 24, "num_hidden_layers": 2, "num_attention_heads": 2, "#
            + #""max_position_embeddings": 16, "tie_word_embeddings": true, "bos_token_id": 1, "eos_token_id": 0, "pad_token_id": 29, "#
            + #""hidden_dropout": 0.1, "position_embedding_type": "\#(positions)"}"#
        let plugin = try builtinPlugins.plugin(named: "causal-lm")
        guard case .decoderOnly(let make) = plugin.factory else { Issue.record("causal-lm makes no language model"); return }
        try checkDecoderOnlyModelConformance(try make(PluginConfiguration(json: Data(json.utf8))), plugin: plugin,
                                             tokens: [[1, 2, 3, 4], [1, 5], [1, 6, 7, 8, 9]])
    }
}
