import Foundation
import Glossa
import GlossaBERT
import GlossaCausalLM
import GlossaMarian
import GlossaRNN
import GlossaSentencePiece
import GlossaWordPiece

/// The plugins that ship with Glossa, in one literal. Third-party plugins are added to this
/// registry with `PluginRegistry.adding(_:)`.
public let builtinPlugins = PluginRegistry([
    Plugin(name: "marian", modelTypes: ["marian"],
           summary: "Transformer encoder-decoder translator in the Hugging Face MarianMT layout (OPUS-MT compatible)",
           factory: .encoderDecoder { try MarianModel(try $0.decode(MarianConfiguration.self)) }),
    Plugin(name: "causal-lm", modelTypes: ["llama"],
           summary: "Decoder-only language model in the Hugging Face Llama layout (RMSNorm, SwiGLU, rotary or learned positions, tied embeddings)",
           // A configuration with a directory is about to be loaded: skip drawing the random initial weights.
           factory: .decoderOnly { try CausalLMModel(try $0.decode(CausalLMConfiguration.self), initialize: $0.directory == nil) }),
    Plugin(name: "sentencepiece",
           summary: "SentencePiece tokenizer (unigram or BPE) over Debian's libsentencepiece",
           factory: .tokenizer { configuration in
               struct Files: Decodable { var model_file: String? }
               let name = (try? JSONDecoder().decode(Files.self, from: configuration.json))?.model_file ?? "tokenizer.model"
               let url = configuration.directory.map { $0.appendingPathComponent(name) } ?? URL(fileURLWithPath: name)
               return try SentencePieceTokenizer(modelPath: url.path)
           }),
    Plugin(name: "bert", modelTypes: ["bert"],
           summary: "Bidirectional transformer encoder in the Hugging Face BERT layout (all-MiniLM-L6-v2, bert-base)",
           // A configuration with a directory is about to be loaded: skip drawing the random initial weights.
           factory: .encoder { try BertModel(try $0.decode(BertConfiguration.self), initialize: $0.directory == nil) }),
    Plugin(name: "wordpiece",
           summary: "BERT's WordPiece tokenizer (vocab.txt, basic tokenisation, lower-casing and accent stripping)",
           factory: .tokenizer { configuration in
               guard let directory = configuration.directory else {
                   throw GlossaError.invalidConfiguration("the wordpiece tokenizer is read from a model directory with vocab.txt")
               }
               return try WordPieceTokenizer(directory: directory)
           }),
] + PoolingMode.allCases.map { mode in
    Plugin(name: mode.pluginName, summary: poolerSummaries[mode] ?? mode.rawValue,
           factory: .pooler { configuration in
               struct Settings: Decodable { var normalize: Bool? }
               let normalize = (try configuration.decode(Settings.self)).normalize ?? false
               return normalize ? NormalizedPooler(mode.pooler) : mode.pooler
           })
} + [
    Plugin(name: "greedy", summary: "Greedy search: the most likely token at each step",
           factory: .sampler { _ in GreedySampler() }),
    Plugin(name: "beam", summary: "Beam search with length penalty and early stopping (beam_size in the config)",
           factory: .sampler { configuration in
               struct Settings: Decodable { var beam_size: Int? }
               return BeamSampler(beamSize: try configuration.decode(Settings.self).beam_size ?? 4)
           }),
    Plugin(name: "sampling", summary: "Stochastic sampling with temperature, top-k and top-p, seeded",
           factory: .sampler { configuration in
               struct Settings: Decodable { var temperature: Float?; var top_k: Int?; var top_p: Float?; var seed: UInt64? }
               let s = try configuration.decode(Settings.self)
               return StochasticSampler(temperature: s.temperature ?? 1, topK: s.top_k ?? 0, topP: s.top_p ?? 1, seed: s.seed ?? 0)
           }),
    Plugin(name: "rnn",
           summary: "RNN translator: bidirectional GRU/LSTM/Elman encoder, attentional decoder with input feeding (Bahdanau or Luong)",
           factory: .encoderDecoder { try RNNModel(try $0.decode(RNNConfiguration.self)) }),
    Plugin(name: "rnn-encoder",
           summary: "RNN sentence encoder (bidirectional GRU/LSTM/Elman) whose states go through the poolers",
           factory: .encoder { try RNNEncoderModel(try $0.decode(RNNConfiguration.self)) }),
    Plugin(name: "rnn-lm",
           summary: "RNN language model: the RNN decoder without attention, tied embeddings",
           factory: .decoderOnly { try RNNLanguageModel(try $0.decode(RNNConfiguration.self)) }),
])

/// One line per pooler for `glossa plugins`.
let poolerSummaries: [PoolingMode: String] = [
    .mean: "Mean of the real tokens' states (normalize: true for unit vectors)",
    .max: "Element-wise maximum over the real tokens",
    .cls: "The first token's state (BERT's [CLS])",
    .lastToken: "The last real token's state",
    .weightedMean: "Position-weighted mean (weights 1…T), as sentence-transformers' weightedmean",
    .meanSqrtLength: "Sum of the real tokens' states divided by √length",
]
