// Run-folder formats: TOML configs, PEFT adapters, TensorBoard records.

import Foundation
import MLXEngine
import MLXNN
import OCRTraining
import XCTest

final class FormatTests: XCTestCase {
    func testTOMLRoundTripAndHandWrittenConfigs() throws {
        var c = TrainingConfiguration()
        c.method = .qlora
        c.stages = [TrainingStage(name: "vision", steps: 10, learningRate: 5e-5, trainGroups: ["vision"])]
        c.maxSteps = 10
        c.lora = LoRAConfiguration(r: 128, alpha: 16, targetModules: ["q_proj", "v_proj"])
        XCTAssertEqual(try TrainingConfiguration.fromTOML(try c.tomlString()), c)

        let hand = """
            # a comment
            method = "full"   # inline comment
            learning_rate = 2e-5
            max_steps = 1_000
            freeze = ["backbone",
                      "neck"]
            """
        let parsed = try TrainingConfiguration.fromTOML(hand)
        XCTAssertEqual(parsed.method, .full)
        XCTAssertEqual(parsed.learningRate, 2e-5)
        XCTAssertEqual(parsed.maxSteps, 1000)
        XCTAssertEqual(parsed.freeze, ["backbone", "neck"])
        XCTAssertEqual(parsed.batchSize, TrainingConfiguration().batchSize)

        XCTAssertThrowsError(try TrainingConfiguration.fromTOML("learning_rate = \n")) { error in
            XCTAssertTrue("\(error)".contains("config.toml:1"), "\(error)")
        }
        XCTAssertThrowsError(try TrainingConfiguration.fromTOML("batch_size = \"eight\"")) { error in
            XCTAssertTrue("\(error)".contains("batch_size"), "\(error)")
        }
        // An unknown setting value is an error naming the field, the value and the allowed ones
        // (it used to become cosine silently).
        XCTAssertThrowsError(try TrainingConfiguration.fromTOML("schedule = \"step\"\n", file: "run.toml")) { error in
            let error = error as? ConfigurationError
            XCTAssertEqual(error?.field, "run.toml: schedule")
            XCTAssertEqual(error?.message, "unknown value \"step\" (allowed: constant, linear, cosine)")
        }
        XCTAssertThrowsError(try TrainingConfiguration.fromTOML("on_nan = \"ignore\"\n")) { error in
            XCTAssertTrue("\(error)".contains("on_nan: unknown value \"ignore\" (allowed: stop, skip)"), "\(error)")
        }
        XCTAssertThrowsError(try TrainingConfiguration.fromTOML("dtype = \"fp8\"\n")) { error in
            XCTAssertTrue("\(error)".contains("(allowed: float32, bfloat16, float16)"), "\(error)")
        }
        XCTAssertEqual(try TrainingConfiguration.fromTOML("schedule = \"linear\"\n").schedule, .linear)
    }

    func testPEFTAdapterLayoutRoundTrips() throws {
        let family = TinyFamily()
        try family.net.applyLoRA(LoRAConfiguration(r: 2, alpha: 4, targetModules: ["q_proj", "o_proj"]))
        let dir = temporaryRun("adapter")
        try PEFTAdapter.save(module: family.net, configuration: LoRAConfiguration(r: 2, alpha: 4, targetModules: ["q_proj", "o_proj"]), baseModel: "models/tiny", to: dir)
        // Plain slashes, as PEFT writes them (no "models\/tiny").
        XCTAssertTrue(try String(contentsOfFile: dir + "/adapter_config.json", encoding: .utf8).contains("\"models/tiny\""))
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/adapter_config.json"))) as! [String: Any]
        XCTAssertEqual(config["peft_type"] as? String, "LORA")
        XCTAssertEqual(config["target_modules"] as? [String], ["o_proj", "q_proj"])
        let keys = Set(try loadSafeTensors(path: dir + "/adapter_model.safetensors").arrays.keys)
        XCTAssertEqual(keys, ["base_model.model.q_proj.lora_A.weight", "base_model.model.q_proj.lora_B.weight",
                              "base_model.model.o_proj.lora_A.weight", "base_model.model.o_proj.lora_B.weight"])
        let (loaded, weights, base) = try PEFTAdapter.load(from: dir)
        XCTAssertEqual(loaded.r, 2)
        XCTAssertEqual(base, "models/tiny")
        XCTAssertEqual(Set(weights.keys), ["q_proj.lora_A.weight", "q_proj.lora_B.weight", "o_proj.lora_A.weight", "o_proj.lora_B.weight"])
    }

    /// PEFT selects modules whose path equals a target or ends with "." + target: a classifier
    /// at `head.head` inside a non-Linear `head` must be listed by its full path.
    func testPEFTTargetModulesSelectOnlyTheAdaptedLayers() throws {
        final class Inner: Module {
            @ModuleInfo(key: "qkv") var qkv = Linear(8, 24)
            @ModuleInfo(key: "head") var head = Linear(8, 5)
        }
        final class Outer: Module {
            @ModuleInfo(key: "head") var head = Inner()
            @ModuleInfo(key: "fc1") var fc1 = Linear(8, 8)
        }
        let model = Outer()
        try model.applyLoRA(LoRAConfiguration(r: 2, alpha: 4, targetModules: ["qkv", "head.head"]))
        let dir = temporaryRun("adapter")
        try PEFTAdapter.save(module: model, configuration: LoRAConfiguration(r: 2, alpha: 4, targetModules: ["qkv", "head.head"]), baseModel: "m", to: dir)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/adapter_config.json"))) as! [String: Any]
        XCTAssertEqual(config["target_modules"] as? [String], ["head.head", "qkv"])
        // Read back, the targets wrap the same layers of a fresh model.
        let (loaded, weights, _) = try PEFTAdapter.load(from: dir)
        let fresh = Outer()
        XCTAssertEqual(Set(try fresh.applyLoRA(loaded)), ["head.qkv", "head.head"])
        try fresh.update(parameters: weights, verify: [.shapesMatch, .noUnexpected], source: dir)
    }

    func testTensorBoardRecordsAreFramedWithValidChecksums() throws {
        let dir = temporaryRun("tb")
        let writer = try TensorBoardWriter(directory: dir)
        try writer.scalar("train/loss", 0.5, step: 1)
        try writer.scalar("train/loss", 0.25, step: 2)
        try writer.text("eval/samples", "| a | b |", step: 2)
        writer.flush()
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: writer.path)))
        var offset = 0
        var records: [[UInt8]] = []
        func le<T: FixedWidthInteger>(_ at: Int, _ n: Int) -> T { (0 ..< n).reduce(T(0)) { $0 | T(bytes[at + $1]) << (8 * $1) } }
        while offset < bytes.count {
            let length: UInt64 = le(offset, 8)
            XCTAssertEqual(le(offset + 8, 4) as UInt32, CRC32C.masked(bytes[offset ..< offset + 8]))
            let data = Array(bytes[offset + 12 ..< offset + 12 + Int(length)])
            XCTAssertEqual(le(offset + 12 + Int(length), 4) as UInt32, CRC32C.masked(data))
            records.append(data)
            offset += 16 + Int(length)
        }
        XCTAssertEqual(records.count, 4)
        XCTAssertTrue(String(decoding: records[0], as: UTF8.self).contains("brain.Event:2"))
        XCTAssertTrue(String(decoding: records[1], as: UTF8.self).contains("train/loss"))
        // CRC-32C check value of "123456789".
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
    }

    /// A full disk while appending to metrics.jsonl or the event file (`/dev/full` fails every
    /// write with ENOSPC) is a `TrainingError` naming the file, not a trap (#17 soak: it crashed
    /// the run with SIGILL through `FileHandle.write(_:)`).
    func testFullDiskWhileLoggingThrowsNamingTheFile() throws {
        let log = try MetricsLog(path: "/dev/full")
        XCTAssertThrowsError(try log.append(["step": 1, "loss": 0.5])) { error in
            let message = String(describing: error)
            XCTAssertTrue(message.contains("/dev/full"), message)
            XCTAssertTrue(message.contains("space"), message)
        }
        XCTAssertThrowsError(try TensorBoardWriter(file: "/dev/full")) { error in
            XCTAssertTrue(String(describing: error).contains("/dev/full: cannot write"), String(describing: error))
        }
        // The same writers on a real file keep appending after a reopen (resume).
        let dir = temporaryRun("append")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = (dir as NSString).appendingPathComponent("metrics.jsonl")
        try MetricsLog(path: path).append(["step": 1])
        try MetricsLog(path: path).append(["step": 2])
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "{\"step\":1}\n{\"step\":2}\n")
    }
}
