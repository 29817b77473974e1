/// The one C entry point of a plugin library, and the version handshake behind it.
///
/// A plugin library (`libMyPlugin.so`) exports exactly one C function:
///
/// ```c
/// uint32_t glossa_plugin_register(uint32_t host_abi, void *registrar);
/// ```
///
/// The host passes its plugin ABI number and an opaque ``PluginRegistrar``. The library answers with the ABI
/// number it was built against; only when the two agree does it add its plugins to the registrar. Written in
/// Swift, the whole function is one call:
///
/// ```swift
/// @_cdecl("glossa_plugin_register")
/// public func glossaPluginRegister(_ hostABI: UInt32, _ registrar: UnsafeMutableRawPointer?) -> UInt32 {
///     PluginEntryPoint.register(hostABI: hostABI, registrar: registrar) {
///         [Plugin(name: "my-encoder", summary: "…", factory: .encoder { try MyModel($0) })]
///     }
/// }
/// ```
public enum PluginEntryPoint {
    /// The symbol every plugin library exports.
    public static let symbolName = "glossa_plugin_register"

    /// The plugin ABI this SDK speaks. It changes whenever a protocol, `Plugin` or `PluginFactory` changes
    /// shape, so that a library built against another SDK is refused by name instead of crashing.
    /// 2: `PluginFactory.command`.
    ///
    /// Emitted into each client, so a plugin carries the number it was compiled with, not the host's.
    @_alwaysEmitIntoClient
    public static var abiVersion: UInt32 { 2 }

    /// The C signature of ``symbolName``.
    public typealias Function = @convention(c) (UInt32, UnsafeMutableRawPointer?) -> UInt32

    /// What a plugin's entry point does: compares ABI numbers and, when they agree, hands `makePlugins()`
    /// to the host's registrar. Returns this library's ABI number. An error thrown by `makePlugins` is
    /// handed to the host, which reports it; it never crosses the C boundary.
    ///
    /// Emitted into the plugin so that the comparison happens in the plugin's own code, before any SDK type
    /// is touched.
    @_alwaysEmitIntoClient
    public static func register(hostABI: UInt32, registrar: UnsafeMutableRawPointer?, _ makePlugins: () throws -> [Plugin]) -> UInt32 {
        guard hostABI == abiVersion, let registrar else { return abiVersion }
        let host = Unmanaged<PluginRegistrar>.fromOpaque(registrar).takeUnretainedValue()
        // Were this library's SDK types a private copy instead of the host's, this identity would differ;
        // report that instead of handing over values whose types the host cannot see.
        guard host.typeToken == ObjectIdentifier(PluginRegistrar.self) else {
            return PluginRegistrar.separateTypesCode
        }
        do {
            host.add(try makePlugins())
        } catch {
            host.fail(String(describing: error))
        }
        return abiVersion
    }
}

/// Collects the plugins a library registers; the host makes one per library and passes it to the
/// library's entry point as an opaque pointer.
public final class PluginRegistrar {
    /// The plugins the library added.
    public private(set) var plugins: [Plugin] = []
    /// Why the library could not make its plugins, if it could not.
    public private(set) var failure: String?
    /// The host's identity of this class, compared by the library against its own.
    public let typeToken = ObjectIdentifier(PluginRegistrar.self)
    /// Returned instead of an ABI number by a library whose SDK types are not the host's.
    public static let separateTypesCode: UInt32 = 0xFFFF_FFFF

    /// An empty registrar.
    public init() {}

    /// Adds plugins (called by the library's entry point).
    public func add(_ more: [Plugin]) { plugins += more }

    /// Records that the library failed to make its plugins.
    public func fail(_ message: String) { failure = message }
}
