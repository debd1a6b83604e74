// TestSupport.swift — helpers shared by the SafeTensors tests.

import Foundation
import XCTest
@testable import SafeTensors

// MARK: - Raw file construction

/// Builds a safetensors file from a literal JSON header and a data section.
/// `declaredLength` overrides the 8-byte length prefix (to forge bad prefixes).
func rawSafeTensors(json: String, data: [UInt8] = [], padTo8: Bool = true, declaredLength: UInt64? = nil) -> [UInt8] {
    var header = Array(json.utf8)
    if padTo8 {
        while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }
    }
    return lengthPrefix(declaredLength ?? UInt64(header.count)) + header + data
}

/// The 8-byte little-endian encoding of `value`.
func lengthPrefix(_ value: UInt64) -> [UInt8] {
    (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
}

/// A per-test temporary directory, removed on tear-down.
class TemporaryDirectoryTestCase: XCTestCase {
    private(set) var directory: String = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        directory = NSTemporaryDirectory() + "safetensors-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
        try super.tearDownWithError()
    }

    /// Writes `bytes` to a fresh file in the temporary directory and returns its path.
    func writeTemp(_ bytes: [UInt8], name: String = "model.safetensors") throws -> String {
        let path = directory + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Asserts that opening `bytes` as a file, and parsing them in memory,
    /// both throw an error of exactly `kind` (and tensor, if given).
    func assertRejects(_ bytes: [UInt8], _ kind: SafeTensorsError.Kind, tensor: String? = nil,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let path = try writeTemp(bytes, name: "bad-\(UUID().uuidString).safetensors")
        for attempt in ["file", "header", "memory"] {
            do {
                switch attempt {
                case "file": _ = try SafeTensorsFile(path: path)
                case "header": _ = try SafeTensorsHeader.read(path: path)
                default: _ = try SafeTensorsFile(bytes: bytes, label: path)
                }
                XCTFail("\(attempt): expected \(kind), but parsing succeeded", file: file, line: line)
            } catch let error as SafeTensorsError {
                XCTAssertEqual(error.kind, kind, "\(attempt): \(error)", file: file, line: line)
                XCTAssertEqual(error.file, path, "\(attempt)", file: file, line: line)
                XCTAssertEqual(error.tensor, tensor, "\(attempt): \(error)", file: file, line: line)
                XCTAssertTrue(error.description.contains(path), "\(attempt): \(error)", file: file, line: line)
                if let tensor {
                    XCTAssertTrue(error.description.contains("'\(tensor)'"), "\(attempt): \(error)", file: file, line: line)
                }
            }
        }
    }
}
