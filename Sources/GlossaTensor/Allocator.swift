import CGlossaKernels

/// Process-wide memory settings for tensor work.
public enum Allocator {
    /// Keeps freed tensor buffers in the heap instead of returning them to the kernel, so the next
    /// tensor of the same size costs no page faults (glibc otherwise maps and unmaps every buffer
    /// above 128 KiB). Call once at start-up; a no-op without glibc.
    public static func keepFreedMemory() { gk_keep_freed_memory() }
}
