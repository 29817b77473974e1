import Glossa
import GlossaTensor

// A plugin library linked the wrong way: a dynamic library with its own static copy of the SDK (this package
// can only link its targets statically). Swift gives that copy's symbols protected visibility, so the library
// can never see the host's types; the CLI tests check that `glossa` refuses it with a clear error instead of
// crashing later. Real plugins depend on the `GlossaSDK` dynamic product (Examples/ConvEncoder).

/// The first real token's state.
struct FirstTokenPooler: Pooler {
    func pool(_ states: Tensor, batch: TokenBatch) -> Tensor {
        states.slice(axis: 1, 0..<1).reshaped([states.shape[0], states.shape[2]])  // [B, C]
    }
}

/// The library's one entry point.
@_cdecl("glossa_plugin_register")
public func glossaPluginRegister(_ hostABI: UInt32, _ registrar: UnsafeMutableRawPointer?) -> UInt32 {
    PluginEntryPoint.register(hostABI: hostABI, registrar: registrar) {
        [Plugin(name: "test-first-token-pooling", summary: "Test plugin: the first token's state", factory: .pooler { _ in FirstTokenPooler() })]
    }
}
