import Foundation
import Testing
import Glossa
import GlossaNN
import GlossaTensor

/// Checks that every trainable parameter of `module` gets a nonzero gradient from `forward`'s output
/// (projected onto fixed random weights, so no output element is ignored). A parameter left out names itself.
/// Parameters whose names start with one of `except` are not asked (BERT's `pooler.` is not on the encoder's path).
public func checkGradientFlow(
    _ module: any Module, except: [String] = [], seed: UInt64 = 13, sourceLocation: SourceLocation = #_sourceLocation,
    _ forward: () throws -> Tensor
) throws {
    module.zeroGrad()
    let output = try forward()
    (output * randomTensor(output.shape, seed: seed)).sum().backward()
    for (name, parameter) in module.namedParameters() where parameter.requiresGrad && !except.contains(where: name.hasPrefix) {
        let reached = parameter.grad?.scalars.contains { $0 != 0 && $0.isFinite } ?? false
        #expect(reached, "parameter \(name) gets no gradient", sourceLocation: sourceLocation)
        #expect(parameter.grad?.scalars.allSatisfy(\.isFinite) ?? true, "parameter \(name) has a non-finite gradient",
                sourceLocation: sourceLocation)
    }
    module.zeroGrad()
}

/// Saves `model` as a model directory, rebuilds it through `plugin`'s factory from that directory, loads the
/// weights, and checks that the configuration, every saved tensor, and (with `ids`) the encoder's output come
/// back the same.
public func checkSaveLoadRoundTrip(
    _ model: any SavableModel, plugin: Plugin, ids: [[Int]] = [], padId: Int = 0, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-roundtrip-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    try ModelDirectory.save(model, to: directory)
    let folder = ModelDirectory(directory)
    let named = try folder.pluginName()
    #expect(named == plugin.name || plugin.modelTypes.contains(named), "config.json names \(named), not \(plugin.name)",
            sourceLocation: sourceLocation)
    let configuration = try folder.pluginConfiguration()
    let reloaded: any SavableModel
    switch plugin.factory {
    case .encoder(let make): reloaded = try make(configuration)
    case .encoderDecoder(let make): reloaded = try make(configuration)
    case .decoderOnly(let make): reloaded = try make(configuration)
    default:
        Issue.record("\(plugin.name) is a \(plugin.factory.kind), which makes no savable model", sourceLocation: sourceLocation)
        return
    }
    try reloaded.loadCheckpoint(try folder.weights())
    #expect(try reloaded.configurationJSON() == model.configurationJSON(), "config.json changes on reload", sourceLocation: sourceLocation)
    let saved = model.checkpointTensors(), back = reloaded.checkpointTensors()
    #expect(Set(saved.keys) == Set(back.keys), "the reloaded model has other tensors", sourceLocation: sourceLocation)
    for (name, tensor) in saved {
        guard let other = back[name] else { continue }
        #expect(other.shape == tensor.shape && other.scalars == tensor.scalars, "\(name) changes on reload", sourceLocation: sourceLocation)
    }
    if !ids.isEmpty, let encoderModel = model as? any EncoderModel, let reloadedEncoder = reloaded as? any EncoderModel {
        let batch = TokenBatch(ids, padId: padId)
        let before = try withoutGrad { try encoderModel.encoder.encode(batch, context: ForwardContext()) }
        let after = try withoutGrad { try reloadedEncoder.encoder.encode(batch, context: ForwardContext()) }
        assertClose(after.scalars, before.scalars, rtol: 0, atol: 0, "the reloaded encoder computes otherwise", sourceLocation: sourceLocation)
    }
}

/// The whole kit for an encoder network: conformance of its encoder, gradient flow, save/load round trip.
public func checkEncoderModelConformance(
    _ model: any EncoderModel, plugin: Plugin, ids: [[Int]], padId: Int, tolerance: Float = 1e-5, noGradient: [String] = [],
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    try checkEncoderConformance(model.encoder, ids: ids, padId: padId, tolerance: tolerance, sourceLocation: sourceLocation)
    try checkGradientFlow(model, except: noGradient, sourceLocation: sourceLocation) {
        try model.encoder.encode(TokenBatch(ids, padId: padId), context: ForwardContext())
    }
    try checkSaveLoadRoundTrip(model, plugin: plugin, ids: ids, padId: padId, sourceLocation: sourceLocation)
}

/// The whole kit for an encoder-decoder network: decoder conformance over the encoder's memory, gradient flow
/// through both, save/load round trip.
public func checkEncoderDecoderModelConformance(
    _ model: any EncoderDecoderModel, plugin: Plugin, sources: [[Int]], targets: [[Int]], tolerance: Float = 1e-4,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let pad = model.specialIds.pad
    let source = TokenBatch(sources, padId: pad)
    let memory = EncoderMemory(states: try withoutGrad { try model.encoder.encode(source, context: ForwardContext()) }, source: source)
    try checkEncoderConformance(model.encoder, ids: sources, padId: pad, tolerance: tolerance, sourceLocation: sourceLocation)
    try checkDecoderConformance(model.decoder, tokens: targets, padId: pad, memory: memory, tolerance: tolerance, sourceLocation: sourceLocation)
    try checkGradientFlow(model, sourceLocation: sourceLocation) {
        let states = try model.encoder.encode(source, context: ForwardContext())
        return try model.decoder.decode(TokenBatch(targets, padId: pad), memory: EncoderMemory(states: states, source: source),
                                        state: nil, context: ForwardContext())
    }
    try checkSaveLoadRoundTrip(model, plugin: plugin, sourceLocation: sourceLocation)
}

/// The whole kit for a decoder-only network (a language model): decoder conformance, gradient flow,
/// save/load round trip.
public func checkDecoderOnlyModelConformance(
    _ model: any DecoderOnlyModel, plugin: Plugin, tokens: [[Int]], tolerance: Float = 1e-4,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let pad = model.specialIds.pad
    try checkDecoderConformance(model.decoder, tokens: tokens, padId: pad, tolerance: tolerance, sourceLocation: sourceLocation)
    try checkGradientFlow(model, sourceLocation: sourceLocation) {
        try model.decoder.decode(TokenBatch(tokens, padId: pad), memory: nil, state: nil, context: ForwardContext())
    }
    try checkSaveLoadRoundTrip(model, plugin: plugin, sourceLocation: sourceLocation)
}
