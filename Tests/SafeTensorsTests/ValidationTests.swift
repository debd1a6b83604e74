// ValidationTests.swift — every malformed-file case maps to an exact error kind.

import Foundation
import XCTest
@testable import SafeTensors

final class ValidationTests: TemporaryDirectoryTestCase {
    /// A header for one tensor named `t`.
    private func one(_ dtype: String = "F32", shape: String = "[2]", offsets: String = "[0,8]") -> String {
        "{\"t\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":\(offsets)}}"
    }

    // MARK: Length prefix

    func testFileSmallerThanPrefix() throws {
        try assertRejects([], .fileTooSmall)
        try assertRejects([1, 0, 0], .fileTooSmall)
        try assertRejects([0, 0, 0, 0, 0, 0, 0], .fileTooSmall)
    }

    func testHeaderCutShort() throws {
        let valid = try SafeTensorsWriter.serialize([SafeTensorsTensor(name: "t", dtype: .uint8, shape: [4], bytes: [1, 2, 3, 4])])
        let headerEnd = try SafeTensorsHeader.parse(fileBytes: valid, file: "v").dataStart
        for cut in [8, 9, headerEnd / 2, headerEnd - 1] {
            try assertRejects(Array(valid[..<cut]), .headerBeyondFile)
        }
        // Cut inside the data section instead: the tensor no longer fits.
        try assertRejects(Array(valid[..<(headerEnd + 2)]), .offsetsBeyondFile, tensor: "t")
    }

    func testHeaderLengthBeyondFile() throws {
        try assertRejects(rawSafeTensors(json: one(), data: Array(repeating: 0, count: 8), declaredLength: 1_000_000),
                          .headerBeyondFile)
        try assertRejects(lengthPrefix(1), .headerBeyondFile)
    }

    func testHeaderTooLarge() throws {
        try assertRejects(lengthPrefix(100_000_001) + Array("{}".utf8), .headerTooLarge(100_000_001))
        try assertRejects(lengthPrefix(UInt64.max), .headerTooLarge(Int.max))
        try assertRejects(lengthPrefix(1 << 63), .headerTooLarge(Int.max))
        // The JSON-level entry point checks the size before reading a byte
        // (the buffer is allocated but never touched).
        let big = UnsafeMutableRawBufferPointer.allocate(byteCount: 100_000_001, alignment: 1)
        defer { big.deallocate() }
        XCTAssertThrowsError(try SafeTensorsHeader.parse(headerJSON: UnsafeRawBufferPointer(big), fileSize: 200_000_000, file: "big")) {
            XCTAssertEqual(($0 as? SafeTensorsError)?.kind, .headerTooLarge(100_000_001))
        }
    }

    // MARK: JSON

    func testInvalidJSON() throws {
        for json in ["{\"t\": ", "{,}", "{\"a\":1} trailing", "{\"a\":1}\0\0\0\0\0\0\0"] {
            let bytes = rawSafeTensors(json: json, padTo8: false)
            XCTAssertThrowsError(try SafeTensorsHeader.parse(fileBytes: bytes, file: "x.st")) { error in
                guard case .invalidJSON? = (error as? SafeTensorsError)?.kind else {
                    return XCTFail("\(json): \(error)")
                }
            }
        }
        try assertRejects(rawSafeTensors(json: "[1, 2]"), .invalidJSON("header must be a JSON object starting with '{'"))
        try assertRejects(rawSafeTensors(json: " \n 7"), .invalidJSON("header must be a JSON object starting with '{'"))
        // Leading JSON whitespace is accepted, as by the reference implementation.
        XCTAssertEqual(try SafeTensorsHeader.parse(fileBytes: rawSafeTensors(json: " \t\r\n{}"), file: "ws").entries, [])
        try assertRejects(rawSafeTensors(json: ""), .invalidJSON("header must be a JSON object starting with '{'"))
        // UTF-16 would be auto-detected by JSONSerialization; it must be rejected.
        let utf16 = Array("{}".data(using: .utf16LittleEndian)!)
        try assertRejects(lengthPrefix(UInt64(utf16.count)) + utf16, .invalidJSON("header contains a NUL byte"))
    }

    func testHeaderNotUTF8() throws {
        let json: [UInt8] = Array("{\"t\u{01}".utf8) + [0xFF, 0xFE] + Array("\":1}".utf8)
        try assertRejects(lengthPrefix(UInt64(json.count)) + json, .headerNotUTF8)
    }

    func testSpacePaddedHeaderAccepted() throws {
        let bytes = rawSafeTensors(json: one() + String(repeating: " ", count: 13), data: Array(repeating: 1, count: 8), padTo8: false)
        let header = try SafeTensorsHeader.parse(fileBytes: bytes, file: "pad")
        XCTAssertEqual(header.names, ["t"])
        XCTAssertEqual(header.entries[0].shape, [2])
        XCTAssertEqual(header.entries[0].byteRange, (bytes.count - 8)..<bytes.count)
    }

    // MARK: Entries

    func testUnknownDType() throws {
        try assertRejects(rawSafeTensors(json: one("F128"), data: Array(repeating: 0, count: 8)), .unknownDType("F128"), tensor: "t")
        try assertRejects(rawSafeTensors(json: one("f32"), data: Array(repeating: 0, count: 8)), .unknownDType("f32"), tensor: "t")
    }

    func testInvalidHeaderEntries() throws {
        let data = [UInt8](repeating: 0, count: 8)
        let cases: [(String, String)] = [
            ("{\"t\":5}", "entry is not an object"),
            ("{\"t\":{\"shape\":[2],\"data_offsets\":[0,8]}}", "missing \"dtype\""),
            ("{\"t\":{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}}", "\"dtype\" is not a string"),
            ("{\"t\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", "missing \"shape\""),
            (one(shape: "2"), "\"shape\" is not an array"),
            (one(shape: "[-2]"), "shape[0] is not a non-negative integer"),
            (one(shape: "[2.0]"), "shape[0] is not a non-negative integer"),
            (one(shape: "[1,true]"), "shape[1] is not a non-negative integer"),
            (one(shape: "[\"2\"]"), "shape[0] is not a non-negative integer"),
            (one(shape: "[99999999999999999999999]"), "shape[0] is not a non-negative integer"),
            ("{\"t\":{\"dtype\":\"F32\",\"shape\":[2]}}", "missing \"data_offsets\""),
            (one(offsets: "[0,8,8]"), "\"data_offsets\" is not an array of two integers"),
            (one(offsets: "{}"), "\"data_offsets\" is not an array of two integers"),
            (one(offsets: "[0,false]"), "\"data_offsets\" values are not non-negative integers"),
            (one(offsets: "[-8,0]"), "\"data_offsets\" values are not non-negative integers"),
            (one(offsets: "[0,18446744073709551615]"), "\"data_offsets\" values are not non-negative integers"),
            (one(offsets: "[0,8e0]"), "\"data_offsets\" values are not non-negative integers"),
        ]
        for (json, reason) in cases {
            try assertRejects(rawSafeTensors(json: json, data: data), .invalidHeaderEntry(reason), tensor: "t")
        }
        try assertRejects(rawSafeTensors(json: "{\"__metadata__\":{\"k\":1}}"),
                          .invalidHeaderEntry("__metadata__ value for key 'k' is not a string"))
        try assertRejects(rawSafeTensors(json: "{\"__metadata__\":[\"k\"]}"), .invalidHeaderEntry("__metadata__ is not an object"))
        // A null __metadata__ is treated as absent, as by the reference implementation.
        XCTAssertEqual(try SafeTensorsHeader.parse(fileBytes: rawSafeTensors(json: "{\"__metadata__\":null}"), file: "m").metadata, [:])
    }

    // MARK: Sizes

    func testShapeBytesMismatch() throws {
        try assertRejects(rawSafeTensors(json: one(shape: "[3]", offsets: "[0,8]"), data: Array(repeating: 0, count: 8)),
                          .sizeMismatch(expected: 12, actual: 8), tensor: "t")
        try assertRejects(rawSafeTensors(json: one("BF16", shape: "[]", offsets: "[0,4]"), data: Array(repeating: 0, count: 4)),
                          .sizeMismatch(expected: 2, actual: 4), tensor: "t")
    }

    func testShapeProductOverflow() throws {
        // 2^62 × 4 × 4 bytes overflows Int64 even though each dim fits.
        try assertRejects(rawSafeTensors(json: one(shape: "[4611686018427387904,4]", offsets: "[0,8]"), data: Array(repeating: 0, count: 8)),
                          .shapeOverflow, tensor: "t")
        try assertRejects(rawSafeTensors(json: one("U8", shape: "[4294967296,4294967296]", offsets: "[0,8]"), data: Array(repeating: 0, count: 8)),
                          .shapeOverflow, tensor: "t")
    }

    // MARK: Offsets

    func testOffsetsBeginAfterEnd() throws {
        try assertRejects(rawSafeTensors(json: one(offsets: "[8,0]"), data: Array(repeating: 0, count: 8)), .offsetsOutOfOrder, tensor: "t")
    }

    func testOffsetsBeyondFile() throws {
        try assertRejects(rawSafeTensors(json: one(shape: "[4]", offsets: "[0,16]"), data: Array(repeating: 0, count: 8)),
                          .offsetsBeyondFile, tensor: "t")
        // Offsets near Int.max must not overflow when added to the data start.
        try assertRejects(rawSafeTensors(json: one("U8", shape: "[7]", offsets: "[9223372036854775800,9223372036854775807]")),
                          .offsetsBeyondFile, tensor: "t")
    }

    func testOverlappingOffsets() throws {
        let json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}"
        try assertRejects(rawSafeTensors(json: json, data: Array(repeating: 0, count: 12)), .offsetsOverlap, tensor: "b")
        // Two tensors sharing the same bytes.
        let alias = "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
            + "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}"
        try assertRejects(rawSafeTensors(json: alias, data: Array(repeating: 0, count: 4)), .offsetsOverlap, tensor: "b")
        // A zero-sized tensor placed strictly inside another one.
        let inside = "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
            + "\"z\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[2,2]}}"
        try assertRejects(rawSafeTensors(json: inside, data: Array(repeating: 0, count: 4)), .offsetsOverlap, tensor: "z")
    }

    func testGapsAndTrailingData() throws {
        let gap = "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
            + "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[4,6]}}"
        try assertRejects(rawSafeTensors(json: gap, data: Array(repeating: 0, count: 6)), .offsetsNotContiguous, tensor: "b")
        try assertRejects(rawSafeTensors(json: one("U8", shape: "[2]", offsets: "[2,4]"), data: Array(repeating: 0, count: 4)),
                          .offsetsNotContiguous, tensor: "t")
        try assertRejects(rawSafeTensors(json: one(), data: Array(repeating: 0, count: 11)), .trailingData(3))
        try assertRejects(rawSafeTensors(json: "{}", data: [1]), .trailingData(1))
    }

    func testOffsetOrderIndependentOfJSONOrder() throws {
        let json = "{\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[2,3]},"
            + "\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}"
        let file = try SafeTensorsFile(bytes: rawSafeTensors(json: json, data: [10, 11, 12]))
        XCTAssertEqual(file.names, ["a", "b"])
        XCTAssertEqual(file.bytes(of: file.entry(named: "b")!), [12])
        XCTAssertEqual(file.bytes(of: file.entry(named: "a")!), [10, 11])
    }

    // MARK: I/O and messages

    func testMissingFileAndDirectory() throws {
        for path in [directory + "/does-not-exist.safetensors", directory] {
            XCTAssertThrowsError(try SafeTensorsFile(path: path)) { error in
                let e = error as? SafeTensorsError
                guard case .io? = e?.kind else { return XCTFail("\(error)") }
                XCTAssertEqual(e?.file, path)
                XCTAssertTrue(e?.description.contains(path) ?? false)
            }
        }
    }

    func testDescriptionNamesFileAndTensor() throws {
        let path = try writeTemp(rawSafeTensors(json: one(shape: "[3]"), data: Array(repeating: 0, count: 8)), name: "weights-x.safetensors")
        XCTAssertThrowsError(try SafeTensorsFile(path: path)) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains(path), text)
            XCTAssertTrue(text.contains("weights-x.safetensors"), text)
            XCTAssertTrue(text.contains("tensor 't'"), text)
            XCTAssertTrue(text.contains("12") && text.contains("8"), text)
        }
        let error = SafeTensorsError(.unknownDType("Q4"), file: "/m/a.safetensors", tensor: "layers.0.w")
        XCTAssertEqual(error.description, "safetensors file '/m/a.safetensors', tensor 'layers.0.w': unknown dtype 'Q4'")
    }
}
