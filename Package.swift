// swift-tools-version:6.0
import PackageDescription

// Hot loops are compiled three times from the same source file: `MicroKernels` for any CPU,
// `MicroKernelsAVX2` (a symlink to it) for x86-64-v3 (AVX2 + FMA) and `MicroKernelsAVX512` (another
// symlink) for AVX-512 (F, BW, DQ, VL: `skylake-avx512`, whose tuning keeps explicit 512-bit vectors
// in zmm registers; `x86-64-v4` splits them in two). Only those two get a CPU flag, so `main` and
// the runtime never contain AVX instructions; `TrainLabKernels` picks one copy at run time from
// the CPU's feature flags.
// Kernels are optimized in debug builds too: unoptimized SIMD code is ~100x slower, which would
// make `swift test` spend its time in matrix products.
// `-fno-math-errno` lets `squareRoot()` (a C shim that may set errno on Linux) lower to
// `vsqrtps`: without it every SIMD square root is eight scalar calls (Adam's update was 60 cycles
// a vector). The results are the same correctly rounded square roots.
let noMathErrno: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-fno-math-errno"])]
let optimizedInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]
#if arch(x86_64)
let avx2Flags: [SwiftSetting] = [.define("TRAINLAB_AVX2"), .unsafeFlags(["-target-cpu", "haswell"])] + noMathErrno + optimizedInDebug
let avx512Flags: [SwiftSetting] = [.define("TRAINLAB_AVX2"), .define("TRAINLAB_AVX512"),
                                   .unsafeFlags(["-target-cpu", "skylake-avx512"])] + noMathErrno + optimizedInDebug
#else
let avx2Flags: [SwiftSetting] = noMathErrno + optimizedInDebug
let avx512Flags: [SwiftSetting] = noMathErrno + optimizedInDebug
#endif

let package = Package(
    name: "TrainLab",
    products: [
        .executable(name: "trainlab", targets: ["trainlab"]),
    ],
    targets: [
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // One static inline C function: a cache-line prefetch, which Swift cannot express.
        .target(name: "CPrefetch"),
        // The bf16 GEMM micro-kernel on VDPBF16PS (AVX512_BF16) and the MXCSR switch its FMA
        // fallback needs: intrinsics Swift lacks, compiled with a target attribute; optimized in
        // debug builds too, as the hot loops are.
        .target(name: "CBF16", cSettings: [.unsafeFlags(["-O2"], .when(configuration: .debug))]),
        .target(name: "MicroKernels", dependencies: ["CPrefetch"], swiftSettings: noMathErrno + optimizedInDebug),
        .target(name: "MicroKernelsAVX2", dependencies: ["CPrefetch"], swiftSettings: avx2Flags),
        .target(name: "MicroKernelsAVX512", dependencies: ["CPrefetch"], swiftSettings: avx512Flags),
        .target(
            name: "TrainLabKernels", dependencies: ["MicroKernels", "MicroKernelsAVX2", "MicroKernelsAVX512", "CBF16"],
            swiftSettings: optimizedInDebug),
        .target(name: "TrainLabAutodiff", dependencies: ["TrainLabKernels"]),
        // JSON values, the one parser and writer: specs, safetensors headers and exports share them.
        .target(name: "TrainLabJSON"),
        .target(name: "TrainLabStore", dependencies: ["CSQLite", "TrainLabJSON"]),
        .target(name: "TrainLabSpec", dependencies: ["TrainLabJSON"]),
        .target(name: "TrainLabData", dependencies: ["TrainLabAutodiff", "TrainLabKernels"]),
        .target(name: "TrainLabIO", dependencies: ["TrainLabAutodiff", "TrainLabJSON"]),
        .target(name: "TrainLabReport", dependencies: ["TrainLabStore"]),
        .target(name: "TrainLabModels", dependencies: ["TrainLabAutodiff", "TrainLabKernels"]),
        .target(name: "TrainLabOptim", dependencies: ["TrainLabAutodiff", "TrainLabKernels"]),
        // Training never imports the store: the command line wires a `MetricsSink` into it.
        .target(
            name: "TrainLabExperiment",
            dependencies: ["TrainLabKernels", "TrainLabAutodiff", "TrainLabSpec", "TrainLabData", "TrainLabModels",
                           "TrainLabOptim", "TrainLabIO"]
        ),
        .executableTarget(
            name: "trainlab",
            dependencies: ["TrainLabKernels", "TrainLabAutodiff", "TrainLabSpec", "TrainLabIO", "TrainLabStore",
                           "TrainLabExperiment", "TrainLabReport"]
        ),
        .testTarget(name: "TrainLabKernelsTests", dependencies: ["TrainLabKernels", "MicroKernels", "MicroKernelsAVX2", "MicroKernelsAVX512", "CBF16"]),
        .testTarget(name: "TrainLabAutodiffTests", dependencies: ["TrainLabAutodiff", "TrainLabKernels"]),
        .testTarget(name: "TrainLabJSONTests", dependencies: ["TrainLabJSON"]),
        .testTarget(name: "TrainLabStoreTests", dependencies: ["TrainLabStore"], exclude: ["Fixtures"]),
        // Also checks every target's imports against this file (DependencyArrowTests).
        .testTarget(name: "TrainLabSpecTests", dependencies: ["TrainLabSpec"]),
        .testTarget(name: "TrainLabDataTests", dependencies: ["TrainLabData", "TrainLabAutodiff", "TrainLabKernels"]),
        .testTarget(name: "TrainLabModelsTests", dependencies: ["TrainLabModels", "TrainLabAutodiff", "TrainLabKernels"]),
        .testTarget(name: "TrainLabIOTests", dependencies: ["TrainLabIO", "TrainLabAutodiff"], exclude: ["Fixtures"]),
        .testTarget(name: "TrainLabReportTests", dependencies: ["TrainLabReport", "TrainLabStore"]),
        .testTarget(name: "TrainLabOptimTests", dependencies: ["TrainLabOptim", "TrainLabAutodiff", "TrainLabKernels"]),
        // The process tests run the `trainlab` binary: depending on it makes `swift test` build it.
        .testTarget(
            name: "TrainLabExperimentTests",
            dependencies: ["TrainLabExperiment", "TrainLabStore", "trainlab", "TrainLabAutodiff", "TrainLabData", "TrainLabIO", "TrainLabKernels",
                           "TrainLabModels", "TrainLabSpec"],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "GoldenTests", dependencies: ["TrainLabModels", "TrainLabOptim", "TrainLabAutodiff", "TrainLabKernels"],
            exclude: ["Fixtures"]
        ),
    ]
)
