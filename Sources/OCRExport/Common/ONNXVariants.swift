// The numeric variants of the encoder–decoder ONNX exports (TrOCR, latex-ocr-junia), named as
// transformers.js names them: fp32 (no suffix), `_fp16` (weights stored as float16), `_int8` /
// `_uint8` (dynamic 8-bit MatMul) and `_q4` (MatMulNBits, blocks of 32).

enum ONNXVariants {
    /// transformers.js's file suffix of a variant.
    static func suffix(_ variant: String) -> String { variant == "fp32" ? "" : "_\(variant)" }

    /// How a variant stores its weights and quantizes its linears.
    static func numerics(of variant: String, family: String) throws -> (ONNXWeightStorage, ONNXLinearQuantization) {
        switch variant {
        case "fp32": return (.float32, .none)
        case "fp16": return (.float16, .none)
        case "int8": return (.float32, .int8)
        case "uint8": return (.float32, .uint8)
        case "q4": return (.float32, .q4)
        default: throw ExportError("--quantize \(variant): the ONNX variants of \(family) are fp32, fp16, int8, uint8 and q4")
        }
    }
}
