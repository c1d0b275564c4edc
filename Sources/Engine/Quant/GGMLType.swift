/// A ggml tensor element type, as stored in the `type` field of a GGUF tensor descriptor.
///
/// The raw values are llama.cpp's `enum ggml_type` ids (ggml/include/ggml.h). Every type llama.cpp
/// can write to a GGUF file is listed so that an unsupported one can at least be named in an
/// error; `isSupported` says which ones this engine can dequantise and multiply with.
/// Ids 4, 5 (old Q4_2/Q4_3) and 31–33, 36–38 (repacked Q4_0/IQ4_NL layouts) were removed from the
/// GGUF format by llama.cpp and are deliberately absent.
public enum GGMLType: UInt32, Sendable, CaseIterable {
    case f32 = 0
    case f16 = 1
    case q4_0 = 2
    case q4_1 = 3
    case q5_0 = 6
    case q5_1 = 7
    case q8_0 = 8
    case q8_1 = 9
    case q2_K = 10
    case q3_K = 11
    case q4_K = 12
    case q5_K = 13
    case q6_K = 14
    case q8_K = 15
    case iq2_xxs = 16
    case iq2_xs = 17
    case iq3_xxs = 18
    case iq1_s = 19
    case iq4_nl = 20
    case iq3_s = 21
    case iq2_s = 22
    case iq4_xs = 23
    case i8 = 24
    case i16 = 25
    case i32 = 26
    case i64 = 27
    case f64 = 28
    case iq1_m = 29
    case bf16 = 30
    case tq1_0 = 34
    case tq2_0 = 35
    case mxfp4 = 39
    case nvfp4 = 40
    case q1_0 = 41

    /// llama.cpp's name for the type (`ggml_type_name`), e.g. "q4_1", "q6_K", "bf16".
    public var name: String {
        switch self {
        case .f32: "f32"
        case .f16: "f16"
        case .q4_0: "q4_0"
        case .q4_1: "q4_1"
        case .q5_0: "q5_0"
        case .q5_1: "q5_1"
        case .q8_0: "q8_0"
        case .q8_1: "q8_1"
        case .q2_K: "q2_K"
        case .q3_K: "q3_K"
        case .q4_K: "q4_K"
        case .q5_K: "q5_K"
        case .q6_K: "q6_K"
        case .q8_K: "q8_K"
        case .iq2_xxs: "iq2_xxs"
        case .iq2_xs: "iq2_xs"
        case .iq3_xxs: "iq3_xxs"
        case .iq1_s: "iq1_s"
        case .iq4_nl: "iq4_nl"
        case .iq3_s: "iq3_s"
        case .iq2_s: "iq2_s"
        case .iq4_xs: "iq4_xs"
        case .i8: "i8"
        case .i16: "i16"
        case .i32: "i32"
        case .i64: "i64"
        case .f64: "f64"
        case .iq1_m: "iq1_m"
        case .bf16: "bf16"
        case .tq1_0: "tq1_0"
        case .tq2_0: "tq2_0"
        case .mxfp4: "mxfp4"
        case .nvfp4: "nvfp4"
        case .q1_0: "q1_0"
        }
    }

    /// Elements per block (`ggml_blck_size`): 1 for plain scalar types, 32 for the legacy quants,
    /// 256 (`QK_K`) for the k-quants and most i-quants.
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16, .i8, .i16, .i32, .i64, .f64: 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1, .iq4_nl, .mxfp4: 32
        case .nvfp4: 64
        case .q1_0: 128
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K,
             .iq2_xxs, .iq2_xs, .iq3_xxs, .iq1_s, .iq3_s, .iq2_s, .iq4_xs, .iq1_m,
             .tq1_0, .tq2_0: 256
        }
    }

    /// Bytes per block (`ggml_type_size`), i.e. the packed size of `blockSize` elements.
    public var bytesPerBlock: Int {
        switch self {
        case .f32: 4
        case .f16: 2
        case .bf16: 2
        case .i8: 1
        case .i16: 2
        case .i32: 4
        case .i64: 8
        case .f64: 8
        case .q4_0: 2 + 16                  // d, 32 nibbles
        case .q4_1: 2 + 2 + 16              // d, m, 32 nibbles
        case .q5_0: 2 + 4 + 16              // d, 32 high bits, 32 nibbles
        case .q5_1: 2 + 2 + 4 + 16          // d, m, 32 high bits, 32 nibbles
        case .q8_0: 2 + 32                  // d, 32 int8
        case .q8_1: 2 + 2 + 32              // d, s, 32 int8 (gguf-py still says 40: stale, ggml uses 2×f16)
        case .q2_K: 2 + 2 + 16 + 64
        case .q3_K: 2 + 64 + 32 + 12
        case .q4_K: 2 + 2 + 12 + 128
        case .q5_K: 2 + 2 + 12 + 32 + 128
        case .q6_K: 2 + 128 + 64 + 16
        case .q8_K: 4 + 256 + 32
        case .iq2_xxs: 2 + 64
        case .iq2_xs: 2 + 64 + 8
        case .iq3_xxs: 2 + 64 + 32
        case .iq1_s: 2 + 32 + 16
        case .iq4_nl: 2 + 16
        case .iq3_s: 2 + 64 + 32 + 8 + 4
        case .iq2_s: 2 + 64 + 16
        case .iq4_xs: 2 + 2 + 128 + 4
        case .iq1_m: 32 + 16 + 8
        case .tq1_0: 2 + 52
        case .tq2_0: 2 + 64
        case .mxfp4: 1 + 16
        case .nvfp4: 4 + 32
        case .q1_0: 2 + 16
        }
    }

    /// True for the types this engine dequantises and multiplies with:
    /// F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K.
    public var isSupported: Bool {
        switch self {
        case .f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K: true
        default: false
        }
    }

    /// Bytes needed for `elements` elements, or nil when `elements` is negative or not a whole
    /// number of blocks (a GGUF tensor row must always be whole blocks).
    public func byteCount(elements: Int) -> Int? {
        guard elements >= 0, elements % blockSize == 0 else { return nil }
        let (bytes, overflow) = (elements / blockSize).multipliedReportingOverflow(by: bytesPerBlock)
        return overflow ? nil : bytes
    }
}

extension GGMLType: CustomStringConvertible {
    public var description: String { name }
}
