import Foundation
import GlossaFuzzing

/// libFuzzer's entry point for the `vocab-json` target (built by `make fuzz` with `-sanitize=fuzzer,address`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    FuzzEntries.all["vocab-json"]?(Data(bytes: bytes, count: count))
    return 0
}
