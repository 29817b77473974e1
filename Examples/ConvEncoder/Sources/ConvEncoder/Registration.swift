import Foundation
import Glossa

/// The plugins of this library, for hosts that link it statically (tests, benchmarks) and for the entry point.
public let convEncoderPlugins: [Plugin] = [
    Plugin(name: "conv-encoder",
           summary: "1-D convolutional encoder (kernel, stride, same/valid padding, dilation, max/avg pools, residuals) with attention pooling",
           factory: .encoder { try ConvEncoderModel(try $0.decode(ConvConfiguration.self)) }),
    Plugin(name: "attention-pooling",
           summary: "Attention pooling with a learned query (query in the config; all zeros is mean pooling)",
           factory: .pooler { configuration in
               struct Settings: Decodable { var hidden_size: Int?; var query: [Float]? }
               let settings = try configuration.decode(Settings.self)
               if let query = settings.query { return AttentionPooler(query: query) }
               guard let width = settings.hidden_size, width > 0 else {
                   throw GlossaError.invalidConfiguration("attention-pooling needs a query or a positive hidden_size")
               }
               return AttentionPooler(query: [Float](repeating: 0, count: width))
           }),
    Plugin(name: "conv-unet-tagger",
           summary: "1-D U-Net over characters (max-pool or stride down; nearest, bed-of-nails, max-unpool or transposed-conv up; concatenated skips) with a per-character label head",
           factory: .encoder { try UNetTagger(try $0.decode(UNetConfiguration.self)) }),
    Plugin(name: "conv-tagger",
           summary: "train, tag, eval, bench, make-data: restoring case and . , ? per character with conv-unet-tagger (glossa run conv-tagger …)",
           factory: .command { try TaggerCommand.run($0) }),
]

/// The library's one C entry point: `glossa --plugin libConvEncoder.so` calls it to register the plugins.
@_cdecl("glossa_plugin_register")
public func glossaPluginRegister(_ hostABI: UInt32, _ registrar: UnsafeMutableRawPointer?) -> UInt32 {
    PluginEntryPoint.register(hostABI: hostABI, registrar: registrar) { convEncoderPlugins }
}
