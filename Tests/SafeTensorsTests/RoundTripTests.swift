// RoundTripTests.swift — writing files and reading them back.

import Foundation
import XCTest
@testable import SafeTensors

final class RoundTripTests: TemporaryDirectoryTestCase {
    // MARK: DTypes

    func testDTypeSizesAndRawValues() {
        let expected: [String: Int] = [
            "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1,
            "F8_E4M3FNUZ": 1, "F8_E5M2FNUZ": 1, "F8_E8M0": 1,
            "U16": 2, "I16": 2, "F16": 2, "BF16": 2,
            "U32": 4, "I32": 4, "F32": 4,
            "U64": 8, "I64": 8, "F64": 8, "C64": 8,
        ]
        XCTAssertEqual(SafeTensorsDType.allCases.count, expected.count)
        for dtype in SafeTensorsDType.allCases {
            XCTAssertEqual(dtype.byteSize, expected[dtype.rawValue], dtype.rawValue)
        }
        XCTAssertEqual(SafeTensorsDType(rawValue: "BF16"), .bfloat16)
        XCTAssertNil(SafeTensorsDType(rawValue: "f32"))
        XCTAssertEqual(SafeTensorsDType.float32.byteCount(forShape: [2, 3]), 24)
        XCTAssertEqual(SafeTensorsDType.float64.byteCount(forShape: []), 8)
        XCTAssertNil(SafeTensorsDType.float32.byteCount(forShape: [Int.max / 2, 3]))
        XCTAssertNil(SafeTensorsDType.uint8.byteCount(forShape: [-1]))
    }

    // MARK: Round trips

    func testRoundTripEveryDType() throws {
        var tensors: [SafeTensorsTensor] = []
        for (i, dtype) in SafeTensorsDType.allCases.enumerated() {
            let shape = [2, i % 3 + 1]
            let count = shape.reduce(1, *) * dtype.byteSize
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 * 31 + i * 7 + 1) }
            tensors.append(SafeTensorsTensor(name: "t.\(dtype.rawValue.lowercased())", dtype: dtype, shape: shape, bytes: bytes))
        }
        let metadata = ["format": "pt", "note": "quote \" backslash \\ newline \n unicode é 🚀"]
        let path = directory + "/all.safetensors"
        try SafeTensorsWriter.write(tensors, metadata: metadata, to: path)

        let file = try SafeTensorsFile(path: path)
        XCTAssertEqual(file.metadata, metadata)
        XCTAssertEqual(file.entries.count, tensors.count)
        for tensor in tensors {
            let entry = try XCTUnwrap(file.entry(named: tensor.name))
            XCTAssertEqual(entry.dtype, tensor.dtype)
            XCTAssertEqual(entry.shape, tensor.shape)
            XCTAssertEqual(entry.byteCount, tensor.data.count)
            XCTAssertEqual(entry.elementCount, tensor.shape.reduce(1, *))
            XCTAssertEqual(file.bytes(of: entry), Array(tensor.data), tensor.name)
            XCTAssertEqual(file.data(of: entry), tensor.data)
            XCTAssertEqual(try file.withBytes(named: tensor.name) { Array($0) }, Array(tensor.data))
            // Absolute byte range matches the header's data section start.
            XCTAssertEqual(entry.byteRange.lowerBound, file.header.dataStart + entry.dataOffsets.lowerBound)
            // Natural alignment relative to the file start.
            XCTAssertEqual(entry.byteRange.lowerBound % tensor.dtype.byteSize, 0, tensor.name)
        }
        // Same bytes via the in-memory serializer and the header-only reader.
        let onDisk = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(onDisk, try SafeTensorsWriter.serialize(tensors, metadata: metadata))
        XCTAssertEqual(try SafeTensorsHeader.read(path: path), file.header)
        XCTAssertEqual(try SafeTensorsFile(bytes: onDisk).header.entries, file.entries)
        XCTAssertEqual(file.header.fileSize, onDisk.count)
    }

    func testTypedScalarsRoundTrip() throws {
        let floats: [Float] = [1.5, -2.25, .pi, 0, -0.0, .greatestFiniteMagnitude]
        let longs: [Int64] = [Int64.min, -1, 0, 1, Int64.max]
        let doubles: [Double] = [1e300, -1e-300]
        let path = directory + "/typed.safetensors"
        try SafeTensorsWriter.write([
            SafeTensorsTensor(name: "w", dtype: .float32, shape: [2, 3], scalars: floats),
            SafeTensorsTensor(name: "ids", dtype: .int64, shape: [5], scalars: longs),
            SafeTensorsTensor(name: "scalar", dtype: .float64, shape: [], scalars: [42.0]),
            SafeTensorsTensor(name: "d", dtype: .float64, shape: [2], scalars: doubles),
        ], to: path)
        let file = try SafeTensorsFile(path: path)
        XCTAssertEqual(try file.scalars(of: file.requireEntry(named: "w"), as: Float.self).map(\.bitPattern),
                       floats.map(\.bitPattern))
        XCTAssertEqual(try file.scalars(of: file.requireEntry(named: "ids"), as: Int64.self), longs)
        XCTAssertEqual(try file.scalars(of: file.requireEntry(named: "scalar"), as: Double.self), [42.0])
        XCTAssertEqual(try file.scalars(of: file.requireEntry(named: "d"), as: Double.self), doubles)
        XCTAssertEqual(file.entry(named: "scalar")?.shape, [])
        XCTAssertEqual(file.entry(named: "scalar")?.elementCount, 1)
        XCTAssertThrowsError(try file.scalars(of: file.requireEntry(named: "w"), as: Double.self)) { error in
            XCTAssertEqual((error as? SafeTensorsError)?.kind, .elementSizeMismatch(dtype: .float32, elementSize: 8))
        }
        XCTAssertThrowsError(try file.requireEntry(named: "missing")) { error in
            let e = error as? SafeTensorsError
            XCTAssertEqual(e?.kind, .tensorNotFound)
            XCTAssertEqual(e?.tensor, "missing")
        }
    }

    func testEmptyFileAndZeroSizedTensors() throws {
        let emptyPath = directory + "/empty.safetensors"
        try SafeTensorsWriter.write([], to: emptyPath)
        let empty = try SafeTensorsFile(path: emptyPath)
        XCTAssertEqual(empty.entries, [])
        XCTAssertEqual(empty.metadata, [:])
        XCTAssertEqual(empty.header.fileSize, 16)  // 8-byte prefix + "{}" padded to 8

        let path = directory + "/zero.safetensors"
        try SafeTensorsWriter.write([
            SafeTensorsTensor(name: "a", dtype: .float32, shape: [0, 4], bytes: []),
            SafeTensorsTensor(name: "b", dtype: .float32, shape: [2], bytes: [1, 2, 3, 4, 5, 6, 7, 8]),
            SafeTensorsTensor(name: "c", dtype: .uint8, shape: [3, 0], bytes: []),
        ], to: path)
        let file = try SafeTensorsFile(path: path)
        XCTAssertEqual(file.entries.map(\.byteCount), [0, 8, 0])
        XCTAssertEqual(file.bytes(of: file.entry(named: "a")!), [])
        XCTAssertEqual(file.bytes(of: file.entry(named: "b")!), [1, 2, 3, 4, 5, 6, 7, 8])
    }

    // MARK: Writer layout

    func testWriterLayoutOrderingAndPadding() throws {
        let tensors = [
            SafeTensorsTensor(name: "z8", dtype: .uint8, shape: [3], bytes: [1, 2, 3]),
            SafeTensorsTensor(name: "b64", dtype: .float64, shape: [1], bytes: Array(repeating: 9, count: 8)),
            SafeTensorsTensor(name: "a8", dtype: .int8, shape: [1], bytes: [7]),
            SafeTensorsTensor(name: "h", dtype: .bfloat16, shape: [1], bytes: [5, 6]),
        ]
        let bytes = try SafeTensorsWriter.serialize(tensors, metadata: ["k": "v"])
        let header = try SafeTensorsHeader.parse(fileBytes: bytes, file: "mem")
        XCTAssertEqual(header.names, ["b64", "h", "a8", "z8"])
        XCTAssertEqual(header.entries.map(\.dataOffsets), [0..<8, 8..<10, 10..<11, 11..<14])
        XCTAssertEqual((header.dataStart - 8) % 8, 0)
        XCTAssertEqual(header.dataStart % 8, 0)
        XCTAssertEqual(bytes.count, header.dataStart + 14)
        let json = String(decoding: bytes[8..<header.dataStart], as: UTF8.self)
        XCTAssertTrue(json.hasPrefix("{\"__metadata__\":{\"k\":\"v\"},\"b64\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}"), json)
        XCTAssertEqual(json.trimmingCharacters(in: .whitespaces).last, "}")
        XCTAssertEqual(try SafeTensorsWriter.encodeHeader(tensors, metadata: ["k": "v"]), Array(bytes[..<header.dataStart]))
    }

    func testWriterEscapesNames() throws {
        let names = ["quote\"d", "back\\slash", "tab\tnl\n", "ctl\u{01}", "ünï/cødé 🚀"]
        let tensors = names.map { SafeTensorsTensor(name: $0, dtype: .uint8, shape: [1], bytes: [1]) }
        let file = try SafeTensorsFile(bytes: SafeTensorsWriter.serialize(tensors))
        XCTAssertEqual(Set(file.names), Set(names))
    }

    func testWriteIsAtomicAndReplacesExisting() throws {
        let path = directory + "/replace.safetensors"
        try SafeTensorsWriter.write([SafeTensorsTensor(name: "x", dtype: .uint8, shape: [1], bytes: [1])], to: path)
        let old = try SafeTensorsFile(path: path)  // keep the old mapping alive across the replacement
        try SafeTensorsWriter.write([SafeTensorsTensor(name: "y", dtype: .uint16, shape: [2], bytes: [1, 2, 3, 4])], to: path)
        XCTAssertEqual(try SafeTensorsFile(path: path).names, ["y"])
        XCTAssertEqual(old.bytes(of: old.entry(named: "x")!), [1])
        // A failed write leaves the existing file and no temporary files behind.
        XCTAssertThrowsError(try SafeTensorsWriter.write(
            [SafeTensorsTensor(name: "bad", dtype: .float32, shape: [2], bytes: [0])], to: path))
        XCTAssertEqual(try SafeTensorsFile(path: path).names, ["y"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["replace.safetensors"])
    }

    // MARK: Writer validation

    func testWriterRejectsBadInput() throws {
        func kind(_ tensors: [SafeTensorsTensor]) -> SafeTensorsError? {
            do { _ = try SafeTensorsWriter.serialize(tensors, label: "out.st"); return nil } catch {
                return error as? SafeTensorsError
            }
        }
        let ok = SafeTensorsTensor(name: "a", dtype: .uint8, shape: [1], bytes: [1])
        XCTAssertEqual(kind([ok, ok])?.kind, .duplicateTensor)
        XCTAssertEqual(kind([ok, ok])?.tensor, "a")
        XCTAssertEqual(kind([SafeTensorsTensor(name: "f", dtype: .float32, shape: [3], bytes: [1, 2])])?.kind,
                       .sizeMismatch(expected: 12, actual: 2))
        XCTAssertEqual(kind([SafeTensorsTensor(name: "n", dtype: .uint8, shape: [-1], bytes: [])])?.kind,
                       .invalidHeaderEntry("shape[0] is negative"))
        XCTAssertEqual(kind([SafeTensorsTensor(name: "o", dtype: .float64, shape: [1 << 40, 1 << 30], bytes: [])])?.kind,
                       .shapeOverflow)
        XCTAssertEqual(kind([SafeTensorsTensor(name: "__metadata__", dtype: .uint8, shape: [1], bytes: [1])])?.kind,
                       .invalidHeaderEntry("'__metadata__' is reserved"))
        XCTAssertEqual(kind([SafeTensorsTensor(name: "", dtype: .uint8, shape: [1], bytes: [1])])?.kind,
                       .invalidHeaderEntry("tensor name is empty"))
        let e = try XCTUnwrap(kind([SafeTensorsTensor(name: "f", dtype: .float32, shape: [3], bytes: [1, 2])]))
        XCTAssertTrue(e.description.contains("'out.st'") && e.description.contains("'f'"), e.description)
    }
}
