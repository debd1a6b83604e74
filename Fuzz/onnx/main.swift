// Fuzz/onnx — libFuzzer target for ONNX import (`ocrtune import ppocr --onnx`): the bytes of a
// model file through ONNXGraph(serialized:) (swift-protobuf's binary decoder over ONNXProto's
// generated messages, then initializers, Constant nodes and the shape-only folding) and, for a
// graph that decodes, the PP-OCR importers' role finding (GraphRoles, as the recognizer and the
// detector importers call it). Compiled with Sources/OCRModels/Common/ONNXGraph.swift and
// PPOCR/PPOCRONNXRoles.swift alone, over SwiftProtobuf and ONNXProto built instrumented; the
// engine arrays the importers build from the roles are not reached. Bad bytes throw
// ONNXImportError naming the node or tensor; nothing may trap.

import Foundation

private func expectTyped(_ body: () throws -> Void) {
    do {
        try body()
    } catch is ONNXImportError {
    } catch {
        fatalError("untyped error: \(error)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzONNX(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let data = Data(bytes.map { UnsafeBufferPointer(start: $0, count: size) } ?? UnsafeBufferPointer(start: nil, count: 0))
    expectTyped {
        let graph = try ONNXGraph(serialized: data, source: "fuzz.onnx")
        _ = graph.metadata["character"]
        for node in graph.nodes {
            _ = (node.label, graph.dynamicInputs(of: node), graph.constantInputs(of: node).map(\.ints))
            for output in node.output { _ = graph.consumerNodes(of: output) }
            for input in node.input { _ = graph.producerNode(of: input) }
        }
        expectTyped { _ = try GraphRoles(graph) }
        expectTyped { _ = try GraphRoles(graph, sameConvPadding: false, requireLinears: false) }
    }
    return 0
}
