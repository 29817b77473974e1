import Foundation
import Glossa

/// How the U-Net's down path halves the length at each level.
public enum UNetDownsampling: String, Codable, Sendable, CaseIterable {
    /// Max pooling over pairs, keeping the arg-max for max unpooling.
    case maxPool = "max_pool"
    /// A convolution block with stride 2.
    case stride
}

/// How the U-Net's up path doubles the length at each level.
public enum UNetUpsampling: String, Codable, Sendable, CaseIterable {
    /// Copy each cell into both positions.
    case nearest
    /// The cell in the first position, zero in the second.
    case bedOfNails = "bed_of_nails"
    /// Each value back where the down path's max pool took it from (needs `max_pool`).
    case maxUnpool = "max_unpool"
    /// A learned transposed convolution with stride 2.
    case transposed
}

/// The `config.json` of a `conv-unet-tagger`: a 1-D U-Net over characters with one label per character.
///
/// Layout after Ronneberger et al. 2015 ("U-Net"), in 1-D and at one width: each level of the down path is
/// `blocks_per_level` convolution blocks then a halving; the bottom has `bottleneck_blocks` blocks; each level
/// of the up path doubles the length, concatenates the down path's states of that level (the skip), and runs
/// `blocks_per_level` blocks, the first of which maps 2C back to C. `levels: 0` is the same encoder with no
/// down/up path: `bottleneck_blocks` blocks at full resolution.
public struct UNetConfiguration: Codable, Sendable, Equatable {
    /// The characters the model knows, id 2 onwards (0 is padding, 1 an unknown character).
    public var alphabet: [String]
    /// The label names, one per output class.
    public var labels: [String]
    /// The width C at every level.
    public var hiddenSize: Int
    /// Kernel size K of every convolution block.
    public var kernelSize: Int = 5
    /// How many halvings (0: no down/up path).
    public var levels: Int = 2
    /// Convolution blocks per level on each path.
    public var blocksPerLevel: Int = 1
    /// Convolution blocks at the bottom (or, with `levels: 0`, the whole network).
    public var bottleneckBlocks: Int = 1
    /// The down path's halving.
    public var downsampling: UNetDownsampling = .maxPool
    /// The up path's doubling.
    public var upsampling: UNetUpsampling = .nearest
    /// Kernel size of the transposed convolution (`transposed` only); the output is cropped to 2× the input.
    public var upKernelSize: Int = 2
    /// Seed of the initial weights.
    public var seed: UInt64 = 0

    /// A configuration.
    public init(alphabet: [String], labels: [String], hiddenSize: Int, kernelSize: Int = 5, levels: Int = 2,
                blocksPerLevel: Int = 1, bottleneckBlocks: Int = 1, downsampling: UNetDownsampling = .maxPool,
                upsampling: UNetUpsampling = .nearest, upKernelSize: Int = 2, seed: UInt64 = 0) {
        self.alphabet = alphabet
        self.labels = labels
        self.hiddenSize = hiddenSize
        self.kernelSize = kernelSize
        self.levels = levels
        self.blocksPerLevel = blocksPerLevel
        self.bottleneckBlocks = bottleneckBlocks
        self.downsampling = downsampling
        self.upsampling = upsampling
        self.upKernelSize = upKernelSize
        self.seed = seed
    }

    enum CodingKeys: String, CodingKey {
        case alphabet, labels, hiddenSize = "hidden_size", kernelSize = "kernel_size", levels, blocksPerLevel = "blocks_per_level"
        case bottleneckBlocks = "bottleneck_blocks", downsampling, upsampling, upKernelSize = "up_kernel_size", seed
    }

    public init(from decoder: any Swift.Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        alphabet = try c.decodeIfPresent([String].self, forKey: .alphabet) ?? []
        labels = try c.decodeIfPresent([String].self, forKey: .labels) ?? CharacterTagging.labels
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        kernelSize = try c.decodeIfPresent(Int.self, forKey: .kernelSize) ?? 5
        levels = try c.decodeIfPresent(Int.self, forKey: .levels) ?? 2
        blocksPerLevel = try c.decodeIfPresent(Int.self, forKey: .blocksPerLevel) ?? 1
        bottleneckBlocks = try c.decodeIfPresent(Int.self, forKey: .bottleneckBlocks) ?? 1
        downsampling = try c.decodeIfPresent(UNetDownsampling.self, forKey: .downsampling) ?? .maxPool
        upsampling = try c.decodeIfPresent(UNetUpsampling.self, forKey: .upsampling) ?? .nearest
        upKernelSize = try c.decodeIfPresent(Int.self, forKey: .upKernelSize) ?? 2
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0
    }

    /// Rows of the embedding table: padding, unknown, then the alphabet.
    public var vocabularySize: Int { alphabet.count + 2 }

    /// Throws a sentence naming the first impossible setting.
    public func validate() throws {
        func require(_ ok: Bool, _ message: String) throws {
            if !ok { throw GlossaError.invalidConfiguration("conv-unet-tagger: \(message)") }
        }
        try require(hiddenSize > 0, "hidden_size must be positive")
        try require(labels.count >= 2, "labels must name at least two classes")
        try require(kernelSize >= 1, "kernel_size must be at least 1")
        try require(levels >= 0 && levels <= 8, "levels must be between 0 and 8")
        try require(levels == 0 || blocksPerLevel >= 1, "blocks_per_level must be at least 1 when there are levels")
        try require(bottleneckBlocks >= 0 && (levels > 0 || bottleneckBlocks >= 1), "a network with no levels needs a bottleneck block")
        try require(upsampling != .maxUnpool || downsampling == .maxPool, "max_unpool needs the max_pool downsampling")
        try require(upKernelSize >= 2, "up_kernel_size must be at least 2 (the stride)")
        try require(Set(alphabet).count == alphabet.count, "the alphabet lists a character twice")
    }

    /// The deepest path's layers (down every level, the bottom, up every level), for the receptive field: a
    /// skip's inputs lie inside those of the cell below it, so the deepest path reaches furthest.
    public var geometry: [ConvGeometry] {
        let block = ConvGeometry.convolution(kernelSize: kernelSize)
        let down: [ConvGeometry] = downsampling == .maxPool ? [.pool(size: 2)] : [.convolution(kernelSize: kernelSize, stride: 2)]
        let up: ConvGeometry
        switch upsampling {
        case .nearest, .maxUnpool: up = .upsample(factor: 2)
        case .bedOfNails: up = .bedOfNails(factor: 2)
        case .transposed: up = .transposedConvolution(kernelSize: upKernelSize, stride: 2, crop: (upKernelSize - 2) / 2)
        }
        let level = [ConvGeometry](repeating: block, count: blocksPerLevel)
        let downPath = (0..<levels).flatMap { _ in level + down }
        let upPath = (0..<levels).flatMap { _ in [up] + level }
        return downPath + [ConvGeometry](repeating: block, count: bottleneckBlocks) + upPath
    }

    /// The receptive field after each layer of the deepest path, starting with RF₀ = 1.
    public var receptiveFields: [Int] { ConvGeometry.receptiveFields(geometry) }

    /// The receptive field of one output label, in characters.
    public var receptiveField: Int { receptiveFields.last ?? 1 }
}
