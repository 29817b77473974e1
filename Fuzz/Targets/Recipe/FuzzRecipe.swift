import Foundation
import GlossaFuzzing

/// libFuzzer's entry point for the `recipe` target (built by `make fuzz` with `-sanitize=fuzzer,address`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    FuzzEntries.all["recipe"]?(Data(bytes: bytes, count: count))
    return 0
}
