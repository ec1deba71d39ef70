// libFuzzer driver shim (identical in every fuzz target but for the symbol name).
//
// SwiftPM links executables with `main` aliased to `<Target>_main`, so libFuzzer's own `main`
// cannot be used. This defines `FuzzSRTP_main` and hands control to libFuzzer's driver, which then
// calls `LLVMFuzzerTestOneInput` (defined in Harness.swift).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

@_cdecl("FuzzSRTP_main")
func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        fuzzOneInput(data, size)
    }
}
