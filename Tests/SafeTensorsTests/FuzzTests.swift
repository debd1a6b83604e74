// FuzzTests.swift — seeded random mutations must parse or throw, never crash.

import Foundation
import OCRSupport
import XCTest
@testable import SafeTensors

final class FuzzTests: TemporaryDirectoryTestCase {
    // MARK: Fixtures

    private func baseFile() throws -> [UInt8] {
        try SafeTensorsWriter.serialize([
            SafeTensorsTensor(name: "embed.weight", dtype: .float32, shape: [3, 2], scalars: [Float](repeating: 0.5, count: 6)),
            SafeTensorsTensor(name: "bias", dtype: .bfloat16, shape: [3], bytes: [1, 2, 3, 4, 5, 6]),
            SafeTensorsTensor(name: "ids", dtype: .int64, shape: [2], scalars: [Int64(7), -7]),
            SafeTensorsTensor(name: "mask", dtype: .bool, shape: [4], bytes: [0, 1, 1, 0]),
            SafeTensorsTensor(name: "empty", dtype: .float16, shape: [0, 5], bytes: []),
            SafeTensorsTensor(name: "scale", dtype: .float8E4M3, shape: [], bytes: [0x38]),
        ], metadata: ["format": "pt", "step": "100"])
    }

    private static let tokens: [String] = [
        "-1", "0", "1", "4", "7", "8", "1e309", "2.5", "18446744073709551616", "9223372036854775807",
        "true", "null", "[]", "{}", "\"\"", "\"F8_E5M2\"", "\"U64\"", ",", ":", "[", "]", "{", "}", "\"", "\\",
        "\"__metadata__\"", "\"data_offsets\"", "\"shape\"", "\"dtype\"",
    ]

    // MARK: Mutations

    private func mutate(_ base: [UInt8], headerEnd: Int, rng: inout SplitMix64) -> [UInt8] {
        var bytes = base
        switch Int.random(in: 0..<9, using: &rng) {
        case 0:  // overwrite random bytes anywhere
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
        case 1:  // overwrite bytes inside the JSON with printable ASCII
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                bytes[Int.random(in: 8..<headerEnd, using: &rng)] = UInt8.random(in: 0x20...0x7E, using: &rng)
            }
        case 2:  // change one digit of the JSON
            let digits = (8..<headerEnd).filter { (0x30...0x39).contains(bytes[$0]) }
            if let i = digits.randomElement(using: &rng) { bytes[i] = UInt8.random(in: 0x30...0x39, using: &rng) }
        case 3:  // truncate
            bytes = Array(bytes[..<Int.random(in: 0..<bytes.count, using: &rng)])
        case 4:  // append junk
            bytes += (0..<Int.random(in: 1...16, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        case 5:  // nudge the length prefix
            let delta = Int.random(in: -16...16, using: &rng)
            let length = UInt64(max(0, headerEnd - 8 + delta))
            bytes.replaceSubrange(0..<8, with: lengthPrefix(length))
        case 6:  // random length prefix
            bytes.replaceSubrange(0..<8, with: lengthPrefix(UInt64.random(in: 0...UInt64.max, using: &rng)))
        case 7:  // splice an interesting token into the JSON, keeping the prefix consistent
            let at = Int.random(in: 9..<headerEnd, using: &rng)
            let removed = Int.random(in: 0...4, using: &rng)
            let token = Array(Self.tokens.randomElement(using: &rng)!.utf8)
            let end = min(at + removed, headerEnd)
            bytes.replaceSubrange(at..<end, with: token)
            let newHeaderLength = headerEnd - 8 - (end - at) + token.count
            bytes.replaceSubrange(0..<8, with: lengthPrefix(UInt64(newHeaderLength)))
        default:  // duplicate a chunk of the JSON
            let start = Int.random(in: 8..<headerEnd, using: &rng)
            let end = min(headerEnd, start + Int.random(in: 1...40, using: &rng))
            bytes.insert(contentsOf: Array(bytes[start..<end]), at: end)
            if Bool.random(using: &rng) {
                bytes.replaceSubrange(0..<8, with: lengthPrefix(UInt64(headerEnd - 8 + end - start)))
            }
        }
        return bytes
    }

    /// Everything a successfully parsed header promises, checked independently.
    private func checkInvariants(_ header: SafeTensorsHeader, fileSize: Int) {
        XCTAssertEqual(header.fileSize, fileSize)
        var cursor = header.dataStart
        for entry in header.entries {
            XCTAssertEqual(entry.byteRange.lowerBound, cursor)
            XCTAssertEqual(entry.dtype.byteCount(forShape: entry.shape), entry.byteCount)
            XCTAssertLessThanOrEqual(entry.byteRange.upperBound, fileSize)
            cursor = entry.byteRange.upperBound
        }
        XCTAssertEqual(cursor, fileSize)
    }

    // MARK: Tests

    func testRandomMutationsParseOrThrow() throws {
        let base = try baseFile()
        let headerEnd = try SafeTensorsHeader.parse(fileBytes: base, file: "base").dataStart
        var rng = SplitMix64(seed: 0x5AFE_7E45_0125)
        var accepted = 0
        var rejected: [String: Int] = [:]
        let path = directory + "/fuzz.safetensors"

        for iteration in 0..<2_000 {
            let bytes = mutate(base, headerEnd: headerEnd, rng: &rng)
            do {
                let file = try SafeTensorsFile(bytes: bytes, label: "fuzz-\(iteration)")
                checkInvariants(file.header, fileSize: bytes.count)
                var checksum = 0
                for entry in file.entries {
                    checksum &+= file.withBytes(of: entry) { $0.reduce(0) { $0 &+ Int($1) } }
                }
                XCTAssertGreaterThanOrEqual(checksum, 0)
                accepted += 1
            } catch let error as SafeTensorsError {
                XCTAssertEqual(error.file, "fuzz-\(iteration)")
                rejected[String(describing: error.kind).prefix(while: { $0 != "(" }).description, default: 0] += 1
            }
            // Every 20th case also goes through the on-disk path (pread + mmap) and must agree.
            if iteration % 20 == 0 {
                try Data(bytes).write(to: URL(fileURLWithPath: path))
                let inMemory = try? SafeTensorsHeader.parse(fileBytes: bytes, file: path)
                let onDisk = try? SafeTensorsFile(path: path)
                XCTAssertEqual(onDisk?.header, inMemory, "iteration \(iteration)")
                if let onDisk {
                    for entry in onDisk.entries {
                        XCTAssertEqual(onDisk.bytes(of: entry), Array(bytes[entry.byteRange]))
                    }
                }
            }
        }
        // The fuzzer must exercise both outcomes and a variety of error kinds.
        XCTAssertGreaterThan(accepted, 50, "accepted \(accepted), rejected \(rejected)")
        XCTAssertGreaterThan(rejected.values.reduce(0, +), 1_000, "\(rejected)")
        XCTAssertGreaterThanOrEqual(rejected.count, 8, "\(rejected)")
    }

    func testRandomBytesAfterValidPrefix() throws {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<500 {
            let length = Int.random(in: 0...64, using: &rng)
            var json: [UInt8] = [UInt8(ascii: "{")]
            json += (0..<length).map { _ in Self.tokens.randomElement(using: &rng)!.utf8.first! }
            let data = (0..<Int.random(in: 0...32, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let bytes = lengthPrefix(UInt64(json.count)) + json + data
            if let header = try? SafeTensorsHeader.parse(fileBytes: bytes, file: "r") {
                checkInvariants(header, fileSize: bytes.count)
            }
        }
    }

    func testDeeplyNestedJSONIsRejected() throws {
        for depth in [600, 100_000] {
            let json = "{\"a\":" + String(repeating: "[", count: depth)
            let bytes = rawSafeTensors(json: json)
            XCTAssertThrowsError(try SafeTensorsHeader.parse(fileBytes: bytes, file: "deep")) { error in
                guard case .invalidJSON? = (error as? SafeTensorsError)?.kind else { return XCTFail("\(error)") }
            }
        }
    }
}
