// Inputs found by `make fuzz` (Fuzz/toml) that TOML.decode or TOML.encode got wrong, kept as tests.

import Foundation
import OCRTraining
import XCTest

final class TOMLFuzzRegressionTests: XCTestCase {
    /// `[[a]]` followed by `[a.b]`: TOML puts `b` in the last table of `a`. The reader refused it
    /// ("a is not a table"), and `TOML.encode` writes exactly this form for a table inside an array
    /// of tables, so such a file did not read back.
    func testTableInsideAnArrayOfTables() throws {
        let table = try TOML.decode("[[stages]]\nname = \"a\"\n\n[[stages]]\nname = \"b\"\n\n[stages.lora]\nr = 4\n")
        let stages = try XCTUnwrap(table["stages"] as? [[String: Any]])
        XCTAssertEqual(stages.map { $0["name"] as? String }, ["a", "b"])
        XCTAssertNil(stages[0]["lora"])
        XCTAssertEqual((stages[1]["lora"] as? [String: Any])?["r"] as? Int64, 4)

        let written = TOML.encode(table)
        let back = try XCTUnwrap(try TOML.decode(written)["stages"] as? [[String: Any]], written)
        XCTAssertEqual((back[1]["lora"] as? [String: Any])?["r"] as? Int64, 4, written)
        XCTAssertNil(back[0]["lora"], written)
    }

    /// The fuzzer's input (Fuzz/toml, crash-1ea7aaae…): a key with bytes that are not UTF-8 under an
    /// array of tables named `s/ages`; decoded, encoded and decoded again.
    func testFuzzerInputReadsBackAfterEncoding() throws {
        let bytes = try XCTUnwrap(Data(base64Encoded: """
            c2VlZCA9IDEKCltsb3JhXQpyID0gOAphbHBoYSA9IDE2LjAKdGFyZ2V0X21vZHVsZXMgPSBbInFfcHJvaiIsICJ2X3Byb2oiXQoKW1tzdGFnZXNd\
            XQpuYW1lID0gInZpc2lvbiIKc3RlcHMgPSAxMAoKW1tzL2FnZXNdXQqNYSBlbT0gImpvaW50IgpzdGVwcyA9IDIwCmxyX3NjYWxlID0gMC4xCiJx\
            dW90ZWQga2V5IiA9ICdsaXRlcmFsJwplc2NhcGVzID0gImFcdGJcdTAwZTkiCmZsYWcgPSB0cnVlCm5lZyA9IC02Cg==
            """))
        let table = try TOML.decode(String(decoding: bytes, as: UTF8.self))
        let again = try TOML.decode(TOML.encode(table))
        let entries = try XCTUnwrap(again["s/ages"] as? [[String: Any]])
        XCTAssertEqual(entries.count, 1)
        XCTAssertEqual(entries[0]["steps"] as? Int64, 20)
        XCTAssertEqual((entries[0]["\u{FFFD}a"] as? [String: Any])?["em"] as? String, "joint")
        XCTAssertEqual((again["stages"] as? [[String: Any]])?.first?["name"] as? String, "vision")
    }

    /// A quoted key holding an escaped quote, `"a\"b" = 1`: the search for `=` took `\"` for the
    /// end of the string and reported "expected key = value"; `TOML.encode` writes such keys.
    func testEscapedQuoteInAQuotedKey() throws {
        XCTAssertEqual(try TOML.decode(#""a\"b" = 1"#)["a\"b"] as? Int64, 1)
        XCTAssertEqual(try TOML.decode(TOML.encode(["[\"x": "=", "y": ["a\"=b"]]))["[\"x"] as? String, "=")
    }

    /// The fuzzer's input (Fuzz/toml, crash-1869128a…): NUL bytes in keys and strings and the key
    /// `["bateps` under `[l"]`; decoded, encoded and decoded again to the same keys.
    func testFuzzerInputWithEscapedKeysReadsBack() throws {
        let bytes = try XCTUnwrap(Data(base64Encoded: """
            IyBhIGNvbGUkZyA9IC0z7OAibmVjayJdCmwiICAgIyBpbmxpbmUAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAZXplID0gWyJiYXRlcHMgPSAxXzAw\
            MApmcmUAe2wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAGV6ZSA9IFsiYmExXzAwMApmcmUAAAAAAAAAAAAAAAAA\
            BGsiXQo=
            """))
        let table = try TOML.decode(String(decoding: bytes, as: UTF8.self))
        let again = try TOML.decode(TOML.encode(table))
        XCTAssertEqual(Set(again.keys), Set(table.keys))
        XCTAssertEqual(TOML.encode(again), TOML.encode(table))
    }

    /// The fuzzer's input (Fuzz/toml, crash-cc0f4c71…), bytes DD 85 3F 24 97 = ["baw ck"]: the key begins
    /// with U+0745, a combining mark, which joined the opening quote `TOML.encode` wrote into one
    /// Character, so the reader missed the quote. Such scalars are now written as \u escapes.
    func testKeyStartingWithACombiningMarkReadsBack() throws {
        let bytes = try XCTUnwrap(Data(base64Encoded: "3YU/JJcgPSBbImJhdyBjayJdCg=="))
        let table = try TOML.decode(String(decoding: bytes, as: UTF8.self))
        let key = "\u{745}?$\u{FFFD}"
        XCTAssertEqual(table[key] as? [String], ["baw ck"])
        let written = TOML.encode(table)
        XCTAssertTrue(written.hasPrefix(#""\u0745?$"#), written)
        XCTAssertEqual(try TOML.decode(written)[key] as? [String], ["baw ck"], written)
        // Marks after an escape and before the closing quote, and a prepended mark (U+0600).
        let values: [String: Any] = ["s": "\u{301}x\n\u{301}", "p": "x\u{600}", "v": ["\u{20DD}", "e\u{301}"]]
        let back = try TOML.decode(TOML.encode(values))
        XCTAssertEqual(back["s"] as? String, "\u{301}x\n\u{301}")
        XCTAssertEqual(back["p"] as? String, "x\u{600}")
        XCTAssertEqual(back["v"] as? [String], ["\u{20DD}", "e\u{301}"])
    }

    /// The fuzzer's input (Fuzz/toml, crash-319b6c67…): a bare key starting with U+06D9, a combining
    /// mark. `TOML.encode` wrote it bare, in a `[table]` header whose `[` it then joined into one
    /// Character; keys that are not ASCII letters, digits, `_` or `-` are now quoted, as TOML asks.
    func testNonASCIIKeysAreQuoted() throws {
        let bytes = try XCTUnwrap(Data(base64Encoded: "25l1Z3JnbiBlcnQxICRfYcM9ICJlaWMcHBwcHBwcY2hnaHQiCg=="))
        let table = try TOML.decode(String(decoding: bytes, as: UTF8.self))
        let written = TOML.encode(table)
        XCTAssertTrue(written.contains(#"["\u06D9ugrgn".ert1]"#), written)
        let back = try TOML.decode(written)
        let inner = (back["\u{6D9}ugrgn"] as? [String: Any])?["ert1"] as? [String: Any]
        XCTAssertEqual(inner?["$_a\u{FFFD}"] as? String, "eic" + String(repeating: "\u{1C}", count: 7) + "chght", written)
        XCTAssertEqual(TOML.encode(["é": 1, "a-b_9": 2]), "a-b_9 = 2\n\"é\" = 1\n")
    }

    /// A multi-line array ends where its brackets balance, brackets inside strings (an escaped quote
    /// included) not counted, and lines around it keep their numbers. (The balance was recounted over
    /// the joined text for every line, quadratic in the array's length: Fuzz/toml's slowest inputs.)
    func testMultiLineArrayEndsWhereItsBracketsBalance() throws {
        let lines = (0..<2_000).map { "  [\($0), \"]\\\"[\"]," }
        let text = "a = [\n" + lines.joined(separator: "\n") + "\n]\nb = 1\nc = [\n"
        let table = try? TOML.decode(String(text.dropLast("c = [\n".count)))
        let a = try XCTUnwrap(table?["a"] as? [Any])
        XCTAssertEqual(a.count, 2_000)
        XCTAssertEqual((a[1_999] as? [Any])?.first as? Int64, 1_999)
        XCTAssertEqual((a[0] as? [Any])?.last as? String, "]\"[")
        XCTAssertEqual(table?["b"] as? Int64, 1)
        XCTAssertThrowsError(try TOML.decode(text)) { XCTAssertEqual(($0 as? TOMLError)?.line, 2_005, "\($0)") }
    }

    /// Fuzz/toml's hang (a 4 KB input over its 10 s limit): each `[table]` header spells its whole
    /// path, so `encode` wrote a square of the nesting (2,047 nested tables named by a byte that is not
    /// UTF-8 → 12 MB of headers), and the reader walked every line's path from the root, copying each
    /// table on the way. Tables (and arrays) now nest at most `TOML.maxNesting` deep, the rest is a
    /// typed error naming the line, and `key = value` lines go into a table held by reference.
    func testDeepNestingIsRejectedWithItsLine() throws {
        func rejected(_ text: String, line: Int, _ message: String) {
            XCTAssertThrowsError(try TOML.decode(text)) {
                XCTAssertEqual(($0 as? TOMLError)?.description, "line \(line): \(message)")
            }
        }
        XCTAssertEqual(TOML.maxNesting, 64)
        let deep = "[" + Array(repeating: "\u{FFFD}", count: 2_047).joined(separator: ".") + "]\n"
        rejected(deep, line: 1, "keys nested deeper than 64 tables")
        rejected("a = 1\n\n[[" + Array(repeating: "k", count: 65).joined(separator: ".") + "]]\n", line: 3, "keys nested deeper than 64 tables")
        let header = "[" + Array(repeating: "t", count: 60).joined(separator: ".") + "]\n"
        rejected(header + "a.b.c.d.e = 1\n", line: 2, "keys nested deeper than 64 tables")
        rejected("a = " + String(repeating: "[", count: 2_000) + String(repeating: "]", count: 2_000) + "\n", line: 1, "arrays nested deeper than 64")

        // At the limit: read, written and read back.
        let table = try TOML.decode(header + "a.b.c = 1\nx.y.z = [" + String(repeating: "[", count: 63) + "7" + String(repeating: "]", count: 64) + "\n")
        var node: [String: Any] = table
        for _ in 0..<60 { node = try XCTUnwrap(node["t"] as? [String: Any]) }
        XCTAssertEqual(((node["a"] as? [String: Any])?["b"] as? [String: Any])?["c"] as? Int64, 1)
        var array: Any? = ((node["x"] as? [String: Any])?["y"] as? [String: Any])?["z"]
        for _ in 0..<64 { array = (array as? [Any])?.first }
        XCTAssertEqual(array as? Int64, 7)
        let written = TOML.encode(table)
        XCTAssertEqual(TOML.encode(try TOML.decode(written)), written)
        XCTAssertTrue(written.contains(" = " + String(repeating: "[", count: 64) + "7" + String(repeating: "]", count: 64) + "\n"), written)
    }

    /// One table holding a thousand keys, one line each, 63 tables deep (the keys make 64); the lines
    /// are numbered and a key set twice is named with its whole path.
    func testManyKeysInADeepTable() throws {
        let path = Array(repeating: "\u{E9}", count: 63).joined(separator: ".")
        let keys = (0..<1_000).map { "k\($0) = \($0)" }.joined(separator: "\n")
        var node: [String: Any] = try TOML.decode("[" + path + "]\n" + keys + "\n")
        for _ in 0..<63 { node = try XCTUnwrap(node["\u{E9}"] as? [String: Any]) }
        XCTAssertEqual(node.count, 1_000)
        XCTAssertEqual(node["k999"] as? Int64, 999)
        XCTAssertThrowsError(try TOML.decode("[a.b]\n" + keys + "\nk7 = 1\n")) {
            XCTAssertEqual(($0 as? TOMLError)?.description, "line 1002: a.b.k7 is set twice")
        }
    }

    /// `[[a]]` appends to an array of tables only: after `a = 1` or `[a]` it overwrote `a` (and after
    /// `a = [1]` made a mixed array that `encode` wrote as a string); `[a]` does not reopen `[[a]]`.
    func testArrayOfTablesHeaderOverAnotherValueIsAnError() throws {
        for first in ["a = 1\n", "a = [1]\n", "[a]\nx = 1\n"] {
            XCTAssertThrowsError(try TOML.decode(first + "[[a]]\n")) {
                XCTAssertEqual(($0 as? TOMLError)?.message, "a is not an array of tables", "\(first): \($0)")
            }
        }
        XCTAssertThrowsError(try TOML.decode("[[a]]\n[a]\n")) {
            XCTAssertEqual(($0 as? TOMLError)?.description, "line 2: a is not a table")
        }
        XCTAssertThrowsError(try TOML.decode("a = 1\n[a.b]\n")) {
            XCTAssertEqual(($0 as? TOMLError)?.description, "line 2: a is not a table")
        }
        let tables = try XCTUnwrap(try TOML.decode("[[a]]\nx = 1\n[[a]]\nx = 2\ny.z = 3\n")["a"] as? [[String: Any]])
        XCTAssertEqual(tables.map { $0["x"] as? Int64 }, [1, 2])
        XCTAssertEqual((tables[1]["y"] as? [String: Any])?["z"] as? Int64, 3)
    }
}
