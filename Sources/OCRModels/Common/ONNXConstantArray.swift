// An ONNX constant as an engine array, apart from ONNXGraph.swift so that the graph reader
// compiles without the engine (Fuzz/onnx). Reference: the ONNX IR spec (TensorProto).

import MLXEngine

extension ONNXConstant {
    /// The engine array of these values (float32).
    public func array() -> MLXArray { MLXArray(floats, dims.isEmpty ? [] : dims) }
}
