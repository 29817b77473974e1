import Foundation
import GlossaFuzzing

/// libFuzzer's driver, `int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *, size_t))`,
/// linked from the toolchain's `libclang_rt.fuzzer_no_main` by `make fuzz` (SwiftPM gives every executable its
/// own entry point, so libFuzzer's `main` cannot be used; see docs/fuzzing.md).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

// The `vocab-txt` fuzz target.
var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { bytes, count in
    FuzzEntries.all["vocab-txt"]?(bytes.map { Data(bytes: $0, count: count) } ?? Data())
    return 0
})
