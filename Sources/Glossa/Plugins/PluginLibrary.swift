import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a plugin library could not be loaded; the message names the file.
public struct PluginLoadError: Error, CustomStringConvertible, Equatable {
    /// The library's path as given.
    public var path: String
    /// What went wrong, as a sentence.
    public var reason: String

    /// An error about the library at `path`.
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    /// The sentence shown to users, naming the file.
    public var description: String { "cannot load plugin library \(path): \(reason)" }
}

/// Loads plugin libraries (`.so` on Linux, `.dylib` on macOS) at run time through their
/// `glossa_plugin_register` entry point (see ``PluginEntryPoint``).
///
/// Type identity — one copy of the SDK in the process: the host (`glossa`) links the SDK statically and exports
/// its symbols (`--export-dynamic`). A plugin library links the SDK as the `GlossaSDK` dynamic library product, so
/// every SDK symbol it uses (protocol descriptors, type metadata, functions, globals) is an undefined symbol that
/// the dynamic loader binds to the first definition in the global scope, which is the host's. `as? any Encoder`
/// then means the same protocol on both sides; `libGlossaSDK.so` is loaded only to satisfy the library's
/// dependency. A library that links the SDK statically cannot work: Swift gives its copy protected visibility, so
/// the library binds to its own types. The entry point detects that, and loading fails with a message saying so.
public enum PluginLibrary {
    /// The plugins of the library at `path`. Libraries are never unloaded: their code backs the plugins.
    public static func load(_ path: String) throws -> [Plugin] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw PluginLoadError(path: path, reason: "no such file")
        }
        // A path without a slash would make dlopen search the library path instead of opening this file.
        let target = path.contains("/") ? path : "./" + path
        guard let handle = dlopen(target, RTLD_NOW | RTLD_LOCAL) else {
            throw PluginLoadError(path: path, reason: lastLoaderError() ?? "the dynamic loader refused it")
        }
        guard let symbol = dlsym(handle, PluginEntryPoint.symbolName) else {
            throw PluginLoadError(
                path: path, reason: "it has no \(PluginEntryPoint.symbolName) entry point, so it is not a Glossa plugin library "
                    + "(export one with @_cdecl(\"\(PluginEntryPoint.symbolName)\"); see \"Writing a plugin\")")
        }
        let entry = unsafeBitCast(symbol, to: PluginEntryPoint.Function.self)
        let registrar = PluginRegistrar()
        let host = PluginEntryPoint.abiVersion
        let answered = withExtendedLifetime(registrar) {
            entry(host, Unmanaged.passUnretained(registrar).toOpaque())
        }
        return try plugins(answered: answered, registrar: registrar, path: path)
    }

    /// What a library's entry point left: its plugins, or the reason it gave none (a foreign SDK copy, another
    /// ABI, a failure thrown while making its plugins, or no plugins at all).
    static func plugins(answered: UInt32, registrar: PluginRegistrar, path: String) throws -> [Plugin] {
        let host = PluginEntryPoint.abiVersion
        if answered == PluginRegistrar.separateTypesCode {
            throw PluginLoadError(
                path: path, reason: "it carries its own copy of the Glossa SDK types instead of using this program's; "
                    + "link the plugin against the GlossaSDK dynamic library product, not the static Glossa products")
        }
        guard answered == host else {
            throw PluginLoadError(
                path: path, reason: "it was built against Glossa plugin ABI \(answered), but this glossa speaks ABI \(host); "
                    + "rebuild the plugin against this version of Glossa")
        }
        if let failure = registrar.failure {
            throw PluginLoadError(path: path, reason: "its entry point failed: \(failure)")
        }
        if registrar.plugins.isEmpty {
            throw PluginLoadError(path: path, reason: "its entry point registered no plugins")
        }
        return registrar.plugins
    }

    /// The plugins of several libraries, in order (a later plugin with a taken name replaces the earlier one
    /// when added to a registry).
    public static func load(_ paths: [String]) throws -> [Plugin] {
        try paths.flatMap { try load($0) }
    }

    /// The libraries a colon-separated search variable such as `GLOSSA_PLUGIN_PATH` names: each entry is a
    /// library file, or a directory whose `.so`/`.dylib` files are all loaded (sorted by name). Empty entries
    /// are skipped.
    public static func paths(inSearchPath value: String) -> [String] {
        value.split(separator: ":").map(String.init).filter { !$0.isEmpty }.flatMap { entry -> [String] in
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: entry, isDirectory: &isDirectory), isDirectory.boolValue else {
                return [entry]
            }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: entry)) ?? []
            return names.filter { $0.hasSuffix(".so") || $0.hasSuffix(".dylib") }.sorted()
                .map { URL(fileURLWithPath: entry).appendingPathComponent($0).path }
        }
    }

    static func lastLoaderError() -> String? {
        guard let message = dlerror() else { return nil }
        return String(cString: message)
    }
}
