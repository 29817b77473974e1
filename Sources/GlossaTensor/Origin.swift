/// The primitive that produced a tensor and the tensors it read.
struct Origin {
    let inputs: [Tensor]
}
