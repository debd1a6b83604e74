// DeepSeek-OCR (v1) and DeepSeek-OCR 2 GGUF exports read back by the tests' GGUF parser: the
// language model's deepseek2-ocr keys and tokenizer, every tensor's name, dimensions and type as
// llama.cpp's converter writes them for these fixtures, the routed experts stacked in expert order
// (bytes equal to the model's per-expert tensors), Q8_0 within half a step, and the mmproj's
// projector keys and tensors for both versions.

import Foundation
import MLXEngine
import OCRExport
import OCRModels
import OCRTestSupport
import XCTest

final class DeepSeekGGUFExportTests: XCTestCase {
    static let fixtures = [("deepseek_ocr", DeepSeekOCRVersion.v1), ("deepseek_ocr2", .v2)]

    /// The export of a fixture (f16, bf16 and q8_0), once per run.
    nonisolated(unsafe) static var exports: [String: URL] = [:]

    func export(_ fixture: String) throws -> URL {
        if let out = Self.exports[fixture] { return out }
        let out = ExportFixtures.temporaryFolder("ds-gguf").appendingPathComponent("out")
        let outcome = try Exporter.run(ExportRequest(
            source: ModelFixtures.url("\(fixture)-tiny"), format: .gguf, variants: ["f16", "bf16", "q8_0"], out: out))
        XCTAssertEqual(outcome.manifest.variants.map(\.files), ["F16", "BF16", "Q8_0"].map { ["\(fixture)-tiny-\($0).gguf", "mmproj-\(fixture)-tiny-F16.gguf"] })
        Self.exports[fixture] = out
        return out
    }

    func file(_ fixture: String, _ type: String) throws -> GGUFFile {
        try GGUFFile(Data(contentsOf: export(fixture).appendingPathComponent(type == "mmproj" ? "mmproj-\(fixture)-tiny-F16.gguf" : "\(fixture)-tiny-\(type).gguf")))
    }

    func weights(_ fixture: String) throws -> [String: MLXArray] {
        try DeepSeekOCRModel.load(from: ModelFixtures.url("\(fixture)-tiny")).parameterDictionary()
    }

    // MARK: Language model

    func testLanguageModelMetadataAndTokenizer() throws {
        for (fixture, version) in Self.fixtures {
            let lm = try file(fixture, "F16")
            let m = lm.metadata
            let a = "deepseek2-ocr"
            XCTAssertEqual(m["general.architecture"] as? String, a)
            XCTAssertEqual(m["general.file_type"] as? UInt32, 1)
            let expected: [String: UInt32] = [
                "block_count": 3, "embedding_length": 32, "feed_forward_length": 64, "attention.head_count": 4,
                "attention.head_count_kv": 4, "expert_count": 8, "expert_used_count": 3, "expert_shared_count": 2,
                "expert_feed_forward_length": 16, "leading_dense_block_count": 1, "vocab_size": 386, "rope.dimension_count": 0,
            ]
            for (key, value) in expected { XCTAssertEqual(m["\(a).\(key)"] as? UInt32, value, "\(fixture) \(key)") }
            XCTAssertEqual(m["\(a).rope.freq_base"] as? Float, 10000)
            XCTAssertEqual(m["\(a).attention.layer_norm_rms_epsilon"] as? Float, 1e-6)
            XCTAssertEqual(m["\(a).expert_weights_scale"] as? Float, 1)
            // v1's language_config names n_group / topk_group; v2's config names head_dim.
            XCTAssertEqual(m["\(a).expert_group_count"] as? UInt32, version == .v1 ? 1 : nil)
            XCTAssertEqual(m["\(a).context_length"] as? UInt32, 2048)  // v2's config; v1's names none: DeepseekV2Config's default
            XCTAssertEqual(m["\(a).attention.key_length"] as? UInt32, version == .v1 ? nil : 8)
            XCTAssertEqual(m["tokenizer.ggml.model"] as? String, "gpt2")
            XCTAssertEqual(m["tokenizer.ggml.pre"] as? String, "qwen2")  // the fixture's split regex is Qwen2's
            let tokens = try XCTUnwrap(m["tokenizer.ggml.tokens"] as? [String])
            XCTAssertEqual(tokens.count, 386)
            XCTAssertEqual(tokens[3], "<image>")
            XCTAssertEqual((m["tokenizer.ggml.token_type"] as? [Int32])?[0 ..< 12], [3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 1])
            XCTAssertEqual((m["tokenizer.ggml.merges"] as? [String])?.first, "Ġ t")
            XCTAssertEqual((m["tokenizer.ggml.merges"] as? [String])?.count, 119)
            XCTAssertEqual(m["tokenizer.ggml.bos_token_id"] as? UInt32, 0)
            XCTAssertEqual(m["tokenizer.ggml.eos_token_id"] as? UInt32, 1)
            XCTAssertEqual(m["tokenizer.ggml.padding_token_id"] as? UInt32, 2)
            XCTAssertEqual(m["tokenizer.ggml.add_bos_token"] as? Bool, true)
            XCTAssertEqual(m["tokenizer.chat_template"] as? String, "{% for m in messages %}{{m['content']}}{% endfor %}")
        }
    }

    /// Names, dimensions (innermost first) and types of every tensor, per file type: the converter's
    /// output for these fixtures (1-D and the router in F32; Q8_0 rows of 16 fall back to F16).
    func testTensorLayout() throws {
        for (fixture, _) in Self.fixtures {
            for (type, code) in [("F16", UInt32(1)), ("BF16", 30), ("Q8_0", 8)] {
                let lm = try file(fixture, type)
                var expected: [String: ([Int], UInt32)] = [
                    "token_embd.weight": ([32, 386], code), "output.weight": ([32, 386], code), "output_norm.weight": ([32], 0),
                ]
                for i in 0 ..< 3 {
                    for part in ["attn_q", "attn_k", "attn_v", "attn_output"] { expected["blk.\(i).\(part).weight"] = ([32, 32], code) }
                    for part in ["attn_norm", "ffn_norm"] { expected["blk.\(i).\(part).weight"] = ([32], 0) }
                    if i == 0 {
                        expected["blk.0.ffn_gate.weight"] = ([32, 64], code)
                        expected["blk.0.ffn_up.weight"] = ([32, 64], code)
                        expected["blk.0.ffn_down.weight"] = ([64, 32], code)
                        continue
                    }
                    expected["blk.\(i).ffn_gate_inp.weight"] = ([32, 8], 0)
                    expected["blk.\(i).ffn_gate_exps.weight"] = ([32, 16, 8], code)
                    expected["blk.\(i).ffn_up_exps.weight"] = ([32, 16, 8], code)
                    expected["blk.\(i).ffn_down_exps.weight"] = ([16, 32, 8], code == 8 ? 1 : code)
                    for part in ["gate", "up", "down"] { expected["blk.\(i).ffn_\(part)_shexp.weight"] = ([32, 32], code) }
                }
                XCTAssertEqual(Set(lm.tensors.keys), Set(expected.keys), "\(fixture) \(type)")
                for (name, (dims, t)) in expected {
                    XCTAssertEqual(lm.tensors[name]?.dims, dims, "\(fixture) \(type) \(name)")
                    XCTAssertEqual(lm.tensors[name]?.type, t, "\(fixture) \(type) \(name)")
                }
            }
        }
    }

    /// ffn_*_exps hold expert e at [e] (outermost): bytes equal to the model's per-expert tensors.
    func testExpertsAreStackedInExpertOrder() throws {
        for (fixture, _) in Self.fixtures {
            let lm = try file(fixture, "F16")
            let w = try weights(fixture)
            for layer in [1, 2] {
                for (ours, theirs) in [("gate_proj", "gate"), ("up_proj", "up"), ("down_proj", "down")] {
                    let experts = (0 ..< 8).map { w["model.layers.\(layer).mlp.experts.\($0).\(ours).weight"]! }
                    let expected = concatenated(experts.map { $0.asType(.float16).reshaped(-1) }, axis: 0).bytes()
                    XCTAssertEqual(lm.data("blk.\(layer).ffn_\(theirs)_exps.weight", count: expected.count), expected, "\(fixture) \(layer) \(ours)")
                    // The order matters: expert 1 differs from expert 0.
                    XCTAssertNotEqual(experts[0].asType(.float16).bytes(), experts[1].asType(.float16).bytes())
                }
                let router = w["model.layers.\(layer).mlp.gate.weight"]!.asType(.float32).bytes()
                XCTAssertEqual(lm.data("blk.\(layer).ffn_gate_inp.weight", count: router.count), router)
            }
        }
    }

    /// Q8_0 blocks (a float16 scale, 32 int8) dequantize to the model's values within half a step.
    func testQ8_0WithinHalfAStep() throws {
        let lm = try file("deepseek_ocr2", "Q8_0")
        let w = try weights("deepseek_ocr2")
        let pairs = [("token_embd.weight", w["model.embed_tokens.weight"]!),
                     ("blk.2.ffn_up_exps.weight", stacked((0 ..< 8).map { w["model.layers.2.mlp.experts.\($0).up_proj.weight"]! }, axis: 0))]
        for (name, reference) in pairs {
            let values = reference.asType(.float32).asArray(Float.self)
            let blocks = values.count / 32
            let bytes = lm.data(name, count: blocks * 34)
            var worst: Float = 0
            for b in 0 ..< blocks {
                let scale = Self.half(UInt16(bytes[34 * b]) | UInt16(bytes[34 * b + 1]) << 8)
                let block = values[32 * b ..< 32 * b + 32]
                let step = block.map(abs).max()! / 127
                for j in 0 ..< 32 {
                    let q = Float(Int8(bitPattern: bytes[34 * b + 2 + j]))
                    let error = abs(q * scale - block[32 * b + j]) - (step / 2 + 127 * step * 0x1p-11)
                    worst = max(worst, error)
                }
            }
            XCTAssertLessThanOrEqual(worst, 1e-7, name)
        }
    }

    static func half(_ bits: UInt16) -> Float {
        let sign: Float = bits & 0x8000 != 0 ? -1 : 1
        let exponent = Int(bits >> 10 & 0x1F)
        let fraction = Float(bits & 0x3FF)
        if exponent == 0 { return sign * fraction * 0x1p-24 }
        return sign * (1 + fraction / 1024) * Float(sign: .plus, exponent: exponent - 15, significand: 1)
    }

    // MARK: mmproj

    func testMmprojKeysAndTensors() throws {
        for (fixture, version) in Self.fixtures {
            let p = try file(fixture, "mmproj")
            let m = p.metadata
            XCTAssertEqual(m["general.architecture"] as? String, "clip")
            XCTAssertEqual(m["clip.projector_type"] as? String, version == .v1 ? "deepseekocr" : "deepseekocr2")
            XCTAssertEqual(m["clip.vision.projection_dim"] as? UInt32, 32)
            XCTAssertEqual(m["clip.vision.sam.block_count"] as? UInt32, 2)
            XCTAssertEqual(m["clip.vision.sam.embedding_length"] as? UInt32, 16)
            XCTAssertEqual(m["clip.vision.sam.head_count"] as? UInt32, 2)
            XCTAssertEqual(m["clip.vision.window_size"] as? UInt32, 14)
            XCTAssertEqual(m["clip.vision.image_mean"] as? [Float], [0.5, 0.5, 0.5])
            XCTAssertEqual(m["clip.vision.preproc_max_tiles"] as? UInt32, version == .v1 ? 9 : 6)
            XCTAssertEqual(m["clip.vision.image_size"] as? UInt32, version == .v1 ? 224 : 1024)
            XCTAssertEqual(m["clip.vision.patch_size"] as? UInt32, version == .v1 ? 14 : 16)
            XCTAssertEqual(m["clip.vision.embedding_length"] as? UInt32, 24)
            XCTAssertEqual(m["clip.vision.block_count"] as? UInt32, 2)
            XCTAssertEqual(m["clip.vision.attention.head_count_kv"] as? UInt32, version == .v1 ? nil : 1)
            XCTAssertEqual(m["clip.vision.projector.scale_factor"] as? UInt32, version == .v1 ? 1 : nil)
            let t = p.tensors
            // SAM: F16 patch embedding, F32 positions / relative positions / neck / downsampling.
            XCTAssertEqual(t["v.sam.patch_embd.weight"]?.dims, [16, 16, 3, 16])
            XCTAssertEqual(t["v.sam.patch_embd.weight"]?.type, 1)
            XCTAssertEqual(t["v.sam.pos_embd.weight"]?.dims, [16, 64, 64, 1])
            XCTAssertEqual(t["v.sam.pos_embd.weight"]?.type, 0)
            XCTAssertEqual(t["v.sam.blk.1.attn.pos_h.weight"]?.dims, [8, 127])
            XCTAssertEqual(t["v.sam.blk.0.attn.qkv.weight"]?.dims, [16, 48])
            XCTAssertEqual(t["v.sam.blk.0.attn.qkv.weight"]?.type, 1)
            XCTAssertEqual(t["v.sam.blk.0.pre_ln.bias"]?.type, 0)
            XCTAssertEqual(t["v.sam.neck.2.weight"]?.dims, [3, 3, 16, 16])
            XCTAssertEqual(t["v.sam.neck.2.weight"]?.type, 0)
            XCTAssertEqual(t["v.sam.net_3.weight"]?.dims, [3, 3, 16, 24])
            XCTAssertEqual(t["mm.model.fc.weight"]?.dims, [version == .v1 ? 48 : 24, 32])
            XCTAssertEqual(t["v.view_seperator"]?.dims, [32, 1])
            XCTAssertEqual(t["v.view_seperator"]?.type, 0)
            XCTAssertFalse(t.keys.contains { $0.hasPrefix("blk.") || $0.hasPrefix("token_embd") }, "no language-model tensor in the mmproj")
            if version == .v1 {
                XCTAssertEqual(p.tensors.count, 72)  // as the converter writes for this fixture
                XCTAssertEqual(t["v.image_newline"]?.dims, [32])
                XCTAssertEqual(t["v.blk.1.attn_qkv.weight"]?.dims, [24, 72])
                XCTAssertEqual(t["v.position_embd.weight"]?.dims, [24, 257])
                XCTAssertEqual(t["v.patch_embd.weight"]?.type, 0)  // CLIP's embeddings stay F32
                XCTAssertNotNil(t["v.class_embd"])
                XCTAssertNotNil(t["v.pre_ln.weight"])
            } else {
                XCTAssertEqual(p.tensors.count, 69)
                XCTAssertNil(t["v.image_newline"])
                XCTAssertEqual(t["v.resample_query_1024.weight"]?.dims, [24, 256])
                XCTAssertEqual(t["v.resample_query_768.weight"]?.dims, [24, 144])
                XCTAssertEqual(t["v.blk.0.attn_k.weight"]?.dims, [24, 12])
                XCTAssertEqual(t["v.blk.0.attn_k.bias"]?.type, 0)
                XCTAssertEqual(t["v.post_ln.weight"]?.dims, [24])
            }
        }
        // The mmproj's F16 data is the model's: SAM's attention and the projector, byte for byte.
        let w = try weights("deepseek_ocr")
        let p = try file("deepseek_ocr", "mmproj")
        for (ours, theirs) in [("model.sam_model.blocks.1.attn.qkv.weight", "v.sam.blk.1.attn.qkv.weight"), ("model.projector.layers.weight", "mm.model.fc.weight")] {
            let expected = w[ours]!.asType(.float16).bytes()
            XCTAssertEqual(p.data(theirs, count: expected.count), expected, theirs)
        }
    }

    // MARK: Refusals

    /// A tokenizer whose pre-tokenizer llama.cpp does not name is refused with the file named.
    func testUnknownPreTokenizerIsRefused() throws {
        let folder = ExportFixtures.temporaryFolder("ds-pre").appendingPathComponent("model")
        try FileManager.default.copyItem(at: ModelFixtures.url("deepseek_ocr-tiny"), to: folder)
        let url = folder.appendingPathComponent("tokenizer.json")
        let text = try String(contentsOf: url, encoding: .utf8).replacingOccurrences(of: #"\\p{N}|"#, with: #"\\p{N}{1,5}|"#)
        try text.write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Exporter.run(ExportRequest(source: folder, format: .gguf, out: folder.deletingLastPathComponent().appendingPathComponent("out")))) {
            XCTAssertTrue("\($0)".contains("tokenizer.json") && "\($0)".contains("pre-tokenizer"), "\($0)")
        }
    }
}
