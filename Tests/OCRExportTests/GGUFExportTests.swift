// GGUF files read back by a small independent parser: header, typed metadata, tensor infos
// (dimensions innermost first, 32-byte aligned offsets) and data; the Qwen-VL language model and
// mmproj names and keys llama.cpp looks up.

import Foundation
import MLXEngine
import OCRExport
import OCRTestSupport
import XCTest

/// A minimal GGUF v3 reader for the tests.
struct GGUFFile {
    var version: UInt32 = 0
    var metadata: [String: Any] = [:]
    var tensors: [String: (dims: [Int], type: UInt32, offset: Int)] = [:]
    var tensorOrder: [String] = []
    var dataStart = 0
    let bytes: [UInt8]

    init(_ data: Data) throws {
        bytes = [UInt8](data)
        var p = 0
        func u32() -> UInt32 { defer { p += 4 }; return bytes[p ..< p + 4].enumerated().reduce(0) { $0 | UInt32($1.element) << (8 * $1.offset) } }
        func u64() -> UInt64 { defer { p += 8 }; return bytes[p ..< p + 8].enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * $1.offset) } }
        func string() -> String {
            let n = Int(u64())
            defer { p += n }
            return String(decoding: bytes[p ..< p + n], as: UTF8.self)
        }
        func value(_ type: UInt32) -> Any {
            switch type {
            case 4: return u32()
            case 5: return Int32(bitPattern: u32())
            case 6: return Float(bitPattern: u32())
            case 7: defer { p += 1 }; return bytes[p] != 0
            case 8: return string()
            case 10: return u64()
            case 9:
                let inner = u32()
                let n = Int(u64())
                return (0 ..< n).map { _ in value(inner) }
            default: fatalError("type \(type)")
            }
        }
        guard String(decoding: bytes[0 ..< 4], as: UTF8.self) == "GGUF" else { throw ExportError("not GGUF") }
        p = 4
        version = u32()
        let tensorCount = Int(u64())
        let kvCount = Int(u64())
        for _ in 0 ..< kvCount {
            let key = string()
            metadata[key] = value(u32())
        }
        for _ in 0 ..< tensorCount {
            let name = string()
            let n = Int(u32())
            let dims = (0 ..< n).map { _ in Int(u64()) }
            let type = u32()
            tensors[name] = (dims, type, Int(u64()))
            tensorOrder.append(name)
        }
        dataStart = (p + 31) / 32 * 32
    }

    func data(_ name: String, count: Int) -> [UInt8] {
        let start = dataStart + tensors[name]!.offset
        return Array(bytes[start ..< start + count])
    }
}

final class GGUFExportTests: XCTestCase {
    func testHeaderMetadataAndTensorLayout() throws {
        let g = GGUFWriter()
        g.set("general.architecture", .string("test"))
        g.set("test.count", .uint32(7))
        g.set("test.sections", .int32s([2, 3, 3, 0]))
        g.set("test.flag", .bool(true))
        g.set("test.eps", .float32(1e-6))
        let a = MLXArray((0 ..< 6).map(Float.init), [2, 3])
        try g.add("a.weight", a, as: .f32)
        try g.add("b.weight", MLXArray([Float](repeating: 0.5, count: 64), [2, 32]), as: .q8_0)
        try g.add("c.weight", a, as: .f16)
        let file = try GGUFFile(g.serialized())
        XCTAssertEqual(file.version, 3)
        XCTAssertEqual(file.metadata["general.architecture"] as? String, "test")
        XCTAssertEqual(file.metadata["test.count"] as? UInt32, 7)
        XCTAssertEqual(file.metadata["test.sections"] as? [Int32], [2, 3, 3, 0])
        XCTAssertEqual(file.metadata["test.flag"] as? Bool, true)
        XCTAssertEqual(file.metadata["test.eps"] as? Float, 1e-6)
        XCTAssertEqual(file.tensorOrder, ["a.weight", "b.weight", "c.weight"])
        XCTAssertEqual(file.tensors["a.weight"]!.dims, [3, 2])  // innermost first
        XCTAssertEqual(file.tensors["a.weight"]!.type, 0)
        XCTAssertEqual(file.tensors["b.weight"]!.type, 8)
        XCTAssertEqual(file.tensors["b.weight"]!.offset, 32)  // 24 bytes of a, padded to 32
        XCTAssertEqual(file.tensors["c.weight"]!.offset, 32 + 96)  // two 34-byte blocks, padded
        XCTAssertEqual(file.dataStart % 32, 0)
        XCTAssertEqual(file.data("a.weight", count: 24), a.bytes())
        // Q8_0: d = 0.5/127 as float16, every value 127.
        XCTAssertEqual(Array(file.data("b.weight", count: 34)[2...]), [UInt8](repeating: 127, count: 32))
        // Written tensor by tensor: the same bytes.
        let url = ExportFixtures.temporaryFolder("gguf-write").appendingPathComponent("t.gguf")
        try g.write(to: url)
        XCTAssertEqual(try Data(contentsOf: url), g.serialized())
    }

    func testQwenVLFiles() throws {
        for (fixture, arch) in [("qwen2_5_vl", "qwen2vl"), ("qwen3_vl", "qwen3vl")] {
            let out = ExportFixtures.temporaryFolder("gguf").appendingPathComponent("out")
            let outcome = try Exporter.run(ExportRequest(source: ModelFixtures.qwenVL(fixture), format: .gguf, variants: ["f16", "q8_0"], out: out))
            XCTAssertEqual(outcome.manifest.variants.map(\.files), [
                ["\(fixture)-tiny-F16.gguf", "mmproj-\(fixture)-tiny-F16.gguf"], ["\(fixture)-tiny-Q8_0.gguf", "mmproj-\(fixture)-tiny-F16.gguf"],
            ])
            let lm = try GGUFFile(Data(contentsOf: out.appendingPathComponent("\(fixture)-tiny-Q8_0.gguf")))
            XCTAssertEqual(lm.metadata["general.architecture"] as? String, arch)
            XCTAssertEqual(lm.metadata["\(arch).block_count"] as? UInt32, 2)
            XCTAssertEqual((lm.metadata["\(arch).rope.dimension_sections"] as? [Int32])?.count, 4)
            XCTAssertEqual((lm.metadata["tokenizer.ggml.tokens"] as? [String])?.count, 367)
            XCTAssertEqual((lm.metadata["tokenizer.ggml.tokens"] as? [String])?[362], "<|im_end|>")
            XCTAssertEqual((lm.metadata["tokenizer.ggml.token_type"] as? [Int32])?[362], 3)
            XCTAssertNotNil(lm.metadata["tokenizer.chat_template"] as? String)
            XCTAssertEqual(lm.tensors["token_embd.weight"]?.dims, [64, 367])
            XCTAssertEqual(lm.tensors["blk.1.ffn_down.weight"]?.type, 8)
            XCTAssertEqual(lm.tensors["blk.1.attn_norm.weight"]?.type, 0)
            XCTAssertEqual(lm.tensors["output.weight"] != nil, fixture == "qwen2_5_vl")  // Qwen3-VL's is tied
            let mmproj = try GGUFFile(Data(contentsOf: out.appendingPathComponent("mmproj-\(fixture)-tiny-F16.gguf")))
            XCTAssertEqual(mmproj.metadata["general.architecture"] as? String, "clip")
            XCTAssertEqual(mmproj.metadata["clip.projector_type"] as? String, fixture == "qwen3_vl" ? "qwen3vl_merger" : "qwen2.5vl_merger")
            let patch = fixture == "qwen3_vl" ? 16 : 14
            XCTAssertEqual(mmproj.tensors["v.patch_embd.weight"]?.dims, [patch, patch, 3, 32])
            XCTAssertEqual(mmproj.tensors["v.patch_embd.weight.1"]?.dims, [patch, patch, 3, 32])
            XCTAssertNotNil(mmproj.tensors["mm.2.weight"])
            if fixture == "qwen3_vl" {
                XCTAssertNotNil(mmproj.tensors["v.deepstack.1.fc2.weight"])
                // As llama.cpp's converter writes Qwen3-VL (clip.cpp's graph reads the fused
                // projection, and resizes the position table in F32 only).
                XCTAssertEqual(mmproj.tensors["v.blk.0.attn_qkv.weight"]?.dims, [32, 96])
                XCTAssertEqual(mmproj.tensors["v.blk.0.attn_qkv.bias"]?.dims, [96])
                XCTAssertNil(mmproj.tensors["v.blk.0.attn_q.weight"])
                XCTAssertEqual(mmproj.tensors["v.position_embd.weight"]?.type, 0)
            } else {
                XCTAssertEqual(mmproj.tensors["v.blk.0.attn_q.weight"]?.dims, [32, 32])
                XCTAssertNil(mmproj.tensors["v.blk.0.attn_qkv.weight"])
            }
        }
    }

    /// The Qwen2.5-VL metadata llama.cpp's vision graph and M-RoPE read, from the fixture's configs
    /// (checked against llama.cpp in tools/check_export.py `llama --image`, stage by stage).
    func testQwen25VLVisionMetadata() throws {
        let out = ExportFixtures.temporaryFolder("gguf").appendingPathComponent("out")
        let outcome = try Exporter.run(ExportRequest(source: ModelFixtures.qwenVL("qwen2_5_vl"), format: .gguf, variants: ["f16"], out: out))
        // The fixture's 56-px window is not llama.cpp's 112: the export says so, in export.json too.
        XCTAssertEqual(outcome.notes.count, 1)
        XCTAssertTrue(outcome.notes[0].contains("56 px"), outcome.notes[0])
        XCTAssertEqual(outcome.manifest.notes, outcome.notes)
        let manifest = try JSONDecoder().decode(ExportManifest.self, from: Data(contentsOf: out.appendingPathComponent(Exporter.manifestFile)))
        XCTAssertEqual(manifest.notes, outcome.notes)
        let lm = try GGUFFile(Data(contentsOf: out.appendingPathComponent("qwen2_5_vl-tiny-F16.gguf")))
        XCTAssertEqual(lm.metadata["qwen2vl.rope.dimension_sections"] as? [Int32], [2, 3, 3, 0])  // mrope_section, padded to 4
        let m = try GGUFFile(Data(contentsOf: out.appendingPathComponent("mmproj-qwen2_5_vl-tiny-F16.gguf"))).metadata
        // fullatt_block_indexes [1]: every 2nd block attends fully, the others in windows.
        XCTAssertEqual(m["clip.vision.n_wa_pattern"] as? UInt32, 2)
        // Written in pixels as transformers' window_size; llama.cpp (0.3.36's) ignores it for
        // qwen2.5vl_merger and uses 112, the released checkpoints' value.
        XCTAssertEqual(m["clip.vision.window_size"] as? UInt32, 56)
        XCTAssertEqual(m["clip.vision.spatial_merge_size"] as? UInt32, 2)
        XCTAssertEqual(m["clip.use_silu"] as? Bool, true)
        XCTAssertEqual(m["clip.vision.image_mean"] as? [Float], [0.48145466, 0.4578275, 0.40821073])
        XCTAssertEqual(m["clip.vision.image_std"] as? [Float], [0.26862954, 0.26130258, 0.27577711])
    }
}
