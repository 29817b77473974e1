import Glibc

/// libFuzzer's driver, linked from the toolchain's `libclang_rt.fuzzer_no_main` by `make fuzz` (see docs/fuzzing.md).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

// The `line-reader` fuzz target (`make fuzz`; built with `-sanitize=fuzzer,address`).
var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { bytes, count in fuzzLineReader(bytes, count) })
